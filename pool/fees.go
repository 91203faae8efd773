package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// Pool fees (issue 22): the AUM management fee and the performance fee of
// a pool, by the wallet fee engine's rules (fund/managed: effective-dated
// rate tables, rate/365 a day carried over holidays, GST 18 % on the
// invoice, the high-water mark that never falls) and its invoice writer
// (wallet.InvoiceLines, CSV and PDF).
//
// Where the accrued fee lives: the account pool_fee_accrued:<pool> in the
// wallet journal, a debit balance (what the pool owes the platform), and
// pools.fee_accrued mirrors it in the same transaction. Each pool NAV
// accrues its days' fee (Dr pool_fee_accrued:<pool>, Cr
// fee_income:managed: the income is earned as the days pass) and deducts
// the whole balance from the pool's value, so the NAV a leaving member is
// paid at is already net of the fee of the days they were in; the bill
// later pays the balance from the pool's cash (Dr pool:<pool>, Cr
// pool_fee_accrued:<pool>) with its GST (Cr tax:gst). The pool's cash is
// untouched until the bill: the money is still there to pay it, and the
// NAV does not move on the billing day except by the GST (and a
// crystallised performance fee), which are charged when invoiced.

// Journal kinds and accounts of pool fees (migration 058).
const (
	KindFeeAccrual = "pool_fee_accrual"
	KindFee        = "pool_fee"
)

// AccountFeeAccrued is the pool's fee accrued and not billed (debit).
func AccountFeeAccrued(pool string) string { return "pool_fee_accrued:" + pool }

// ErrNoFeeTerms: the pool has no fee terms in effect for the period.
var ErrNoFeeTerms = errors.New("pool has no fee terms for the period")

// FeeTerms are a pool's fee terms from a date.
type FeeTerms struct {
	Pool       string          `json:"pool_id"`
	From       fund.Date       `json:"valid_from"`
	AUMRatePct decimal.Decimal `json:"aum_rate_pct"`
	PerfPct    decimal.Decimal `json:"perf_pct"`
	HurdlePct  decimal.Decimal `json:"hurdle_pct"`
}

// SetFeeTerms stores a pool's fee terms from a date (the same date again
// replaces them), checked as a wallet's are (managed.CheckFeeTerms).
func (s *Service) SetFeeTerms(ctx context.Context, t FeeTerms) error {
	if err := managed.CheckFeeTerms(t.From, t.AUMRatePct, t.PerfPct, t.HurdlePct); err != nil {
		return fmt.Errorf("pool %s fee terms: %w", t.Pool, err)
	}
	return s.inTx(ctx, func(tx Tx, w *work) error {
		if _, ok, err := tx.LockPool(ctx, t.Pool); err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		if err := tx.PutFeeTerms(ctx, t); err != nil {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: t.Pool, Action: "fee_terms", Payload: t})
		return nil
	})
}

// FeeTermsOf reads a pool's fee terms by date.
func (s *Service) FeeTermsOf(ctx context.Context, poolID string) (ts []FeeTerms, err error) {
	err = s.Store.InTx(ctx, func(tx Tx) error {
		ts, err = tx.FeeTerms(ctx, poolID)
		return err
	})
	return ts, err
}

// rateTable is the AUM rates of terms (by date) in effect by to.
func rateTable(ts []FeeTerms, to fund.Date) (managed.RateTable, *FeeTerms, error) {
	var rates []managed.Rate
	var last *FeeTerms
	for i, t := range ts {
		if t.From.After(to) {
			break
		}
		rates = append(rates, managed.Rate{From: t.From, Percent: t.AUMRatePct})
		last = &ts[i]
	}
	if last == nil {
		return nil, nil, ErrNoFeeTerms
	}
	table, err := managed.NewRateTable(rates...)
	return table, last, err
}

// FeeTx is what pool fees need of a transaction.
type FeeTx interface {
	// FeeTerms reads a pool's fee terms by date.
	FeeTerms(ctx context.Context, pool string) ([]FeeTerms, error)
	PutFeeTerms(ctx context.Context, t FeeTerms) error
	// LastAccrual reads the pool's latest accrual (found false: none).
	LastAccrual(ctx context.Context, pool string) (Accrual, bool, error)
	InsertAccrual(ctx context.Context, a Accrual) error
}

// Accrual is one pool NAV's fee: the calendar days From..To (since the
// last accrual through the day before the next business day), each day's
// AUM × rate/365, the sum rounded DOWN to the paisa once
// (managed.AccrueAUMFeeRuns, the wallet's accrual). AUM is the pool's
// value before the day's requests, net of the fee accrued before it.
type Accrual struct {
	Pool      string        `json:"pool_id"`
	NAVDate   fund.Date     `json:"nav_date"`
	From      fund.Date     `json:"from"`
	To        fund.Date     `json:"to"`
	AUM       fund.Amount   `json:"aum"`
	Fee       fund.Amount   `json:"fee"`
	Runs      []managed.Run `json:"runs"`
	InvoiceID string        `json:"invoice_id,omitempty"`
}

// accrue is the fee of day's NAV, inside ComputeNAV's transaction (the
// pool row locked): it writes the accrual row (once per pool and NAV date,
// like the NAV row), posts the fee to pool_fee_accrued:<pool> and raises
// p.FeeAccrued. gross is the pool's holdings, money in purchases and cash
// before the day's requests. Days the NAV job skipped (no NAV on a
// business day) carry the last accrual's AUM, as holidays do; days before
// the first terms accrue nothing. No terms: nothing (nil).
func (s *Service) accrue(ctx context.Context, tx Tx, p *Pool, day fund.Date, gross fund.Amount) (*Accrual, error) {
	ts, err := tx.FeeTerms(ctx, p.ID)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	next, err := s.Calendar.NextBusinessDay(day)
	if err != nil {
		return nil, fmt.Errorf("fee accrual: %w", err)
	}
	end := next.AddDays(-1)
	table, _, err := rateTable(ts, end)
	if errors.Is(err, ErrNoFeeTerms) {
		return nil, nil // terms from a later date
	}
	if err != nil {
		return nil, err
	}
	aum := gross.Sub(p.FeeAccrued)
	if aum.IsNegative() {
		aum = fund.Amount{}
	}
	a := Accrual{Pool: p.ID, NAVDate: day, From: day, To: end, AUM: aum}
	vals := []managed.AUM{{Date: day, Value: aum}}
	last, found, err := tx.LastAccrual(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if found {
		a.From = last.To.AddDays(1)
		vals = append(vals, managed.AUM{Date: last.NAVDate, Value: last.AUM})
	}
	if first := table[0].From; a.From.Before(first) {
		a.From = first
	}
	if a.From.After(end) {
		return nil, nil
	}
	acc, err := managed.AccrueAUMFeeRuns(a.From, a.To, vals, table)
	if err != nil {
		return nil, fmt.Errorf("fee accrual of %s: %w", day, err)
	}
	a.Fee, a.Runs = acc.Fee, acc.Runs
	if err := tx.InsertAccrual(ctx, a); err != nil {
		return nil, err
	}
	if a.Fee.Sign() > 0 {
		e := wallet.Entry{Kind: KindFeeAccrual, Ref: p.ID + ":" + day.String(), Amount: a.Fee, Postings: []fund.Posting{
			{Account: AccountFeeAccrued(p.ID), Asset: fund.AssetINR, Amount: a.Fee.Decimal()},
			{Account: wallet.AccountFeeIncome, Asset: fund.AssetINR, Amount: a.Fee.Decimal().Neg()},
		}}
		if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
			return nil, errors.Join(err, boolErr(inserted, fmt.Errorf("pool %s's fee of %s was accrued without its row", p.ID, day)))
		}
		p.FeeAccrued = p.FeeAccrued.Add(a.Fee)
	}
	return &a, nil
}
