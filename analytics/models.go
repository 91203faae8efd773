package analytics

import (
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// UnitsChange is a scheme's net units issued (+) or redeemed (−) on a NAV
// date: Σ direction × units of its facts.
type UnitsChange struct {
	Date  fund.Date
	Units decimal.Decimal
}

// AUMRow is one row of aum_daily.
type AUMRow struct {
	Date     fund.Date
	Scheme   string
	Units    decimal.Decimal // outstanding after the day's transactions
	NAV      decimal.Decimal // the applied NAV (fund.AppliedNAV) in force that day
	NAVDate  fund.Date       // the NAV's own date: earlier on a holiday (carried)
	AUM      decimal.Decimal // Units × NAV, exact
	AMC, Cat string
}

// DailyAUM is a scheme's AUM for every calendar day of [from, to] on which
// units are outstanding and a NAV has been published: units are the sum of
// the changes up to the day (those before from included), the NAV the
// latest on or before the day, applied as the ledger values holdings
// (fund.AppliedNAV: half-up to 4 decimals). changes and navs are sorted by
// date.
func DailyAUM(scheme string, changes []UnitsChange, navs []risk.Point, from, to fund.Date) ([]AUMRow, error) {
	var out []AUMRow
	units := decimal.Zero
	ci, ni := 0, 0
	var nav decimal.Decimal
	var navDate fund.Date
	for d := from; !d.After(to); d = d.AddDays(1) {
		for ci < len(changes) && !changes[ci].Date.After(d) {
			units = units.Add(changes[ci].Units)
			ci++
		}
		for ni < len(navs) && !navs[ni].Date.After(d) {
			applied, err := fund.AppliedNAV(navs[ni].NAV)
			if err != nil {
				return nil, fmt.Errorf("analytics: scheme %s NAV of %s: %w", scheme, navs[ni].Date, err)
			}
			nav, navDate = applied.Decimal(), navs[ni].Date
			ni++
		}
		if units.IsZero() || navDate.IsZero() {
			continue
		}
		out = append(out, AUMRow{Date: d, Scheme: scheme, Units: units, NAV: nav, NAVDate: navDate, AUM: units.Mul(nav)})
	}
	return out, nil
}

// Period is a trailing-return period: absolute below a year, CAGR from a
// year on (the AMFI convention).
type Period struct {
	Name          string
	Years, Months int
}

// CAGR reports whether the period's return is annualised.
func (p Period) CAGR() bool { return p.Years >= 1 }

// Periods are the trailing returns every scheme gets.
var Periods = []Period{{"1M", 0, 1}, {"3M", 0, 3}, {"6M", 0, 6}, {"1Y", 1, 0}, {"3Y", 3, 0}, {"5Y", 5, 0}}

// TrailingReturn is one row of scheme_returns.
type TrailingReturn struct {
	Period   string
	Kind     string // absolute or cagr
	From, To fund.Date
	Value    decimal.Decimal // half-even, 8 places
}

// onOrBefore is the index of the latest point dated on or before d, or −1.
func onOrBefore(navs []risk.Point, d fund.Date) int {
	k := d.Order()
	i, found := slices.BinarySearchFunc(navs, k, func(p risk.Point, k int) int { return p.Date.Order() - k })
	if found {
		return i
	}
	return i - 1
}

// TrailingReturns are a scheme's returns to asOf: from the latest NAV on or
// before asOf − period to the latest NAV on or before asOf; absolute
// (end/start − 1, exact, then rounded) below a year, CAGR (risk.CAGR over
// the two NAVs' calendar days) from a year on. A period reaching before the
// first NAV has no return.
func TrailingReturns(navs []risk.Point, asOf fund.Date) ([]TrailingReturn, error) {
	end := onOrBefore(navs, asOf)
	if end < 0 {
		return nil, nil
	}
	var out []TrailingReturn
	for _, p := range Periods {
		startDate := monthsBack(asOf, p.Years*12+p.Months)
		start := onOrBefore(navs, startDate)
		if start < 0 || start >= end {
			continue
		}
		r := TrailingReturn{Period: p.Name, From: navs[start].Date, To: navs[end].Date}
		if p.CAGR() {
			r.Kind = "cagr"
			v, err := risk.CAGR([]risk.Point{navs[start], navs[end]})
			if err != nil {
				return nil, err
			}
			r.Value = v
		} else {
			r.Kind = "absolute"
			q := new(big.Rat).Quo(navs[end].NAV.Rat(), navs[start].NAV.Rat())
			r.Value = risk.RoundRat(q.Sub(q, big.NewRat(1, 1)))
		}
		out = append(out, r)
	}
	return out, nil
}

// monthsBack is d moved back n months, the day clamped to the month's last
// (31 March − 1 month = 28 February, not time.AddDate's 3 March).
//
// In integers, no time.Date: rolling returns take one per window.
func monthsBack(d fund.Date, n int) fund.Date {
	m := int(d.Month) - 1 - n // months from January of d.Year, zero-based
	y := d.Year + m/12
	if m %= 12; m < 0 {
		m += 12
		y--
	}
	month := time.Month(m + 1)
	return fund.Date{Year: y, Month: month, Day: min(d.Day, daysIn(y, month))}
}

// daysIn is the number of days of a month (Gregorian).
func daysIn(y int, m time.Month) int {
	switch m {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}

// RiskWindowDays is the trailing window of scheme_risk.
const RiskWindowDays = 365

// Window is the NAVs of the risk window to asOf: dated after asOf − 365
// days, up to asOf.
func Window(navs []risk.Point, asOf fund.Date) []risk.Point {
	end := onOrBefore(navs, asOf)
	if end < 0 {
		return nil
	}
	start := onOrBefore(navs, asOf.AddDays(-RiskWindowDays)) + 1
	return navs[start : end+1]
}

// CategoryAverage is the mean daily return of a category's schemes: for
// each date, the mean of the returns the schemes have on it. The sums are
// 256-bit floats (the mean is only used for beta, itself a float): a sum of
// thousands of exact rationals with different denominators would grow to
// tens of thousands of digits.
func CategoryAverage(series [][]risk.Return) []risk.Return {
	type acc struct {
		sum *big.Float
		n   int64
	}
	by := map[int]*acc{}
	dates := map[int]fund.Date{}
	for _, s := range series {
		for _, r := range s {
			k := r.Date.Order()
			a := by[k]
			if a == nil {
				a = &acc{sum: new(big.Float).SetPrec(256)}
				by[k], dates[k] = a, r.Date
			}
			a.sum.Add(a.sum, new(big.Float).SetPrec(256).SetRat(r.R))
			a.n++
		}
	}
	out := make([]risk.Return, 0, len(by))
	for k, a := range by {
		m := a.sum.Quo(a.sum, new(big.Float).SetPrec(256).SetInt64(a.n))
		r, _ := m.Rat(nil) // exact: a binary fraction
		out = append(out, risk.Return{Date: dates[k], R: r})
	}
	slices.SortFunc(out, func(a, b risk.Return) int { return a.Date.Order() - b.Date.Order() })
	return out
}

// RiskRow is one row of scheme_risk.
type RiskRow struct {
	Scheme string
	AsOf   fund.Date
	From   fund.Date
	Report risk.Report
	Beta   *decimal.Decimal
}

// SchemeVersion is one version of a scheme (scheme_versions).
type SchemeVersion struct {
	Code                                         string
	Version                                      uint32
	ValidFrom                                    fund.Date
	ValidTo                                      *fund.Date
	Name, ISINGrowth, ISINReinvest, Plan, Option string
	Category, SchemeType, AMC                    string
}
