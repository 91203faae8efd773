package wallet

import (
	"context"
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

// QuarterStore remembers which quarters the scheduled billing finished.
type QuarterStore interface {
	// QuarterBilled says whether the quarter starting from was billed.
	QuarterBilled(ctx context.Context, from fund.Date) (bool, error)
	// MarkQuarterBilled records a finished quarter (again: no change).
	MarkQuarterBilled(ctx context.Context, q QuarterRun) error
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
	Status  string      `json:"status"`
	Billed  int         `json:"wallets_billed"`
	Charged int         `json:"invoices_charged"`
	Due     int         `json:"invoices_due"`
	Skipped []BillSkip  `json:"wallets_skipped,omitempty"`
	Total   fund.Amount `json:"total"`
}

// Run bills, at now, the quarter just finished if it is due and not billed
// yet. A wallet that cannot be billed is listed with its reason (billed by
// hand: `fundflow managed fees bill --from --to --wallet`); the quarter is
// marked finished all the same, so it is read once. A run killed before
// the mark bills again: invoices already made are kept (one a wallet and
// period), so nothing is billed twice.
func (q *QuarterBilling) Run(ctx context.Context, now time.Time) (QuarterRun, error) {
	today := fund.DateOf(now.In(fund.IST()))
	cur, _ := QuarterOf(today)
	from, to := QuarterOf(cur.AddDays(-1))
	r := QuarterRun{From: from, To: to, Crystallised: to.Month == q.CrystalliseMonth}
	var err error
	if r.BillOn, err = q.Calendar.NextBusinessDay(to); err != nil {
		return r, fmt.Errorf("quarterly billing %s..%s: the day after: %w", from, to, err)
	}
	if today.Before(r.BillOn) {
		r.Status = "not_yet"
		return r, nil
	}
	done, err := q.Store.QuarterBilled(ctx, from)
	if err != nil {
		return r, fmt.Errorf("quarterly billing %s..%s: %w", from, to, err)
	}
	if done {
		r.Status = "already_billed"
		return r, nil
	}
	res, err := q.Fees.BillAll(ctx, from, to, r.Crystallised, q.Batch)
	if err != nil {
		return r, fmt.Errorf("quarterly billing %s..%s: %w", from, to, err)
	}
	r.Status, r.Billed, r.Charged, r.Due, r.Total = "billed", res.Billed, res.Charged, res.Due, res.Total
	// A wallet whose fee terms began inside the quarter has no rate (nor,
	// usually, a valuation) on its first day: its quarter is billed from
	// the terms' first day instead, as an exit's is.
	for _, sk := range res.Skipped {
		inv, created, err := q.billFromTerms(ctx, sk.WalletID, from, to, r.Crystallised)
		if err != nil || !created {
			if err != nil {
				sk.Reason = err.Error()
			}
			r.Skipped = append(r.Skipped, sk)
			continue
		}
		r.Billed++
		r.Total = r.Total.Add(inv.Total)
		if inv.Status == "charged" {
			r.Charged++
		} else {
			r.Due++
		}
	}
	if err := q.Store.MarkQuarterBilled(ctx, r); err != nil {
		return r, fmt.Errorf("quarterly billing %s..%s: mark: %w", from, to, err)
	}
	slog.InfoContext(ctx, "quarter billed", "from", from, "to", to, "billed", r.Billed, "skipped", len(r.Skipped), "total", r.Total)
	return r, nil
}

// billFromTerms bills a wallet's quarter from its fee terms' first day
// when that falls inside the quarter (created false: it does not).
func (q *QuarterBilling) billFromTerms(ctx context.Context, walletID string, from, to fund.Date, crystallise bool) (FeeInvoice, bool, error) {
	var terms []FeeTerms
	if err := q.Fees.Store.InFeeTx(ctx, func(tx FeeTx) (err error) { terms, err = tx.FeeTerms(ctx, walletID); return err }); err != nil {
		return FeeInvoice{}, false, err
	}
	if len(terms) == 0 || !terms[0].From.After(from) || terms[0].From.After(to) {
		return FeeInvoice{}, false, nil
	}
	return q.Fees.Bill(ctx, walletID, terms[0].From, to, crystallise)
}
