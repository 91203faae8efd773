package analytics

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// RollingPeriods are the rolling-return windows every scheme gets (CAGR,
// like the trailing returns from a year on).
var RollingPeriods = []Period{{"1Y", 1, 0}, {"3Y", 3, 0}}

// RollingHorizonMonths is how far back from as_of the rolling windows
// reach: every window lies within the last five years (the history the
// refresh reads for the 5Y trailing return).
const RollingHorizonMonths = 60

// RollingDist is one row of scheme_rolling_returns: the distribution of a
// scheme's rolling CAGRs over one period length.
//
// The windows: every published NAV date t dated after as_of − 5 years (and
// up to as_of) ends one window; it starts at the latest NAV on or before
// t − period (a month back from 31 March is 28/29 February, as for the
// trailing returns) that is itself after as_of − 5 years. A t with no such
// start (the scheme is younger) ends none. Each window's return is
// risk.CAGR over its two NAVs.
//
// The quantiles are nearest rank, the method of VaR: the p-quantile of n
// returns is the ⌈p·n⌉-th smallest (min the 1st, max the n-th; the median
// of an even n is the lower middle one). PctNegative is 100 × the windows
// with a return below zero / n, half-even to 8 places.
type RollingDist struct {
	Period                     string
	Windows, Negative          int
	FirstEnd, LastEnd          fund.Date // the first and last window's end
	Min, P25, Median, P75, Max decimal.Decimal
	PctNegative                decimal.Decimal
	WorstStart, WorstEnd       fund.Date // the window of Min
}

// RollingReturns are a scheme's rolling-return distributions as of a date,
// one per RollingPeriods entry with at least one window. navs are sorted by
// date.
func RollingReturns(navs []risk.Point, asOf fund.Date) ([]RollingDist, error) {
	horizon := monthsBack(asOf, RollingHorizonMonths)
	lo := onOrBefore(navs, horizon) + 1 // the first NAV dated after the horizon
	hi := onOrBefore(navs, asOf)
	if hi < lo {
		return nil, nil
	}
	s := navs[lo : hi+1]
	q := risk.NewQuick(s)
	var out []RollingDist
	for _, p := range RollingPeriods {
		// each window's CAGR in units of 1e-8 (int64: no allocation a
		// window); a scheme with a CAGR beyond an int64 takes decimals
		type win struct {
			r          int64
			start, end int
		}
		ws := make([]win, 0, len(s))
		wide := false
		// start is onOrBefore(s, monthsBack(end, period)): both move forward
		// only as the end does (monthsBack keeps the order of dates), so a
		// pointer replaces a binary search a window
		start := -1
		for e := range s {
			k := monthsBack(s[e].Date, p.Years*12+p.Months).Order()
			for start+1 < len(s) && s[start+1].Date.Order() <= k {
				start++
			}
			if start < 0 {
				continue
			}
			r, ok, err := q.CAGRUnits(start, e)
			if err != nil {
				return nil, fmt.Errorf("analytics: rolling %s to %s: %w", p.Name, s[e].Date, err)
			}
			if !ok {
				wide = true
				break
			}
			ws = append(ws, win{r, start, e})
		}
		if wide {
			d, err := rollingDecimal(s, q, p)
			if err != nil {
				return nil, err
			}
			if d != nil {
				out = append(out, *d)
			}
			continue
		}
		if len(ws) == 0 {
			continue
		}
		d := RollingDist{Period: p.Name, Windows: len(ws), FirstEnd: s[ws[0].end].Date, LastEnd: s[ws[len(ws)-1].end].Date}
		// the first window of the lowest return names the worst one
		worst := 0
		for i, w := range ws {
			if w.r < ws[worst].r {
				worst = i
			}
			if w.r < 0 {
				d.Negative++
			}
		}
		d.WorstStart, d.WorstEnd = s[ws[worst].start].Date, s[ws[worst].end].Date
		rs := make([]int64, len(ws))
		for i, w := range ws {
			rs[i] = w.r
		}
		slices.Sort(rs)
		at := func(pct int) decimal.Decimal { return decimal.New(rs[nearestRank(len(rs), pct)], -risk.Scale) }
		d.Min, d.Max = at(0), decimal.New(rs[len(rs)-1], -risk.Scale)
		d.P25, d.Median, d.P75 = at(25), at(50), at(75)
		d.PctNegative = risk.RoundRat(big.NewRat(int64(100*d.Negative), int64(len(ws))))
		out = append(out, d)
	}
	return out, nil
}

// NearestRank is the pct-th percentile of sorted values by the nearest-rank
// method: the ⌈pct·n/100⌉-th smallest (at least the first).
func NearestRank(sorted []decimal.Decimal, pct int) decimal.Decimal {
	return sorted[nearestRank(len(sorted), pct)]
}

// nearestRank is the index of the pct-th percentile of n sorted values.
func nearestRank(n, pct int) int { return max((pct*n+99)/100, 1) - 1 }

// rollingDecimal is one period's distribution with decimal CAGRs: the route
// for a scheme with a window's CAGR beyond an int64 of 1e-8.
func rollingDecimal(s []risk.Point, q risk.Quick, p Period) (*RollingDist, error) {
	type win struct {
		r          decimal.Decimal
		start, end int
	}
	var ws []win
	for e := range s {
		start := onOrBefore(s, monthsBack(s[e].Date, p.Years*12+p.Months))
		if start < 0 {
			continue
		}
		r, err := q.CAGR(start, e)
		if err != nil {
			return nil, fmt.Errorf("analytics: rolling %s to %s: %w", p.Name, s[e].Date, err)
		}
		ws = append(ws, win{r, start, e})
	}
	if len(ws) == 0 {
		return nil, nil
	}
	d := RollingDist{Period: p.Name, Windows: len(ws), FirstEnd: s[ws[0].end].Date, LastEnd: s[ws[len(ws)-1].end].Date}
	worst := 0
	for i, w := range ws {
		if w.r.LessThan(ws[worst].r) {
			worst = i
		}
		if w.r.Sign() < 0 {
			d.Negative++
		}
	}
	d.WorstStart, d.WorstEnd = s[ws[worst].start].Date, s[ws[worst].end].Date
	rs := make([]decimal.Decimal, len(ws))
	for i, w := range ws {
		rs[i] = w.r
	}
	slices.SortFunc(rs, func(a, b decimal.Decimal) int { return a.Cmp(b) })
	d.Min, d.Max = rs[0], rs[len(rs)-1]
	d.P25, d.Median, d.P75 = NearestRank(rs, 25), NearestRank(rs, 50), NearestRank(rs, 75)
	d.PctNegative = risk.RoundRat(big.NewRat(int64(100*d.Negative), int64(len(ws))))
	return &d, nil
}
