package fund

import (
	"fmt"
	"time"
)

// Date is a civil date (no time of day, no zone). Dates of NAVs, trades and
// holidays are calendar facts, not instants, so they never carry a zone that
// could shift them by a day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the civil date y-m-d. Out-of-range values normalise the way
// time.Date does (Jan 32 is Feb 1).
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Time returns midnight UTC of the date: the form drivers store in DATE columns.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Order is d as an integer in date order (Year<<9 | Month<<5 | Day):
// comparing dates through time.Time (a time.Date for each side) was a
// fifth of the analytics refresh's CPU. d must be normalised, as NewDate,
// DateOf and the parsers make it.
func (d Date) Order() int { return d.Year<<9 | int(d.Month)<<5 | d.Day }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// AddDays returns d moved by n calendar days.
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// Before reports whether d is strictly earlier than o.
func (d Date) Before(o Date) bool { return d.Time().Before(o.Time()) }

// After reports whether d is strictly later than o.
func (d Date) After(o Date) bool { return d.Time().After(o.Time()) }

// Compare returns -1, 0 or +1 as d is before, on or after o, field by
// field: Before and After without two time.Date calls, for dates as
// NewDate, DateOf and ParseISODate make them (normalised).
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	}
	return cmpInt(d.Day, o.Day)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DaysSince returns the number of calendar days from o to d (negative if d is earlier).
func (d Date) DaysSince(o Date) int { return int(d.Time().Sub(o.Time()).Hours() / 24) }

// String formats d as ISO 8601 (2026-08-21).
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// ParseISODate parses 2006-01-02.
func ParseISODate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// ParseDMY parses the DD-Mon-YYYY form used by AMFI, the RTAs and the holiday
// calendars (21-Aug-2026). The month name is matched case-insensitively.
func ParseDMY(s string) (Date, error) {
	t, err := time.Parse("02-Jan-2006", normaliseMonth(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want DD-Mon-YYYY", s)
	}
	return DateOf(t), nil
}

// normaliseMonth turns "21-AUG-2026" into "21-Aug-2026" for time.Parse.
func normaliseMonth(s string) string {
	if len(s) != 11 || s[2] != '-' || s[6] != '-' {
		return s
	}
	b := []byte(s)
	b[3] = upper(b[3])
	b[4], b[5] = lower(b[4]), lower(b[5])
	return string(b)
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c - 'A' + 'a'
	}
	return c
}
