package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// QuarterOf is the calendar quarter d falls in (Jan–Mar, Apr–Jun, Jul–Sep,
// Oct–Dec): its first and last days.
func QuarterOf(d fund.Date) (from, to fund.Date) {
	m := time.Month((int(d.Month)-1)/3*3 + 1)
	from = fund.NewDate(d.Year, m, 1)
	next := fund.DateOf(from.Time().AddDate(0, 3, 0))
	return from, next.AddDays(-1)
}

// Period is a run of days, From through To.
type Period struct{ From, To fund.Date }

// Unbilled lists the days of from..to that no period of billed (by From)
// covers, as runs cut at quarter ends, oldest first.
func Unbilled(from, to fund.Date, billed []Period) []Period {
	var gaps []Period
	add := func(a, b fund.Date) {
		for !a.After(b) {
			_, qTo := QuarterOf(a)
			end := qTo
			if end.After(b) {
				end = b
			}
			gaps = append(gaps, Period{a, end})
			a = end.AddDays(1)
		}
	}
	d := from
	for _, p := range billed {
		if d.After(to) {
			break
		}
		if p.To.Before(d) {
			continue
		}
		if p.From.After(d) {
			add(d, earlierOf(p.From.AddDays(-1), to))
		}
		d = p.To.AddDays(1)
	}
	add(d, to)
	return gaps
}

func earlierOf(a, b fund.Date) fund.Date {
	if a.After(b) {
		return b
	}
	return a
}

// QuarterStore remembers which quarters the scheduled billing finished.
type QuarterStore interface {
	// QuarterBilled says whether the quarter starting from was billed.
	QuarterBilled(ctx context.Context, from fund.Date) (bool, error)
	// MarkQuarterBilled records a finished quarter (again: no change).
	MarkQuarterBilled(ctx context.Context, q QuarterRun) error
	// SaveQuarterSkip records a wallet a quarter's billing could not bill
	// with the reason (again: the reason updated, open again).
	SaveQuarterSkip(ctx context.Context, k QuarterSkip) error
	// ResolveQuarterSkip marks a skipped wallet's quarter billed.
	ResolveQuarterSkip(ctx context.Context, from fund.Date, walletID string) error
	// EarliestFeeTerms is the first day any fee terms take effect (found
	// false: none).
	EarliestFeeTerms(ctx context.Context) (fund.Date, bool, error)
	// OpenQuarterSkips lists skipped wallets not billed yet, oldest first.
	OpenQuarterSkips(ctx context.Context, limit int) ([]QuarterSkip, error)
	// UnbilledWallets lists open or closing wallets with fee terms in
	// effect by to some day of which, from their terms' first day to to,
	// no invoice covers, and no open skip (every run retries those first),
	// after the id after, at most limit, by id.
	UnbilledWallets(ctx context.Context, to fund.Date, after string, limit int) ([]string, error)
}

// QuarterSkip is a wallet a quarter's scheduled billing could not bill:
// kept, and retried by every later run until it is billed.
type QuarterSkip struct {
	From, To    fund.Date
	Crystallise bool
	WalletID    string
	Reason      string
}

// QuarterBilling is the scheduled quarterly fee billing: the quarter just
// finished is billed (Fees.BillAll) once, on or after the first business
// day after its end; the quarter ending in CrystalliseMonth (the year's
// end) crystallises the performance fee too. A wallet whose terms began
// inside the quarter is billed from their first day.
type QuarterBilling struct {
	Fees     *Fees
	Store    QuarterStore
	Calendar *fund.Calendar // the business day after the quarter's end; nil: weekends only
	// CrystalliseMonth: the month whose quarter end is the performance
	// fee's year end (3: the financial year to 31 March).
	CrystalliseMonth time.Month
	Batch            int // wallets a transaction (BillAll); 0: its default
}

// QuarterRun is what one scheduled billing did.
type QuarterRun struct {
	From         fund.Date `json:"period_from"`
	To           fund.Date `json:"period_to"`
	BillOn       fund.Date `json:"bill_on"` // the first business day after To
	Crystallised bool      `json:"crystallised"`
	// Status: "not_yet" (before BillOn), "billed" (by this run),
	// "already_billed" (a run before finished it: nothing read or billed).
	Status string `json:"status"`
	// Billed counts invoices made by this run; AlreadyBilled wallets a
	// run before (killed before its mark) billed for the quarter.
	Billed        int `json:"wallets_billed"`
	AlreadyBilled int `json:"wallets_already_billed"`
	// Retried: wallets an earlier run skipped (any quarter) billed now;
	// StillSkipped: those still not billable (kept, retried next run).
	Retried      int        `json:"skipped_wallets_billed"`
	StillSkipped int        `json:"skipped_wallets_open"`
	Charged      int        `json:"invoices_charged"`
	Due          int        `json:"invoices_due"`
	Skipped      []BillSkip `json:"wallets_skipped,omitempty"`
	// Earlier: quarters before this one no run had finished, billed by
	// this run, oldest first.
	Earlier []QuarterRun `json:"earlier_quarters,omitempty"`
	Total   fund.Amount  `json:"total"`
	// retried: the invoices this run's retry of kept skips made before
	// the quarter's own billing, which counts those of its quarter as its
	// own (review r36-2 Q1: they showed as already billed, total 0.00).
	retried []FeeInvoice
}

// Run bills, at now, the quarter just finished if it is due and not billed
// yet. A wallet that cannot be billed is listed with its reason and kept
// (QuarterStore.SaveQuarterSkip); every later run first retries the kept
// ones, whatever quarter they are of, until each is billed. The quarter
// is marked finished all the same, so the whole quarter is read once. A
// run killed before the mark bills again: invoices already made are kept
// (one a wallet and period) and counted as AlreadyBilled, so nothing is
// billed twice.
func (q *QuarterBilling) Run(ctx context.Context, now time.Time) (QuarterRun, error) {
	today := fund.DateOf(now.In(fund.IST()))
	cur, _ := QuarterOf(today)
	from, to := QuarterOf(cur.AddDays(-1))
	r := QuarterRun{From: from, To: to, Crystallised: to.Month == q.CrystalliseMonth}
	// A kept wallet is billed through the last quarter due, not only its
	// own quarter's end (review r35 L2): the quarter runs after it were
	// marked without it, so its later days would wait for the next
	// quarter's run.
	due := from.AddDays(-1)
	if billOn, err := q.Calendar.NextBusinessDay(to); err == nil && !today.Before(billOn) {
		due = to
	}
	if err := q.retrySkips(ctx, &r, due); err != nil {
		return r, err
	}
	// Quarters before it that no run finished (the job failed for a whole
	// quarter, or was not running yet), from the earliest fee terms' on,
	// oldest first: each billed as the schedule would have.
	earliest, ok, err := q.Store.EarliestFeeTerms(ctx)
	if err != nil {
		return r, fmt.Errorf("quarterly billing: earliest fee terms: %w", err)
	}
	for f, _ := QuarterOf(earliest); ok && f.Before(from); {
		qf, qt := QuarterOf(f)
		e := QuarterRun{From: qf, To: qt, Crystallised: qt.Month == q.CrystalliseMonth}
		e.BillOn, _ = q.Calendar.NextBusinessDay(qt) // long past: only shown
		if err := q.billQuarter(ctx, &e); err != nil {
			return r, err
		}
		if e.Status == "billed" {
			r.Earlier = append(r.Earlier, e)
		}
		f = qt.AddDays(1)
	}
	if r.BillOn, err = q.Calendar.NextBusinessDay(to); err != nil {
		return r, fmt.Errorf("quarterly billing %s..%s: the day after: %w", from, to, err)
	}
	if today.Before(r.BillOn) {
		r.Status = "not_yet"
		return r, nil
	}
	if err := q.billQuarter(ctx, &r); err != nil {
		return r, err
	}
	return r, nil
}

// billQuarter bills r's quarter unless a run marked it billed already.
func (q *QuarterBilling) billQuarter(ctx context.Context, r *QuarterRun) error {
	from, to := r.From, r.To
	done, err := q.Store.QuarterBilled(ctx, from)
	if err != nil {
		return fmt.Errorf("quarterly billing %s..%s: %w", from, to, err)
	}
	if done {
		r.Status = "already_billed"
		return nil
	}
	res, err := q.Fees.BillAll(ctx, from, to, r.Crystallised, q.Batch)
	if err != nil {
		return fmt.Errorf("quarterly billing %s..%s: %w", from, to, err)
	}
	r.Status, r.Billed, r.AlreadyBilled, r.Charged, r.Due, r.Total = "billed", res.Billed, res.AlreadyBilled, res.Charged, res.Due, res.Total
	for _, inv := range r.retried { // made by this run, found billed by BillAll
		if inv.From.Before(from) || inv.To.After(to) {
			continue
		}
		r.Billed++
		if r.AlreadyBilled > 0 {
			r.AlreadyBilled--
		}
		r.Total = r.Total.Add(inv.Total)
		if inv.Status == "charged" {
			r.Charged++
		} else {
			r.Due++
		}
	}
	// A wallet whose fee terms began inside the quarter has no rate (nor,
	// usually, a valuation) on its first day, and one an exit refused
	// billed part of the quarter: the rest of its quarter is billed. Then
	// every wallet with a day before the quarter's end that no invoice
	// covers (a quarter skipped and billed only after a later one, the
	// days a wallet was closing over a quarter end): those days are billed.
	tried := map[string]bool{}
	billRest := func(id string) error {
		tried[id] = true
		invs, at, err := q.billRest(ctx, id, to)
		if err != nil {
			sk := BillSkip{WalletID: id, Reason: err.Error(), err: err}
			r.Skipped = append(r.Skipped, sk)
			k := QuarterSkip{From: from, To: to, Crystallise: r.Crystallised, WalletID: id, Reason: sk.Reason}
			if !at.From.IsZero() { // kept as the quarter of the days it could not bill
				k.From, k.To = QuarterOf(at.From)
				k.Crystallise = k.To.Month == q.CrystalliseMonth
			}
			if err := q.Store.SaveQuarterSkip(ctx, k); err != nil {
				return fmt.Errorf("quarterly billing %s..%s: keep skipped %s: %w", from, to, id, err)
			}
			r.StillSkipped++
			return nil
		}
		if len(invs) == 0 {
			r.AlreadyBilled++
		}
		for _, inv := range invs {
			r.Billed++
			r.Total = r.Total.Add(inv.Total)
			if inv.Status == "charged" {
				r.Charged++
			} else {
				r.Due++
			}
		}
		return nil
	}
	for _, sk := range res.Skipped {
		if err := billRest(sk.WalletID); err != nil {
			return err
		}
	}
	for after := ""; ; {
		ids, err := q.Store.UnbilledWallets(ctx, to, after, 1000)
		if err != nil {
			return fmt.Errorf("quarterly billing %s..%s: wallets with days not billed: %w", from, to, err)
		}
		for _, id := range ids {
			if !tried[id] {
				if err := billRest(id); err != nil {
					return err
				}
			}
		}
		if len(ids) < 1000 {
			break
		}
		after = ids[len(ids)-1]
	}
	if err := q.Store.MarkQuarterBilled(ctx, *r); err != nil {
		return fmt.Errorf("quarterly billing %s..%s: mark: %w", from, to, err)
	}
	slog.InfoContext(ctx, "quarter billed", "from", from, "to", to, "billed", r.Billed, "skipped", len(r.Skipped), "total", r.Total)
	return nil
}

// retrySkips bills the wallets earlier runs kept as skipped, oldest
// quarter first, each through due (the last quarter due) or its own
// quarter's end if later: each billed (or found billed) is resolved, each
// still failing keeps its row (under its quarter) with the new reason.
func (q *QuarterBilling) retrySkips(ctx context.Context, r *QuarterRun, due fund.Date) error {
	ks, err := q.Store.OpenQuarterSkips(ctx, 10000)
	if err != nil {
		return fmt.Errorf("quarterly billing: skipped wallets: %w", err)
	}
	for _, k := range ks {
		to := due
		if k.To.After(to) {
			to = k.To
		}
		invs, _, err := q.billRest(ctx, k.WalletID, to)
		r.retried = append(r.retried, invs...)
		if err != nil {
			k.Reason = err.Error()
			slog.WarnContext(ctx, "fee billing still skips a wallet", "wallet", k.WalletID, "from", k.From, "to", to, "reason", k.Reason)
			if err := q.Store.SaveQuarterSkip(ctx, k); err != nil {
				return fmt.Errorf("quarterly billing: keep skipped %s: %w", k.WalletID, err)
			}
			r.StillSkipped++
			continue
		}
		if err := q.Store.ResolveQuarterSkip(ctx, k.From, k.WalletID); err != nil {
			return fmt.Errorf("quarterly billing: resolve skipped %s: %w", k.WalletID, err)
		}
		r.Retried++
	}
	return nil
}

// billRest bills every day of a wallet from its fee terms' first day to
// to that no invoice covers, oldest first, a period per run of days and
// quarter (each quarter's end in CrystalliseMonth crystallises), and
// returns the invoices it made (none: nothing left to bill). A closed
// wallet was billed by its exit; a closing one is an error (kept and
// retried: the exit bills it, or it is refused and the wallet open again).
// An error billing a run of days returns that run (at).
func (q *QuarterBilling) billRest(ctx context.Context, walletID string, to fund.Date) (out []FeeInvoice, at Period, err error) {
	var gaps []Period
	err = q.Fees.Store.InFeeTx(ctx, func(tx FeeTx) error {
		gaps = nil
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil || !ok {
			return errors.Join(err, boolErrf(ok, "%w", ErrNoWallet))
		}
		switch wal.Status {
		case "open":
		case "closing":
			return fmt.Errorf("wallet %s: %w", walletID, ErrExitInProgress)
		default:
			return nil
		}
		terms, err := tx.FeeTerms(ctx, walletID)
		if err != nil || len(terms) == 0 || terms[0].From.After(to) {
			return err
		}
		billed, err := tx.BilledPeriods(ctx, walletID, to)
		if err != nil {
			return err
		}
		gaps = Unbilled(terms[0].From, to, billed)
		return nil
	})
	if err != nil {
		return nil, at, err
	}
	for _, g := range gaps {
		_, qTo := QuarterOf(g.From)
		inv, created, err := q.Fees.Bill(ctx, walletID, g.From, g.To, g.To == qTo && qTo.Month == q.CrystalliseMonth)
		if err != nil {
			return out, g, err
		}
		if created {
			out = append(out, inv)
		}
	}
	return out, at, nil
}
