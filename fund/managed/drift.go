package managed

import (
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// WeightScale is the scale drift and weights are reported at (percent with
// 4 decimals: 0.0001 pp); the comparison with the threshold is exact.
const WeightScale = 4

// SchemeDrift is one scheme's actual weight against its target, in percent.
type SchemeDrift struct {
	Scheme string          `json:"scheme"`
	Value  fund.Amount     `json:"value"`
	Target decimal.Decimal `json:"target_pct"`
	Actual decimal.Decimal `json:"actual_pct"` // rounded half-up to WeightScale, for display
	Drift  decimal.Decimal `json:"drift_pp"`   // actual − target, likewise rounded
	// exceeds is decided on the exact drift, not the rounded one.
	exceeds bool
}

// Drift is a portfolio measured against its model.
type Drift struct {
	Total   fund.Amount   `json:"total"`
	Schemes []SchemeDrift `json:"schemes"`
	// Over is whether some scheme's |drift| exceeds the threshold
	// (strictly: a drift equal to the threshold is within tolerance).
	Over bool `json:"over_threshold"`
}

// Trade is one order a rebalance proposes.
type Trade struct {
	Scheme string      `json:"scheme"`
	Side   string      `json:"side"` // "redeem" or "purchase"
	Amount fund.Amount `json:"amount"`
}

// Proposal is what a rebalance would do: redemptions first, then the
// purchases they pay for; Σ redeemed = Σ purchased.
type Proposal struct {
	Drift  Drift   `json:"drift"`
	Trades []Trade `json:"trades"`
}

// ErrEmptyPortfolio: nothing is held (or all of it is worth 0), so there
// are no weights to measure.
var ErrEmptyPortfolio = errors.New("drift: the portfolio is empty")

// MeasureDrift values holdings (scheme → current value; a model scheme not
// held is 0, a held scheme not in the model has target 0) against m. The
// threshold is in percentage points.
func MeasureDrift(m Model, values map[string]fund.Amount, thresholdPP decimal.Decimal) (Drift, error) {
	if err := m.Validate(); err != nil {
		return Drift{}, err
	}
	if thresholdPP.IsNegative() {
		return Drift{}, fmt.Errorf("drift: threshold %s is negative", thresholdPP)
	}
	var d Drift
	inModel := map[string]bool{}
	for _, t := range m.Schemes {
		inModel[t.Scheme] = true
		d.Schemes = append(d.Schemes, SchemeDrift{Scheme: t.Scheme, Value: values[t.Scheme], Target: t.Weight})
	}
	for _, s := range sortedKeys(values) {
		if !inModel[s] {
			d.Schemes = append(d.Schemes, SchemeDrift{Scheme: s, Value: values[s], Target: decimal.Zero})
		}
	}
	for _, s := range d.Schemes {
		if s.Value.IsNegative() {
			return Drift{}, fmt.Errorf("drift: scheme %s value %s is negative", s.Scheme, s.Value)
		}
		d.Total = d.Total.Add(s.Value)
	}
	if d.Total.IsZero() {
		return Drift{}, ErrEmptyPortfolio
	}
	tot := d.Total.Decimal()
	for i := range d.Schemes {
		s := &d.Schemes[i]
		// Exact test: |value×100 − target×total| > threshold×total.
		diff := s.Value.Decimal().Mul(hundred).Sub(s.Target.Mul(tot))
		s.exceeds = diff.Abs().GreaterThan(thresholdPP.Mul(tot))
		d.Over = d.Over || s.exceeds
		// DivRound divides exactly and rounds half away from zero (half-up
		// for these non-negative values).
		actual := s.Value.Decimal().Mul(hundred).DivRound(tot, WeightScale)
		s.Actual = actual
		s.Drift = actual.Sub(s.Target)
	}
	return d, nil
}

// ProposeRebalance measures drift and, when it is over the threshold (or
// force is set, as on a model change), proposes the trades that bring every
// scheme to its target value: the total distributed over the target weights
// by Distribute (so the targets sum to the total to the paisa), each scheme
// redeeming what it has over its target and purchasing what it lacks.
// After the trades every weight equals its target to within a paisa, which
// is within any tolerance. Purchases below a scheme's minimum are still
// proposed: the orders go through the ledger's own checks.
func ProposeRebalance(m Model, values map[string]fund.Amount, thresholdPP decimal.Decimal, force bool) (Proposal, error) {
	d, err := MeasureDrift(m, values, thresholdPP)
	if err != nil {
		return Proposal{}, err
	}
	p := Proposal{Drift: d}
	if !d.Over && !force {
		return p, nil
	}
	w := make([]decimal.Decimal, len(d.Schemes))
	for i, s := range d.Schemes {
		w[i] = s.Target
	}
	targets, err := Distribute(d.Total, w)
	if err != nil {
		return Proposal{}, fmt.Errorf("rebalance: %w", err)
	}
	var buys []Trade
	for i, s := range d.Schemes {
		switch delta := targets[i].Sub(s.Value); delta.Sign() {
		case -1:
			p.Trades = append(p.Trades, Trade{s.Scheme, "redeem", delta.Neg()})
		case 1:
			buys = append(buys, Trade{s.Scheme, "purchase", delta})
		}
	}
	p.Trades = append(p.Trades, buys...)
	return p, nil
}

func sortedKeys(m map[string]fund.Amount) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}
