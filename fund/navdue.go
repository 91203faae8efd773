package fund

import (
	"strings"
	"time"
)

// When a NAV must be published (SEBI master circular for mutual funds, NAV
// disclosure): on AMFI's site by 11:00 PM IST of the business day it is
// for; a fund of funds by 10:00 AM IST of the next business day, since it
// waits for its underlying schemes' NAVs.
const (
	NAVPublishHour    = 23
	FoFNAVPublishHour = 10
)

// IsFundOfFunds reports whether an AMFI category is a fund of funds
// ("Other Scheme - FoF Overseas", "Fund of Funds Scheme (Domestic)",
// "Overseas Fund of Funds - Fund of Funds investing overseas").
func IsFundOfFunds(category string) bool {
	c := strings.ToLower(category)
	return strings.Contains(c, "fund of funds") || containsWord(c, "fof")
}

// containsWord reports whether w occurs in s as a whole word.
func containsWord(s, w string) bool {
	isLetter := func(b byte) bool { return 'a' <= b && b <= 'z' }
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		k := i + j
		end := k + len(w)
		if (k == 0 || !isLetter(s[k-1])) && (end == len(s) || !isLetter(s[end])) {
			return true
		}
		i = k + 1
	}
}

// NAVDueAt returns the latest time the NAV dated d of a scheme in category
// should be published: 23:00 IST on d, or, for a fund of funds, 10:00 IST
// on the business day after d (an error when that is outside the calendar).
func NAVDueAt(d Date, category string, cal *Calendar) (time.Time, error) {
	if IsFundOfFunds(category) {
		n, err := cal.NextBusinessDay(d)
		if err != nil {
			return time.Time{}, err
		}
		return time.Date(n.Year, n.Month, n.Day, FoFNAVPublishHour, 0, 0, 0, IST()), nil
	}
	return time.Date(d.Year, d.Month, d.Day, NAVPublishHour, 0, 0, 0, IST()), nil
}

// NextNAVDate returns the date of the NAV a scheme owes after the one dated
// latest: the next business day. Liquid and overnight schemes publish the
// NAVs of weekends and holidays together with the business day before, so
// for them too the next NAV to wait for is the next business day's; and a
// holiday is never a missing NAV.
func NextNAVDate(latest Date, cal *Calendar) (Date, error) { return cal.NextBusinessDay(latest) }

// LastDueBusinessDay returns the latest business day whose NAVs (of
// schemes that are not funds of funds) were due by t.
func LastDueBusinessDay(t time.Time, cal *Calendar) (Date, error) {
	d := DateOf(t.In(IST()))
	for {
		ok, err := cal.IsBusinessDay(d)
		if err != nil {
			return Date{}, err
		}
		if due, _ := NAVDueAt(d, "", cal); ok && !due.After(t) { // not a fund of funds: no calendar step
			return d, nil
		}
		d = d.AddDays(-1)
	}
}
