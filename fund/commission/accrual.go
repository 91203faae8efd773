package commission

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// DaysInYear is the trail's day count: a year's rate is spread over 365 days
// in every year, leap or not (as AMC brokerage letters compute it).
const DaysInYear = 365

// basisDivisor turns AUM × rate-% into rupees: / 100 (per cent) / 365 (days).
var basisDivisor = decimal.New(100*DaysInYear, 0)

// Accrual is an exact commission amount: Basis/36,500 rupees, where Basis is
// AUM × trail-% (rupee-percent-days). Sums and share splits of Basis are exact
// decimals, so an accrual never loses a digit until Amount rounds it once.
// The zero value is no accrual.
type Accrual struct{ basis decimal.Decimal }

// AccrualFromBasis wraps a stored basis (AUM × rate-%).
func AccrualFromBasis(b decimal.Decimal) Accrual { return Accrual{b} }

// Basis returns AUM × rate-%: the exact numerator, what is stored.
func (a Accrual) Basis() decimal.Decimal { return a.basis }

// Add returns a+b, exact.
func (a Accrual) Add(b Accrual) Accrual { return Accrual{a.basis.Add(b.basis)} }

// Sub returns a−b, exact.
func (a Accrual) Sub(b Accrual) Accrual { return Accrual{a.basis.Sub(b.basis)} }

// Share returns pct % of a, exact.
func (a Accrual) Share(pct decimal.Decimal) Accrual {
	return Accrual{a.basis.Mul(pct).Shift(-2)} // ÷100 as a shift: exact, no division precision
}

// IsZero reports whether a is zero.
func (a Accrual) IsZero() bool { return a.basis.IsZero() }

// Rat returns the exact rupee value as a rational.
func (a Accrual) Rat() *big.Rat {
	return new(big.Rat).Quo(a.basis.Rat(), basisDivisor.Rat())
}

// Amount returns the accrual in rupees rounded HALF-UP to the paisa: the one
// rounding of a payout line.
func (a Accrual) Amount() fund.Amount {
	m, err := fund.AmountFromRatio(a.basis, basisDivisor, fund.RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: the divisor is not zero and half-up never fails
	}
	return m
}

// MarshalText shows the exact value to 10 decimals (display only).
func (a Accrual) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// String shows the exact value to 10 decimals (display only).
func (a Accrual) String() string { return a.Rat().FloatString(10) }

// AUM returns units × nav, exact (no rounding: the accrual is exact).
func AUM(units fund.Units, nav fund.NAV) decimal.Decimal {
	return units.Decimal().Mul(nav.Decimal())
}

// DailyTrail returns one day's trail on a holding worth aum at trailPct % a
// year: aum × trailPct / 100 / 365, kept exact.
func DailyTrail(aum, trailPct decimal.Decimal) Accrual {
	return Accrual{aum.Mul(trailPct)}
}

// NAVPoint is a scheme's NAV on a business day.
type NAVPoint struct {
	Day fund.Date
	NAV fund.NAV
}

// NAVSeries is a scheme's NAVs by date. On a day with no NAV (a holiday, a
// weekend) the last NAV before it is carried: units held over a holiday keep
// earning trail at the last published value.
type NAVSeries struct{ pts []NAVPoint }

// NewNAVSeries sorts the points and refuses two for one day.
func NewNAVSeries(pts []NAVPoint) (NAVSeries, error) {
	p := append([]NAVPoint(nil), pts...)
	sort.Slice(p, func(i, j int) bool { return p[i].Day.Before(p[j].Day) })
	for i := 1; i < len(p); i++ {
		if p[i].Day == p[i-1].Day {
			return NAVSeries{}, fmt.Errorf("two NAVs on %s", p[i].Day)
		}
	}
	return NAVSeries{p}, nil
}

// On returns the NAV applying to day: that day's, or the last one before it.
// ok is false when the series starts after day.
func (s NAVSeries) On(day fund.Date) (nav fund.NAV, from fund.Date, ok bool) {
	i := sort.Search(len(s.pts), func(i int) bool { return s.pts[i].Day.After(day) }) - 1
	if i < 0 {
		return fund.NAV{}, fund.Date{}, false
	}
	return s.pts[i].NAV, s.pts[i].Day, true
}

// Holding is what a distributor's folio holds of a scheme at the end of a day.
type Holding struct {
	ARN    string // the ARN the units came through
	EUIN   string
	Folio  string
	Scheme string
	Plan   Plan
	Units  fund.Units
}

// DayAccrual is one day's trail of one holding: the row the daily job keeps,
// one per (day, ARN, folio, scheme).
type DayAccrual struct {
	Day      fund.Date
	Holding  Holding
	NAV      fund.NAV
	NAVDate  fund.Date // the NAV's own date (earlier than Day over a holiday)
	AUM      decimal.Decimal
	TrailPct decimal.Decimal
	Accrual  Accrual
}

// AccrueDay computes day's trail for h at nav (the series' NAV on day). A
// direct-plan holding, a scheme with no structure in force or zero units
// accrue zero (the row is still returned so that a day is visibly computed).
// slabAUM is the AUM a slabbed rate is chosen by (the ARN's AUM in the scheme
// that day); pass the holding's own AUM when the table has no slabs.
func AccrueDay(t *Table, day fund.Date, h Holding, navs NAVSeries, slabAUM decimal.Decimal) (DayAccrual, error) {
	nav, navDate, ok := navs.On(day)
	if !ok {
		return DayAccrual{}, fmt.Errorf("%s on %s: no NAV on or before the day", h.Scheme, day)
	}
	aum := AUM(h.Units, nav)
	rate := t.TrailPct(h.Scheme, h.Plan, day, slabAUM)
	return DayAccrual{Day: day, Holding: h, NAV: nav, NAVDate: navDate, AUM: aum, TrailPct: rate,
		Accrual: DailyTrail(aum, rate)}, nil
}
