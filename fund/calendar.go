package fund

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Calendar knows which dates are business days: Monday to Friday, except the
// holidays it was built from. Holidays are data (the exchange/RTA holiday
// files), not code. A Calendar is immutable once built and safe for
// concurrent use. A nil *Calendar has no holidays (weekends only).
//
// A calendar built from holiday files (HolidayCalendar) knows the years its
// list covers: a year is covered when the list holds a holiday in it (the
// exchange publishes one list a year). Asking about a date in any other year
// is an *OutOfRangeError, never a silent business day: IsBusinessDay and the
// Next/Prev/OnOrAfter steps return it beside their answer, so no caller can
// take the answer without being handed the error. (Covers alone would leave
// every caller free to forget to ask.) NewCalendar and a nil Calendar are
// unbounded: weekends and the dates given, for generators and tests.
type Calendar struct {
	holidays map[Date]struct{}
	years    map[int]bool // the years the list covers; nil: unbounded
}

// OutOfRangeError is a date in a year the calendar's holiday list does not
// cover: whether it is a business day is unknown.
type OutOfRangeError struct {
	Date  Date
	Years []int // the years covered, ascending
}

func (e *OutOfRangeError) Error() string {
	covered := "no year"
	if n := len(e.Years); n > 0 {
		covered = fmt.Sprint(e.Years[0])
		if n > 1 {
			covered = fmt.Sprintf("%d-%d", e.Years[0], e.Years[n-1])
			if e.Years[n-1]-e.Years[0]+1 != n {
				covered = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(e.Years)), ", "), "[]")
			}
		}
	}
	return fmt.Sprintf("%s is outside the holiday calendar (its files cover %s): add the exchange's holiday file for %d", e.Date, covered, e.Date.Year)
}

// NewCalendar returns an unbounded calendar with the given holidays: every
// date outside them is a business day unless it falls on a weekend.
// Duplicates are ignored; holidays that fall on a weekend are accepted (and
// change nothing).
func NewCalendar(dates ...Date) *Calendar {
	c := &Calendar{holidays: make(map[Date]struct{}, len(dates))}
	for _, d := range dates {
		c.holidays[d] = struct{}{}
	}
	return c
}

// HolidayCalendar returns the calendar of a holiday list: it covers the
// years its dates fall in, and only those. An empty list covers nothing.
func HolidayCalendar(dates ...Date) *Calendar {
	c := NewCalendar(dates...)
	c.years = map[int]bool{}
	for _, d := range dates {
		c.years[d.Year] = true
	}
	return c
}

// Covers reports whether the calendar knows d's year (always, unbounded).
func (c *Calendar) Covers(d Date) bool {
	return c == nil || c.years == nil || c.years[d.Year]
}

// Years returns the years covered, ascending (nil: unbounded).
func (c *Calendar) Years() []int {
	if c == nil || c.years == nil {
		return nil
	}
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Check is nil when the calendar covers d, else its *OutOfRangeError.
func (c *Calendar) Check(d Date) error {
	if c.Covers(d) {
		return nil
	}
	return &OutOfRangeError{Date: d, Years: c.Years()}
}

// ParseHolidays reads a holiday file: one DD-Mon-YYYY date per line
// (21-Aug-2026), no header. Blank lines are skipped, surrounding spaces and a
// trailing CR are ignored, and a date that repeats is kept once (the dates
// are returned in the order of their first appearance). Any other line is an
// error naming its 1-based line number.
func ParseHolidays(r io.Reader) ([]Date, error) {
	sc := bufio.NewScanner(r)
	var out []Date
	seen := make(map[Date]bool)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a UTF-8 byte-order mark
		}
		line = strings.TrimSpace(line) // also drops the CR of a CRLF line
		if line == "" {
			continue
		}
		d, err := ParseDMY(line)
		if err != nil {
			return nil, fmt.Errorf("holidays line %d: %w", n, err)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("holidays: %w", err)
	}
	return out, nil
}

// Len returns the number of distinct holidays (weekend ones included).
func (c *Calendar) Len() int {
	if c == nil {
		return 0
	}
	return len(c.holidays)
}

// Holidays returns the holidays in date order.
func (c *Calendar) Holidays() []Date {
	if c == nil {
		return nil
	}
	out := make([]Date, 0, len(c.holidays))
	for d := range c.holidays {
		out = append(out, d)
	}
	slices.SortFunc(out, compareDates)
	return out
}

// IsHoliday reports whether d is one of the calendar's holidays (weekends
// are not holidays unless listed; see IsBusinessDay).
func (c *Calendar) IsHoliday(d Date) bool {
	if c == nil {
		return false
	}
	_, ok := c.holidays[d]
	return ok
}

// IsBusinessDay reports whether d is a business day: not a Saturday or
// Sunday and not a holiday. A weekday outside the calendar's years is an
// *OutOfRangeError (a weekend day is never a business day, known or not).
func (c *Calendar) IsBusinessDay(d Date) (bool, error) {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false, nil
	}
	if err := c.Check(d); err != nil {
		return false, err
	}
	return !c.IsHoliday(d), nil
}

// NextBusinessDay returns the first business day strictly after d.
func (c *Calendar) NextBusinessDay(d Date) (Date, error) {
	return c.BusinessDayOnOrAfter(d.AddDays(1))
}

// BusinessDayOnOrAfter returns d if it is a business day, else the first
// business day after it.
func (c *Calendar) BusinessDayOnOrAfter(d Date) (Date, error) {
	for {
		ok, err := c.IsBusinessDay(d)
		if ok || err != nil {
			return d, err
		}
		d = d.AddDays(1)
	}
}

// PrevBusinessDay returns the last business day strictly before d.
func (c *Calendar) PrevBusinessDay(d Date) (Date, error) {
	for {
		d = d.AddDays(-1)
		ok, err := c.IsBusinessDay(d)
		if ok || err != nil {
			return d, err
		}
	}
}

// IsWeekday reports whether d is Monday to Friday: a business day of the
// weekends-only calendar (generators that invent data on no real calendar).
func IsWeekday(d Date) bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// NextWeekday returns the first weekday strictly after d.
func NextWeekday(d Date) Date {
	for d = d.AddDays(1); !IsWeekday(d); d = d.AddDays(1) {
	}
	return d
}

// compareDates orders dates: negative if a is earlier than b.
func compareDates(a, b Date) int {
	if a.Year != b.Year {
		return a.Year - b.Year
	}
	if a.Month != b.Month {
		return int(a.Month) - int(b.Month)
	}
	return a.Day - b.Day
}

// DMY formats d the way AMFI, the RTAs and the holiday files do: 21-Aug-2026.
func (d Date) DMY() string { return d.Time().Format("02-Jan-2006") }
