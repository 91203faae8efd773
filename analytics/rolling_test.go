package analytics_test

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

func TestRollingReturnsByHand(t *testing.T) {
	// as of 2023-09-30: the horizon is 2018-09-30, so the 2018 NAV (it would
	// start a 3Y window ending 2021-09-01) and the NAV after as_of are out.
	// Every window below is exactly 365 or 1095 days (no 29 February inside):
	// a 1Y CAGR is the ratio − 1, a 3Y one the cube root of the ratio − 1.
	navs := pts(
		"2018-09-01", "50",
		"2020-09-01", "100", // A
		"2020-09-02", "100", // A2
		"2021-09-01", "120", // B
		"2021-09-02", "90", // C
		"2022-09-01", "108", // D
		"2022-09-02", "99", // E
		"2023-09-01", "133.1", // F
		"2023-09-02", "72.9", // G
		"2023-10-03", "500",
	)
	got, err := analytics.RollingReturns(navs, fund.NewDate(2023, 9, 30))
	if err != nil {
		t.Fatal(err)
	}
	// 1Y: B←A 120/100−1 = 0.2; C←A2 90/100−1 = −0.1; D←B 108/120−1 = −0.1; E←C 99/90−1 = 0.1;
	//     F←D 133.1/108−1 = 0.232407407… → 0.23240741; G←E 72.9/99−1 = −0.263636… → −0.26363636.
	//     sorted: −0.26363636, −0.1, −0.1, 0.1, 0.2, 0.23240741 (n = 6)
	//     p25 = ⌈1.5⌉ = 2nd = −0.1; median = ⌈3⌉ = 3rd = −0.1; p75 = ⌈4.5⌉ = 5th = 0.2
	//     negative 3 of 6 = 50 %; the worst window E (2022-09-02) → G (2023-09-02)
	// 3Y: F←A 1.331^(1/3)−1 = 0.1; G←A2 0.729^(1/3)−1 = −0.1 (n = 2)
	//     p25 = ⌈0.5⌉ = 1st = −0.1; median = ⌈1⌉ = 1st = −0.1; p75 = ⌈1.5⌉ = 2nd = 0.1; 1 of 2 negative
	want := []struct {
		period, min, p25, median, p75, max, pctNeg string
		windows, negative                          int
		firstEnd, lastEnd, worstStart, worstEnd    string
	}{
		{"1Y", "-0.26363636", "-0.1", "-0.1", "0.2", "0.23240741", "50", 6, 3, "2021-09-01", "2023-09-02", "2022-09-02", "2023-09-02"},
		{"3Y", "-0.1", "-0.1", "-0.1", "0.1", "0.1", "50", 2, 1, "2023-09-01", "2023-09-02", "2020-09-02", "2023-09-02"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d distributions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Period != w.period || g.Windows != w.windows || g.Negative != w.negative ||
			!g.Min.Equal(mustDec(w.min)) || !g.P25.Equal(mustDec(w.p25)) || !g.Median.Equal(mustDec(w.median)) ||
			!g.P75.Equal(mustDec(w.p75)) || !g.Max.Equal(mustDec(w.max)) || !g.PctNegative.Equal(mustDec(w.pctNeg)) ||
			g.FirstEnd.String() != w.firstEnd || g.LastEnd.String() != w.lastEnd ||
			g.WorstStart.String() != w.worstStart || g.WorstEnd.String() != w.worstEnd {
			t.Errorf("%s: got %+v\nwant %+v", w.period, g, w)
		}
	}
}

// The exact route: for random business-day series, each window found by a
// plain scan with its own month arithmetic, its CAGR by risk.CAGR (the
// decimal definition `fundflow check risk` uses), the quantiles by counting
// (the smallest value with at least p·n/100 values at or below it): the
// model's distributions are the same, to the last digit.
func TestRollingReturnsAgainstCAGRLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 20))
	for trial := range 4 {
		asOf := fund.NewDate(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
		var navs []risk.Point
		nav := int64(100_0000 + rng.IntN(500_0000))
		for d := asOf.AddDays(-(1900 + rng.IntN(400))); !d.After(asOf.AddDays(10)); d = d.AddDays(1) {
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || rng.IntN(30) == 0 {
				continue // weekends and the odd holiday
			}
			nav = max(1000, nav+nav*int64(rng.IntN(301)-148)/10000)
			navs = append(navs, risk.Point{Date: d, NAV: decimal.New(nav, -4)})
		}
		got, err := analytics.RollingReturns(navs, asOf)
		if err != nil {
			t.Fatal(err)
		}
		horizon := back(asOf, 60)
		var in []risk.Point
		for _, p := range navs {
			if p.Date.After(horizon) && !p.Date.After(asOf) {
				in = append(in, p)
			}
		}
		for _, years := range []int{1, 3} {
			var rs []decimal.Decimal
			neg := 0
			for _, end := range in {
				target := back(end.Date, 12*years)
				var start *risk.Point
				for i := range in {
					if !in[i].Date.After(target) {
						start = &in[i]
					}
				}
				if start == nil {
					continue
				}
				r, err := risk.CAGR([]risk.Point{*start, end})
				if err != nil {
					t.Fatal(err)
				}
				rs = append(rs, r)
				if r.Sign() < 0 {
					neg++
				}
			}
			var g *analytics.RollingDist
			for i := range got {
				if got[i].Period == map[int]string{1: "1Y", 3: "3Y"}[years] {
					g = &got[i]
				}
			}
			if len(rs) == 0 {
				if g != nil {
					t.Errorf("trial %d %dY: a distribution over no window: %+v", trial, years, g)
				}
				continue
			}
			if g == nil {
				t.Fatalf("trial %d %dY: no distribution, want one over %d windows", trial, years, len(rs))
			}
			pct := func(p int) decimal.Decimal { // the smallest v with #{x ≤ v} · 100 ≥ p · n
				best := rs[0]
				found := false
				for _, v := range rs {
					c := 0
					for _, x := range rs {
						if !x.GreaterThan(v) {
							c++
						}
					}
					if c*100 >= p*len(rs) && (!found || v.LessThan(best)) {
						best, found = v, true
					}
				}
				return best
			}
			wantNeg := risk.RoundRat(big.NewRat(int64(100*neg), int64(len(rs))))
			if g.Windows != len(rs) || g.Negative != neg || !g.PctNegative.Equal(wantNeg) ||
				!g.Min.Equal(slices.MinFunc(rs, decimal.Decimal.Cmp)) || !g.Max.Equal(slices.MaxFunc(rs, decimal.Decimal.Cmp)) ||
				!g.P25.Equal(pct(25)) || !g.Median.Equal(pct(50)) || !g.P75.Equal(pct(75)) {
				t.Errorf("trial %d %dY: got %+v; loop: %d windows, %d negative (%s %%), min %s p25 %s median %s p75 %s max %s",
					trial, years, *g, len(rs), neg, wantNeg, slices.MinFunc(rs, decimal.Decimal.Cmp), pct(25), pct(50), pct(75), slices.MaxFunc(rs, decimal.Decimal.Cmp))
			}
		}
	}
}

// back is d moved back n months with the day clamped to the month's end,
// written apart from the model's: step back month by month.
func back(d fund.Date, n int) fund.Date {
	y, m := d.Year, int(d.Month)
	for range n {
		m--
		if m == 0 {
			y, m = y-1, 12
		}
	}
	last := 31
	for fund.NewDate(y, time.Month(m), last).Month != time.Month(m) {
		last--
	}
	return fund.NewDate(y, time.Month(m), min(d.Day, last))
}

// A window whose CAGR does not fit an int64 of 1e-8 (the decimal route):
// as of 2023-09-30, 1Y windows over exactly 365 days, so each CAGR is the
// ratio − 1: B←A 100000/0.00000001 − 1 = 9,999,999,999,999 (1e13 − 1, far
// beyond 9.2e18 units); C←B 50000/100000 − 1 = −0.5. Sorted: −0.5, 1e13 − 1;
// p25 = ⌈0.5⌉ = 1st, median = ⌈1⌉ = 1st, p75 = ⌈1.5⌉ = 2nd; 1 of 2 negative.
func TestRollingReturnsBeyondInt64(t *testing.T) {
	navs := pts("2021-09-01", "0.00000001", "2022-09-01", "100000", "2023-09-01", "50000")
	got, err := analytics.RollingReturns(navs, fund.NewDate(2023, 9, 30))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d distributions, want the 1Y one: %+v", len(got), got)
	}
	g := got[0]
	for _, c := range []struct {
		name string
		got  decimal.Decimal
		want string
	}{{"min", g.Min, "-0.5"}, {"p25", g.P25, "-0.5"}, {"median", g.Median, "-0.5"}, {"p75", g.P75, "9999999999999"}, {"max", g.Max, "9999999999999"}, {"pct_negative", g.PctNegative, "50"}} {
		if !c.got.Equal(mustDec(c.want)) {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if g.Windows != 2 || g.Negative != 1 || g.WorstStart != fund.NewDate(2022, 9, 1) {
		t.Errorf("windows %d negative %d worst from %s, want 2, 1, 2022-09-01", g.Windows, g.Negative, g.WorstStart)
	}
}
