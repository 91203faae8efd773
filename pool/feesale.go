package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/fund/tax"
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
	Status                                  string // proposed, placed, failed (the ledger ended it without proceeds, or never placed and cancelled)
	Reason                                  string // failed: the ledger's reason
}

// SaleEnd is how the ledger left a fee sale's order.
type SaleEnd struct {
	// Ended: the request was rejected, or its leg rejected or cancelled:
	// no proceeds will come.
	Ended  bool
	Reason string
	// Held: the leg waits on a hold or a restriction blocking the
	// investor's redemptions (it may never be allotted).
	Held bool
	// Placed: the ledger has the request (false: never placed).
	Placed bool
}

// PendingRedemption is a redemption (or switch-out) of the pool's folio
// placed and not allotted yet: what it will take is not free to sell.
type PendingRedemption struct {
	Scheme string
	Amount *fund.Amount
	Units  *decimal.Decimal
	All    bool
}

// AlertFeeUnpayable is the alert of a due pool invoice nothing can pay
// (its break row is in pool_fee_breaks, migration 064).
const AlertFeeUnpayable = "pool_fee_unpayable"

// maxFailedSales bounds the sales an invoice may lose before it is a
// break for a person: each failure is planned again on other lots or
// schemes, so this only stops a ledger refusing every new plan.
const maxFailedSales = 8

// FeeSaleTx is what fee sales need of a transaction.
type FeeSaleTx interface {
	// FolioLots reads the folio's holdings with their open lots.
	FolioLots(ctx context.Context, folio string) ([]managed.Holding, error)
	// PendingRedemptions lists the folio's redemptions not allotted yet.
	PendingRedemptions(ctx context.Context, folio string) ([]PendingRedemption, error)
	InsertFeeSales(ctx context.Context, ss []FeeSale) error
	// FeeSales reads an invoice's sales in order.
	FeeSales(ctx context.Context, invoiceID string) ([]FeeSale, error)
	SetFeeSalesPlaced(ctx context.Context, invoiceID string) error
	// FeeSaleEnd reads how the ledger left a sale's order.
	FeeSaleEnd(ctx context.Context, orderID string) (SaleEnd, error)
	SetFeeSaleFailed(ctx context.Context, orderID, reason string) error
	// FeeSalePayout is what the ledger paid out for a sale's redemption
	// (found false: not allotted).
	FeeSalePayout(ctx context.Context, orderID string) (net fund.Amount, found bool, err error)
	// FeeSalesSwept counts an invoice's sales not failed and those whose
	// payout is in the pool's cash.
	FeeSalesSwept(ctx context.Context, invoiceID string) (n, swept int, err error)
	// FeeSalesNotSwept is the pool's sale payouts allotted and not in its
	// cash yet.
	FeeSalesNotSwept(ctx context.Context, pool string) (fund.Amount, error)
	// SetFeeInvoiceCharged marks an invoice paid while afterNAV was the
	// pool's latest NAV date.
	SetFeeInvoiceCharged(ctx context.Context, id string, afterNAV fund.Date) error
	// OpenFeeBreak opens (or restates) a due invoice's break and alert;
	// ResolveFeeBreak closes them.
	OpenFeeBreak(ctx context.Context, pool, invoiceID, reason, detail string) error
	ResolveFeeBreak(ctx context.Context, invoiceID string) error
	// CancelFeeInvoice marks a due invoice cancelled and opens its
	// accruals again.
	CancelFeeInvoice(ctx context.Context, id, reason string, at time.Time) error
	// SetFeeInvoiceCancelling marks a due invoice's cancel under way (its
	// sales are no longer placed, paid from or planned again);
	// FeeInvoiceCancelling reads it.
	SetFeeInvoiceCancelling(ctx context.Context, id, reason string) error
	FeeInvoiceCancelling(ctx context.Context, id string) (bool, error)
	// CancelledInvoices counts the pool's cancelled invoices of a period.
	CancelledInvoices(ctx context.Context, pool string, from fund.Date) (int, error)
	// FeeInvoiceByID reads an invoice, any status.
	FeeInvoiceByID(ctx context.Context, id string) (wallet.FeeInvoice, bool, error)
}

// errCannotSell says the pool's holdings cannot pay the rest (as opposed
// to a database error while planning).
var errCannotSell = errors.New("the pool cannot sell enough")

// planSale fixes the sales paying what the cash leaves of inv (status
// due), their order ids numbered from start (a plan after failed sales
// takes new ids), the schemes in exclude left out (their sales were
// refused). Units that redemptions not allotted yet will take (this
// invoice's or another's) are set aside first (review L2): planning them
// again would sell the same lots twice. errCannotSell says why it cannot
// (no folio or ledger, holdings worth less than the rest); any other
// error is the database's.
func (s *Service) planSale(ctx context.Context, tx Tx, w *work, p Pool, inv *wallet.FeeInvoice, start int, exclude map[string]string) ([]FeeSale, error) {
	if p.Folio == "" || s.Ledger == nil {
		return nil, fmt.Errorf("%w: the pool has no folio to sell", errCannotSell)
	}
	rest := inv.Total.Sub(p.Cash)
	hs, err := tx.FolioLots(ctx, p.Folio)
	if err != nil {
		return nil, fmt.Errorf("holdings of %s: %w", p.Folio, err)
	}
	pending, err := tx.PendingRedemptions(ctx, p.Folio)
	if err != nil {
		return nil, fmt.Errorf("redemptions pending on %s: %w", p.Folio, err)
	}
	if hs, err = setAside(hs, pending); err != nil {
		return nil, err
	}
	free := hs[:0:0]
	for _, h := range hs {
		if _, out := exclude[h.Scheme]; !out {
			free = append(free, h)
		}
	}
	investor, ok, err := tx.FolioInvestor(ctx, p.Folio)
	if err != nil {
		return nil, fmt.Errorf("investor of %s: %w", p.Folio, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: pool folio %s does not exist", errCannotSell, p.Folio)
	}
	plan, short, err := managed.PlanFeeRedemption(rest, free, fund.DateOf(s.now().In(fund.IST())))
	if err != nil {
		return nil, fmt.Errorf("plan the sale: %w", err)
	}
	if short.Sign() > 0 || len(plan) == 0 {
		why := ""
		if len(exclude) > 0 {
			why = fmt.Sprintf(" (left out, their sales refused: %v)", exclude)
		}
		return nil, fmt.Errorf("%w: its holdings free to sell are worth %s less than the %s to sell%s", errCannotSell, short, rest, why)
	}
	var out []FeeSale
	for i, x := range plan {
		id := wallet.FeeRedemptionID(inv.ID, start+i)
		out = append(out, FeeSale{OrderID: id, InvoiceID: inv.ID, Pool: p.ID, Folio: p.Folio, Scheme: x.Scheme, Amount: x.Amount,
			Request: wallet.FeeRedemptionRequest(id, investor, p.Folio, x, s.now()), Status: "proposed"})
	}
	inv.Status = "due"
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "fee_sale_fixed",
		Payload: map[string]any{"invoice_id": inv.ID, "total": inv.Total.String(), "cash": p.Cash.String(), "sell": rest.String(), "redemptions": plan,
			"first_order": wallet.FeeRedemptionID(inv.ID, start), "left_out": exclude}})
	return out, nil
}

// setAside takes what pending redemptions will redeem out of the
// holdings, from the oldest lots (the ledger's FIFO): all units, the
// units asked, or an amount's units at the holding's NAV rounded up.
func setAside(hs []managed.Holding, pending []PendingRedemption) ([]managed.Holding, error) {
	out := make([]managed.Holding, 0, len(hs))
	for _, h := range hs {
		var take decimal.Decimal
		all := false
		for _, x := range pending {
			if x.Scheme != h.Scheme {
				continue
			}
			switch {
			case x.All:
				all = true
			case x.Units != nil:
				take = take.Add(*x.Units)
			case x.Amount != nil && h.NAV.Decimal().Sign() > 0:
				u := x.Amount.Decimal().Div(h.NAV.Decimal())
				take = take.Add(u.RoundUp(h.UnitsScale))
			}
		}
		if all || take.GreaterThanOrEqual(h.Units.Decimal()) {
			continue // nothing of it is free
		}
		if take.Sign() > 0 {
			left, err := fund.UnitsFromDecimal(h.Units.Decimal().Sub(take), h.UnitsScale, fund.NoRounding)
			if err != nil {
				return nil, fmt.Errorf("set aside %s: %w", h.Scheme, err)
			}
			h.Units = left
			lots := make([]tax.Lot, 0, len(h.Lots))
			for _, l := range h.Lots {
				if take.Sign() <= 0 {
					lots = append(lots, l)
					continue
				}
				if take.GreaterThanOrEqual(l.Units.Decimal()) {
					take = take.Sub(l.Units.Decimal())
					continue
				}
				rem, err := fund.UnitsFromDecimal(l.Units.Decimal().Sub(take), l.Units.Scale(), fund.NoRounding)
				if err != nil {
					return nil, fmt.Errorf("set aside %s lot %s: %w", h.Scheme, l.ID, err)
				}
				l.Cost = fund.LotCost(l.Cost, l.Units, rem)
				l.Units, take = rem, decimal.Zero
				lots = append(lots, l)
			}
			h.Lots = lots
		}
		out = append(out, h)
	}
	return out, nil
}

// progressSale takes a due invoice a step further: places its sales not
// placed yet (unless a cancel is under way), brings each allotted one's payout into the cash, marks a
// sale the ledger ended without proceeds failed (review M2: its request
// or leg rejected: folio_investor_mismatch, a suspended or unknown scheme,
// too few units; or its leg cancelled), and pays the invoice once every
// sale is settled and the cash covers it. When the sales are settled and
// the cash is still short (a failed sale, a payout below plan after a NAV
// fall, cash taken by withdrawals meanwhile), the rest is planned again
// under new order ids, leaving out the schemes whose sales were refused
// (a sale refused for too few units is planned again on what is held);
// when nothing can pay it, or a sale waits on a hold or restriction, the
// invoice gets a break row and an alert (pool_fee_unpayable) and stays
// due: an operator cancels it (CancelFeeInvoice) or gives the pool what
// pays it. It returns the invoice as it stands.
func (s *Service) progressSale(ctx context.Context, poolID string, inv wallet.FeeInvoice) (wallet.FeeInvoice, error) {
	if s.Ledger == nil {
		return inv, nil
	}
	// A plan again is placed in the same call: a refusal at placing is
	// immediate, so a few rounds reach a sale the ledger takes or a break.
	for round := 0; ; round++ {
		again, err := s.saleStep(ctx, poolID, &inv)
		if err != nil || !again || round >= 3 {
			return inv, err
		}
	}
}

// saleStep is one round of progressSale; again says new sales were
// planned.
func (s *Service) saleStep(ctx context.Context, poolID string, inv *wallet.FeeInvoice) (again bool, err error) {
	var ss []FeeSale
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) { ss, err = tx.FeeSales(ctx, inv.ID); return err }); err != nil {
		return false, err
	}
	var reqs []string
	for _, x := range ss {
		if x.Status == "proposed" {
			reqs = append(reqs, x.Request)
		}
	}
	if len(reqs) > 0 {
		// Placed under the pool's lock, after checking no cancel is under
		// way (review H1): a cancel marks the invoice under the same lock,
		// so either the ledger has the sales before it looks, or they are
		// never placed.
		if err := s.Store.InTx(ctx, func(tx Tx) error {
			if _, ok, err := tx.LockPool(ctx, poolID); err != nil || !ok {
				return errors.Join(err, boolErr(ok, ErrNoPool))
			}
			cur, found, err := tx.FeeInvoiceByID(ctx, inv.ID)
			if err != nil || !found || cur.Status != "due" {
				return err
			}
			if cancelling, err := tx.FeeInvoiceCancelling(ctx, inv.ID); err != nil || cancelling {
				return err
			}
			if err := wallet.PlaceFeeRedemptions(ctx, s.Ledger, reqs, s.now(), s.MaxSkew); err != nil {
				return err
			}
			return tx.SetFeeSalesPlaced(ctx, inv.ID)
		}); err != nil {
			return false, err
		}
	}
	var held, zero []string
	for _, x := range ss {
		// A failed sale is settled too: one the ledger allotted after all
		// (a cancel before this fix marked it failed while it was live)
		// has its payout brought into the cash.
		st, err := s.settleSale(ctx, poolID, x)
		if err != nil {
			return false, fmt.Errorf("fee sale %s: %w", x.OrderID, err)
		}
		switch st {
		case saleHeld:
			held = append(held, x.OrderID)
		case saleNoProceeds:
			zero = append(zero, x.OrderID)
		}
	}
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		again = false
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		cur, found, err := tx.FeeInvoiceByID(ctx, inv.ID)
		if err != nil || !found {
			return errors.Join(err, boolErr(found, fmt.Errorf("invoice %s is gone", inv.ID)))
		}
		*inv = cur
		if inv.Status != "due" {
			return nil
		}
		n, swept, err := tx.FeeSalesSwept(ctx, inv.ID)
		if err != nil {
			return err
		}
		if cancelling, err := tx.FeeInvoiceCancelling(ctx, inv.ID); err != nil || cancelling {
			return err // the cancel ends it: no pay, no plan
		}
		if swept < n { // a payout not in yet
			if len(zero) > 0 {
				return s.feeBreak(ctx, tx, w, p, *inv, "sale_no_proceeds", fmt.Sprintf("invoice %s: its sales %v were allotted with no payout: cancel the invoice (fundflow pool fees cancel) or pay it into the pool", inv.ID, zero))
			}
			if len(held) > 0 {
				return s.feeBreak(ctx, tx, w, p, *inv, "sale_held", fmt.Sprintf("invoice %s: its sales %v wait on a hold or a restriction blocking the pool's redemptions; they may never be allotted: resolve the hold, or cancel the invoice (fundflow pool fees cancel)", inv.ID, held))
			}
			return nil
		}
		if p.Cash.Cmp(inv.Total) >= 0 {
			if err := s.provisionDue(ctx, tx, &p, *inv); err != nil { // once: one written before provisioning has none
				return err
			}
			if err := s.pay(ctx, tx, w, &p, *inv, true); err != nil {
				return err
			}
			inv.Status = "charged"
			return tx.ResolveFeeBreak(ctx, inv.ID)
		}
		// Settled and short: plan the rest again (review M2).
		all, err := tx.FeeSales(ctx, inv.ID)
		if err != nil {
			return err
		}
		exclude, failed := map[string]string{}, 0
		for _, x := range all {
			if x.Status != "failed" {
				continue
			}
			// No plan while a sale is live in the ledger (one marked failed
			// before the ledger ended it): its payout may still come.
			if _, found, err := tx.FeeSalePayout(ctx, x.OrderID); err != nil || found {
				if err != nil {
					return err
				}
			} else if end, err := tx.FeeSaleEnd(ctx, x.OrderID); err != nil {
				return err
			} else if end.Placed && !end.Ended {
				return nil
			}
			failed++
			if !unitsShort(x.Reason) {
				exclude[x.Scheme] = x.Reason
			}
		}
		if failed >= maxFailedSales {
			return s.feeBreak(ctx, tx, w, p, *inv, "sales_refused", fmt.Sprintf("invoice %s: %d of its sales ended without proceeds (%v); short by %s: cancel the invoice (fundflow pool fees cancel) or pay it into the pool", inv.ID, failed, exclude, inv.Total.Sub(p.Cash)))
		}
		more, err := s.planSale(ctx, tx, w, p, inv, len(all), exclude)
		if errors.Is(err, errCannotSell) {
			return s.feeBreak(ctx, tx, w, p, *inv, "nothing_can_pay", fmt.Sprintf("invoice %s: the pool's cash %s is short of %s and %v: cancel the invoice (fundflow pool fees cancel) or pay it into the pool", inv.ID, p.Cash, inv.Total, err))
		}
		if err != nil {
			return fmt.Errorf("plan the rest of invoice %s again: %w", inv.ID, err)
		}
		again = true
		return tx.InsertFeeSales(ctx, more)
	})
	return again, err
}

// unitsShort says a sale was refused for too few units (a NAV fall since
// the plan): its scheme is planned again on what it holds.
func unitsShort(reason string) bool {
	return strings.Contains(reason, "insufficient_units") || strings.Contains(reason, "nothing_to_redeem")
}

// How settleSale left a sale.
const (
	saleOpen       = iota // settled, or waiting on the ledger
	saleHeld              // waits on a hold or restriction
	saleNoProceeds        // allotted with no payout: nothing will come (review L3)
)

// settleSale brings an allotted sale's payout into the pool's cash once,
// whatever the sale's status, or marks the sale failed when the ledger
// ended it without proceeds.
func (s *Service) settleSale(ctx context.Context, poolID string, x FeeSale) (state int, err error) {
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		state = saleOpen
		if _, ok, err := tx.LockPool(ctx, poolID); err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		net, found, err := tx.FeeSalePayout(ctx, x.OrderID)
		if err != nil {
			return err
		}
		if !found && x.Status == "failed" {
			return nil
		}
		if !found {
			end, err := tx.FeeSaleEnd(ctx, x.OrderID)
			if err != nil || !end.Ended {
				if end.Held {
					state = saleHeld
				}
				return err
			}
			slog.WarnContext(ctx, "pool fee sale ended without proceeds", "pool", poolID, "invoice", x.InvoiceID, "order", x.OrderID, "reason", end.Reason)
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "fee_sale_failed",
				Payload: map[string]string{"order_id": x.OrderID, "invoice_id": x.InvoiceID, "scheme": x.Scheme, "amount": x.Amount.String(), "reason": end.Reason}})
			return tx.SetFeeSaleFailed(ctx, x.OrderID, end.Reason)
		}
		if net.Sign() <= 0 {
			state = saleNoProceeds
			return nil
		}
		return s.sweepSale(ctx, tx, w, poolID, x, net)
	})
	return state, err
}

// sweepSale posts an allotted sale's payout (net > 0) into the pool's
// cash, once (the entry's unique key), under the pool's lock taken by tx.
func (s *Service) sweepSale(ctx context.Context, tx Tx, w *work, poolID string, x FeeSale, net fund.Amount) error {
	_, inserted, err := tx.Post(ctx, wallet.Entry{Kind: KindFeeSale, Ref: x.OrderID, Amount: net, Postings: []fund.Posting{
		{Account: wallet.AccountLedgerPayout(x.Folio), Asset: fund.AssetINR, Amount: net.Decimal()},
		{Account: AccountCash(poolID), Asset: fund.AssetINR, Amount: net.Decimal().Neg()},
	}}, fund.Amount{})
	if err != nil || !inserted {
		return err // swept before
	}
	p, ok, err := tx.LockPool(ctx, poolID) // read again: this tx may have moved it
	if err != nil || !ok {
		return errors.Join(err, boolErr(ok, ErrNoPool))
	}
	p.Cash = p.Cash.Add(net)
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "fee_sale_swept",
		Payload: map[string]string{"order_id": x.OrderID, "invoice_id": x.InvoiceID, "amount": net.String()}})
	return tx.UpdatePool(ctx, p)
}

// feeBreak opens the invoice's break row and alert (once; restated with
// the latest detail) and logs it.
func (s *Service) feeBreak(ctx context.Context, tx Tx, w *work, p Pool, inv wallet.FeeInvoice, reason, detail string) error {
	slog.WarnContext(ctx, "pool fee invoice cannot be paid", "pool", p.ID, "invoice", inv.ID, "reason", reason, "detail", detail)
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "fee_break",
		Payload: map[string]string{"invoice_id": inv.ID, "reason": reason, "detail": detail}})
	return tx.OpenFeeBreak(ctx, p.ID, inv.ID, reason, detail)
}

// TopicFeeCancelled is the event of a pool invoice an operator cancelled.
const TopicFeeCancelled = "fee.cancelled"

// FeeCancelled is the fee.cancelled event.
type FeeCancelled struct {
	EventID   string      `json:"event_id"`
	InvoiceID string      `json:"invoice_id"`
	Pool      string      `json:"pool_id"`
	From      fund.Date   `json:"period_from"`
	To        fund.Date   `json:"period_to"`
	Total     fund.Amount `json:"total"`
	Reason    string      `json:"reason"`
	// Released is the AUM fee (with its provisioned GST) whose accruals
	// are open again: still owed, and in the NAV, until billed again.
	Released fund.Amount `json:"released"`
	// PerfFeeWaived: the invoice's performance fee, not charged; the
	// high-water mark it moved stays (it never falls).
	PerfFeeWaived fund.Amount `json:"perf_fee_waived"`
	// SoldIntoCash is what its sales brought into the pool's cash: the
	// pool's money, it stays there.
	SoldIntoCash fund.Amount `json:"sold_into_cash"`
	At           string      `json:"at"`
}

// ErrNotDue refuses cancelling an invoice that is not due (paid, or
// unknown).
var ErrNotDue = errors.New("the invoice is not due")

// CancelFeeInvoice cancels a due pool invoice (an operator's decision:
// its sales cannot pay it, or it was billed wrong). The invoice is marked
// cancelling under the pool's lock (no pass places, pays from or plans a
// sale of it after that), its sales live in the ledger are cancelled
// (a cancel request each, a new id when the last was used), any allotted
// one's payout is brought into the pool's cash (the units are sold: the
// money is the pool's), and a sale is marked failed only once the ledger
// ended it or it was never placed; one still live is ErrConflict (try
// again). Then, in one transaction under the pool's lock: the
// invoice is marked cancelled with the reason, its accruals are opened
// again (the fee stays owed and in the NAV, and the period can be billed
// again, under the id <id>-B<n>), its break and alert are resolved, an
// audit row and a fee.cancelled event are written. A due invoice's
// provision (provisionDue: its performance fee, their GST and the GST
// rounding beyond the accruals) is reversed (releaseDue), so the NAV's
// liability is the accruals' again; the accruals' postings are the
// liability that stays, the sales' payouts are the pool's cash. A
// performance fee on it is waived: the mark it raised stays (it never
// falls). The same call on a cancelled
// invoice returns it; on a charged one ErrNotDue.
func (s *Service) CancelFeeInvoice(ctx context.Context, invoiceID, reason string) (FeeCancelled, error) {
	var ev FeeCancelled
	if strings.TrimSpace(reason) == "" {
		return ev, fmt.Errorf("cancel invoice %s: a reason is required", invoiceID)
	}
	var inv wallet.FeeInvoice
	var found bool
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) { inv, found, err = tx.FeeInvoiceByID(ctx, invoiceID); return err }); err != nil {
		return ev, fmt.Errorf("cancel invoice %s: %w", invoiceID, err)
	}
	if !found || inv.PoolID == "" {
		return ev, fmt.Errorf("cancel invoice %s: %w: no such pool invoice", invoiceID, ErrNotDue)
	}
	poolID := inv.PoolID
	if inv.Status == "charged" {
		return ev, fmt.Errorf("cancel invoice %s: %w: it is paid", invoiceID, ErrNotDue)
	}
	// The cancel is recorded first, under the pool's lock, so no later
	// pass places a sale of it (one a crash left placed in the ledger and
	// not marked is cancelled below with the others).
	var ss []FeeSale
	if err := s.inTx(ctx, func(tx Tx, w *work) error {
		if _, ok, err := tx.LockPool(ctx, poolID); err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		var err error
		if ss, err = tx.FeeSales(ctx, invoiceID); err != nil {
			return err
		}
		if inv.Status != "due" {
			return nil
		}
		// The cancel is under way: from here no pass places, pays from or
		// plans again a sale of it (saleStep checks under this lock). A
		// sale is marked failed only once the ledger ended it, or below
		// when it was never placed (review H1).
		return tx.SetFeeInvoiceCancelling(ctx, invoiceID, reason)
	}); err != nil {
		return ev, fmt.Errorf("cancel invoice %s: %w", invoiceID, err)
	}
	if s.Ledger != nil && inv.Status == "due" {
		// A cancel for each sale live in the ledger (placed, not ended, not
		// allotted), whatever its status here. Each attempt takes the next
		// id (-X, -X2, ...) once the last one is used: a cancel that
		// reached the ledger before its sale (a race, or refused) is seen
		// before, and sending it again would do nothing.
		var cancels []string
		if err := s.Store.InTx(ctx, func(tx Tx) error {
			cancels = nil
			for _, x := range ss {
				if _, found, err := tx.FeeSalePayout(ctx, x.OrderID); err != nil || found {
					if err != nil {
						return err
					}
					continue
				}
				end, err := tx.FeeSaleEnd(ctx, x.OrderID)
				if err != nil {
					return err
				}
				if end.Ended || !end.Placed {
					continue
				}
				id, err := nextCancelID(ctx, tx, x.OrderID)
				if err != nil {
					return err
				}
				b, _ := json.Marshal(map[string]string{"order_id": id, "type": "cancel", "target_order_id": x.OrderID,
					"placed_at": s.now().UTC().Format(time.RFC3339Nano)})
				cancels = append(cancels, string(b))
			}
			return nil
		}); err != nil {
			return ev, fmt.Errorf("cancel invoice %s: %w", invoiceID, err)
		}
		if len(cancels) > 0 {
			// Refused for an order allotted already: its payout is swept below.
			if err := wallet.PlaceFeeRedemptions(ctx, s.Ledger, cancels, s.now(), s.MaxSkew); err != nil {
				return ev, fmt.Errorf("cancel invoice %s: cancel its sales: %w", invoiceID, err)
			}
		}
		for _, x := range ss {
			if _, err := s.settleSale(ctx, poolID, x); err != nil {
				return ev, fmt.Errorf("cancel invoice %s: sale %s: %w", invoiceID, x.OrderID, err)
			}
		}
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		cur, _, err := tx.FeeInvoiceByID(ctx, invoiceID)
		if err != nil {
			return err
		}
		all, err := tx.FeeSales(ctx, invoiceID)
		if err != nil {
			return err
		}
		ev = FeeCancelled{EventID: TopicFeeCancelled + ":" + invoiceID, InvoiceID: invoiceID, Pool: poolID, From: cur.From, To: cur.To,
			Total: cur.Total, Reason: reason, PerfFeeWaived: cur.PerfFee, At: s.now().UTC().Format(time.RFC3339Nano)}
		for _, x := range all {
			if net, found, err := tx.FeeSalePayout(ctx, x.OrderID); err != nil {
				return err
			} else if found {
				// Swept above (settleSale), or here if allotted since.
				if net.Sign() > 0 {
					if err := s.sweepSale(ctx, tx, w, poolID, x, net); err != nil {
						return err
					}
				}
				ev.SoldIntoCash = ev.SoldIntoCash.Add(net)
				continue
			}
			if x.Status == "failed" && !strings.HasPrefix(x.Reason, "invoice_cancelled") {
				continue
			}
			end, err := tx.FeeSaleEnd(ctx, x.OrderID)
			if err != nil {
				return err
			}
			if !end.Ended && end.Placed {
				return fmt.Errorf("%w: its sale %s is still waiting in the ledger (its cancel not applied): try again", ErrConflict, x.OrderID)
			}
			reason := end.Reason
			if !end.Placed {
				// Never placed, and no pass places it now (the invoice is
				// cancelling, checked under this lock).
				reason = "invoice_cancelled: not placed"
			}
			if err := tx.SetFeeSaleFailed(ctx, x.OrderID, reason); err != nil {
				return err
			}
		}
		switch cur.Status {
		case "cancelled":
			ev.At = "" // cancelled before: nothing more
			return nil
		case "charged":
			return fmt.Errorf("%w: it was paid meanwhile", ErrNotDue)
		}
		accGST, err := tx.AccruedGST(ctx, poolID, invoiceID)
		if err != nil {
			return err
		}
		ev.Released = cur.AUMFee.Add(accGST)
		// Its provision (provisionDue: the performance fee, its GST and
		// the GST rounding) leaves the NAV's liability; read by the
		// invoice's accruals, so before they are opened again.
		if err := s.releaseDue(ctx, tx, &p, cur); err != nil {
			return err
		}
		if err := tx.CancelFeeInvoice(ctx, invoiceID, reason, s.now()); err != nil {
			return err
		}
		if err := tx.ResolveFeeBreak(ctx, invoiceID); err != nil {
			return err
		}
		w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicFeeCancelled, Key: poolID, Payload: ev})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "fee_cancelled", Payload: ev})
		return nil
	})
	if err != nil {
		return ev, fmt.Errorf("cancel invoice %s: %w", invoiceID, err)
	}
	return ev, nil
}

// nextCancelID is the first of order's cancel ids (-X, -X2, ...) the
// ledger has not seen.
func nextCancelID(ctx context.Context, tx Tx, order string) (string, error) {
	for k := 1; ; k++ {
		id := order + "-X"
		if k > 1 {
			id += fmt.Sprint(k)
		}
		seen, err := tx.FeeSaleEnd(ctx, id) // Placed: the ledger has a request of that id
		if err != nil || !seen.Placed {
			return id, err
		}
	}
}
