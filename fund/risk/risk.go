// Package risk holds the one definition of a scheme's (or a portfolio's)
// performance and risk figures, used by `fundflow check risk`, the
// analytics models in ClickHouse and the API, so that a number means the
// same thing everywhere. It is pure: a NAV series in, figures out.
//
// Definitions (issue 20):
//   - returns are simple returns between consecutive published NAVs,
//     rᵢ = navᵢ / navᵢ₋₁ − 1;
//   - volatility is the sample standard deviation (n−1) of the returns × √252
//     (252 trading days a year);
//   - CAGR is (last/first)^(365/days) − 1, days the calendar days between the
//     first and the last NAV;
//   - maximum drawdown is the largest 1 − navₜ / max(navₛ, s ≤ t), with its
//     peak and trough dates (and the first date after the trough on which
//     the NAV is back at the peak: the recovery);
//   - 1-day historical VaR at p ∈ {95 %, 99 %} is the negated ⌈(1−p)·n⌉-th
//     smallest return (nearest rank); CVaR is the negated mean of the returns
//     at or below that return;
//   - Sharpe is (mean r − rf/252) / sample stdev × √252; Sortino is
//     (mean r − rf/252) / downside deviation × √252, the downside deviation
//     being the root mean square over all days of min(0, r − rf/252); rf is
//     a constant or an effective-dated series (Rates: each day's excess over
//     the rate in force that day, and "mean r − rf/252" the mean of those);
//   - beta is cov(r, b) / var(b) over the dates both series have a return.
//
// Arithmetic: returns, drawdowns, VaR and CVaR are exact (math/big.Rat, NAVs
// are decimals). Means, variances and square roots are math/big.Float at
// 256 bits (about 77 significant digits; the root is irrational anyway).
// CAGR's fractional power is decimal to 16 places (QuickCAGR, for rolling
// windows, takes a binary64 shortcut only where it rounds the same). Every
// figure is rounded HALF-EVEN to 8 decimals.
package risk

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Scale is the number of decimals every figure is rounded to (half-even).
const Scale = 8

// TradingDays annualises daily figures (volatility, Sharpe, Sortino, the
// daily risk-free rate).
const TradingDays = 252

// prec is the big.Float precision of means, variances and roots.
const prec = 256

// Method names, printed with the figures so a reader knows what they are.
var Methods = map[string]string{
	"returns":      "simple returns between consecutive published NAVs",
	"volatility":   "sample standard deviation (n-1) of daily returns x sqrt(252)",
	"cagr":         "(last/first)^(365/calendar days) - 1",
	"max_drawdown": "largest 1 - nav_t / running peak, peak and trough dates",
	"var":          "historical 1-day, nearest rank: negated ceil(p*n)-th smallest return",
	"cvar":         "negated mean of the returns at or below the VaR return",
	"sharpe":       "mean over the days of (daily return - rf/252) / sample stdev x sqrt(252), rf the annual rate in force that day",
	"sortino":      "mean over the days of (daily return - rf/252) / RMS of min(0, r - rf/252) over all days x sqrt(252)",
	"beta":         "cov(r, benchmark) / var(benchmark) over common dates",
	"rounding":     "half-even to 8 decimals",
}

// Point is one published NAV.
type Point struct {
	Date fund.Date
	NAV  decimal.Decimal
}

// Return is the simple return from the previous NAV to the NAV of Date.
type Return struct {
	Date fund.Date
	R    *big.Rat
}

// Errors of the computations; wrapped with context.
var (
	// ErrTooFewNAVs: fewer NAVs than the figure needs (two for a return,
	// three for a standard deviation).
	ErrTooFewNAVs = errors.New("risk: too few NAVs")
	// ErrBadSeries: dates not strictly increasing or a NAV not positive.
	ErrBadSeries = errors.New("risk: bad NAV series")
)

// Validate checks that dates strictly increase and NAVs are positive.
func Validate(s []Point) error {
	for i, p := range s {
		if p.NAV.Sign() <= 0 {
			return fmt.Errorf("%w: NAV %s on %s is not positive", ErrBadSeries, p.NAV, p.Date)
		}
		if i > 0 && s[i-1].Date.Order() >= p.Date.Order() {
			return fmt.Errorf("%w: %s does not follow %s", ErrBadSeries, p.Date, s[i-1].Date)
		}
	}
	return nil
}

// pow10s are 10^-e for the exponents NAVs have (shared, never modified).
var pow10s = func() []*big.Rat {
	out := make([]*big.Rat, 19)
	for e := range out {
		out[e] = pow10Slow(int32(-e))
	}
	return out
}()

// pow10Rat is 10^e as a rational (not to be modified: it may be shared).
func pow10Rat(e int32) *big.Rat {
	if e <= 0 && -e < int32(len(pow10s)) {
		return pow10s[-e]
	}
	return pow10Slow(e)
}

func pow10Slow(e int32) *big.Rat {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(e))), nil)
	if e >= 0 {
		return new(big.Rat).SetInt(p)
	}
	return new(big.Rat).SetFrac(big.NewInt(1), p)
}

func abs32(e int32) int32 {
	if e < 0 {
		return -e
	}
	return e
}

// Returns are the simple returns of the series, exactly.
func Returns(s []Point) ([]Return, error) {
	if err := Validate(s); err != nil {
		return nil, err
	}
	if len(s) < 2 {
		return nil, fmt.Errorf("%w: %d NAVs, returns need 2", ErrTooFewNAVs, len(s))
	}
	out := make([]Return, 0, len(s)-1)
	for i, p := range s[1:] {
		out = append(out, Return{Date: p.Date, R: simpleReturn(s[i].NAV, p.NAV)})
	}
	return out, nil
}

// simpleReturn is cur/prev − 1 = (cur − prev)/prev exactly, prev > 0: both
// coefficients brought to the smaller exponent, then one fraction (one
// GCD, where a quotient of two rationals and a subtraction took three).
func simpleReturn(prev, cur decimal.Decimal) *big.Rat {
	e := min(prev.Exponent(), cur.Exponent())
	b := scaledCoefficient(prev, e)
	num := scaledCoefficient(cur, e)
	return new(big.Rat).SetFrac(num.Sub(num, b), b)
}

// scaledCoefficient is d × 10^−e as an integer (e ≤ d's exponent).
func scaledCoefficient(d decimal.Decimal, e int32) *big.Int {
	c := d.Coefficient() // a copy
	if k := d.Exponent() - e; k > 0 {
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil))
	}
	return c
}

// decRat is d exactly as a rational.
func decRat(d decimal.Decimal) *big.Rat {
	return new(big.Rat).Mul(new(big.Rat).SetInt(d.Coefficient()), pow10Rat(d.Exponent()))
}

// Drawdown is the maximum drawdown and its dates. Recovery is zero when the
// NAV has not come back to the peak by the end of the series; Peak and
// Trough are zero when the series never fell.
type Drawdown struct {
	Max                    *big.Rat
	Peak, Trough, Recovery fund.Date
}

// MaxDrawdown is the largest 1 − navₜ / running peak. The peak is the first
// date the running maximum was reached, the trough the first date the
// largest drawdown was reached.
func MaxDrawdown(s []Point) (Drawdown, error) {
	if err := Validate(s); err != nil {
		return Drawdown{}, err
	}
	if len(s) == 0 {
		return Drawdown{}, fmt.Errorf("%w: no NAVs", ErrTooFewNAVs)
	}
	dd := Drawdown{Max: new(big.Rat)}
	peakI, bestPeak, bestTrough := 0, -1, -1
	for i, p := range s {
		if p.NAV.GreaterThan(s[peakI].NAV) {
			peakI = i
			continue
		}
		// 1 − nav/peak beats the best 1 − navB/peakB when nav/peak <
		// navB/peakB, i.e. nav × peakB < navB × peak (all positive): two
		// products, no rational until the end
		if p.NAV.Equal(s[peakI].NAV) {
			continue // a drawdown of 0 never beats the best (≥ 0)
		}
		if bestTrough < 0 || p.NAV.Mul(s[bestPeak].NAV).LessThan(s[bestTrough].NAV.Mul(s[peakI].NAV)) {
			bestPeak, bestTrough = peakI, i
		}
	}
	if bestTrough < 0 {
		return dd, nil
	}
	// 1 − nav/peak = (peak − nav)/peak
	dd.Max = new(big.Rat).Quo(decRat(s[bestPeak].NAV.Sub(s[bestTrough].NAV)), decRat(s[bestPeak].NAV))
	dd.Peak, dd.Trough = s[bestPeak].Date, s[bestTrough].Date
	for _, p := range s[bestTrough+1:] {
		if p.NAV.GreaterThanOrEqual(s[bestPeak].NAV) {
			dd.Recovery = p.Date
			break
		}
	}
	return dd, nil
}

// VaR is the 1-day historical value at risk at confidence p (0.95 or 0.99,
// given as the tail percentage 5 or 1) and the matching CVaR, both as
// positive losses (a negative value is a gain).
func VaR(rs []Return, tailPct int) (vaR, cvar *big.Rat, err error) {
	n := len(rs)
	if n == 0 {
		return nil, nil, fmt.Errorf("%w: VaR needs at least one return", ErrTooFewNAVs)
	}
	if tailPct <= 0 || tailPct >= 100 {
		return nil, nil, fmt.Errorf("risk: VaR tail %d %% out of (0, 100)", tailPct)
	}
	// Sorted by the nearest binary64 first, exactly only on a tie: rounding
	// to nearest is monotonic (a < b gives f(a) <= f(b)), so the order is
	// the exact one, without a rational comparison (two big multiplications)
	// for each of n·log n steps.
	type keyed struct {
		f float64
		r *big.Rat
	}
	ks := make([]keyed, n)
	for i, r := range rs {
		f, _ := r.R.Float64()
		ks[i] = keyed{f, r.R}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.f != b.f {
			return cmp.Compare(a.f, b.f)
		}
		return a.r.Cmp(b.r)
	})
	sorted := make([]*big.Rat, n)
	for i, k := range ks {
		sorted[i] = k.r
	}
	k := (tailPct*n + 99) / 100 // ⌈p·n⌉ in integers
	k = max(k, 1)
	cut := sorted[k-1]
	sum, m := new(big.Rat), 0
	for _, r := range sorted {
		if r.Cmp(cut) > 0 {
			break
		}
		sum.Add(sum, r)
		m++
	}
	vaR = new(big.Rat).Neg(cut)
	cvar = sum.Quo(sum, big.NewRat(int64(-m), 1))
	return vaR, cvar, nil
}

// moments holds the 256-bit sums a series' figures are made of.
type moments struct {
	n        int
	mean     *big.Float // mean return
	sd       *big.Float // sample standard deviation (n−1)
	downside *big.Float // root mean square of min(0, r − rfDaily)
	excess   *big.Float // mean − rfDaily
}

func newF() *big.Float { return new(big.Float).SetPrec(prec) }

func ratF(r *big.Rat) *big.Float { return newF().SetRat(r) }

// computeMoments sums the returns' moments; rfDaily[i] is the daily
// risk-free rate of return i (the annual rate in force on its date / 252).
func computeMoments(rs []Return, rfDaily []*big.Rat) (moments, error) {
	n := len(rs)
	if n < 2 {
		return moments{}, fmt.Errorf("%w: %d returns, a standard deviation needs 2", ErrTooFewNAVs, n)
	}
	rfs := make([]*big.Float, n)
	rfF := make([]*big.Float, n)
	conv := map[*big.Rat]*big.Float{} // daily rates are shared (Rates.daily)
	sum, rfSum := newF(), newF()
	for i, r := range rs {
		rfs[i] = ratF(r.R)
		sum.Add(sum, rfs[i])
		f, ok := conv[rfDaily[i]]
		if !ok {
			f = ratF(rfDaily[i])
			conv[rfDaily[i]] = f
		}
		rfF[i] = f
		rfSum.Add(rfSum, f)
	}
	nF := newF().SetInt64(int64(n))
	mean := newF().Quo(sum, nF)
	ss := newF()
	down := newF()
	for i, r := range rfs {
		d := newF().Sub(r, mean)
		ss.Add(ss, d.Mul(d, d))
		e := newF().Sub(r, rfF[i])
		if e.Sign() < 0 {
			down.Add(down, e.Mul(e, e))
		}
	}
	variance := ss.Quo(ss, newF().SetInt64(int64(n-1)))
	return moments{
		n:        n,
		mean:     mean,
		sd:       newF().Sqrt(variance),
		downside: newF().Sqrt(down.Quo(down, nF)),
		excess:   newF().Sub(mean, rfSum.Quo(rfSum, nF)), // mean of r − rf/252 over the days
	}, nil
}

var sqrtYear = newF().Sqrt(newF().SetInt64(TradingDays))

// Beta is cov(r, b)/var(b) over the dates both return series have; nil
// (no error) when the benchmark does not vary.
func Beta(r, bench []Return) (*big.Float, error) {
	return NewBenchmark(bench).Beta(r)
}

// Benchmark is a benchmark's returns converted once, for the betas of
// many series against it (a category's mean, thousands of schemes).
type Benchmark map[int]*big.Float // by fund.Date.Order; read only

// NewBenchmark prepares bench for Beta.
func NewBenchmark(bench []Return) Benchmark {
	bm := make(Benchmark, len(bench))
	for _, b := range bench {
		bm[b.Date.Order()] = ratF(b.R)
	}
	return bm
}

// Beta is cov(r, b)/var(b) over the dates r and the benchmark both have;
// nil (no error) when the benchmark does not vary. Safe for concurrent use.
func (bm Benchmark) Beta(r []Return) (*big.Float, error) {
	var xs, ys []*big.Float
	for _, x := range r {
		if y, ok := bm[x.Date.Order()]; ok {
			xs = append(xs, ratF(x.R))
			ys = append(ys, y)
		}
	}
	if len(xs) < 2 {
		return nil, fmt.Errorf("%w: %d common returns, beta needs 2", ErrTooFewNAVs, len(xs))
	}
	mx, my := meanF(xs), meanF(ys)
	cov, vb := newF(), newF()
	for i := range xs {
		dx := newF().Sub(xs[i], mx)
		dy := newF().Sub(ys[i], my)
		cov.Add(cov, dx.Mul(dx, dy))
		vb.Add(vb, newF().Mul(dy, dy))
	}
	if vb.Sign() == 0 {
		return nil, nil
	}
	return cov.Quo(cov, vb), nil // the n−1 of both cancels
}

func meanF(xs []*big.Float) *big.Float {
	s := newF()
	for _, x := range xs {
		s.Add(s, x)
	}
	return s.Quo(s, newF().SetInt64(int64(len(xs))))
}

// CAGR is (last/first)^(365/days) − 1 over the calendar days between the
// first and last NAV, computed in decimal (no float anywhere in the package's
// figures).
func CAGR(s []Point) (decimal.Decimal, error) {
	if err := Validate(s); err != nil {
		return decimal.Decimal{}, err
	}
	if len(s) < 2 {
		return decimal.Decimal{}, fmt.Errorf("%w: %d NAVs, CAGR needs 2", ErrTooFewNAVs, len(s))
	}
	first, last := s[0], s[len(s)-1]
	days := last.Date.DaysSince(first.Date)
	// In decimal, no float: the ratio and the exponent 365/days to 30
	// places (far below the 8 the figure keeps), the power by shopspring's
	// fractional Pow (exp and ln in decimal) to 16 places.
	ratio := last.NAV.DivRound(first.NAV, 30)
	exp := decimal.NewFromInt(365).DivRound(decimal.NewFromInt(int64(days)), 30)
	g, err := ratio.PowWithPrecision(exp, 16)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("risk: CAGR over %d days: %w", days, err)
	}
	return g.Sub(decimal.NewFromInt(1)).RoundBank(Scale), nil
}

// Report is every figure of a NAV series, each rounded half-even to 8
// decimals. A nil figure is undefined for the series (Sharpe of a series
// that never moves, Sortino without a day below the risk-free rate).
type Report struct {
	From, To        fund.Date
	NAVs            int
	Volatility      decimal.Decimal
	CAGR            decimal.Decimal
	MaxDrawdown     decimal.Decimal
	Drawdown        Drawdown
	VaR95, VaR99    decimal.Decimal
	CVaR95, CVaR99  decimal.Decimal
	Sharpe, Sortino *decimal.Decimal
	MeanDailyReturn decimal.Decimal
	// RiskFree is the annual risk-free rate: the constant one, or with a
	// series the mean of the rates in force on the returns' dates (half-even,
	// 8 places); RiskFreeRates is the number of rates in the series.
	RiskFree      decimal.Decimal
	RiskFreeRates int
}

// Compute is every figure of the series against an annual risk-free rate
// (0.065 for 6.5 %) in force on every day. It needs at least three NAVs.
func Compute(s []Point, rfAnnual decimal.Decimal) (Report, error) {
	return ComputeRates(s, Constant(rfAnnual))
}

// ComputeRates is Compute against an effective-dated risk-free series:
// each return's excess is over the annual rate in force on its date / 252
// (Sharpe's numerator is the mean of those excesses, Sortino's downside the
// root mean square of their negative parts). A return dated before the
// series' first rate is an error (ErrNoRate).
func ComputeRates(s []Point, rates Rates) (Report, error) {
	rs, err := Returns(s)
	if err != nil {
		return Report{}, err
	}
	return ComputeRatesOf(s, rs, rates)
}

// ComputeRatesOf is ComputeRates(s, rates) for a caller that already has
// rs = Returns(s) (the refresh keeps them for beta): the returns are not
// computed twice (1.5 of 41 CPU-seconds in a universe refresh). rs is only
// read.
func ComputeRatesOf(s []Point, rs []Return, rates Rates) (Report, error) {
	rfDaily, rfMean, err := rates.daily(rs)
	if err != nil {
		return Report{}, err
	}
	m, err := computeMoments(rs, rfDaily)
	if err != nil {
		return Report{}, err
	}
	rep := Report{From: s[0].Date, To: s[len(s)-1].Date, NAVs: len(s), RiskFree: rfMean, RiskFreeRates: len(rates)}
	rep.Volatility = roundF(newF().Mul(m.sd, sqrtYear))
	rep.MeanDailyReturn = roundF(m.mean)
	if rep.CAGR, err = CAGR(s); err != nil {
		return Report{}, err
	}
	if rep.Drawdown, err = MaxDrawdown(s); err != nil {
		return Report{}, err
	}
	rep.MaxDrawdown = RoundRat(rep.Drawdown.Max)
	for _, v := range []struct {
		pct       int
		vaR, cvar *decimal.Decimal
	}{{5, &rep.VaR95, &rep.CVaR95}, {1, &rep.VaR99, &rep.CVaR99}} {
		a, c, err := VaR(rs, v.pct)
		if err != nil {
			return Report{}, err
		}
		*v.vaR, *v.cvar = RoundRat(a), RoundRat(c)
	}
	if m.sd.Sign() > 0 {
		d := roundF(newF().Mul(newF().Quo(m.excess, m.sd), sqrtYear))
		rep.Sharpe = &d
	}
	if m.downside.Sign() > 0 {
		d := roundF(newF().Mul(newF().Quo(m.excess, m.downside), sqrtYear))
		rep.Sortino = &d
	}
	return rep, nil
}

// RoundRat rounds r half-even to Scale decimals, exactly.
func RoundRat(r *big.Rat) decimal.Decimal {
	num := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(Scale), nil))
	q, m := new(big.Int).DivMod(num, r.Denom(), new(big.Int)) // floor; 0 ≤ m < den
	c := new(big.Int).Lsh(m, 1).Cmp(r.Denom())
	if c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	return decimal.NewFromBigInt(q, -Scale)
}

// roundF rounds a 256-bit float half-even to Scale decimals. The float is
// first printed to 40 decimals (correctly rounded): a double rounding could
// only matter within 1e-40 of a tie, which an irrational root never is.
func roundF(f *big.Float) decimal.Decimal {
	d, err := decimal.NewFromString(f.Text('f', 40))
	if err != nil {
		panic(fmt.Sprintf("risk: %v", err)) // Text('f') always prints a plain numeral
	}
	return d.RoundBank(Scale)
}

// RoundFloat is roundF for callers outside the package (beta).
func RoundFloat(f *big.Float) decimal.Decimal { return roundF(f) }

// Figures is a Report as printed by `fundflow check risk` and served by the
// API: the keys, every figure a decimal string with 8 decimals, a
// missing date or undefined figure null, and the method names.
type Figures struct {
	Volatility       string            `json:"volatility"`
	CAGR             string            `json:"cagr"`
	MaxDrawdown      string            `json:"max_drawdown"`
	DrawdownPeak     *string           `json:"drawdown_peak"`
	DrawdownTrough   *string           `json:"drawdown_trough"`
	DrawdownRecovery *string           `json:"drawdown_recovery"`
	VaR95            string            `json:"var_95"`
	VaR99            string            `json:"var_99"`
	CVaR95           string            `json:"cvar_95"`
	CVaR99           string            `json:"cvar_99"`
	Sharpe           *string           `json:"sharpe"`
	Sortino          *string           `json:"sortino"`
	Methods          map[string]string `json:"methods"`
}

// Figures is the report's printed form.
func (r Report) Figures() Figures {
	fixed := func(d decimal.Decimal) string { return d.StringFixed(Scale) }
	opt := func(d *decimal.Decimal) *string {
		if d == nil {
			return nil
		}
		s := fixed(*d)
		return &s
	}
	date := func(d fund.Date) *string {
		if d.IsZero() {
			return nil
		}
		s := d.String()
		return &s
	}
	m := make(map[string]string, len(Methods)+1)
	for k, v := range Methods {
		m[k] = v
	}
	m["risk_free"] = r.RiskFree.String() + " a year, /252 a day"
	if r.RiskFreeRates > 1 {
		m["risk_free"] = fmt.Sprintf("effective-dated: on each return's date the annual rate in force (of %d rates), /252 a day; their mean over the series %s a year",
			r.RiskFreeRates, r.RiskFree)
	}
	m["series"] = fmt.Sprintf("%d NAVs from %s to %s", r.NAVs, r.From, r.To)
	return Figures{
		Volatility:       fixed(r.Volatility),
		CAGR:             fixed(r.CAGR),
		MaxDrawdown:      fixed(r.MaxDrawdown),
		DrawdownPeak:     date(r.Drawdown.Peak),
		DrawdownTrough:   date(r.Drawdown.Trough),
		DrawdownRecovery: date(r.Drawdown.Recovery),
		VaR95:            fixed(r.VaR95),
		VaR99:            fixed(r.VaR99),
		CVaR95:           fixed(r.CVaR95),
		CVaR99:           fixed(r.CVaR99),
		Sharpe:           opt(r.Sharpe),
		Sortino:          opt(r.Sortino),
		Methods:          m,
	}
}
