package tax_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/tax"
)

func nav(s string) fund.NAV { return fund.MustNAV(s) }

// PlanMerge by hand: units truncated at To's scale and shared by largest
// remainder, each lot's tax date and cost kept, the residue the value the
// truncation left, half-up to the paisa; a lot that gets no unit of To
// hands its cost on so the folio's cost is unchanged.
func TestPlanMerge(t *testing.T) {
	fmv := nav("25.0000")
	type want struct {
		bought string
		units  string
		cost   string
		fmv    string
	}
	for _, c := range []struct {
		name             string
		navFrom, navTo   string
		lots             []tax.OpenLot
		unitsTo, residue string
		carried          []want
	}{
		{
			// 300 × 50/30 = 500 exactly; 500 × 50/30 = 833.333|33… → 833.333; Σ 800 × 50/30 = 1333.333|3…;
			// floors 500.000 + 833.333 = 1333.333: no step left. Residue 800 × 50 − 1333.333 × 30 = 40000 − 39999.99 = 0.01.
			// FMV per unit of To: 25 × 300 / 500 = 15.0000
			name: "two lots, one grandfathered", navFrom: "50.0000", navTo: "30.0000",
			lots: []tax.OpenLot{
				{ID: 1, Bought: fund.NewDate(2017, 6, 1), Units: fund.MustUnits("300.000", 3), Cost: fund.MustAmount("6000.00"), FMV: &fmv},
				{ID: 2, Bought: fund.NewDate(2023, 5, 2), Units: fund.MustUnits("500.000", 3), Cost: fund.MustAmount("20001.00")},
			},
			unitsTo: "1333.333", residue: "0.01",
			carried: []want{{"2017-06-01", "500.000", "6000.00", "15.0000"}, {"2023-05-02", "833.333", "20001.00", ""}},
		},
		{
			// 1 × 10/3 = 3.333|33, 2 × 10/3 = 6.666|66; Σ 3 × 10/3 = 10 exactly: floors 9.999, one step to the larger
			// remainder (lot 2's .666… > lot 1's .333…): 3.333 + 6.667 = 10.000; residue 30 − 30 = 0.00
			name: "largest remainder", navFrom: "10.0000", navTo: "3.0000",
			lots: []tax.OpenLot{
				{ID: 1, Bought: fund.NewDate(2021, 1, 4), Units: fund.MustUnits("1.000", 3), Cost: fund.MustAmount("10.00")},
				{ID: 2, Bought: fund.NewDate(2022, 1, 4), Units: fund.MustUnits("2.000", 3), Cost: fund.MustAmount("20.00")},
			},
			unitsTo: "10.000", residue: "0.00",
			carried: []want{{"2021-01-04", "3.333", "10.00", ""}, {"2022-01-04", "6.667", "20.00", ""}},
		},
		{
			// a sliver: 0.001 × 10/30 = 0.000|33 → 0 units; 3 × 10/30 = 1.000; Σ 3.001 × 10/30 = 1.000|33 → 1.000.
			// The sliver's 0.01 goes to the next lot: 30.00 + 0.01 = 30.01. Residue 30.01 − 30.00 = 0.01
			name: "a sliver hands its cost on", navFrom: "10.0000", navTo: "30.0000",
			lots: []tax.OpenLot{
				{ID: 1, Bought: fund.NewDate(2021, 1, 4), Units: fund.MustUnits("0.001", 3), Cost: fund.MustAmount("0.01")},
				{ID: 2, Bought: fund.NewDate(2022, 1, 4), Units: fund.MustUnits("3.000", 3), Cost: fund.MustAmount("30.00")},
			},
			unitsTo: "1.000", residue: "0.01",
			carried: []want{{"2022-01-04", "1.000", "30.01", ""}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tax.MergerDecl{ID: "M", From: "A", To: "B", Date: fund.NewDate(2026, 6, 1), NAVFrom: nav(c.navFrom), NAVTo: nav(c.navTo), ToScale: 3}
			p, err := tax.PlanMerge(m, c.lots)
			if err != nil {
				t.Fatal(err)
			}
			if p.UnitsTo.String() != c.unitsTo || p.Residue.String() != c.residue || len(p.Carried) != len(c.carried) {
				t.Fatalf("units %s residue %s carried %+v", p.UnitsTo, p.Residue, p.Carried)
			}
			var sumCost, sumIn fund.Amount
			for _, l := range c.lots {
				sumIn = sumIn.Add(l.Cost)
			}
			for i, l := range p.Carried {
				f := ""
				if l.FMV != nil {
					f = l.FMV.String()
				}
				if got := (want{l.Bought.String(), l.Units.String(), l.Cost.String(), f}); got != c.carried[i] {
					t.Errorf("lot %d: %+v, want %+v", i, got, c.carried[i])
				}
				sumCost = sumCost.Add(l.Cost)
			}
			if !sumCost.Equal(sumIn) || !p.Cost.Equal(sumIn) {
				t.Errorf("cost %s carried, %s taken", sumCost, sumIn)
			}
		})
	}
}
