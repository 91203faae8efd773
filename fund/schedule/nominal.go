package schedule

import (
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Limits that keep the arithmetic inside the civil calendar (and a fuzzed
// spec from asking for a billion dates).
const (
	// MaxCount is the largest Count: 100 years of daily nominal dates.
	MaxCount = 36600
	minYear  = 1900
	maxYear  = 9999
)

// segment is the stretch of a plan under one day rule: from Start (or a
// Change's From) to the next Change's From, exclusive.
type segment struct {
	freq   Frequency
	from   fund.Date
	until  fund.Date // exclusive; zero: open
	day    int       // monthly, quarterly
	wd     time.Weekday
	first  fund.Date // the segment's first nominal date (on or after until: empty)
	firstN int       // daily, weekly: dayNum(first)
	m0     int       // monthly, quarterly: month index of first
	seq0   int       // nominal dates in the segments before
	n      int       // nominal dates in the segment; -1: open
}

// plan is a validated Spec cut into segments, with its total.
type plan struct {
	spec  Spec
	segs  []segment
	total int // nominal dates in all; -1: perpetual
	buf   [3]segment
	err   error // the first date asked of the calendar outside its years (isBusinessDay)
}

func monthIndex(d fund.Date) int { return d.Year*12 + int(d.Month) - 1 }

// ClampToMonthEnd is the named rule for days 29–31: day D of month m of
// year y is D when the month has D days, else the month's last calendar day
// (the 31st in April is the 30th; the 29th in February 2025 is the 28th, in
// February 2024 the 29th).
func ClampToMonthEnd(y int, m time.Month, day int) fund.Date {
	return fund.Date{Year: y, Month: m, Day: min(day, daysIn(y, m))}
}

// clampToMonthEnd is ClampToMonthEnd for a month index (year*12 + month-1).
func clampToMonthEnd(m, day int) fund.Date {
	return ClampToMonthEnd(m/12, time.Month(m%12+1), day)
}

func (s *segment) step() int {
	if s.freq == Quarterly {
		return 3
	}
	return 1
}

// kth returns the segment's nominal date k (0-based).
func (s *segment) kth(k int) fund.Date {
	switch s.freq {
	case Daily:
		return fromDayNum(s.firstN + k)
	case Weekly:
		return fromDayNum(s.firstN + 7*k)
	}
	return clampToMonthEnd(s.m0+k*s.step(), s.day)
}

// upTo counts the segment's nominal dates on or before d, ignoring until.
func (s *segment) upTo(d fund.Date) int {
	if before(d, s.first) {
		return 0
	}
	switch s.freq {
	case Daily:
		return dayNum(d) - s.firstN + 1
	case Weekly:
		return (dayNum(d)-s.firstN)/7 + 1
	}
	k := (monthIndex(d) - s.m0) / s.step()
	if after(clampToMonthEnd(s.m0+k*s.step(), s.day), d) {
		k--
	}
	return k + 1
}

func newPlan(spec Spec) (*plan, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	p := &plan{spec: spec, total: -1}
	p.segs = p.buf[:0] // most plans: one allocation for the plan and its segments
	if len(spec.Changes) >= len(p.buf) {
		p.segs = make([]segment, 0, len(spec.Changes)+1)
	}
	day, wd := spec.Day, spec.Weekday
	if day == 0 {
		day = spec.Start.Day
	}
	for i := 0; i <= len(spec.Changes); i++ {
		s := segment{freq: spec.Frequency, from: spec.Start, day: day, wd: wd, n: -1}
		if i > 0 {
			c := spec.Changes[i-1]
			s.from, s.day, s.wd = c.From, c.Day, c.Weekday
			if s.day == 0 {
				s.day = c.From.Day
			}
		}
		if i < len(spec.Changes) {
			s.until = spec.Changes[i].From
		}
		if i > 0 {
			prev := &p.segs[i-1]
			s.seq0 = prev.seq0 + prev.n
		}
		switch s.freq {
		case Daily:
			s.first = s.from
		case Weekly:
			n := dayNum(s.from)
			s.first = fromDayNum(n + (int(s.wd)-int(weekdayOf(n))+7)%7)
		default:
			m, next := monthIndex(s.from), 1
			if s.freq == Quarterly && s.seq0 > 0 {
				// keep the plan's months: every third from its first
				// nominal date (the first of a segment before that had
				// one; seq0 is set above)
				m += ((p.firstMonth()-m)%3 + 3) % 3
				next = 3
			}
			if before(clampToMonthEnd(m, s.day), s.from) {
				m += next
			}
			s.m0 = m
			s.first = clampToMonthEnd(m, s.day)
		}
		s.firstN = dayNum(s.first)
		if !s.until.IsZero() {
			s.n = s.upTo(addDays(s.until, -1))
		}
		p.segs = append(p.segs, s)
	}
	switch {
	case spec.Count > 0:
		p.total = spec.Count
	case !spec.End.IsZero():
		p.total = p.upTo(spec.End)
	}
	return p, nil
}

// firstMonth is the month index of the plan's first nominal date, in the
// segments built so far (the caller knows there is one).
func (p *plan) firstMonth() int {
	for _, s := range p.segs {
		if s.n != 0 {
			return s.m0
		}
	}
	panic("unreachable: no nominal date yet")
}

// upTo counts the plan's nominal dates on or before d.
func (p *plan) upTo(d fund.Date) int {
	n := 0
	for i := range p.segs {
		s := &p.segs[i]
		if s.n == 0 {
			continue
		}
		if before(d, s.first) {
			break
		}
		c := s.upTo(d)
		if s.n >= 0 && c > s.n {
			c = s.n
		}
		n = s.seq0 + c
	}
	if p.total >= 0 && n > p.total {
		n = p.total
	}
	return n
}

// nominal returns nominal date n (1-based; n within the plan).
func (p *plan) nominal(n int) fund.Date {
	for i := range p.segs {
		s := &p.segs[i]
		if s.n < 0 || n <= s.seq0+s.n {
			return s.kth(n - s.seq0 - 1)
		}
	}
	panic("unreachable: the last segment is open")
}

// has reports whether the plan has a nominal date n.
func (p *plan) has(n int) bool { return n >= 1 && (p.total < 0 || n <= p.total) }
