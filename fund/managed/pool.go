package managed

import (
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// PoolUnitsScale is the scale of a pool's own units.
const PoolUnitsScale = fund.DefaultUnitsScale

// PoolNAV is a pool's NAV: (the value of its holdings + its cash) ÷ its
// units, rounded HALF-UP to 4 decimals (fund.NAVScale), as a scheme's NAV
// is. A pool with no units has no NAV (error): its first contribution is
// priced at the pool's launch NAV instead.
func PoolNAV(holdings, cash fund.Amount, units fund.Units) (fund.NAV, error) {
	if units.Sign() <= 0 {
		return fund.NAV{}, fmt.Errorf("pool NAV: %w", ErrZeroUnits)
	}
	v := holdings.Add(cash)
	if v.Sign() <= 0 {
		return fund.NAV{}, fmt.Errorf("pool NAV: value %s is not positive", v)
	}
	// DivRound divides exactly and rounds once, half away from zero
	// (half-up for this positive value).
	return fund.NAVFromDecimal(v.Decimal().DivRound(units.Decimal(), fund.NAVScale), fund.NoRounding)
}

// Holder is a pool member's units on the record date.
type Holder struct {
	ID       string     `json:"id"`
	Units    fund.Units `json:"units"`
	Reinvest bool       `json:"reinvest"` // the share buys pool units instead of being paid out
}

// Share is one member's part of a distribution.
type Share struct {
	ID     string      `json:"id"`
	Amount fund.Amount `json:"amount"`
	// Units bought at the reinvestment NAV when the member reinvests,
	// rounded DOWN (the fraction of a unit the share does not buy stays in
	// the pool, to the benefit of all its members, as for any purchase).
	Units *fund.Units `json:"reinvested_units,omitempty"`
}

// DistributePool splits amount over the holders pro rata to their units
// on the record date (Distribute: largest remainder, ties to the holder
// listed first, shares summing exactly to amount) and prices the
// reinvested shares at nav. Zero units in all is refused (ErrZeroUnits).
func DistributePool(amount fund.Amount, holders []Holder, nav fund.NAV) ([]Share, error) {
	w := make([]decimal.Decimal, len(holders))
	for i, h := range holders {
		w[i] = h.Units.Decimal()
	}
	amts, err := Distribute(amount, w)
	if err != nil {
		return nil, fmt.Errorf("pool distribution: %w", err)
	}
	out := make([]Share, len(holders))
	for i, h := range holders {
		out[i] = Share{ID: h.ID, Amount: amts[i]}
		if h.Reinvest {
			if nav.IsZero() {
				return nil, fmt.Errorf("pool distribution: %s reinvests but there is no NAV", h.ID)
			}
			u := amts[i].UnitsAt(nav, PoolUnitsScale)
			out[i].Units = &u
		}
	}
	return out, nil
}
