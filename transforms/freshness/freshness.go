// Package freshness judges whether NAVs are arriving on time: how late each
// scheme's next NAV is against the time it was due (fund.NAVDueAt on the
// holiday calendar), which schemes are over the freshness SLA, grouped by
// AMC for alerting, and which schemes that had a NAV on the previous
// business day have none for a given business day (completeness). It is
// pure: the caller reads the state from Postgres and acts on the verdict.
package freshness

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Latest is a scheme's newest NAV date (from nav_latest) and what the
// verdict is reported by.
type Latest struct {
	Code, AMC, Category string
	Date                fund.Date
}

// Age is a live scheme's lateness.
type Age struct {
	Latest
	Next fund.Date     // the NAV it owes next
	Due  time.Time     // when that NAV was due
	Late time.Duration // how long past Due it is still missing; 0 while not due
}

// Report is the freshness verdict at one moment.
type Report struct {
	At    time.Time
	SLA   time.Duration
	Live  []Age            // every scheme not dead, by code
	Dead  int              // schemes with no NAV for more than DeadAfterDays: wound up, not late
	Stale map[string][]Age // AMC -> its schemes over the SLA, by code
	// Uncovered are the schemes whose next NAV is owed on a day the
	// calendar does not cover (by code): not judged, and not failing the
	// others.
	Uncovered []Uncovered
}

// Uncovered is a scheme whose lateness cannot be judged yet.
type Uncovered struct {
	Latest
	Day    fund.Date // the first day the calendar does not cover
	Reason string    // holiday calendar does not cover <Day>
}

// Options tune Evaluate.
type Options struct {
	SLA           time.Duration // a NAV later than this past its due time is stale
	DeadAfterDays int           // no NAV for more than this many days: the scheme is dead, not stale
	Calendar      *fund.Calendar
}

// Evaluate judges every scheme's latest NAV at time now. A scheme whose NAV
// is due on a day the calendar does not cover is not judged (an unknown day
// is never counted as a business day): it is listed in Uncovered with the
// reason, and the other schemes are judged.
func Evaluate(latest []Latest, now time.Time, opt Options) (Report, error) {
	r := Report{At: now, SLA: opt.SLA, Stale: map[string][]Age{}}
	today := fund.DateOf(now.In(fund.IST()))
	for _, l := range latest {
		if today.DaysSince(l.Date) > opt.DeadAfterDays {
			r.Dead++
			continue
		}
		next, err := fund.NextNAVDate(l.Date, opt.Calendar)
		a := Age{Latest: l, Next: next}
		if err == nil {
			a.Due, err = fund.NAVDueAt(a.Next, l.Category, opt.Calendar)
		}
		var oor *fund.OutOfRangeError
		if errors.As(err, &oor) {
			r.Uncovered = append(r.Uncovered, Uncovered{Latest: l, Day: oor.Date, Reason: "holiday calendar does not cover " + oor.Date.String()})
			continue
		}
		if err != nil {
			return Report{}, fmt.Errorf("freshness of scheme %s: %w", l.Code, err)
		}
		if now.After(a.Due) {
			a.Late = now.Sub(a.Due)
		}
		r.Live = append(r.Live, a)
		if a.Late > opt.SLA {
			r.Stale[l.AMC] = append(r.Stale[l.AMC], a)
		}
	}
	sort.Slice(r.Live, func(i, j int) bool { return r.Live[i].Code < r.Live[j].Code })
	sort.Slice(r.Uncovered, func(i, j int) bool { return r.Uncovered[i].Code < r.Uncovered[j].Code })
	for _, as := range r.Stale {
		sort.Slice(as, func(i, j int) bool { return as[i].Code < as[j].Code })
	}
	return r, nil
}

// AMCAge is one AMC's freshness: its oldest live scheme's lateness and how
// many of its live schemes are over the SLA.
type AMCAge struct {
	Live    int           // its live schemes
	MaxLate time.Duration // the latest of them; 0 when none is late
	Stale   int           // its schemes over the SLA
}

// ByAMC is the verdict per AMC (every AMC with a live scheme): the few
// dozen series an operator watches instead of one per scheme.
func (r Report) ByAMC() map[string]AMCAge {
	by := map[string]AMCAge{}
	for _, a := range r.Live {
		g := by[a.AMC]
		g.Live++
		g.MaxLate = max(g.MaxLate, a.Late)
		by[a.AMC] = g
	}
	for amc, as := range r.Stale {
		g := by[amc]
		g.Stale = len(as)
		by[amc] = g
	}
	return by
}

// StaleCount is the number of schemes over the SLA.
func (r Report) StaleCount() int {
	n := 0
	for _, as := range r.Stale {
		n += len(as)
	}
	return n
}

// Presence is what Postgres knows of one scheme around a business day.
type Presence struct {
	Latest
	OnPrev bool // has a NAV dated the previous business day
	OnDay  bool // has a NAV dated the day
}

// Missing is a scheme without its NAV for the day.
type Missing struct {
	Code     string    `json:"code"`
	AMC      string    `json:"amc"`
	Category string    `json:"category"`
	Latest   string    `json:"latest"` // its newest NAV date
	Due      time.Time `json:"due"`
}

// Completeness answers: of the schemes that had a NAV on the business day
// before Date, which have none for Date?
type Completeness struct {
	Date         string         `json:"date"`
	BusinessDay  bool           `json:"business_day"`
	Previous     string         `json:"previous_business_day,omitempty"`
	Expected     int            `json:"expected"` // schemes with a NAV on the previous business day
	Present      int            `json:"present"`  // ... that have one for Date
	MissingCount int            `json:"missing"`  // ... that do not, though it was due
	PendingCount int            `json:"pending"`  // ... that do not, and it is not due yet (funds of funds the next morning)
	MissingByAMC map[string]int `json:"missing_by_amc"`
	Missing      []Missing      `json:"missing_schemes"`
	Pending      []Missing      `json:"pending_schemes"`
	Note         string         `json:"note,omitempty"`
}

// Complete judges a business day from each scheme's presence on it and on
// the business day before. A day that is not a business day (a weekend, a
// holiday) expects nothing.
func Complete(day fund.Date, rows []Presence, now time.Time, cal *fund.Calendar) (Completeness, error) {
	business, err := cal.IsBusinessDay(day)
	if err != nil {
		return Completeness{}, err
	}
	c := Completeness{Date: day.String(), BusinessDay: business, MissingByAMC: map[string]int{},
		Missing: []Missing{}, Pending: []Missing{}}
	if !c.BusinessDay {
		c.Note = day.String() + " is not a business day (a weekend or a holiday in the calendar): no NAV is expected"
		return c, nil
	}
	prev, err := cal.PrevBusinessDay(day)
	if err != nil {
		return Completeness{}, err
	}
	c.Previous = prev.String()
	for _, p := range rows {
		if !p.OnPrev {
			continue
		}
		c.Expected++
		if p.OnDay {
			c.Present++
			continue
		}
		due, err := fund.NAVDueAt(day, p.Category, cal)
		if err != nil {
			return Completeness{}, fmt.Errorf("scheme %s: %w", p.Code, err)
		}
		m := Missing{Code: p.Code, AMC: p.AMC, Category: p.Category, Latest: p.Date.String(), Due: due}
		if now.Before(m.Due) {
			c.Pending = append(c.Pending, m)
			continue
		}
		c.Missing = append(c.Missing, m)
		c.MissingByAMC[p.AMC]++
	}
	sort.Slice(c.Missing, func(i, j int) bool { return c.Missing[i].Code < c.Missing[j].Code })
	sort.Slice(c.Pending, func(i, j int) bool { return c.Pending[i].Code < c.Pending[j].Code })
	c.MissingCount, c.PendingCount = len(c.Missing), len(c.Pending)
	return c, nil
}
