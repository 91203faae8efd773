package wallet

import (
	"context"
	"fmt"

	"github.com/fundflow/fundflow/fund"
)

// FeeLine is one kind of fee on an invoice.
type FeeLine struct {
	Kind string      `json:"kind"` // aum, performance
	Fee  fund.Amount `json:"fee"`
}

// FeeUnitsRedeemed is a redemption placed to pay an invoice charged from
// units: the amount asked and, once the ledger allotted it, the units
// redeemed ("" before).
type FeeUnitsRedeemed struct {
	OrderID string      `json:"order_id"`
	Scheme  string      `json:"scheme"`
	Amount  fund.Amount `json:"amount"`
	Units   string      `json:"units,omitempty"`
}

// FeeCharge is an invoice as the investor sees it: the period, each kind
// of fee, GST on the fee, the total, and how it is paid (the wallet's
// cash, or units redeemed).
type FeeCharge struct {
	InvoiceID   string             `json:"invoice_id"`
	From        fund.Date          `json:"period_from"`
	To          fund.Date          `json:"period_to"`
	Lines       []FeeLine          `json:"lines"`
	Fee         fund.Amount        `json:"fee"`
	GST         fund.Amount        `json:"gst"`
	Total       fund.Amount        `json:"total"`
	Status      string             `json:"status"`       // due, charged
	ChargedFrom string             `json:"charged_from"` // wallet, units
	Redeemed    []FeeUnitsRedeemed `json:"units_redeemed"`
}

// FeeChargeStore reads a wallet's invoices and their fee redemptions.
type FeeChargeStore interface {
	// WalletInvoices reads a wallet's invoices, oldest period first, and
	// their redemptions by invoice id.
	WalletInvoices(ctx context.Context, walletID string) ([]FeeInvoice, map[string][]FeeUnitsRedeemed, error)
}

// Charged lists the fees billed to a wallet, oldest period first. A kind
// with no fee in the period has no line.
func Charged(ctx context.Context, s FeeChargeStore, walletID string) ([]FeeCharge, error) {
	invs, red, err := s.WalletInvoices(ctx, walletID)
	if err != nil {
		return nil, fmt.Errorf("fees of %s: %w", walletID, err)
	}
	out := make([]FeeCharge, 0, len(invs))
	for _, inv := range invs {
		c := FeeCharge{InvoiceID: inv.ID, From: inv.From, To: inv.To, Lines: []FeeLine{}, Fee: inv.Fee, GST: inv.GST, Total: inv.Total,
			Status: inv.Status, ChargedFrom: inv.ChargeFrom, Redeemed: red[inv.ID]}
		if c.ChargedFrom == "" {
			c.ChargedFrom = ChargeFromWallet
		}
		if c.Redeemed == nil {
			c.Redeemed = []FeeUnitsRedeemed{}
		}
		if !inv.AUMFee.IsZero() {
			c.Lines = append(c.Lines, FeeLine{Kind: "aum", Fee: inv.AUMFee})
		}
		if !inv.PerfFee.IsZero() {
			c.Lines = append(c.Lines, FeeLine{Kind: "performance", Fee: inv.PerfFee})
		}
		out = append(out, c)
	}
	return out, nil
}
