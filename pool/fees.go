package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Journal kinds and accounts of pool fees (migration 059).
const (
	KindFeeAccrual = "pool_fee_accrual"
	KindFee        = "pool_fee"
)

// AccountFeeAccrued is the pool's fee accrued and not billed (debit),
// with its GST (migration 062_pool_fee_gst).
func AccountFeeAccrued(pool string) string { return "pool_fee_accrued:" + pool }

// AccountGSTAccrued is the GST provisioned on accrued pool fees (credit):
// the bill releases it and credits the invoice's GST to tax:gst.
const AccountGSTAccrued = "tax:gst_accrued"

// ErrFeeOwed refuses the withdrawal that would leave a pool with no units
// while it owes fees (accrued or on a due invoice): nobody would be left
// to bear them. We refuse rather than bill inside the NAV because a bill
// may need holdings sold (days, not one transaction). To close a pool:
// set fee terms of 0 % from the day after the last accrual, bill through
// it, then the last member's withdrawal goes through.
var ErrFeeOwed = errors.New("the last withdrawal would leave the pool's fees unpaid: bill them first")

// ErrBackdatedTerms refuses fee terms from a day already accrued.
var ErrBackdatedTerms = errors.New("fee terms dated in the accrued past")

// ErrPeriodConflict refuses a billing period that does not follow the
// pool's invoices (another end from the same start, a gap, an invoice
// still due). It is an ErrConflict (exit 2), with its own words: the
// conflict's text ("request id already used differently") misled (review
// r35 L3).
var ErrPeriodConflict error = periodConflict{}

type periodConflict struct{}

func (periodConflict) Error() string        { return "the billing period conflicts with the pool's invoices" }
func (periodConflict) Is(target error) bool { return target == ErrConflict }

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
		p, ok, err := tx.LockPool(ctx, t.Pool)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		// Days already accrued keep their rate (review M6): terms dated on
		// or before the last accrual's end would silently not apply.
		if last, found, err := tx.LastAccrual(ctx, t.Pool); err != nil {
			return err
		} else if found && !t.From.After(last.To) {
			return fmt.Errorf("%w: pool %s's fee is accrued through %s (NAV of %s); terms from %s would not apply to those days: date them from %s or later",
				ErrBackdatedTerms, t.Pool, last.To, last.NAVDate, t.From, last.To.AddDays(1))
		}
		// Priced days are past too, accruals or not (review r35 L3): the
		// AUM fee of those days would be dropped and the performance base
		// moved back before them.
		if !p.LastNAV.IsZero() && !t.From.After(p.LastNAV) {
			return fmt.Errorf("%w: pool %s is priced through %s; terms from %s would not apply to those days: date them from %s or later",
				ErrBackdatedTerms, t.Pool, p.LastNAV, t.From, p.LastNAV.AddDays(1))
		}
		if err := s.checkPerfChange(ctx, tx, p, t); err != nil {
			return err
		}
		if err := tx.PutFeeTerms(ctx, t); err != nil {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: t.Pool, Action: "fee_terms", Payload: t})
		return nil
	})
}

// ErrPerfChangeNotCrystallised refuses a change of the performance %
// or hurdle while a gain at the old terms is not crystallised.
var ErrPerfChangeNotCrystallised = managed.ErrPerfChangeNotCrystallised

// checkPerfChange refuses terms from a date that change the performance %
// or the hurdle in effect the day before, by managed.CheckPerfChange (the
// wallet's rule too): unless the pool was crystallised through that day
// (bill --crystallise --to that day), or has no NAV under those terms yet
// (review r35 M3). (A stub crystallisation at the change would need the
// NAV of the day before it, priced and billed, the same steps done by the
// system.)
func (s *Service) checkPerfChange(ctx context.Context, tx Tx, p Pool, t FeeTerms) error {
	ts, err := tx.FeeTerms(ctx, p.ID)
	if err != nil {
		return err
	}
	r, err := managed.CheckPerfChange(managed.PerfChange{Terms: datedPerfTerms(ts), Next: datedPerf(t),
		Valued: func(day fund.Date) (fund.Date, bool, error) {
			n, ok, err := tx.NAVOnOrBefore(ctx, p.ID, day)
			return n.Date, ok, err
		},
		Crystallised: func() (fund.Date, bool, error) {
			h, found, err := tx.HWM(ctx, p.ID)
			return h.AsOf, found, err
		}})
	if err != nil || r == nil {
		return err
	}
	return fmt.Errorf("%w: pool %s's %s (bill --crystallise --to %s)", ErrPerfChangeNotCrystallised, p.ID, r, r.Through)
}

func datedPerf(t FeeTerms) managed.DatedPerfTerms {
	return managed.DatedPerfTerms{From: t.From, PerfTerms: managed.PerfTerms{Percent: t.PerfPct, HurdlePercent: t.HurdlePct}}
}

func datedPerfTerms(ts []FeeTerms) []managed.DatedPerfTerms {
	out := make([]managed.DatedPerfTerms, len(ts))
	for i, t := range ts {
		out[i] = datedPerf(t)
	}
	return out
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
	// OpenAccruals reads the pool's accruals of NAV dates through to not
	// billed yet (from is the period's start, not a bound: review M4), by
	// date, locked.
	OpenAccruals(ctx context.Context, pool string, from, to fund.Date) ([]Accrual, error)
	// SettleAccruals marks them billed by the invoice.
	SettleAccruals(ctx context.Context, pool string, from, to fund.Date, invoiceID string) error
	// LastFeeInvoice reads the pool's invoice of the latest period.
	LastFeeInvoice(ctx context.Context, pool string) (wallet.FeeInvoice, bool, error)
	// FeeInvoice reads the pool's invoice of the period starting from.
	FeeInvoice(ctx context.Context, pool string, from fund.Date) (wallet.FeeInvoice, bool, error)
	// InsertFeeInvoice writes an invoice (due, or paid by pay next).
	InsertFeeInvoice(ctx context.Context, inv wallet.FeeInvoice) error
	// NAVOnOrBefore reads the pool's latest NAV row dated day or before.
	NAVOnOrBefore(ctx context.Context, pool string, day fund.Date) (DayNAV, bool, error)
	// HWM reads the pool's high-water mark, locked (found false: none yet).
	HWM(ctx context.Context, pool string) (HWM, bool, error)
	PutHWM(ctx context.Context, h HWM) error
	// AccruedGST sums the GST provisioned by the invoice's accruals.
	AccruedGST(ctx context.Context, pool, invoiceID string) (fund.Amount, error)
	// ChargedAfterNAV is what bills made while navDate was the pool's
	// latest NAV paid beyond their accrued AUM fee and its provisioned GST
	// (the GST rounding, the performance fee and its GST).
	ChargedAfterNAV(ctx context.Context, pool string, navDate fund.Date) (fund.Amount, error)
	// InsertExitFee writes a withdrawal's performance fee (exitfee.go).
	InsertExitFee(ctx context.Context, ef ExitFee) error
	// SetFeeInvoiceProvisioned records the latest NAV date when a due
	// invoice's charge beyond its accruals went into the pool's liability
	// (provisionDue; once: a second call keeps the first date).
	SetFeeInvoiceProvisioned(ctx context.Context, id string, afterNAV fund.Date) error
	// DistributedPerUnit sums the pool's distributions per unit (amount ÷
	// the units on the record date) of record dates from..before-1.
	DistributedPerUnit(ctx context.Context, pool string, from, before fund.Date) (decimal.Decimal, error)
	// WithdrawnAfter sums the units of the pool's withdrawals priced at
	// NAVs after day.
	WithdrawnAfter(ctx context.Context, pool string, day fund.Date) (fund.Units, error)
	// ExitFee reads a withdrawal's performance fee by its invoice id.
	ExitFee(ctx context.Context, invoiceID string) (ExitFee, bool, error)
	FeeSaleTx
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
	// GST is 18 % of Fee half-up (managed.NewInvoice), provisioned with
	// it: the NAV deducts both (review H2).
	GST fund.Amount `json:"gst"`
}

// dayAccrual is a NAV's accrual between its two halves (accrue, then
// finishAccrual after the day's requests).
type dayAccrual struct {
	a      Accrual
	vals   []managed.AUM
	table  managed.RateTable
	before fund.Amount // p.FeeAccrued before the accrual
	part   fund.Amount // fee + GST of a.From..day, which the NAV deducts
}

// accrue is the first half of day's fee, inside ComputeNAV's transaction
// (the pool row locked): the days from the last accrual through day (days
// the NAV job skipped carry the last NAV's value after its requests,
// review L1; day itself is valued at gross, the pool's holdings, money in
// purchases and cash before the day's requests, net of the fee owed). It
// raises p.FeeAccrued by that part's fee + GST, which the day's NAV
// deducts. The days after day through the day before the next business
// day (a weekend, a holiday) accrue in finishAccrual on the pool's value
// after the day's requests (review L1): a member leaving today does not
// pay them, one joining today does. Days before the first terms accrue
// nothing. No terms: nil.
func (s *Service) accrue(ctx context.Context, tx Tx, p *Pool, day fund.Date, gross fund.Amount) (*dayAccrual, error) {
	ts, err := tx.FeeTerms(ctx, p.ID)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	end, err := s.accrualEnd(day) // never past the quarter's end (review r35 L1)
	if err != nil {
		return nil, fmt.Errorf("fee accrual: %w", err)
	}
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
	d := &dayAccrual{a: Accrual{Pool: p.ID, NAVDate: day, From: day, To: end, AUM: aum}, table: table, before: p.FeeAccrued}
	d.vals = []managed.AUM{{Date: day, Value: aum}}
	last, found, err := tx.LastAccrual(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	// The days since the last NAV carry its value after its requests.
	var prevNAV fund.Date
	switch {
	case found:
		d.a.From, prevNAV = last.To.AddDays(1), last.NAVDate
	case !p.LastNAV.IsZero():
		// The first accrual starts at max(terms' from, last NAV + 1)
		// (review M6).
		d.a.From, prevNAV = p.LastNAV.AddDays(1), p.LastNAV
	}
	if !prevNAV.IsZero() && d.a.From.Before(day) {
		prev := aum
		if found {
			prev = last.AUM // a NAV row before migration 056 has no value after
		}
		if n, ok, err := tx.NAVOnOrBefore(ctx, p.ID, prevNAV); err != nil {
			return nil, err
		} else if ok && n.ValueAfter != nil {
			prev = *n.ValueAfter
		}
		d.vals = append(d.vals, managed.AUM{Date: prevNAV, Value: prev})
	}
	if first := table[0].From; d.a.From.Before(first) {
		d.a.From = first
	}
	if d.a.From.After(end) {
		return nil, nil
	}
	if !d.a.From.After(day) {
		acc, err := managed.AccrueAUMFeeRuns(d.a.From, day, d.vals, table)
		if err != nil {
			return nil, fmt.Errorf("fee accrual of %s: %w", day, err)
		}
		d.part = acc.Fee.Add(managed.NewInvoice(acc.Fee).GST)
	}
	p.FeeAccrued = p.FeeAccrued.Add(d.part)
	return d, nil
}

// finishAccrual is the second half, after the day's requests are priced:
// the whole accrual a.From..To, the days after day on valueAfter (the
// pool's value after the requests, net of the fee owed through day), the
// sum rounded down to the paisa once, its GST; it writes the accrual row
// (once per pool and NAV date, like the NAV row), posts fee + GST to
// pool_fee_accrued:<pool> and sets p.FeeAccrued to what the pool owes
// after it.
func (s *Service) finishAccrual(ctx context.Context, tx Tx, p *Pool, d *dayAccrual, valueAfter fund.Amount) (*Accrual, error) {
	a, day := d.a, d.a.NAVDate
	vals := d.vals
	if fwd := day.AddDays(1); !fwd.After(a.To) {
		if valueAfter.IsNegative() {
			valueAfter = fund.Amount{}
		}
		vals = append(vals, managed.AUM{Date: fwd, Value: valueAfter})
	}
	acc, err := managed.AccrueAUMFeeRuns(a.From, a.To, vals, d.table)
	if err != nil {
		return nil, fmt.Errorf("fee accrual of %s: %w", day, err)
	}
	a.Fee, a.Runs = acc.Fee, acc.Runs
	// The value after is the NAV day's (review r35-poolfix L2): it is
	// listed under day+1 above only because day's own AUM holds day.
	for i := range a.Runs {
		if a.Runs[i].Valued.After(day) {
			a.Runs[i].Valued = day
		}
	}
	a.GST = managed.NewInvoice(a.Fee).GST
	if err := tx.InsertAccrual(ctx, a); err != nil {
		return nil, err
	}
	owed := a.Fee.Add(a.GST)
	if a.Fee.Sign() > 0 {
		e := wallet.Entry{Kind: KindFeeAccrual, Ref: p.ID + ":" + day.String(), Amount: owed, Postings: []fund.Posting{
			{Account: AccountFeeAccrued(p.ID), Asset: fund.AssetINR, Amount: owed.Decimal()},
			{Account: wallet.AccountFeeIncome, Asset: fund.AssetINR, Amount: a.Fee.Decimal().Neg()},
		}}
		if a.GST.Sign() > 0 {
			e.Postings = append(e.Postings, fund.Posting{Account: AccountGSTAccrued, Asset: fund.AssetINR, Amount: a.GST.Decimal().Neg()})
		}
		if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
			return nil, errors.Join(err, boolErr(inserted, fmt.Errorf("pool %s's fee of %s was accrued without its row", p.ID, day)))
		}
	}
	p.FeeAccrued = d.before.Add(owed)
	return &a, nil
}

// HWM is a pool's performance-fee high-water mark per unit: the highest
// NAV at a crystallisation (the launch NAV before the first), and the NAV
// after the last one's fee (the hurdle's base).
type HWM struct {
	Pool     string   `json:"pool_id"`
	NAV      fund.NAV `json:"hwm_nav"`
	StartNAV fund.NAV `json:"start_nav"`
	AsOf     fund.Date
	// dist is the distributions per unit the crystallisation's total
	// return added to the NAV (not stored): the hurdle's base is on the
	// same scale.
	dist decimal.Decimal
}

// FeeInvoiceID is the invoice id of a pool's period.
func FeeInvoiceID(poolID string, from, to fund.Date) string {
	return fmt.Sprintf("PFEE-%s-%s-%s", poolID, from, to)
}

// FeeCharged is the fee.charged event of a pool's invoice.
type FeeCharged struct {
	EventID   string      `json:"event_id"`
	InvoiceID string      `json:"invoice_id"`
	Pool      string      `json:"pool_id"`
	From      fund.Date   `json:"period_from"`
	To        fund.Date   `json:"period_to"`
	AUMFee    fund.Amount `json:"aum_fee"`
	PerfFee   fund.Amount `json:"perf_fee"`
	Fee       fund.Amount `json:"fee"`
	GST       fund.Amount `json:"gst"`
	Total     fund.Amount `json:"total"`
	Cash      fund.Amount `json:"pool_cash"` // after the payment
	At        string      `json:"at"`
}

// BillFees bills a pool's period once: the AUM fee accrued by the NAVs of
// from..to and not billed yet (the liability the NAV already deducts),
// with crystallise the performance fee over the high-water mark, and GST
// on the sum (managed.NewInvoice), paid from the pool's cash in the same
// transaction: Dr pool:<pool> (the total), Cr pool_fee_accrued:<pool>
// (the AUM fee), Cr fee_income:managed (the performance fee), Cr tax:gst.
// The accruals are marked billed by the invoice, the high-water mark
// moved, the fee.charged event written. The same period again returns the
// invoice (created false) and charges nothing; another period end from
// the same start is refused. Cash short of the total: the pool sells
// holdings for the rest (feesale.go) and the invoice is due until their
// proceeds pay it (the same call again takes it a step further); a pool
// without a folio, or whose holdings are worth less than the rest, is
// refused (ErrCashShort, naming the shortfall), nothing written, the fee
// stays accrued (and in the NAV) until a bill finds the cash.
func (s *Service) BillFees(ctx context.Context, poolID string, from, to fund.Date, crystallise bool) (inv wallet.FeeInvoice, created bool, err error) {
	if to.Before(from) {
		return inv, false, fmt.Errorf("bill pool %s: period %s..%s ends before it starts", poolID, from, to)
	}
	var sold []FeeSale
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		created, sold = false, nil
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		if prev, found, err := tx.FeeInvoice(ctx, poolID, from); err != nil || found {
			if err == nil && prev.To != to {
				err = fmt.Errorf("%w: pool %s was billed %s..%s, not ..%s", ErrPeriodConflict, poolID, prev.From, prev.To, to)
			}
			inv = prev
			return err
		}
		inv = wallet.FeeInvoice{}
		if err := s.checkPeriod(ctx, tx, poolID, from, to); err != nil {
			return err
		}
		ts, err := tx.FeeTerms(ctx, poolID)
		if err != nil {
			return err
		}
		_, last, err := rateTable(ts, to)
		if err != nil {
			return err
		}
		accs, err := tx.OpenAccruals(ctx, poolID, from, to)
		if err != nil {
			return err
		}
		inv = wallet.FeeInvoice{ID: FeeInvoiceID(poolID, from, to), PoolID: poolID, From: from, To: to, Status: "charged",
			Accrual: managed.Accrual{From: from, To: to}}
		// A period billed again after an operator cancelled its invoice
		// (CancelFeeInvoice) takes a new id, so its sales' order ids are new.
		if n, err := tx.CancelledInvoices(ctx, poolID, from); err != nil {
			return err
		} else if n > 0 {
			inv.ID = fmt.Sprintf("%s-B%d", inv.ID, n+1)
		}
		var accGST fund.Amount // provisioned, in the NAV already
		for _, a := range accs {
			accGST = accGST.Add(a.GST)
			inv.AUMFee = inv.AUMFee.Add(a.Fee)
			inv.Accrual.Runs = append(inv.Accrual.Runs, a.Runs...)
		}
		inv.Accrual.Fee = inv.AUMFee
		var hwm *HWM
		if crystallise && last.PerfPct.Sign() > 0 {
			if hwm, err = s.crystallise(ctx, tx, p, *last, to, &inv); err != nil {
				return err
			}
		}
		bill := managed.NewInvoice(inv.AUMFee.Add(inv.PerfFee))
		inv.Fee, inv.GST, inv.Total = bill.Fee, bill.GST, bill.Total
		if inv.Total.Cmp(p.Cash) > 0 {
			// The pool sells holdings for the rest (feesale.go): the
			// invoice is due until their proceeds are in the cash.
			sold, err = s.planSale(ctx, tx, w, p, &inv, 0, nil)
			if errors.Is(err, errCannotSell) {
				return fmt.Errorf("%w: the bill %s..%s is %s (fee %s + GST %s), the pool holds %s in cash, short by %s (%v); nothing charged, the fee stays accrued",
					ErrCashShort, from, to, inv.Total, inv.Fee, inv.GST, p.Cash, inv.Total.Sub(p.Cash), err)
			}
			if err != nil { // the database's, not a shortfall (review L2)
				return fmt.Errorf("plan the sale of holdings for the bill %s..%s: %w", from, to, err)
			}
		}
		if hwm != nil { // the hurdle's base: the NAV once this bill's cash beyond the accrued fee has left
			h, err := s.startAfter(ctx, tx, poolID, to, inv, accGST)
			if err != nil {
				return err
			}
			if hwm.StartNAV, err = fund.NAVFromDecimal(h.Decimal().Add(hwm.dist), fund.RoundDown); err != nil {
				return err
			}
			if err := tx.PutHWM(ctx, *hwm); err != nil {
				return err
			}
		}
		// The accruals are the invoice's from now on (a due one's too: the
		// liability stays in the NAV until paid).
		if err := tx.SettleAccruals(ctx, poolID, from, to, inv.ID); err != nil {
			return err
		}
		if err := tx.InsertFeeInvoice(ctx, inv); err != nil {
			return err
		}
		if inv.Status == "due" {
			created = true
			if err := s.provisionDue(ctx, tx, &p, inv); err != nil {
				return err
			}
			return tx.InsertFeeSales(ctx, sold)
		}
		if err := s.pay(ctx, tx, w, &p, inv, false); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return wallet.FeeInvoice{}, false, fmt.Errorf("bill pool %s %s..%s: %w", poolID, from, to, err)
	}
	if inv.Status == "due" { // sell, bring the proceeds in, pay when they cover it
		if inv, err = s.progressSale(ctx, poolID, inv); err != nil {
			return inv, created, fmt.Errorf("bill pool %s %s..%s: %w", poolID, from, to, err)
		}
	}
	inv.Accrual = inv.Accrual.Expanded()
	return inv, created, nil
}

// checkPeriod refuses a period that is not the next one (review M4):
// from must be the day after the last invoice's end, and the accruals
// must reach to (the NAV covering it has run), so no accrued day falls
// between two bills.
func (s *Service) checkPeriod(ctx context.Context, tx Tx, poolID string, from, to fund.Date) error {
	prev, found, err := tx.LastFeeInvoice(ctx, poolID)
	if err != nil {
		return err
	}
	if found && prev.Status == "due" {
		// Its sale is planned on the same lots: pay it first (review M3).
		return fmt.Errorf("%w: pool %s's invoice %s is due (its holdings being sold): the next period is billed once it is paid", ErrPeriodConflict, poolID, prev.ID)
	}
	if found && from != prev.To.AddDays(1) {
		return fmt.Errorf("%w: pool %s was last billed %s..%s: the next period starts %s, not %s", ErrPeriodConflict, poolID, prev.From, prev.To, prev.To.AddDays(1), from)
	}
	last, found, err := tx.LastAccrual(ctx, poolID)
	if err != nil {
		return err
	}
	if !found || last.To.Before(to) {
		through := "nothing yet"
		if found {
			through = "through " + last.To.String() + " (NAV of " + last.NAVDate.String() + ")"
		}
		return fmt.Errorf("%w: pool %s's fee is accrued %s: bill to %s after the NAV covering it", ErrNotAccrued, poolID, through, to)
	}
	return nil
}

// ErrNotAccrued refuses a bill whose period's end is not accrued yet.
var ErrNotAccrued = errors.New("the period is not accrued to its end")

// provisionDue puts what a due invoice charges beyond its accruals (the
// performance fee, its GST and the GST rounding: total − AUM fee − the
// accrued GST) into the pool's liability when it goes due (review r35
// M2): Dr pool_fee_accrued:<pool>, Cr fee_income:managed (the performance
// fee), Cr tax:gst_accrued (the rest). The NAVs until it is paid deduct
// it, so a member who leaves or joins meanwhile bears their share and no
// more, and the last-withdrawal guard sees it; pay releases it. Once per
// invoice (the entry's ref is the invoice id): a due invoice written by
// an older version is provisioned here when it is paid.
func (s *Service) provisionDue(ctx context.Context, tx Tx, p *Pool, inv wallet.FeeInvoice) error {
	accGST, err := tx.AccruedGST(ctx, p.ID, inv.ID)
	if err != nil {
		return err
	}
	extra := inv.Total.Sub(inv.AUMFee).Sub(accGST)
	if !extra.IsZero() {
		ps := []fund.Posting{{Account: AccountFeeAccrued(p.ID), Asset: fund.AssetINR, Amount: extra.Decimal()}}
		if inv.PerfFee.Sign() != 0 {
			ps = append(ps, fund.Posting{Account: wallet.AccountFeeIncome, Asset: fund.AssetINR, Amount: inv.PerfFee.Decimal().Neg()})
		}
		if g := extra.Sub(inv.PerfFee); !g.IsZero() {
			ps = append(ps, fund.Posting{Account: AccountGSTAccrued, Asset: fund.AssetINR, Amount: g.Decimal().Neg()})
		}
		amt := extra
		if amt.IsNegative() { // GST rounded down against its accruals' by a paisa or two
			amt = amt.Neg()
		}
		e := wallet.Entry{Kind: KindFeeAccrual, Ref: inv.ID, Amount: amt, Postings: ps}
		_, inserted, err := tx.Post(ctx, e, fund.Amount{})
		if err != nil {
			return err
		}
		if !inserted {
			return nil // provisioned before
		}
		p.FeeAccrued = p.FeeAccrued.Add(extra)
		if err := tx.UpdatePool(ctx, *p); err != nil {
			return err
		}
	}
	// A distribution on the latest NAV takes it off the value after that
	// NAV (ChargedAfterNAV): the NAV row did not deduct it.
	return tx.SetFeeInvoiceProvisioned(ctx, inv.ID, p.LastNAV)
}

// releaseDue reverses a due invoice's provision (provisionDue) when the
// invoice is cancelled, in the cancel's transaction under the pool's lock:
// Cr pool_fee_accrued:<pool>, Dr fee_income:managed (the performance
// fee), Dr tax:gst_accrued (the rest), kind pool_fee_accrual, ref
// <invoice>:released, once. A due invoice written before provisioning
// existed is provisioned first (provisionDue is once per invoice), so the
// reversal always has its provision to undo. The accruals' own liability
// stays (the AUM fee stays owed).
func (s *Service) releaseDue(ctx context.Context, tx Tx, p *Pool, inv wallet.FeeInvoice) error {
	if err := s.provisionDue(ctx, tx, p, inv); err != nil {
		return err
	}
	accGST, err := tx.AccruedGST(ctx, p.ID, inv.ID)
	if err != nil {
		return err
	}
	extra := inv.Total.Sub(inv.AUMFee).Sub(accGST)
	if extra.IsZero() {
		return nil
	}
	ps := []fund.Posting{{Account: AccountFeeAccrued(p.ID), Asset: fund.AssetINR, Amount: extra.Decimal().Neg()}}
	if inv.PerfFee.Sign() != 0 {
		ps = append(ps, fund.Posting{Account: wallet.AccountFeeIncome, Asset: fund.AssetINR, Amount: inv.PerfFee.Decimal()})
	}
	if g := extra.Sub(inv.PerfFee); !g.IsZero() {
		ps = append(ps, fund.Posting{Account: AccountGSTAccrued, Asset: fund.AssetINR, Amount: g.Decimal()})
	}
	amt := extra
	if amt.IsNegative() {
		amt = amt.Neg()
	}
	_, inserted, err := tx.Post(ctx, wallet.Entry{Kind: KindFeeAccrual, Ref: inv.ID + ":released", Amount: amt, Postings: ps}, fund.Amount{})
	if err != nil || !inserted {
		return err // released before
	}
	p.FeeAccrued = p.FeeAccrued.Sub(extra)
	return tx.UpdatePool(ctx, *p)
}

// pay pays a written invoice from the pool's cash (which covers it: the
// caller checked under the pool's lock). Paid as it is written (provisioned
// false): Dr pool:<pool> (the total), Cr pool_fee_accrued:<pool> (the AUM
// fee and its accrued GST), Dr tax:gst_accrued (that GST), Cr
// fee_income:managed (the performance fee), Cr tax:gst (the invoice's
// GST). A due invoice was provisioned (provisionDue): the whole total
// leaves pool_fee_accrued, its GST leaves tax:gst_accrued for tax:gst, the
// NAV does not move. Then the fee.charged event and audit row.
func (s *Service) pay(ctx context.Context, tx Tx, w *work, p *Pool, inv wallet.FeeInvoice, provisioned bool) error {
	// The GST its accruals provisioned: released here, the invoice's
	// half-up GST on the sum credited instead (the paise between the two
	// move the NAV at the bill).
	accGST, err := tx.AccruedGST(ctx, p.ID, inv.ID)
	if err != nil {
		return err
	}
	released, gstReleased, perf := inv.AUMFee.Add(accGST), accGST, inv.PerfFee
	if provisioned {
		released, gstReleased, perf = inv.Total, inv.GST, fund.Amount{}
	}
	if inv.Total.Sign() > 0 {
		ps := []fund.Posting{{Account: AccountCash(p.ID), Asset: fund.AssetINR, Amount: inv.Total.Decimal()}}
		for _, c := range []fund.Posting{
			{Account: AccountFeeAccrued(p.ID), Asset: fund.AssetINR, Amount: released.Decimal().Neg()},
			{Account: AccountGSTAccrued, Asset: fund.AssetINR, Amount: gstReleased.Decimal()},
			{Account: wallet.AccountFeeIncome, Asset: fund.AssetINR, Amount: perf.Decimal().Neg()},
			{Account: wallet.AccountGST, Asset: fund.AssetINR, Amount: inv.GST.Decimal().Neg()},
		} {
			if !c.Amount.IsZero() {
				ps = append(ps, c)
			}
		}
		e := wallet.Entry{Kind: KindFee, Ref: inv.ID, Amount: inv.Total, Postings: ps}
		if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
			return errors.Join(err, boolErr(inserted, fmt.Errorf("invoice %s was paid before", inv.ID)))
		}
	}
	p.Cash, p.FeeAccrued = p.Cash.Sub(inv.Total), p.FeeAccrued.Sub(released)
	if err := tx.UpdatePool(ctx, *p); err != nil {
		return err
	}
	// Charged while p.LastNAV is the latest NAV (a provisioned one: when it
	// was provisioned): a distribution on it takes off what this paid
	// beyond the accrued fee (ChargedAfterNAV).
	if err := tx.SetFeeInvoiceCharged(ctx, inv.ID, p.LastNAV); err != nil {
		return err
	}
	ev := FeeCharged{EventID: wallet.TopicFeeCharged + ":" + inv.ID, InvoiceID: inv.ID, Pool: p.ID, From: inv.From, To: inv.To,
		AUMFee: inv.AUMFee, PerfFee: inv.PerfFee, Fee: inv.Fee, GST: inv.GST, Total: inv.Total, Cash: p.Cash,
		At: s.now().UTC().Format(time.RFC3339Nano)}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: wallet.TopicFeeCharged, Key: p.ID, Payload: ev})
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "fee_charged", Payload: ev})
	return nil
}

// crystallise puts the performance fee on inv (PerfFee at the pool's
// latest NAV on or before to, already net of the accrued AUM fee, and the
// units after it) and returns the new high-water mark.
func (s *Service) crystallise(ctx context.Context, tx Tx, p Pool, t FeeTerms, to fund.Date, inv *wallet.FeeInvoice) (*HWM, error) {
	n, found, err := tx.NAVOnOrBefore(ctx, p.ID, to)
	if err != nil {
		return nil, err
	}
	if !found || n.UnitsAfter == nil {
		return nil, fmt.Errorf("crystallise: pool %s has no NAV (after migration 056) on or before %s", p.ID, to)
	}
	units := *n.UnitsAfter
	if p.LastNAV.After(to) {
		// Crystallised late (review r35 H2: refusing it left the year's
		// fee, and the quarter's AUM fee with it, unbillable for ever):
		// still at to's NAV, over its units less those withdrawn since.
		// Those left at NAVs that did not deduct this fee (paying their
		// own exit fee above the mark), so the members who stay are not
		// charged for them; a unit bought since is not charged either.
		// From now on the fee is in the NAV (the invoice paid, or due and
		// provisioned).
		out, err := tx.WithdrawnAfter(ctx, p.ID, to)
		if err != nil {
			return nil, err
		}
		if units = units.Sub(out); units.Sign() < 0 {
			units = fund.Units{}
		}
		slog.WarnContext(ctx, "pool performance fee crystallised after a later NAV", "pool", p.ID, "to", to, "last_nav", p.LastNAV,
			"units_at_to", *n.UnitsAfter, "withdrawn_since", out, "units_charged", units)
	}
	h, since, err := s.markAt(ctx, tx, p, to)
	if err != nil {
		return nil, err
	}
	tr, dist, err := s.totalReturn(ctx, tx, p.ID, since, to, n.NAV)
	if err != nil {
		return nil, err
	}
	c, next, err := PerfFee(t, h, tr, units)
	if err != nil {
		return nil, fmt.Errorf("crystallise pool %s: %w", p.ID, err)
	}
	next.AsOf, next.dist = to, dist
	inv.Perf, inv.PerfFee = &c, c.Invoice.Fee
	return &next, nil
}

// markAt is the pool's high-water mark (locked) for a performance fee
// worked out at day's NAV, by the year's crystallisation and by a
// member's exit alike (review r35 H1: one rule for both). The mark starts
// where the performance terms took effect (review H1): the pool's last
// NAV before them (the launch NAV if none), not the launch, so gains made
// before the terms are not charged. Terms that went to 0 % and back
// re-base it there (never lower: it never falls).
func (s *Service) markAt(ctx context.Context, tx Tx, p Pool, day fund.Date) (HWM, fund.Date, error) {
	h, found, err := tx.HWM(ctx, p.ID)
	if err != nil {
		return HWM{}, fund.Date{}, err
	}
	ts, err := tx.FeeTerms(ctx, p.ID)
	if err != nil {
		return HWM{}, fund.Date{}, err
	}
	since := perfSince(ts, day)
	base := p.Launch
	if b, ok, err := tx.NAVOnOrBefore(ctx, p.ID, since.AddDays(-1)); err != nil {
		return HWM{}, fund.Date{}, err
	} else if ok {
		base = b.NAV
	}
	switch {
	case !found:
		h = HWM{Pool: p.ID, NAV: base, StartNAV: base}
	case h.AsOf.Before(since):
		h.StartNAV = base
		if base.Cmp(h.NAV) > 0 {
			h.NAV = base
		}
	}
	return h, since, nil
}

// totalReturn is nav (day's NAV) plus the distributions per unit of
// record dates since..day-1, rounded down to the NAV's 4 places (review
// r35 M4): the performance fee compares it with the mark, so a gain paid
// out as a distribution is still a gain, and the mark (kept on the same
// total-return scale, counted from the performance terms' start) never
// has to fall when a distribution lowers the NAV. A distribution on day
// itself is not added: day's NAV is before it.
func (s *Service) totalReturn(ctx context.Context, tx Tx, poolID string, since, day fund.Date, nav fund.NAV) (fund.NAV, decimal.Decimal, error) {
	if since.IsZero() {
		return nav, decimal.Zero, nil
	}
	dpu, err := tx.DistributedPerUnit(ctx, poolID, since, day)
	if err != nil || dpu.IsZero() {
		return nav, decimal.Zero, err
	}
	dpu = dpu.RoundFloor(fund.NAVScale)
	tr, err := fund.NAVFromDecimal(nav.Decimal().Add(dpu), fund.RoundDown)
	return tr, dpu, err
}

// perfSince is the first date of the unbroken run of terms with a
// performance fee in effect at to (zero date: none).
func perfSince(ts []FeeTerms, to fund.Date) fund.Date {
	var since fund.Date
	for _, t := range ts {
		if t.From.After(to) {
			break
		}
		switch {
		case t.PerfPct.Sign() <= 0:
			since = fund.Date{}
		case since.IsZero():
			since = t.From
		}
	}
	return since
}

// PerfFee is a pool's performance fee at nav over units: perf % of the
// gain per unit above max(high-water mark, start × (1 + hurdle)), times
// the units, by managed.CrystallisePerfFee (the wallet's rule) on those
// values: the end value rounded down and the mark's and start's rounded
// up to the paisa, so the fee never exceeds the rate on the exact gain.
// The mark after is max(mark, nav): it never falls, and the fee does not
// lower it (the pool earns the fee back before paying again).
func PerfFee(t FeeTerms, h HWM, nav fund.NAV, units fund.Units) (managed.Crystallisation, HWM, error) {
	value := func(n fund.NAV, mode fund.RoundingMode) (fund.Amount, error) {
		return fund.AmountFromDecimal(n.Decimal().Mul(units.Decimal()), mode)
	}
	end, err := value(nav, fund.RoundDown)
	if err != nil {
		return managed.Crystallisation{}, h, err
	}
	mark, err := value(h.NAV, fund.RoundUp)
	if err != nil {
		return managed.Crystallisation{}, h, err
	}
	start, err := value(h.StartNAV, fund.RoundUp)
	if err != nil {
		return managed.Crystallisation{}, h, err
	}
	c, err := managed.CrystallisePerfFee(managed.PerfTerms{Percent: t.PerfPct, HurdlePercent: t.HurdlePct}, mark, managed.Period{Start: start, End: end})
	if err != nil {
		return managed.Crystallisation{}, h, err
	}
	next := HWM{Pool: h.Pool, NAV: h.NAV, StartNAV: nav}
	if nav.Cmp(h.NAV) > 0 {
		next.NAV = nav
	}
	return c, next, nil
}

// startAfter is the NAV at the period's end less, per unit, what this bill
// takes beyond the AUM fee and GST the NAV already deducted (the GST
// rounding, the performance fee and its GST), half-up to 4 decimals: the
// next hurdle's base.
func (s *Service) startAfter(ctx context.Context, tx Tx, poolID string, to fund.Date, inv wallet.FeeInvoice, accGST fund.Amount) (fund.NAV, error) {
	n, _, err := tx.NAVOnOrBefore(ctx, poolID, to)
	if err != nil {
		return fund.NAV{}, err
	}
	if n.UnitsAfter == nil || n.UnitsAfter.Sign() == 0 {
		return n.NAV, nil
	}
	v, err := fund.AmountFromDecimal(n.NAV.Decimal().Mul(n.UnitsAfter.Decimal()), fund.RoundDown)
	if err != nil {
		return fund.NAV{}, err
	}
	nav, err := managed.PoolNAV(v.Sub(inv.Total.Sub(inv.AUMFee).Sub(accGST)), fund.Amount{}, *n.UnitsAfter)
	if err != nil {
		return n.NAV, nil // nothing left: the NAV itself
	}
	return nav, nil
}

// FeeBillResult counts a billing run over the pools.
type FeeBillResult struct {
	Billed   int `json:"billed"`
	Existing int `json:"existing"` // billed before for the period
	// Due are the invoices waiting for their sales' proceeds (feesale.go).
	Due int `json:"due"`
	// Paid are earlier periods' due invoices this run paid (the pass over
	// every due invoice).
	Paid  int         `json:"paid_due,omitempty"`
	Total fund.Amount `json:"total"` // invoiced by this run
	// Skipped are pools left unbilled with the reason (cash short, no
	// terms for the period): the run goes on, and bills them when run
	// again.
	Skipped []FeeBillSkip `json:"skipped,omitempty"`
}

// FeeBillSkip is a pool a run could not bill.
type FeeBillSkip struct {
	Pool   string `json:"pool_id"`
	Reason string `json:"reason"`
}

// BillAllFees bills the period of every pool with fee terms in effect by
// to, each in its own transaction (BillFees).
func (s *Service) BillAllFees(ctx context.Context, from, to fund.Date, crystallise bool) (FeeBillResult, error) {
	var res FeeBillResult
	ids, err := s.Store.FeePools(ctx, to)
	if err != nil {
		return res, fmt.Errorf("pools with fee terms: %w", err)
	}
	for _, id := range ids {
		inv, created, err := s.BillFees(ctx, id, from, to, crystallise)
		switch {
		case err != nil && ctx.Err() == nil: // one pool's error never stops the others (review M3)
			slog.WarnContext(ctx, "pool fee billing skipped a pool", "pool", id, "from", from, "to", to, "reason", err)
			res.Skipped = append(res.Skipped, FeeBillSkip{Pool: id, Reason: err.Error()})
		case err != nil:
			return res, err // cancelled
		case created:
			res.Billed++
			res.Total = res.Total.Add(inv.Total)
		default:
			res.Existing++
		}
		if err == nil && inv.Status == "due" {
			res.Due++
		}
	}
	// A pass over every due invoice of another period (review M3): its
	// sale moves on and it is paid even when no bill of its period runs.
	for _, id := range ids {
		invs, err := s.Store.FeeInvoices(ctx, id)
		if err != nil {
			res.Skipped = append(res.Skipped, FeeBillSkip{Pool: id, Reason: fmt.Sprintf("due invoices: %v", err)})
			continue
		}
		for _, inv := range invs {
			if inv.Status != "due" || inv.From == from {
				continue // this period's moved on above
			}
			got, err := s.progressSale(ctx, id, inv)
			switch {
			case err != nil && ctx.Err() != nil:
				return res, err
			case err != nil:
				slog.WarnContext(ctx, "pool fee sale did not move on", "pool", id, "invoice", inv.ID, "reason", err)
				res.Skipped = append(res.Skipped, FeeBillSkip{Pool: id, Reason: fmt.Sprintf("due invoice %s: %v", inv.ID, err)})
			case got.Status == "charged":
				res.Paid++
			default:
				res.Due++
			}
		}
	}
	return res, nil
}
