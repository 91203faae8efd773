package commissions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// ErrMonthOpen is returned for a payout of a month whose days are not all
// accrued.
var ErrMonthOpen = errors.New("the month is not fully accrued")

// ErrPayoutOrder is returned for a payout of a month whose previous month is
// not paid while an earlier one is: its carries would be skipped.
var ErrPayoutOrder = errors.New("the previous month is not paid")

// PayoutStore is what a payout run needs besides Store.
type PayoutStore interface {
	Hierarchy(ctx context.Context) (*commission.Hierarchy, error)
	// MonthBuckets returns the month's accruals per (day, ARN, bucket) and
	// how many of its days are accrued.
	MonthBuckets(ctx context.Context, month fund.Date) ([]commission.BucketDay, int, error)
	// MonthEvents returns the month's event amounts (upfronts, first-SIP
	// and referral amounts, clawbacks) by day, bucket, ARN and kind.
	MonthEvents(ctx context.Context, month fund.Date) ([]EventDay, error)
	// Carried returns what each payee's statement of the month before month
	// carried (negative amounts only), and whether that month is paid and
	// any month before it is.
	Carried(ctx context.Context, month fund.Date) (carried map[string]fund.Amount, prevPaid, earlierPaid bool, err error)
	// CommitPayout writes the month's lines, event lines, statements and
	// their journal entries in one transaction, or nothing if the month is
	// paid (done).
	CommitPayout(ctx context.Context, month fund.Date, lines []commission.Line, events []commission.EventPayLine, stmts []commission.Statement) (done bool, err error)
}

// Payout is a month's payout run.
type Payout struct {
	Month       fund.Date                 `json:"month"`
	PayoutDate  fund.Date                 `json:"payout_date"`
	AlreadyDone bool                      `json:"already_done"`
	Lines       []commission.Line         `json:"-"`
	EventLines  []commission.EventPayLine `json:"-"`
	Statements  []commission.Statement    `json:"-"`
	Buckets     int                       `json:"buckets"`
	Trail       fund.Amount               `json:"trail"`
	Upfront     fund.Amount               `json:"upfront"`
	Events      fund.Amount               `json:"events"`
	Clawback    fund.Amount               `json:"clawback"`
	Held        fund.Amount               `json:"held"`
	Net         fund.Amount               `json:"net"`
}

// MonthOf returns the first day of d's month.
func MonthOf(d fund.Date) fund.Date { return fund.NewDate(d.Year, d.Month, 1) }

// PayMonth computes and stores the payout of month (any day of it) on
// payoutDate: each bucket's month of trail rounded once and split down the
// hierarchy (commission.BucketLines), and each payee's statement
// (commission.SettleCarried, with what the previous month carried) with the month's upfronts, first-SIP and referral
// amounts and clawbacks split the same way (commission.EventLines).
func PayMonth(ctx context.Context, st PayoutStore, month, payoutDate fund.Date) (Payout, error) {
	month = MonthOf(month)
	p := Payout{Month: month, PayoutDate: payoutDate}
	h, err := st.Hierarchy(ctx)
	if err != nil {
		return p, err
	}
	days, accrued, err := st.MonthBuckets(ctx, month)
	if err != nil {
		return p, err
	}
	if n := MonthOf(month.AddDays(32)).DaysSince(month); accrued != n {
		return p, fmt.Errorf("%w: %d of %d days of %s accrued", ErrMonthOpen, accrued, n, month.String()[:7])
	}
	carried, prevPaid, earlierPaid, err := st.Carried(ctx, month)
	if err != nil {
		return p, err
	}
	if earlierPaid && !prevPaid {
		return p, fmt.Errorf("%w: %s", ErrPayoutOrder, MonthOf(month.AddDays(-1)).String()[:7])
	}
	lines, err := commission.BucketLines(days, h)
	if err != nil {
		return p, err
	}
	p.Lines = lines
	trail := map[string]fund.Amount{}
	buckets := map[string]bool{}
	for _, l := range lines {
		buckets[l.Bucket] = true
		p.Trail = p.Trail.Add(l.Amount)
		if strings.HasPrefix(l.Payee, commission.HeldPrefix) {
			p.Held = p.Held.Add(l.Amount)
			continue
		}
		trail[l.Payee] = trail[l.Payee].Add(l.Amount)
	}
	evDays, err := st.MonthEvents(ctx, month)
	if err != nil {
		return p, err
	}
	ebd := make([]commission.EventBucketDay, len(evDays))
	for i, e := range evDays {
		ebd[i] = commission.EventBucketDay{Day: e.Day, ARN: e.ARN, Bucket: e.Bucket, Kind: e.Kind, Amount: e.Amount, SplitDay: e.SplitDay}
	}
	evLines, err := commission.EventLines(ebd, h)
	if err != nil {
		return p, err
	}
	p.EventLines = evLines
	up, ev, claw := map[string]fund.Amount{}, map[string]fund.Amount{}, map[string]fund.Amount{}
	for _, l := range evLines {
		buckets[l.Bucket] = true
		var m map[string]fund.Amount
		switch l.Kind {
		case commission.KindUpfront:
			m, p.Upfront = up, p.Upfront.Add(l.Amount)
		case commission.KindClawback:
			m, p.Clawback = claw, p.Clawback.Add(l.Amount)
		default:
			m, p.Events = ev, p.Events.Add(l.Amount)
		}
		if strings.HasPrefix(l.Payee, commission.HeldPrefix) {
			if l.Kind == commission.KindClawback {
				p.Held = p.Held.Sub(l.Amount)
			} else {
				p.Held = p.Held.Add(l.Amount)
			}
			continue
		}
		m[l.Payee] = m[l.Payee].Add(l.Amount)
		if _, ok := trail[l.Payee]; !ok {
			trail[l.Payee] = fund.Amount{}
		}
	}
	p.Buckets = len(buckets)
	for id := range carried { // a payee still short gets a statement, earning or not
		if _, ok := trail[id]; !ok {
			trail[id] = fund.Amount{}
		}
	}
	payees := make([]string, 0, len(trail))
	for id := range trail {
		payees = append(payees, id)
	}
	sort.Strings(payees)
	for _, id := range payees {
		party, _ := h.Party(id)
		s, err := commission.SettleCarried(commission.Payee{ID: id, GSTRegistered: party.GSTRegistered, IntraState: party.IntraState},
			payoutDate, trail[id], up[id], ev[id], claw[id], carried[id])
		if err != nil {
			return p, err
		}
		p.Statements = append(p.Statements, s)
		p.Net = p.Net.Add(s.Net)
	}
	p.AlreadyDone, err = st.CommitPayout(ctx, month, lines, evLines, p.Statements)
	return p, err
}

// ExplainStore reads a bucket's holdings and event amounts by month.
type ExplainStore interface {
	MonthHoldings(ctx context.Context, bucket string, month fund.Date) ([]commission.HoldingMonth, error)
	MonthEvents(ctx context.Context, month fund.Date) ([]EventDay, error)
}

// Causes of a month-on-month change that are not the trail's.
const (
	CauseEvents    = "upfronts_and_events" // upfronted trail, first-SIP and referral amounts
	CauseClawbacks = "clawbacks"           // upfronts clawed back by redemptions (taken back: negative)
)

// ExplainMonth says why bucket's month differs from the month before: the
// trail's components (commission.Explain on their rows), then the change in
// upfronts and event amounts and in clawbacks, which are paise already; so
// Previous and Current are the month's trail rounded once plus its events
// less its clawbacks, and the components still sum to the difference
// exactly.
func ExplainMonth(ctx context.Context, st ExplainStore, bucket string, month fund.Date) (commission.Explanation, error) {
	month = MonthOf(month)
	prevMonth := MonthOf(month.AddDays(-1))
	prev, err := st.MonthHoldings(ctx, bucket, prevMonth)
	if err != nil {
		return commission.Explanation{}, err
	}
	cur, err := st.MonthHoldings(ctx, bucket, month)
	if err != nil {
		return commission.Explanation{}, err
	}
	e := commission.Explain(prev, cur)
	var ev, claw [2]fund.Amount // [previous, current]
	for i, m := range []fund.Date{prevMonth, month} {
		days, err := st.MonthEvents(ctx, m)
		if err != nil {
			return commission.Explanation{}, err
		}
		for _, d := range days {
			if d.Bucket != bucket {
				continue
			}
			if d.Kind == commission.KindClawback {
				claw[i] = claw[i].Add(d.Amount)
			} else {
				ev[i] = ev[i].Add(d.Amount)
			}
		}
	}
	if ev == [2]fund.Amount{} && claw == [2]fund.Amount{} {
		return e, nil
	}
	e.Previous = e.Previous.Add(ev[0]).Sub(claw[0])
	e.Current = e.Current.Add(ev[1]).Sub(claw[1])
	e.Difference = e.Current.Sub(e.Previous)
	for _, c := range []struct {
		cause string
		amt   fund.Amount
	}{{CauseEvents, ev[1].Sub(ev[0])}, {CauseClawbacks, claw[0].Sub(claw[1])}} {
		if !c.amt.IsZero() {
			e.Components = append(e.Components, commission.Component{Cause: c.cause, Exact: c.amt.Decimal().StringFixed(10), Amount: c.amt})
		}
	}
	return e, nil
}
