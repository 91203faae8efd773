package risk_test

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(s string) fund.Date {
	x, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return x
}

func series(rows ...string) []risk.Point {
	var out []risk.Point
	for i := 0; i < len(rows); i += 2 {
		out = append(out, risk.Point{Date: day(rows[i]), NAV: d(rows[i+1])})
	}
	return out
}

// upDownUp: 100 → 110 → 99 → 108.9, returns +10 %, −10 %, +10 %.
var upDownUp = series("2024-01-01", "100", "2024-01-02", "110", "2024-01-03", "99", "2024-01-04", "108.9")

func TestComputeByHand(t *testing.T) {
	// returns r = 0.1, −0.1, 0.1 (110/100, 99/110, 108.9/99)
	// mean = 0.1/3 = 1/30
	// deviations 1/15, −2/15, 1/15; squares 1/225 + 4/225 + 1/225 = 6/225 = 2/75
	// sample variance = (2/75)/2 = 1/75
	// volatility = sqrt(1/75 × 252) = sqrt(3.36) = 1.833030277982336… → 1.83303028
	// Sharpe (rf 0) = (1/30) / sqrt(1/75) × sqrt(252) = sqrt(75×252)/30 = sqrt(21)
	//   = 4.582575694955840… → 4.58257569
	// Sortino (rf 0): downside min(0, r) = 0, −0.1, 0; mean square = 0.01/3 = 1/300
	//   (1/30) / sqrt(1/300) × sqrt(252) = sqrt(300×252)/30 = sqrt(84) = 9.165151389911680… → 9.16515139
	// max drawdown: peak 110 on 01-02, trough 99 on 01-03: 1 − 99/110 = 0.1; never back to 110
	// VaR: n = 3, k95 = ⌈0.15⌉ = 1, k99 = ⌈0.03⌉ = 1: the smallest return −0.1 → 0.1;
	//   CVaR: mean of returns ≤ −0.1 = −0.1 → 0.1
	// CAGR over 3 days: 1.089^(365/3) − 1 (checked against the exact bracket below)
	rep, err := risk.Compute(upDownUp, decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want decimal.Decimal
	}{
		{"volatility", rep.Volatility, d("1.83303028")},
		{"sharpe", *rep.Sharpe, d("4.58257569")},
		{"sortino", *rep.Sortino, d("9.16515139")},
		{"max_drawdown", rep.MaxDrawdown, d("0.1")},
		{"var_95", rep.VaR95, d("0.1")},
		{"var_99", rep.VaR99, d("0.1")},
		{"cvar_95", rep.CVaR95, d("0.1")},
		{"cvar_99", rep.CVaR99, d("0.1")},
		{"mean", rep.MeanDailyReturn, d("0.03333333")},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if rep.Drawdown.Peak != day("2024-01-02") || rep.Drawdown.Trough != day("2024-01-03") || !rep.Drawdown.Recovery.IsZero() {
		t.Errorf("drawdown dates %+v, want peak 2024-01-02, trough 2024-01-03, no recovery", rep.Drawdown)
	}
}

func TestCAGR(t *testing.T) {
	for _, c := range []struct {
		name string
		s    []risk.Point
		want string
	}{
		// 100 → 121 over 730 days (2021 and 2022, no leap day): 1.21^(365/730) − 1 = 1.1 − 1 = 0.1
		{"two years", series("2021-01-01", "100", "2023-01-01", "121"), "0.1"},
		// 365 days: the ratio itself, 150/120 − 1 = 0.25
		{"one year", series("2023-03-01", "120", "2023-06-01", "130", "2024-02-29", "150"), "0.25"},
		// 100 → 81 over 730 days: sqrt(0.81) − 1 = −0.1
		{"loss", series("2021-01-01", "100", "2023-01-01", "81"), "-0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := risk.CAGR(c.s)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(d(c.want)) {
				t.Errorf("CAGR = %s, want %s", got, c.want)
			}
		})
	}
}

func TestMaxDrawdownDates(t *testing.T) {
	for _, c := range []struct {
		name                   string
		s                      []risk.Point
		want                   string
		peak, trough, recovery string
	}{
		// peak 120 on 01-02 (reached again on 01-06: equal is not a new peak); 90 on 01-04 is
		// 1 − 90/120 = 0.25, but 80 on 01-07 is 1 − 80/120 = 1/3 = 0.333333333… → 0.33333333; not recovered
		{"later fall", series("2024-01-01", "100", "2024-01-02", "120", "2024-01-03", "100", "2024-01-04", "90",
			"2024-01-05", "119.9999", "2024-01-06", "120", "2024-01-07", "80"), "0.33333333", "2024-01-02", "2024-01-07", ""},
		// 1 − 90/120 = 0.25, recovered on 01-04 (121 ≥ 120)
		{"recovered", series("2024-01-01", "100", "2024-01-02", "120", "2024-01-03", "90", "2024-01-04", "121"),
			"0.25", "2024-01-02", "2024-01-03", "2024-01-04"},
		// never below its running peak: 0, no dates
		{"never falls", series("2024-01-01", "1", "2024-01-02", "1", "2024-01-03", "2"), "0", "", "", ""},
		// 1 − 8/10 = 0.2 twice: the first trough counts, recovered on 01-03 (10 ≥ 10)
		{"tie of troughs", series("2024-01-01", "10", "2024-01-02", "8", "2024-01-03", "10", "2024-01-04", "8"),
			"0.2", "2024-01-01", "2024-01-02", "2024-01-03"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dd, err := risk.MaxDrawdown(c.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := risk.RoundRat(dd.Max); !got.Equal(d(c.want)) {
				t.Errorf("max drawdown %s, want %s", got, c.want)
			}
			for _, x := range []struct {
				name string
				got  fund.Date
				want string
			}{{"peak", dd.Peak, c.peak}, {"trough", dd.Trough, c.trough}, {"recovery", dd.Recovery, c.recovery}} {
				w := fund.Date{}
				if x.want != "" {
					w = day(x.want)
				}
				if x.got != w {
					t.Errorf("%s %v, want %q", x.name, x.got, x.want)
				}
			}
		})
	}
}

func rets(vals ...string) []risk.Return {
	var out []risk.Return
	start := day("2024-01-01")
	for i, v := range vals {
		r, ok := new(big.Rat).SetString(v)
		if !ok {
			panic(v)
		}
		out = append(out, risk.Return{Date: start.AddDays(i), R: r})
	}
	return out
}

func TestVaRNearestRank(t *testing.T) {
	var forty []string // −0.020, −0.019, …, 0.019
	for i := -20; i < 20; i++ {
		forty = append(forty, big.NewRat(int64(i), 1000).RatString())
	}
	for _, c := range []struct {
		name      string
		rs        []risk.Return
		tail      int
		vaR, cvaR string
	}{
		// n = 40: k95 = ⌈0.05·40⌉ = 2 → the second smallest, −0.019; CVaR = −(−0.020 − 0.019)/2 = 0.0195
		{"forty 95", rets(forty...), 5, "0.019", "0.0195"},
		// k99 = ⌈0.4⌉ = 1 → −0.020; CVaR the same
		{"forty 99", rets(forty...), 1, "0.02", "0.02"},
		// n = 21: k95 = ⌈1.05⌉ = 2 (the integer ⌈⌉, not 1): sorted −0.03, −0.01, −0.01, 0, … → −0.01;
		// CVaR over the returns ≤ −0.01, ties included: −(−0.03 − 0.01 − 0.01)/3 = 0.05/3 = 0.0166666666… → 0.01666667
		{"ties", rets(append([]string{"-1/100", "0", "-3/100", "-1/100"}, make17("1/100")...)...), 5, "0.01", "0.01666667"},
		// all gains: the VaR is a negative loss: −(smallest gain)
		{"gains", rets("1/100", "2/100", "3/100"), 5, "-0.01", "-0.01"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, cv, err := risk.VaR(c.rs, c.tail)
			if err != nil {
				t.Fatal(err)
			}
			if got := risk.RoundRat(v); !got.Equal(d(c.vaR)) {
				t.Errorf("VaR %s, want %s", got, c.vaR)
			}
			if got := risk.RoundRat(cv); !got.Equal(d(c.cvaR)) {
				t.Errorf("CVaR %s, want %s", got, c.cvaR)
			}
		})
	}
}

func make17(v string) []string {
	out := make([]string, 17)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestBetaByHand(t *testing.T) {
	b := rets("1/10", "-1/10", "1/10", "0")
	for _, c := range []struct {
		name string
		r    []risk.Return
		want string
	}{
		// r = 2b: cov(2b, b) / var(b) = 2
		{"double", rets("2/10", "-2/10", "2/10", "0"), "2"},
		// r = b + 0.01: a constant shift changes no covariance: 1
		{"shift", rets("11/100", "-9/100", "11/100", "1/100"), "1"},
		// r = −b/2: −0.5
		{"inverse half", rets("-5/100", "5/100", "-5/100", "0"), "-0.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			beta, err := risk.Beta(c.r, b)
			if err != nil {
				t.Fatal(err)
			}
			if got := risk.RoundFloat(beta); !got.Equal(d(c.want)) {
				t.Errorf("beta %s, want %s", got, c.want)
			}
		})
	}
	if beta, err := risk.Beta(b, rets("0", "0", "0", "0")); err != nil || beta != nil {
		t.Errorf("beta against a flat benchmark = %v, %v; want nil, nil", beta, err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		s    []risk.Point
		want error
	}{
		{"one NAV", series("2024-01-01", "10"), risk.ErrTooFewNAVs},
		{"two NAVs: one return, no stdev", series("2024-01-01", "10", "2024-01-02", "11"), risk.ErrTooFewNAVs},
		{"dates repeat", series("2024-01-01", "10", "2024-01-01", "11", "2024-01-03", "12"), risk.ErrBadSeries},
		{"zero NAV", series("2024-01-01", "10", "2024-01-02", "0", "2024-01-03", "12"), risk.ErrBadSeries},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := risk.Compute(c.s, decimal.Zero); !errors.Is(err, c.want) {
				t.Errorf("err %v, want %v", err, c.want)
			}
		})
	}
}

// TestAgainstRatLoop compares Compute on random series with a direct loop
// over the series in math/big.Rat written here, independently of the
// package: drawdown (O(n²) over every earlier peak), VaR by counting ranks,
// CVaR, and, for the figures with a square root (volatility, Sharpe,
// Sortino), an exact bracket: the rounded figure f must satisfy
// (f − ½·10⁻⁸)² ≤ x ≤ (f + ½·10⁻⁸)² where x is the exact square (a rational).
func TestAgainstRatLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 28))
	for trial := range 200 {
		n := 3 + rng.IntN(60)
		s := make([]risk.Point, n)
		nav := decimal.New(int64(50000+rng.IntN(100000)), -4) // 5 to 15, 4 decimals
		date := day("2020-01-01")
		for i := range s {
			s[i] = risk.Point{Date: date, NAV: nav}
			date = date.AddDays(1 + rng.IntN(4))
			step := decimal.New(int64(rng.IntN(4001)-2000), -4) // ±0.2
			if nav.Add(step).Sign() > 0 {
				nav = nav.Add(step)
			}
		}
		rf := []decimal.Decimal{decimal.Zero, d("0.065"), d("0.07")}[trial%3]
		rates := risk.Constant(rf)
		if trial%4 == 3 { // an effective-dated series: a rate from before the first NAV, then up to three changes inside
			rates = risk.Rates{{From: s[0].Date.AddDays(-rng.IntN(10)), Annual: decimal.New(int64(rng.IntN(1000)), -4)}}
			for range rng.IntN(4) {
				next := rates[len(rates)-1].From.AddDays(1 + rng.IntN(40))
				rates = append(rates, risk.Rate{From: next, Annual: decimal.New(int64(rng.IntN(1000)), -4)})
			}
		}
		rep, err := risk.ComputeRates(s, rates)
		if err != nil {
			t.Fatal(err)
		}
		// the rate in force on each return's date, looked up by a scan of its own
		rfd := make([]*big.Rat, 0, n-1)
		for i := 1; i < n; i++ {
			var a decimal.Decimal
			for _, x := range rates {
				if !x.From.After(s[i].Date) {
					a = x.Annual
				}
			}
			rfd = append(rfd, new(big.Rat).Quo(a.Rat(), big.NewRat(252, 1)))
		}
		// returns
		var r []*big.Rat
		for i := 1; i < n; i++ {
			x := new(big.Rat).Quo(s[i].NAV.Rat(), s[i-1].NAV.Rat())
			r = append(r, x.Sub(x, big.NewRat(1, 1)))
		}
		m := int64(len(r))
		mean := new(big.Rat)
		for _, x := range r {
			mean.Add(mean, x)
		}
		mean.Quo(mean, big.NewRat(m, 1))
		ss := new(big.Rat)
		for _, x := range r {
			dv := new(big.Rat).Sub(x, mean)
			ss.Add(ss, dv.Mul(dv, dv))
		}
		variance := new(big.Rat).Quo(ss, big.NewRat(m-1, 1))
		// volatility² = variance × 252
		checkRoot(t, trial, "volatility", rep.Volatility, new(big.Rat).Mul(variance, big.NewRat(252, 1)), 1)
		excess := new(big.Rat).Set(mean) // mean of r − rf/252 over the days
		for _, x := range rfd {
			excess.Sub(excess, new(big.Rat).Quo(x, big.NewRat(m, 1)))
		}
		sign := excess.Sign()
		if variance.Sign() > 0 {
			// Sharpe² = excess² × 252 / variance, with excess's sign
			sh := new(big.Rat).Mul(excess, excess)
			sh.Mul(sh, big.NewRat(252, 1)).Quo(sh, variance)
			checkRoot(t, trial, "sharpe", *rep.Sharpe, sh, sign)
		}
		down := new(big.Rat)
		for i, x := range r {
			e := new(big.Rat).Sub(x, rfd[i])
			if e.Sign() < 0 {
				down.Add(down, e.Mul(e, e))
			}
		}
		down.Quo(down, big.NewRat(m, 1))
		if down.Sign() > 0 {
			so := new(big.Rat).Mul(excess, excess)
			so.Mul(so, big.NewRat(252, 1)).Quo(so, down)
			checkRoot(t, trial, "sortino", *rep.Sortino, so, sign)
		} else if rep.Sortino != nil {
			t.Errorf("trial %d: sortino %s with no downside day", trial, rep.Sortino)
		}
		// drawdown: for every t, the largest earlier-or-same NAV
		maxDD := new(big.Rat)
		for i := range s {
			peak := s[0].NAV
			for j := 0; j <= i; j++ {
				peak = decimal.Max(peak, s[j].NAV)
			}
			x := new(big.Rat).Quo(s[i].NAV.Rat(), peak.Rat())
			x.Sub(big.NewRat(1, 1), x)
			if x.Cmp(maxDD) > 0 {
				maxDD = x
			}
		}
		if want := risk.RoundRat(maxDD); !rep.MaxDrawdown.Equal(want) {
			t.Errorf("trial %d: max drawdown %s, loop %s", trial, rep.MaxDrawdown, want)
		}
		// VaR: the smallest return x with at least ⌈p·n⌉ returns ≤ x
		for _, v := range []struct {
			p         float64
			tail      int
			vaR, cvaR decimal.Decimal
		}{{0.05, 5, rep.VaR95, rep.CVaR95}, {0.01, 1, rep.VaR99, rep.CVaR99}} {
			k := int64(0)
			for k*100 < int64(v.tail)*m { // k = ⌈tail·m/100⌉
				k++
			}
			k = max(k, 1)
			var cut *big.Rat
			for _, x := range r {
				cnt := int64(0)
				for _, y := range r {
					if y.Cmp(x) <= 0 {
						cnt++
					}
				}
				if cnt >= k && (cut == nil || x.Cmp(cut) < 0) {
					cut = x
				}
			}
			sum, c := new(big.Rat), int64(0)
			for _, y := range r {
				if y.Cmp(cut) <= 0 {
					sum.Add(sum, y)
					c++
				}
			}
			sum.Quo(sum, big.NewRat(-c, 1))
			if want := risk.RoundRat(new(big.Rat).Neg(cut)); !v.vaR.Equal(want) {
				t.Errorf("trial %d: VaR %v %s, loop %s", trial, v.p, v.vaR, want)
			}
			if want := risk.RoundRat(sum); !v.cvaR.Equal(want) {
				t.Errorf("trial %d: CVaR %v %s, loop %s", trial, v.p, v.cvaR, want)
			}
		}
	}
}

// checkRoot asserts that f (rounded to 8 decimals) is the rounding of
// sign·sqrt(sq): |f| − ½ulp ≤ sqrt(sq) ≤ |f| + ½ulp, squared (exact).
func checkRoot(t *testing.T, trial int, name string, f decimal.Decimal, sq *big.Rat, sign int) {
	t.Helper()
	if sq.Sign() == 0 {
		if !f.IsZero() {
			t.Errorf("trial %d: %s %s, want 0", trial, name, f)
		}
		return
	}
	if f.Sign() != 0 && f.Sign() != sign {
		t.Errorf("trial %d: %s %s has the wrong sign (want %d)", trial, name, f, sign)
	}
	half := big.NewRat(1, 200000000)
	a := f.Abs().Rat()
	lo := new(big.Rat).Sub(a, half)
	hi := new(big.Rat).Add(a, half)
	if lo.Sign() < 0 {
		lo.SetInt64(0)
	}
	if lo.Mul(lo, lo).Cmp(sq) > 0 || hi.Mul(hi, hi).Cmp(sq) < 0 {
		fl, _ := sq.Float64()
		t.Errorf("trial %d: %s %s is not the rounding of sqrt(%g)", trial, name, f, fl)
	}
}
