package tax

import (
	"errors"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Merger is a scheme merger (or a plan/option change, done the same way):
// units of From become units of To on Date at the ratio of the two
// schemes' NAVs that day, NAVFrom / NAVTo; To keeps its units at ToScale.
// It is tax-neutral: each lot keeps its acquisition date and cost.
type Merger struct {
	From, To       string
	Date           fund.Date
	NAVFrom, NAVTo fund.NAV
	ToScale        int32
}

// CarriedLot is one lot of From as a lot of To.
type CarriedLot struct {
	Lot
	UnitsFrom fund.Units // the lot's units of From before the merger
}

// Carry converts one folio's open lots of From (oldest first) into lots of
// To: the folio's units of To are Σ units × NAVFrom / NAVTo truncated to
// ToScale (as the RTA allots them), shared over the lots by the largest
// remainder (each lot within one unit step of its exact share, the oldest
// first on ties); each lot keeps its date, its cost and its FMV of
// 31-Jan-2018 (per unit of To: FMV per unit × units of From / units of To,
// half-up to the NAV's 4 decimals).
func Carry(m Merger, lots []Lot) ([]CarriedLot, fund.Units, error) {
	if m.NAVFrom.IsZero() || m.NAVTo.IsZero() {
		return nil, fund.Units{}, errors.New("merger: both NAVs are needed")
	}
	if m.ToScale < 0 || m.ToScale > fund.MaxUnitsScale {
		return nil, fund.Units{}, fmt.Errorf("merger: scale %d", m.ToScale)
	}
	ratio := func(u decimal.Decimal) decimal.Decimal { return u.Mul(m.NAVFrom.Decimal()) } // ÷ NAVTo below, exactly
	ulp := decimal.New(1, -m.ToScale)
	var sumFrom decimal.Decimal
	out := make([]CarriedLot, len(lots))
	type rem struct {
		i int
		r decimal.Decimal
	}
	rems := make([]rem, len(lots))
	var floors decimal.Decimal
	for i, l := range lots {
		if i > 0 && l.Bought.Before(lots[i-1].Bought) {
			return nil, fund.Units{}, errors.New("merger: lots must be oldest first")
		}
		sumFrom = sumFrom.Add(l.Units.Decimal())
		q, r := ratio(l.Units.Decimal()).QuoRem(m.NAVTo.Decimal(), m.ToScale) // q truncated at the scale, r the rest (× NAVTo)
		floors = floors.Add(q)
		out[i] = CarriedLot{Lot: l, UnitsFrom: l.Units}
		out[i].Units = mustUnits(q, m.ToScale)
		rems[i] = rem{i, r}
	}
	total, _ := ratio(sumFrom).QuoRem(m.NAVTo.Decimal(), m.ToScale)
	extra := total.Sub(floors).Div(ulp).IntPart() // unit steps left to share: fewer than the lots
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r.Cmp(rems[b].r) > 0 })
	for k := int64(0); k < extra; k++ {
		i := rems[k].i
		out[i].Units = mustUnits(out[i].Units.Decimal().Add(ulp), m.ToScale)
	}
	for i := range out {
		if f := out[i].FMVPerUnit; f != nil && out[i].Units.Sign() > 0 {
			n, err := fund.NAVFromDecimal(f.Decimal().Mul(out[i].UnitsFrom.Decimal()).Div(out[i].Units.Decimal()), fund.RoundHalfUp)
			if err != nil {
				return nil, fund.Units{}, err
			}
			out[i].FMVPerUnit = &n
		}
	}
	return out, mustUnits(total, m.ToScale), nil
}

func mustUnits(d decimal.Decimal, scale int32) fund.Units {
	u, err := fund.UnitsFromDecimal(d, scale, fund.NoRounding)
	if err != nil {
		panic(err) // unreachable: d is at the scale
	}
	return u
}
