package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// A bill the pool's cash cannot pay is paid by selling holdings: the rest
// (total − cash) is planned FIFO over the folio's lots across schemes
// (managed.PlanFeeRedemption, the wallet's fees-from-units rule), the
// redemptions fixed with the invoice (status due) in the bill's
// transaction, placed through the ledger as ordinary redemption orders
// (lots and exit loads apply; wallet.PlaceFeeRedemptions, idempotent by
// order id), each allotted one's payout brought into the pool's cash once
// (pool_fee_sale, Dr ledger_payout:<folio> / Cr pool:<pool>), and the
// invoice paid once the cash covers it. The NAV counts a payout allotted
// and not yet in the cash (FeeSalesNotSwept), so the sale never moves it.
// Billing the period again (or `pool fees bill` without --pool) takes each
// due invoice a step further.

// KindFeeSale is the journal kind of a fee sale's payout into the cash.
const KindFeeSale = "pool_fee_sale"

// FeeSale is one redemption paying (part of) a due invoice.
type FeeSale struct {
	OrderID, InvoiceID, Pool, Folio, Scheme string
	Amount                                  fund.Amount
	Request                                 string // the order request's JSON body, fixed
	Status                                  string // proposed, placed
}

// FeeSaleTx is what fee sales need of a transaction.
type FeeSaleTx interface {
	// FolioLots reads the folio's holdings with their open lots.
	FolioLots(ctx context.Context, folio string) ([]managed.Holding, error)
	InsertFeeSales(ctx context.Context, ss []FeeSale) error
	FeeSales(ctx context.Context, invoiceID string) ([]FeeSale, error)
	SetFeeSalesPlaced(ctx context.Context, invoiceID string) error
	// FeeSalePayout is what the ledger paid out for a sale's redemption
	// (found false: not allotted).
	FeeSalePayout(ctx context.Context, orderID string) (net fund.Amount, found bool, err error)
	// FeeSalesSwept counts an invoice's sales and those whose payout is
	// in the pool's cash.
	FeeSalesSwept(ctx context.Context, invoiceID string) (n, swept int, err error)
	// FeeSalesNotSwept is the pool's sale payouts allotted and not in its
	// cash yet.
	FeeSalesNotSwept(ctx context.Context, pool string) (fund.Amount, error)
	// SetFeeInvoiceCharged marks an invoice paid while afterNAV was the
	// pool's latest NAV date.
	SetFeeInvoiceCharged(ctx context.Context, id string, afterNAV fund.Date) error
}

// planSale fixes the sales paying what the cash leaves of inv (status
// due); an error says why it cannot (no folio or ledger, holdings worth
// less than the rest).
func (s *Service) planSale(ctx context.Context, tx Tx, w *work, p Pool, inv *wallet.FeeInvoice) ([]FeeSale, error) {
	if p.Folio == "" || s.Ledger == nil {
		return nil, errors.New("the pool has no folio to sell")
	}
	rest := inv.Total.Sub(p.Cash)
	hs, err := tx.FolioLots(ctx, p.Folio)
	if err != nil {
		return nil, fmt.Errorf("holdings of %s: %w", p.Folio, err)
	}
	investor, ok, err := tx.FolioInvestor(ctx, p.Folio)
	if err != nil || !ok {
		return nil, errors.Join(err, boolErr(ok, fmt.Errorf("pool folio %s does not exist", p.Folio)))
	}
	plan, short, err := managed.PlanFeeRedemption(rest, hs, fund.DateOf(s.now().In(fund.IST())))
	if err != nil {
		return nil, err
	}
	if short.Sign() > 0 || len(plan) == 0 {
		return nil, fmt.Errorf("its holdings are worth %s less than the %s to sell", short, rest)
	}
	var out []FeeSale
	for i, x := range plan {
		id := wallet.FeeRedemptionID(inv.ID, i)
		out = append(out, FeeSale{OrderID: id, InvoiceID: inv.ID, Pool: p.ID, Folio: p.Folio, Scheme: x.Scheme, Amount: x.Amount,
			Request: wallet.FeeRedemptionRequest(id, investor, p.Folio, x, s.now()), Status: "proposed"})
	}
	inv.Status = "due"
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "fee_sale_fixed",
		Payload: map[string]any{"invoice_id": inv.ID, "total": inv.Total.String(), "cash": p.Cash.String(), "sell": rest.String(), "redemptions": plan}})
	return out, nil
}

// progressSale takes a due invoice a step further: places its sales not
// placed yet, brings each allotted one's payout into the cash, and pays
// the invoice once every sale's payout is in and the cash covers it. It
// returns the invoice as it stands.
func (s *Service) progressSale(ctx context.Context, poolID string, inv wallet.FeeInvoice) (wallet.FeeInvoice, error) {
	if s.Ledger == nil {
		return inv, nil
	}
	var ss []FeeSale
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) { ss, err = tx.FeeSales(ctx, inv.ID); return err }); err != nil {
		return inv, err
	}
	var reqs []string
	for _, x := range ss {
		if x.Status == "proposed" {
			reqs = append(reqs, x.Request)
		}
	}
	if len(reqs) > 0 {
		if err := wallet.PlaceFeeRedemptions(ctx, s.Ledger, reqs, s.now(), s.MaxSkew); err != nil {
			return inv, err
		}
		if err := s.Store.InTx(ctx, func(tx Tx) error { return tx.SetFeeSalesPlaced(ctx, inv.ID) }); err != nil {
			return inv, err
		}
	}
	for _, x := range ss {
		if err := s.inTx(ctx, func(tx Tx, w *work) error {
			p, ok, err := tx.LockPool(ctx, poolID)
			if err != nil || !ok {
				return errors.Join(err, boolErr(ok, ErrNoPool))
			}
			net, found, err := tx.FeeSalePayout(ctx, x.OrderID)
			if err != nil || !found || net.Sign() <= 0 {
				return err
			}
			_, inserted, err := tx.Post(ctx, wallet.Entry{Kind: KindFeeSale, Ref: x.OrderID, Amount: net, Postings: []fund.Posting{
				{Account: wallet.AccountLedgerPayout(x.Folio), Asset: fund.AssetINR, Amount: net.Decimal()},
				{Account: AccountCash(poolID), Asset: fund.AssetINR, Amount: net.Decimal().Neg()},
			}}, fund.Amount{})
			if err != nil || !inserted {
				return err // swept before
			}
			p.Cash = p.Cash.Add(net)
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "fee_sale_swept",
				Payload: map[string]string{"order_id": x.OrderID, "invoice_id": inv.ID, "amount": net.String()}})
			return tx.UpdatePool(ctx, p)
		}); err != nil {
			return inv, fmt.Errorf("fee sale %s: %w", x.OrderID, err)
		}
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		cur, found, err := tx.FeeInvoice(ctx, poolID, inv.From)
		if err != nil || !found {
			return errors.Join(err, boolErr(found, fmt.Errorf("invoice %s is gone", inv.ID)))
		}
		inv = cur
		if n, swept, err := tx.FeeSalesSwept(ctx, inv.ID); err != nil || inv.Status != "due" || swept < n || p.Cash.Cmp(inv.Total) < 0 {
			return err // waits: a payout not in yet, or the cash short still (an exit load)
		}
		if err := s.provisionDue(ctx, tx, &p, inv); err != nil { // once: one written before this version has none
			return err
		}
		if err := s.pay(ctx, tx, w, &p, inv, true); err != nil {
			return err
		}
		inv.Status = "charged"
		return nil
	})
	return inv, err
}
