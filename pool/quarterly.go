package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

// Pools billed quarterly (issue 22: the AUM fee "billed quarterly", the
// performance fee "crystallised yearly"), on the wallets' schedule: the
// managed-fees job runs QuarterBilling.Run next to wallet.QuarterBilling.
// A pool's invoice of a period is its own idempotence key (one invoice a
// pool and period start, BillFees), so no run marker is kept: each run
// reads the pools whose quarter has no charged invoice yet and bills or
// finishes only those. A run killed midway bills again exactly what it
// had not billed; a due invoice (its holdings sales still in flight) is
// taken a step further by each run until paid; once every pool's invoice
// of the quarter is charged, a run reads one query and nothing else.

// QuarterStore is what the scheduled billing reads.
type QuarterStore interface {
	// PoolsToBill lists the pools with fee terms in effect by to and no
	// charged invoice reaching to (review r35 M1: not only the period
	// starting from), by id, with their latest NAV date (zero: never
	// priced), their first terms' date and their latest invoice.
	PoolsToBill(ctx context.Context, from, to fund.Date) ([]PoolToBill, error)
}

// PoolToBill is a pool whose quarter is not billed yet.
type PoolToBill struct {
	ID         string
	LastNAV    fund.Date
	FirstTerms fund.Date
	// Last is the pool's latest invoice's period and status (HasLast
	// false: none).
	HasLast          bool
	LastFrom, LastTo fund.Date
	LastStatus       string
}

// QuarterBilling bills every pool's quarter just finished (BillFees), on
// or after the first business day after its end; the quarter ending in
// CrystalliseMonth crystallises the performance fee too.
type QuarterBilling struct {
	Pools            *Service // its Calendar gives the business days
	Store            QuarterStore
	CrystalliseMonth time.Month
}

// QuarterRun is what one scheduled pool billing did.
type QuarterRun struct {
	From         fund.Date `json:"period_from"`
	To           fund.Date `json:"period_to"`
	BillOn       fund.Date `json:"bill_on"`
	Crystallised bool      `json:"crystallised"`
	// Status: "not_yet" (before BillOn), "billed" (this run billed or
	// read pools), "already_billed" (every pool's invoice of the quarter
	// is charged: nothing read).
	Status string `json:"status"`
	Billed int    `json:"pools_billed"` // invoices written by this run
	// Charged: invoices paid by this run (written now, or due ones whose
	// sales' proceeds came in); Due: invoices still waiting for them.
	Charged  int         `json:"invoices_charged"`
	Due      int         `json:"invoices_due"`
	Total    fund.Amount `json:"total"` // of the invoices written by this run
	Invoices []string    `json:"invoices,omitempty"`
	// NotPriced counts pools with terms and no NAV yet: nothing accrued,
	// nothing owed, not billed.
	NotPriced int           `json:"pools_not_priced,omitempty"`
	Skipped   []FeeBillSkip `json:"pools_skipped,omitempty"`
}

// ErrNAVNotReady: the pool's NAV of the quarter's last business day is
// not computed yet, so its last days' fee is not accrued; the next run
// bills it.
var ErrNAVNotReady = errors.New("the pool's NAV of the quarter's last business day is not computed yet")

// Run bills, at now, the quarter just finished if it is due. A pool that
// cannot be billed (cash and holdings short, its NAV not computed through
// the quarter's end, a hand-made invoice of another period from the same
// start) is listed with the reason and the others go on; the next run
// tries it again. An unexpected error on a pool is listed too, and
// returned (joined) after every pool was tried.
func (q *QuarterBilling) Run(ctx context.Context, now time.Time) (QuarterRun, error) {
	today := fund.DateOf(now.In(fund.IST()))
	cur, _ := wallet.QuarterOf(today)
	from, to := wallet.QuarterOf(cur.AddDays(-1))
	r := QuarterRun{From: from, To: to, Crystallised: to.Month == q.CrystalliseMonth}
	cal := q.Pools.Calendar
	var err error
	if r.BillOn, err = cal.NextBusinessDay(to); err != nil {
		return r, fmt.Errorf("pool quarterly billing %s..%s: the day after: %w", from, to, err)
	}
	if today.Before(r.BillOn) {
		r.Status = "not_yet"
		return r, nil
	}
	lastDay := to // the quarter's last business day: its NAV accrues the last days
	if ok, err := cal.IsBusinessDay(to); err != nil {
		return r, fmt.Errorf("pool quarterly billing %s..%s: %w", from, to, err)
	} else if !ok {
		if lastDay, err = cal.PrevBusinessDay(to); err != nil {
			return r, fmt.Errorf("pool quarterly billing %s..%s: %w", from, to, err)
		}
	}
	ps, err := q.Store.PoolsToBill(ctx, from, to)
	if err != nil {
		return r, fmt.Errorf("pool quarterly billing %s..%s: %w", from, to, err)
	}
	if len(ps) == 0 {
		r.Status = "already_billed"
		return r, nil
	}
	r.Status = "billed"
	var errs []error
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		// Never priced: nothing accrued, nothing owed (review r35 M1: it
		// failed every run).
		if p.LastNAV.IsZero() {
			r.NotPriced++
			continue
		}
		// A pool priced before waits for the NAV that accrues the
		// quarter's last days.
		if p.LastNAV.Before(lastDay) {
			q.skip(ctx, &r, p.ID, fmt.Errorf("%w: %s (its latest is %s)", ErrNAVNotReady, lastDay, p.LastNAV))
			continue
		}
		if err := q.billPool(ctx, &r, p, to); err != nil {
			q.skip(ctx, &r, p.ID, err)
			// Cash short or no terms: a later run bills it. Anything else
			// (a conflict, a period not accrued) no later run mends by
			// itself: the job fails so someone looks (review r35 M1).
			if !errors.Is(err, ErrCashShort) && !errors.Is(err, ErrNoFeeTerms) {
				errs = append(errs, err)
			}
		}
	}
	slog.InfoContext(ctx, "pool quarter billed", "from", from, "to", to, "billed", r.Billed, "charged", r.Charged,
		"due", r.Due, "skipped", len(r.Skipped), "total", r.Total)
	if len(errs) > 0 {
		return r, fmt.Errorf("pool quarterly billing %s..%s: %w", from, to, errors.Join(errs...))
	}
	return r, nil
}

// billPool bills a pool's periods from the day after its last invoice
// (the first day of its first terms' quarter if none) through to, one
// invoice per calendar quarter, oldest first (review r35 M1, as the
// wallets' earlier quarters): a hand-made bill that ended inside a
// quarter, or a quarter a run could not bill, is caught up, never left.
// Each quarter ending in CrystalliseMonth crystallises. A due last
// invoice is taken a step further first; while it stays due the pool
// waits (its sale is planned on the same lots).
func (q *QuarterBilling) billPool(ctx context.Context, r *QuarterRun, p PoolToBill, to fund.Date) error {
	start, _ := wallet.QuarterOf(p.FirstTerms)
	if p.HasLast {
		start = p.LastTo.AddDays(1)
		if p.LastStatus == "due" {
			inv, _, err := q.Pools.BillFees(ctx, p.ID, p.LastFrom, p.LastTo, false) // written before: its own terms stand
			if err != nil {
				return err
			}
			if inv.Status != "charged" {
				r.Due++
				return nil
			}
			r.Charged++
		}
	}
	for !start.After(to) {
		_, end := wallet.QuarterOf(start)
		inv, created, err := q.Pools.BillFees(ctx, p.ID, start, end, end.Month == q.CrystalliseMonth)
		if err != nil {
			return err
		}
		if created {
			r.Billed++
			r.Total = r.Total.Add(inv.Total)
			r.Invoices = append(r.Invoices, inv.ID)
		}
		if inv.Status != "charged" {
			r.Due++
			return nil
		}
		r.Charged++
		start = end.AddDays(1)
	}
	return nil
}

func (q *QuarterBilling) skip(ctx context.Context, r *QuarterRun, poolID string, err error) {
	slog.WarnContext(ctx, "pool quarterly billing skipped a pool", "pool", poolID, "from", r.From, "to", r.To, "reason", err)
	r.Skipped = append(r.Skipped, FeeBillSkip{Pool: poolID, Reason: err.Error()})
}

// accrualEnd is the last day day's NAV accrues: the day before the next
// business day, but never past the end of day's quarter (review r35 L1):
// a Friday 31 Dec's NAV accrued 31 Dec..2 Jan, so the quarter's invoice
// billed two days of the next (a Friday 31 Mar's moved fee into the wrong
// financial year), and it needed next year's holiday calendar on the
// year's last business day. The next quarter's days are accrued by its
// first NAV (carried on this one's value, as any day without a NAV).
func (s *Service) accrualEnd(day fund.Date) (fund.Date, error) {
	_, qend := wallet.QuarterOf(day)
	for d := day.AddDays(1); !d.After(qend); d = d.AddDays(1) {
		ok, err := s.Calendar.IsBusinessDay(d)
		if err != nil {
			return fund.Date{}, err
		}
		if ok {
			return d.AddDays(-1), nil
		}
	}
	return qend, nil
}
