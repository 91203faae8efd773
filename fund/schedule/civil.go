package schedule

import (
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Civil-date arithmetic on plain integers. fund.Date's methods go through
// time.Date, which is most of a window's cost when the instalment run asks
// for a million plans a day; these are the same calendar in a few integer
// operations (TestCivilArithmetic checks them against package time).

// dayNum is the number of days from 1970-01-01 to d (Hinnant's
// days_from_civil).
func dayNum(d fund.Date) int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromDayNum is dayNum's inverse (civil_from_days).
func fromDayNum(n int) fund.Date {
	n += 719468
	era := floorDiv(n, 146097)
	doe := n - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return fund.Date{Year: y, Month: time.Month(m), Day: d}
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// weekdayOf is d's day of the week (1970-01-01 was a Thursday).
func weekdayOf(n int) time.Weekday { return time.Weekday((n%7 + 7 + 4) % 7) }

// daysIn is the length of month m of year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// cmpDate orders dates: negative if a is earlier than b.
func cmpDate(a, b fund.Date) int {
	if a.Year != b.Year {
		return a.Year - b.Year
	}
	if a.Month != b.Month {
		return int(a.Month) - int(b.Month)
	}
	return a.Day - b.Day
}

func before(a, b fund.Date) bool { return cmpDate(a, b) < 0 }
func after(a, b fund.Date) bool  { return cmpDate(a, b) > 0 }

func addDays(d fund.Date, n int) fund.Date { return fromDayNum(dayNum(d) + n) }

// isBusinessDay is cal.IsBusinessDay without time.Date: not a Saturday or
// Sunday, not one of the calendar's holidays. A weekday outside the
// calendar's years is recorded in p.err (the first one): the exported
// functions return it, so no schedule is built on an unknown day.
func (p *plan) isBusinessDay(cal *fund.Calendar, d fund.Date) bool {
	if wd := weekdayOf(dayNum(d)); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	p.check(cal, d)
	return !cal.IsHoliday(d)
}

// businessDayOnOrAfter is cal.BusinessDayOnOrAfter, the same way.
func (p *plan) businessDayOnOrAfter(cal *fund.Calendar, d fund.Date) fund.Date {
	n := dayNum(d)
	for {
		if wd := weekdayOf(n); wd != time.Saturday && wd != time.Sunday {
			p.check(cal, d)
			if !cal.IsHoliday(d) {
				return d
			}
		}
		n++
		d = fromDayNum(n)
	}
}

// check records the first date outside the calendar.
func (p *plan) check(cal *fund.Calendar, d fund.Date) {
	if p.err == nil && !cal.Covers(d) {
		p.err = cal.Check(d)
	}
}
