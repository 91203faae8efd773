package wallet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
)

// FeeRedemption is one redemption paying (part of) an invoice charged
// from units.
type FeeRedemption struct {
	OrderID, InvoiceID, WalletID, Folio, Scheme string
	Amount                                      fund.Amount
	Request                                     string // the redemption request's JSON body
	Status                                      string // proposed, placed
}

// FeeUnitsStore is what fees charged from units need of the store.
type FeeUnitsStore interface {
	// InvoicesToRedeem lists due invoices charged from units with no
	// redemption fixed yet, or with redemptions still 'proposed' (a crash
	// before placing), oldest first.
	InvoicesToRedeem(ctx context.Context, limit int) ([]string, error)
	// FeeRedemptionsToSweep lists fee redemptions the ledger allotted whose
	// payout is not in the wallet yet.
	FeeRedemptionsToSweep(ctx context.Context, limit int) ([]string, error)
}

// FeeUnitsTx is what a transaction of fees charged from units needs.
type FeeUnitsTx interface {
	// Terms are the wallet's auto-invest terms (its folio).
	Terms(ctx context.Context, walletID string) (t Terms, found bool, err error)
	// Holdings reads a folio's holdings with their open lots, oldest first.
	Holdings(ctx context.Context, folio string) ([]managed.Holding, error)
	FeeRedemptions(ctx context.Context, invoiceID string) ([]FeeRedemption, error)
	InsertFeeRedemptions(ctx context.Context, rs []FeeRedemption) error
	SetFeeRedemptionsPlaced(ctx context.Context, invoiceID string) error
	// FeeRedemptionPayout reads what the ledger paid out for a fee
	// redemption (its net amount: value less exit load; found false: not
	// allotted).
	FeeRedemptionPayout(ctx context.Context, orderID string) (r FeeRedemption, net fund.Amount, found bool, err error)
	// FeeRedemptionsSettled counts an invoice's redemptions and says
	// whether each one's payout is in the wallet.
	FeeRedemptionsSettled(ctx context.Context, invoiceID string) (n int, settled bool, err error)
}

// FeeRedemptionID is an invoice's i-th redemption's order id.
func FeeRedemptionID(invoiceID string, i int) string { return fmt.Sprintf("%s-R%d", invoiceID, i+1) }

// RedeemDue pays invoices charged from units: for each, the redemptions
// that cover its total are planned FIFO over the wallet's folio
// (fund/managed.PlanFeeRedemption) and fixed in one transaction with the
// wallet's and invoice's locks, then placed through the ledger
// (PlaceOrders, idempotent by order id: a crash between is finished with
// the same requests) and marked placed. Their payouts come into the
// wallet by SweepFeeRedemptions, and ChargeDue then pays the invoice. A
// folio worth less than the invoice redeems what it holds; the rest is
// paid from the wallet's cash when it covers it (as is an exit load).
func (f *Fees) RedeemDue(ctx context.Context, limit int) (int, error) {
	if f.Ledger == nil {
		return 0, nil
	}
	ids, err := f.Store.InvoicesToRedeem(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("invoices to redeem: %w", err)
	}
	n := 0
	for _, id := range ids {
		placed, err := f.redeemOne(ctx, id)
		if err != nil {
			return n, fmt.Errorf("redeem for invoice %s: %w", id, err)
		}
		n += placed
	}
	return n, nil
}

func (f *Fees) redeemOne(ctx context.Context, invoiceID string) (int, error) {
	var rs []FeeRedemption
	err := f.Store.InFeeTx(ctx, func(tx FeeTx) error {
		rs = nil
		w := &work{}
		inv, ok, err := tx.Invoice(ctx, invoiceID)
		if err != nil || !ok {
			return err
		}
		wal, ok, err := tx.LockWallet(ctx, inv.WalletID)
		if err != nil || !ok {
			return err
		}
		if inv, ok, err = tx.InvoiceFor(ctx, inv.WalletID, inv.From); err != nil || !ok || inv.Status != "due" || inv.ChargeFrom != ChargeFromUnits {
			return err
		}
		if rs, err = tx.FeeRedemptions(ctx, invoiceID); err != nil || len(rs) > 0 {
			return err // fixed before: placed as fixed
		}
		if wal.Status != "open" {
			// Its exit (Exits) pays the invoice from the cash, or refused
			// opens the wallet again: no sale is started under it.
			return nil
		}
		terms, ok, err := tx.Terms(ctx, wal.ID)
		if err != nil {
			return err
		}
		if !ok || terms.Folio == "" {
			return fmt.Errorf("wallet %s: %w (charged from units)", wal.ID, ErrNoTerms)
		}
		hs, err := tx.Holdings(ctx, terms.Folio)
		if err != nil {
			return fmt.Errorf("holdings of %s: %w", terms.Folio, err)
		}
		plan, short, err := managed.PlanFeeRedemption(inv.Total, hs, fund.DateOf(f.Wallet.now().In(fund.IST())))
		if err != nil {
			return err
		}
		placedAt := f.Wallet.now()
		for i, p := range plan {
			r := FeeRedemption{OrderID: FeeRedemptionID(inv.ID, i), InvoiceID: inv.ID, WalletID: wal.ID, Folio: terms.Folio, Scheme: p.Scheme, Amount: p.Amount, Status: "proposed"}
			r.Request = FeeRedemptionRequest(r.OrderID, wal.InvestorID, terms.Folio, p, placedAt)
			rs = append(rs, r)
		}
		if len(rs) == 0 {
			slog.WarnContext(ctx, "fee charged from units: the folio holds nothing to redeem; the invoice waits for cash", "invoice", inv.ID, "folio", terms.Folio)
			return nil
		}
		if err := tx.InsertFeeRedemptions(ctx, rs); err != nil {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "fee_invoice", ID: inv.ID, Action: "redemption_fixed",
			Payload: map[string]any{"wallet_id": wal.ID, "folio": terms.Folio, "redemptions": plan, "short": short.String()}})
		return f.Wallet.flush(ctx, tx, w)
	})
	if err != nil || len(rs) == 0 || rs[0].Status == "placed" {
		return 0, err
	}
	reqs := make([]string, len(rs))
	for i, r := range rs {
		reqs[i] = r.Request
	}
	if err := PlaceFeeRedemptions(ctx, f.Ledger, reqs, f.Wallet.now(), f.MaxSkew); err != nil {
		return 0, err
	}
	if err := f.Store.InFeeTx(ctx, func(tx FeeTx) error { return tx.SetFeeRedemptionsPlaced(ctx, invoiceID) }); err != nil {
		return 0, err
	}
	return len(rs), nil
}

// SweepFeeRedemptions brings each allotted fee redemption's payout (value
// less exit load) from the ledger into the wallet, once (the entry is
// unique on the order id): ledger_payout:<folio> → wallet:<id>.
func (f *Fees) SweepFeeRedemptions(ctx context.Context, limit int) (int, error) {
	ids, err := f.Store.FeeRedemptionsToSweep(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("fee redemptions to sweep: %w", err)
	}
	return f.eachInTx(ctx, ids, "sweep fee redemption", func(tx FeeTx, w *work, id string) (bool, error) {
		r, net, ok, err := tx.FeeRedemptionPayout(ctx, id)
		if err != nil || !ok || net.Sign() <= 0 {
			return false, err
		}
		wal, ok, err := tx.LockWallet(ctx, r.WalletID)
		if err != nil || !ok {
			return false, err
		}
		_, inserted, err := tx.Post(ctx, Entry{WalletID: wal.ID, Kind: "fee_redemption", Ref: id, Amount: net, Postings: []fund.Posting{
			{Account: AccountLedgerPayout(r.Folio), Asset: fund.AssetINR, Amount: net.Decimal()},
			{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: net.Decimal().Neg()},
		}}, net)
		if err != nil || !inserted {
			return false, err
		}
		if err := f.Wallet.PassOnClosed(ctx, tx, w, wal, "fee_redemption", id, net); err != nil {
			return false, err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "fee_redemption",
			Payload: map[string]string{"order_id": id, "invoice_id": r.InvoiceID, "folio": r.Folio, "amount": net.String()}})
		return true, nil
	})
}

// FeeRedemptionRequest is the body of the redemption order paying p of a
// fee from folio (a wallet's or a pool's): by amount, or all the units
// when the amount and its exit load need more than are held (p.All).
func FeeRedemptionRequest(orderID, investorID, folio string, p managed.FeeRedemption, placedAt time.Time) string {
	req := map[string]any{"order_id": orderID, "type": "redemption", "investor_id": investorID, "folio": folio,
		"scheme_code": p.Scheme, "amount": p.Amount.String(), "placed_at": placedAt.UTC().Format(time.RFC3339Nano)}
	if p.All {
		delete(req, "amount")
		req["all_units"] = true
	}
	b, _ := json.Marshal(req)
	return string(b)
}

// PlaceFeeRedemptions places fixed redemption requests through the ledger
// (idempotent by order id: a crash between fixing and placing is finished
// with the same requests).
func PlaceFeeRedemptions(ctx context.Context, l *ledger.Service, reqs []string, now time.Time, maxSkew time.Duration) error {
	ins := make([]fund.OrderIntake, 0, len(reqs))
	for _, r := range reqs {
		in, ok, err := fund.IntakeOf([]byte(r), fund.Receipt{Source: "fees", At: now, MaxSkew: maxSkew})
		if !ok {
			return fmt.Errorf("request %s: %v", r, err)
		}
		ins = append(ins, in)
	}
	if _, err := l.PlaceOrders(ctx, ins); err != nil {
		return fmt.Errorf("place redemptions: %w", err)
	}
	return nil
}
