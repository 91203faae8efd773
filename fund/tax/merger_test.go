package tax_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/moneytest"
)

// By hand: A merges into B at 14.0000 / 35.0000 = 0.4.
// Lot 1 (2016-11-15, 100.000 units, cost 1000.00, FMV 14.2000): 40.000 units, FMV per B unit 14.2 × 100 / 40 = 35.5000.
// Lot 2 (2024-09-01, 12.345 units, cost 150.01): 4.938 units exactly (12.345 × 0.4).
// Lot 3 (2025-01-02, 0.001 units): 0.0004 → 0.000 on its own; the folio's total 112.346 × 0.4 = 44.9384 → 44.938 =
// 40.000 + 4.938 + 0.000: nothing left to share. Costs and dates unchanged.
func TestCarryHandComputed(t *testing.T) {
	m := tax.Merger{From: "A", To: "B", NAVFrom: fund.MustNAV("14.0000"), NAVTo: fund.MustNAV("35.0000"), ToScale: 3}
	lots := []tax.Lot{
		{ID: "1", Type: tax.Equity, Bought: dt("2016-11-15"), Units: u3("100.000"), Cost: am("1000.00"), FMVPerUnit: navp("14.2000")},
		{ID: "2", Type: tax.Equity, Bought: dt("2024-09-01"), Units: u3("12.345"), Cost: am("150.01")},
		{ID: "3", Type: tax.Equity, Bought: dt("2025-01-02"), Units: u3("0.001"), Cost: am("0.02")},
	}
	got, total, err := tax.Carry(m, lots)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"40.000", "4.938", "0.000"}
	if total.String() != "44.938" || len(got) != 3 {
		t.Fatalf("total %s, %d lots", total, len(got))
	}
	for i, g := range got {
		if g.Units.String() != want[i] || g.Bought != lots[i].Bought || !g.Cost.Equal(lots[i].Cost) || !g.UnitsFrom.Equal(lots[i].Units) {
			t.Errorf("lot %d: %+v, want %s units", i+1, g, want[i])
		}
	}
	if got[0].FMVPerUnit == nil || got[0].FMVPerUnit.String() != "35.5000" {
		t.Errorf("FMV per B unit: %v", got[0].FMVPerUnit)
	}
	// and the carried lot's gain is the one computed in TestRealiseHandComputed ("merged scheme's lots")
	gs, err := tax.Realise(tax.CGRules, []tax.Lot{got[0].Lot}, tax.Sale{Date: dt("2025-09-02"), Units: u3("40.000"), NAV: fund.MustNAV("40.0000")})
	if err != nil || gs[0].Gain.String() != "180.00" || gs[0].Grandfathered != tax.GFFMV || gs[0].Term != tax.Long {
		t.Errorf("gain after the merger: %+v %v", gs, err)
	}
}

// TestCarryProperty: for random folios and NAVs, a merger leaves every
// folio's total cost and every lot's date unchanged, gives the folio
// trunc(Σ units × NAVFrom / NAVTo) units of To (big.Rat), and each lot
// within one unit step of its exact share.
func TestCarryProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 17))
	rat := moneytest.Rat
	for iter := range 2000 {
		nav := func() string { return fmt.Sprintf("%d.%04d", 1+rng.IntN(900), rng.IntN(10000)) }
		scale := int32(3 + rng.IntN(2))
		m := tax.Merger{From: "A", To: "B", NAVFrom: fund.MustNAV(nav()), NAVTo: fund.MustNAV(nav()), ToScale: scale}
		var lots []tax.Lot
		day := dt("2015-01-01").AddDays(rng.IntN(3000))
		sumFrom, sumCost := new(big.Rat), new(big.Rat)
		for i := range 1 + rng.IntN(8) {
			u := fmt.Sprintf("%d.%03d", rng.IntN(5000), 1+rng.IntN(999))
			c := fmt.Sprintf("%d.%02d", rng.IntN(900000), rng.IntN(100))
			lots = append(lots, tax.Lot{ID: fmt.Sprint(i), Type: tax.Equity, Bought: day, Units: u3(u), Cost: am(c)})
			sumFrom.Add(sumFrom, rat(u))
			sumCost.Add(sumCost, rat(c))
			day = day.AddDays(rng.IntN(200))
		}
		got, total, err := tax.Carry(m, lots)
		if err != nil {
			t.Fatal(err)
		}
		ratio := new(big.Rat).Quo(rat(m.NAVFrom.String()), rat(m.NAVTo.String()))
		wantTotal := moneytest.RoundRat(new(big.Rat).Mul(sumFrom, ratio), int(scale), false)
		if total.String() != wantTotal {
			t.Fatalf("iter %d: total %s, want %s", iter, total, wantTotal)
		}
		sumTo, cost := new(big.Rat), new(big.Rat)
		step := new(big.Rat).SetFrac64(1, int64(pow10(scale)))
		for i, g := range got {
			if g.Bought != lots[i].Bought || !g.Cost.Equal(lots[i].Cost) {
				t.Fatalf("iter %d lot %d: date or cost changed: %+v", iter, i, g)
			}
			exact := new(big.Rat).Mul(rat(lots[i].Units.String()), ratio)
			diff := new(big.Rat).Sub(rat(g.Units.String()), exact)
			if diff.Abs(diff).Cmp(step) >= 0 {
				t.Fatalf("iter %d lot %d: %s units, exact %s", iter, i, g.Units, exact.FloatString(9))
			}
			sumTo.Add(sumTo, rat(g.Units.String()))
			cost.Add(cost, rat(g.Cost.String()))
		}
		if sumTo.Cmp(rat(wantTotal)) != 0 || cost.Cmp(sumCost) != 0 {
			t.Fatalf("iter %d: Σ units %s vs %s, Σ cost %s vs %s", iter, sumTo.FloatString(4), wantTotal, cost.FloatString(2), sumCost.FloatString(2))
		}
	}
}

func pow10(n int32) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
