package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// The performance fee on exit (issue 22: "crystallised yearly or on
// exit"). A withdrawal priced at a NAV above the pool's per-unit
// high-water mark (or the hurdle over the last crystallisation's NAV)
// pays perf % of its own units' gain, PerfFee over the withdrawn units,
// with GST 18 %, from its proceeds, in the pricing's entry: the member
// gets units × NAV less the total; one invoice row a withdrawal request
// (pool_exit_fees, migration 063), written with the pricing, which
// happens once per request (ComputeNAV), so the fee is charged once.
//
// The high-water mark is not changed by an exit. It is the pool's mark
// per unit for the units that stay: raising it to the exit NAV would let
// them skip the fee on their own gain up to that NAV at the year's
// crystallisation, and the exiting units have paid on theirs already (the
// yearly bill counts the units after the day's withdrawals, so no unit
// pays twice). Left unchanged it cannot fall.

// ExitFee is the performance fee a withdrawal paid.
type ExitFee struct {
	InvoiceID string                  `json:"invoice_id"`
	Request   string                  `json:"request_id"`
	Pool      string                  `json:"pool_id"`
	Wallet    string                  `json:"wallet_id"`
	NAVDate   fund.Date               `json:"nav_date"`
	Units     fund.Units              `json:"units"`
	NAV       fund.NAV                `json:"nav"`
	HWM       fund.NAV                `json:"hwm_nav"`
	Gross     fund.Amount             `json:"gross"`
	Perf      managed.Crystallisation `json:"performance"`
	Fee       fund.Amount             `json:"perf_fee"`
	GST       fund.Amount             `json:"gst"`
	Total     fund.Amount             `json:"total"`
}

// ExitFeeInvoiceID is the invoice id of a withdrawal's performance fee.
func ExitFeeInvoiceID(poolID, requestID string) string {
	return "PFEE-" + poolID + "-EXIT-" + requestID
}

// exitFee is the performance fee of withdrawal r at nav (gross: its
// units' value), inside the NAV's transaction; nil when the pool has no
// performance fee in effect on the NAV date or the units gained nothing
// above the mark.
func (s *Service) exitFee(ctx context.Context, tx Tx, p Pool, r Request, nav fund.NAV, gross fund.Amount) (*ExitFee, error) {
	ts, err := tx.FeeTerms(ctx, p.ID)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	_, last, err := rateTable(ts, r.NAVDate)
	if errors.Is(err, ErrNoFeeTerms) || (err == nil && last.PerfPct.Sign() <= 0) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h, since, err := s.markAt(ctx, tx, p, r.NAVDate) // the year's rule (review r35 H1)
	if err != nil {
		return nil, err
	}
	tr, _, err := s.totalReturn(ctx, tx, p.ID, since, r.NAVDate, nav) // distributions count (review r35 M4)
	if err != nil {
		return nil, err
	}
	c, _, err := PerfFee(*last, h, tr, r.Units) // the mark after is not kept: see above
	if err != nil || c.Invoice.Fee.Sign() <= 0 {
		return nil, err
	}
	return &ExitFee{InvoiceID: ExitFeeInvoiceID(p.ID, r.ID), Request: r.ID, Pool: p.ID, Wallet: r.Wallet, NAVDate: r.NAVDate,
		Units: r.Units, NAV: nav, HWM: h.NAV, Gross: gross, Perf: c, Fee: c.Invoice.Fee, GST: c.Invoice.GST, Total: c.Invoice.Total}, nil
}

// chargeExitFee writes the exit fee's invoice row and its fee.charged
// event (the postings are the pricing entry's).
func (s *Service) chargeExitFee(ctx context.Context, tx Tx, w *work, p Pool, ef ExitFee) error {
	if err := tx.InsertExitFee(ctx, ef); err != nil {
		return err
	}
	ev := FeeCharged{EventID: wallet.TopicFeeCharged + ":" + ef.InvoiceID, InvoiceID: ef.InvoiceID, Pool: p.ID, From: ef.NAVDate, To: ef.NAVDate,
		PerfFee: ef.Fee, Fee: ef.Fee, GST: ef.GST, Total: ef.Total, Cash: p.Cash, At: s.now().UTC().Format(time.RFC3339Nano)}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: wallet.TopicFeeCharged, Key: p.ID, Payload: ev})
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "exit_fee_charged", Payload: ef})
	return nil
}

// Invoice is the exit fee as an invoice for the writer (wallet.InvoiceLines,
// CSV and PDF): the pool's and the member's, the NAV date as its period,
// the performance fee and its GST, charged.
func (ef ExitFee) Invoice() wallet.FeeInvoice {
	perf := ef.Perf
	return wallet.FeeInvoice{ID: ef.InvoiceID, PoolID: ef.Pool, WalletID: ef.Wallet, From: ef.NAVDate, To: ef.NAVDate,
		PerfFee: ef.Fee, Fee: ef.Fee, GST: ef.GST, Total: ef.Total, Perf: &perf, Status: "charged",
		Note: fmt.Sprintf("Performance fee on exit: withdrawal %s of %s units at NAV %s (%s), high-water mark %s", ef.Request, ef.Units, ef.NAV, ef.Gross, ef.HWM)}
}

// Invoice reads a pool invoice by id: a period's (PFEE-<pool>-<from>-<to>,
// its accrual expanded) or a member's exit fee (PFEE-<pool>-EXIT-<request>).
func (s *Service) Invoice(ctx context.Context, id string) (inv wallet.FeeInvoice, found bool, err error) {
	err = s.Store.InTx(ctx, func(tx Tx) error {
		if inv, found, err = tx.FeeInvoiceByID(ctx, id); err != nil || found {
			inv.Accrual = inv.Accrual.Expanded()
			return err
		}
		var ef ExitFee
		if ef, found, err = tx.ExitFee(ctx, id); err != nil || !found {
			return err
		}
		inv = ef.Invoice()
		return nil
	})
	return inv, found, err
}
