package commission

import (
	"math/big"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// HoldingMonth is one holding's (folio and scheme) month of accruals
// through an ARN, summed from its daily rows: the days it accrued, Σ units,
// Σ units × NAV (AUM-days) and Σ AUM × rate-% (the basis), and whether it
// was in a direct plan on any of them.
type HoldingMonth struct {
	Key      string // folio/scheme
	Days     int
	UnitDays decimal.Decimal
	AUMDays  decimal.Decimal
	Basis    decimal.Decimal
	Direct   bool
}

// Causes of a month-on-month change, in the order they are applied.
const (
	CauseNewHoldings    = "new_holdings"     // holdings that did not accrue the month before
	CauseRedeemedAll    = "redeemed_in_full" // holdings that accrued the month before and not this one
	CauseDays           = "days_in_month"    // a longer or shorter month (or fewer days held)
	CauseUnits          = "units"            // redemptions, switches out, purchases: the average units held
	CauseNAV            = "nav_moves"        // the average NAV the units were valued at
	CauseRate           = "rate_changes"     // the brokerage rate in force
	CauseSwitchToDirect = "switch_to_direct" // a holding whose plan became direct (earns nothing)
	CauseRounding       = "rounding"         // what rounding each component to the paisa leaves
)

// Component is one cause's part of a month-on-month change: Exact in rupees,
// Amount rounded half-up to the paisa (Rounding's Amount closes the sum).
type Component struct {
	Cause  string      `json:"cause"`
	Exact  string      `json:"exact"` // rupees to 10 decimals
	Amount fund.Amount `json:"amount"`
	exact  *big.Rat
}

// Explanation is why a month's trail differs from the month before.
type Explanation struct {
	Previous   fund.Amount `json:"previous"` // the month before, rounded once
	Current    fund.Amount `json:"current"`
	Difference fund.Amount `json:"difference"` // Current − Previous
	Components []Component `json:"components"` // their Amounts sum to Difference exactly
}

// Explain decomposes the change of a bucket's trail from prev to cur by
// sequential substitution on each holding's month, exactly:
//
//	trail = Y × N × R / 36,500, Y = Σ units (unit-days) = D × Ū,
//	N = Σ units × NAV / Y (the average NAV), R = basis / (Y × N) (the average rate),
//
// changed one factor at a time — days (D), units (Ū), NAV (N), rate (R) —
// so the steps telescope to the difference. A holding in one month only is
// new or redeemed in full; a rate step of a holding that went direct is a
// switch to direct. Each cause's exact sum is rounded half-up; the paise the
// rounding leaves against the difference of the two rounded months are the
// rounding component, so the amounts add up to the difference exactly.
func Explain(prev, cur []HoldingMonth) Explanation {
	p := map[string]HoldingMonth{}
	for _, h := range prev {
		p[h.Key] = h
	}
	sum := map[string]*big.Rat{}
	add := func(cause string, r *big.Rat) {
		if sum[cause] == nil {
			sum[cause] = new(big.Rat)
		}
		sum[cause].Add(sum[cause], r)
	}
	var totPrev, totCur decimal.Decimal
	for _, h := range prev {
		totPrev = totPrev.Add(h.Basis)
	}
	seen := map[string]bool{}
	for _, c := range cur {
		totCur = totCur.Add(c.Basis)
		seen[c.Key] = true
		a, ok := p[c.Key]
		if !ok || a.UnitDays.IsZero() || a.AUMDays.IsZero() || a.Days == 0 {
			add(CauseNewHoldings, new(big.Rat).Sub(c.Basis.Rat(), basisOr0(a, ok)))
			continue
		}
		if c.UnitDays.IsZero() || c.AUMDays.IsZero() || c.Days == 0 {
			add(CauseRedeemedAll, new(big.Rat).Sub(c.Basis.Rat(), a.Basis.Rat()))
			continue
		}
		dA, dB := big.NewRat(int64(a.Days), 1), big.NewRat(int64(c.Days), 1)
		uA, uB := new(big.Rat).Quo(a.UnitDays.Rat(), dA), new(big.Rat).Quo(c.UnitDays.Rat(), dB)
		nA, nB := new(big.Rat).Quo(a.AUMDays.Rat(), a.UnitDays.Rat()), new(big.Rat).Quo(c.AUMDays.Rat(), c.UnitDays.Rat())
		rA, rB := new(big.Rat).Quo(a.Basis.Rat(), a.AUMDays.Rat()), new(big.Rat).Quo(c.Basis.Rat(), c.AUMDays.Rat())
		step := func(d, u, n, r *big.Rat) *big.Rat {
			x := new(big.Rat).Mul(d, u)
			x.Mul(x, n)
			return x.Mul(x, r)
		}
		s0 := step(dA, uA, nA, rA)
		s1 := step(dB, uA, nA, rA)
		s2 := step(dB, uB, nA, rA)
		s3 := step(dB, uB, nB, rA)
		s4 := step(dB, uB, nB, rB) // = c.Basis
		add(CauseDays, new(big.Rat).Sub(s1, s0))
		add(CauseUnits, new(big.Rat).Sub(s2, s1))
		add(CauseNAV, new(big.Rat).Sub(s3, s2))
		rate := CauseRate
		if c.Direct && !a.Direct {
			rate = CauseSwitchToDirect
		}
		add(rate, new(big.Rat).Sub(s4, s3))
	}
	for _, a := range prev {
		if !seen[a.Key] {
			add(CauseRedeemedAll, new(big.Rat).Neg(a.Basis.Rat()))
		}
	}
	e := Explanation{Previous: AccrualFromBasis(totPrev).Amount(), Current: AccrualFromBasis(totCur).Amount()}
	e.Difference = e.Current.Sub(e.Previous)
	div := big.NewRat(100*DaysInYear, 1)
	var rounded fund.Amount
	for _, cause := range []string{CauseNewHoldings, CauseRedeemedAll, CauseDays, CauseUnits, CauseNAV, CauseRate, CauseSwitchToDirect} {
		r, ok := sum[cause]
		if !ok || r.Sign() == 0 {
			continue
		}
		x := new(big.Rat).Quo(r, div)
		amt := halfUpRat(x)
		rounded = rounded.Add(amt)
		e.Components = append(e.Components, Component{Cause: cause, Exact: x.FloatString(10), Amount: amt, exact: x})
	}
	if res := e.Difference.Sub(rounded); !res.IsZero() {
		e.Components = append(e.Components, Component{Cause: CauseRounding, Exact: "", Amount: res})
	}
	return e
}

func basisOr0(h HoldingMonth, ok bool) *big.Rat {
	if !ok {
		return new(big.Rat)
	}
	return h.Basis.Rat()
}

// halfUpRat rounds x to the paisa, ties away from zero.
func halfUpRat(x *big.Rat) fund.Amount {
	m, err := fund.AmountFromRatio(decimal.NewFromBigInt(x.Num(), 0), decimal.NewFromBigInt(x.Denom(), 0), fund.RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: a Rat's denominator is positive
	}
	return m
}
