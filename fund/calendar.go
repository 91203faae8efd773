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
// A Calendar does not know which years its data covers: a date in a year
// with no holiday file is a business day unless it falls on a weekend.
type Calendar struct {
	holidays map[Date]struct{}
}

// NewCalendar returns a calendar with the given holidays. Duplicates are
// ignored; holidays that fall on a weekend are accepted (and change nothing).
func NewCalendar(dates ...Date) *Calendar {
	c := &Calendar{holidays: make(map[Date]struct{}, len(dates))}
	for _, d := range dates {
		c.holidays[d] = struct{}{}
	}
	return c
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
// Sunday and not a holiday.
func (c *Calendar) IsBusinessDay(d Date) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.IsHoliday(d)
}

// NextBusinessDay returns the first business day strictly after d.
func (c *Calendar) NextBusinessDay(d Date) Date {
	return c.BusinessDayOnOrAfter(d.AddDays(1))
}

// BusinessDayOnOrAfter returns d if it is a business day, else the first
// business day after it.
func (c *Calendar) BusinessDayOnOrAfter(d Date) Date {
	for !c.IsBusinessDay(d) {
		d = d.AddDays(1)
	}
	return d
}

// PrevBusinessDay returns the last business day strictly before d.
func (c *Calendar) PrevBusinessDay(d Date) Date {
	d = d.AddDays(-1)
	for !c.IsBusinessDay(d) {
		d = d.AddDays(-1)
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
