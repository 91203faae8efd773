package managed_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/shopspring/decimal"
)

// fiftyThirtyTwenty: A 50, B 30, C 20, all equity.
func fiftyThirtyTwenty() managed.Model {
	return managed.Model{ID: "m", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{{Scheme: "A", Weight: decimal.NewFromInt(50)}, {Scheme: "B", Weight: decimal.NewFromInt(30)}, {Scheme: "C", Weight: decimal.NewFromInt(20)}}}
}

var on = fund.NewDate(2026, 12, 4)

// taxCase: at NAV 10.0000, A 4000 units (₹40,000, under target by 10,000),
// B 3500 units (₹35,000, over by 5,000) in one lot bought 15-Jan-2024 for
// ₹17,500 (₹5 a unit: long-term on 4-Dec-2026), C 2500 units (₹25,000,
// over by 5,000) in one lot bought 1-Oct-2026 for ₹20,000 (₹8 a unit:
// short-term). cLoad is C's exit-load slab (1 % under 365 days) or none.
func taxCase(cLoad bool) []managed.Holding {
	nav := fund.MustNAV("10.0000")
	lot := func(id, units, cost string, bought fund.Date) tax.Lot {
		return tax.Lot{ID: id, Type: tax.Equity, Bought: bought, Units: fund.MustUnits(units, 3), Cost: fund.MustAmount(cost)}
	}
	c := managed.Holding{Scheme: "C", NAV: nav, Units: fund.MustUnits("2500.000", 3), UnitsScale: 3, Type: tax.Equity,
		Lots: []tax.Lot{lot("c1", "2500.000", "20000.00", fund.NewDate(2026, 10, 1))}}
	if cLoad {
		c.Loads = []fund.LoadSlab{{ValidFrom: fund.NewDate(2020, 1, 1), DaysBelow: 365, RatePct: decimal.NewFromInt(1)}}
	}
	return []managed.Holding{
		{Scheme: "A", NAV: nav, Units: fund.MustUnits("4000.000", 3), UnitsScale: 3, Type: tax.Equity,
			Lots: []tax.Lot{lot("a1", "4000.000", "40000.00", fund.NewDate(2025, 1, 10))}},
		{Scheme: "B", NAV: nav, Units: fund.MustUnits("3500.000", 3), UnitsScale: 3, Type: tax.Equity,
			Lots: []tax.Lot{lot("b1", "3500.000", "17500.00", fund.NewDate(2024, 1, 15))}},
		c,
	}
}

func TestPlanRebalance(t *testing.T) {
	type est struct{ scheme, amount, units, load, short, long, tax string }
	tests := []struct {
		name     string
		taxAware bool
		cLoad    bool
		trades   []managed.Trade
		switches []managed.Switch
		ests     []est
		totalTax string
	}{
		{
			// To the targets exactly: B −5000, C −5000, A +10000.
			// B: 500 units of a ₹5 lot: gain 5000 − 2500 = 2500, long-term,
			// 112A at 12.5 % = 312.50. C: 500 units of an ₹8 lot: gain
			// 5000 − 4000 = 1000, short-term, 111A at 20 % = 200.00.
			name: "plain: onto the targets", taxAware: false,
			trades: []managed.Trade{{Scheme: "B", Side: "redeem", Amount: fund.MustAmount("5000.00")}, {Scheme: "C", Side: "redeem", Amount: fund.MustAmount("5000.00")},
				{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("10000.00")}},
			switches: []managed.Switch{{From: "B", To: "A", Amount: fund.MustAmount("5000.00")}, {From: "C", To: "A", Amount: fund.MustAmount("5000.00")}},
			ests:     []est{{"B", "5000.00", "500.000", "0.00", "0.00", "2500.00", "312.50"}, {"C", "5000.00", "500.000", "0.00", "1000.00", "0.00", "200.00"}},
			totalTax: "512.50",
		},
		{
			// Band b = 100000 × 5 / 2 / 100 = 2500. Must redeem: B 5000 −
			// 2500 = 2500, C 2500; must buy: A 10000 − 2500 = 7500. So 2500
			// more is redeemed, from the cheaper lot: B's is long-term (key
			// 0), C's short-term with (10 − 8)/10 = 0.2 a rupee: B gives it.
			// B 5000 (tax 312.50 as above), C 2500 = 250 units, gain
			// 2500 − 2000 = 500 at 20 % = 100.00. Weights after: A 47.5, B
			// 30, C 22.5, each within 2.5 pp.
			name: "tax-aware: short-term gain avoided", taxAware: true,
			trades: []managed.Trade{{Scheme: "B", Side: "redeem", Amount: fund.MustAmount("5000.00")}, {Scheme: "C", Side: "redeem", Amount: fund.MustAmount("2500.00")},
				{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("7500.00")}},
			switches: []managed.Switch{{From: "B", To: "A", Amount: fund.MustAmount("5000.00")}, {From: "C", To: "A", Amount: fund.MustAmount("2500.00")}},
			ests:     []est{{"B", "5000.00", "500.000", "0.00", "0.00", "2500.00", "312.50"}, {"C", "2500.00", "250.000", "0.00", "500.00", "0.00", "100.00"}},
			totalTax: "412.50",
		},
		{
			// C with a 1 % load (its lot is 64 days old): units covering
			// 2500 → 250.000, load 25.00; 2525.00/10 → 252.500, load
			// 25.25; 2525.25/10 → 252.525, load 2525.25 × 1 % = 25.2525 →
			// 25.25 (half-up): stable. Gain: sale 2525.25 − load 25.25 =
			// 2500.00, cost 252.525 × 8 = 2020.20, gain 479.80, tax 20 % =
			// 95.96.
			name: "tax-aware with an exit load", taxAware: true, cLoad: true,
			trades: []managed.Trade{{Scheme: "B", Side: "redeem", Amount: fund.MustAmount("5000.00")}, {Scheme: "C", Side: "redeem", Amount: fund.MustAmount("2500.00")},
				{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("7500.00")}},
			switches: []managed.Switch{{From: "B", To: "A", Amount: fund.MustAmount("5000.00")}, {From: "C", To: "A", Amount: fund.MustAmount("2500.00")}},
			ests:     []est{{"B", "5000.00", "500.000", "0.00", "0.00", "2500.00", "312.50"}, {"C", "2500.00", "252.525", "25.25", "479.80", "0.00", "95.96"}},
			totalTax: "408.46",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := managed.PlanRebalance(fiftyThirtyTwenty(), taxCase(tt.cLoad), managed.PlanOptions{ThresholdPP: decimal.NewFromInt(5), TaxAware: tt.taxAware, On: on})
			if err != nil {
				t.Fatal(err)
			}
			// A is 40 % against 50: −10 pp, over the 5 pp threshold.
			if !p.Drift.Over || p.Drift.Schemes[0].Drift.String() != "-10" {
				t.Errorf("drift %+v", p.Drift)
			}
			assertTrades(t, p.Trades, tt.trades)
			if len(p.Switches) != len(tt.switches) {
				t.Fatalf("switches %v, want %v", p.Switches, tt.switches)
			}
			for i, s := range tt.switches {
				if g := p.Switches[i]; g.From != s.From || g.To != s.To || !g.Amount.Equal(s.Amount) {
					t.Errorf("switch %d %+v, want %+v", i, g, s)
				}
			}
			if len(p.Estimates) != len(tt.ests) {
				t.Fatalf("estimates %+v", p.Estimates)
			}
			for i, w := range tt.ests {
				e := p.Estimates[i]
				got := est{e.Scheme, e.Amount.String(), e.Units.String(), e.ExitLoad.String(), e.ShortGain.String(), e.LongGain.String(), e.Tax.String()}
				if got != w {
					t.Errorf("estimate %d %+v, want %+v", i, got, w)
				}
			}
			if p.Tax.String() != tt.totalTax {
				t.Errorf("tax %s, want %s", p.Tax, tt.totalTax)
			}
		})
	}
}

// Within the threshold nothing is traded, tax-aware or not.
func TestPlanRebalanceWithinThreshold(t *testing.T) {
	for _, ta := range []bool{false, true} {
		p, err := managed.PlanRebalance(fiftyThirtyTwenty(), taxCase(false), managed.PlanOptions{ThresholdPP: decimal.NewFromInt(11), TaxAware: ta, On: on})
		if err != nil || len(p.Trades) != 0 || len(p.Switches) != 0 || p.Drift.Over {
			t.Errorf("tax-aware %v: %+v %v", ta, p, err)
		}
	}
}

// A scheme that left the model is redeemed whole, even tax-aware; a loss
// lot is taken before a long-term one.
func TestPlanRebalanceTaxAwareOrder(t *testing.T) {
	nav := fund.MustNAV("10.0000")
	lot := func(units, cost string, bought fund.Date) []tax.Lot {
		return []tax.Lot{{Type: tax.Equity, Bought: bought, Units: fund.MustUnits(units, 3), Cost: fund.MustAmount(cost)}}
	}
	m := managed.Model{ID: "m", Version: 2, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{{Scheme: "A", Weight: decimal.NewFromInt(40)}, {Scheme: "B", Weight: decimal.NewFromInt(30)}, {Scheme: "C", Weight: decimal.NewFromInt(30)}}}
	hs := []managed.Holding{
		// A ₹30,000 (target 40,000: −10,000), B ₹35,000 long-term (target
		// 30,000: +5,000), C ₹30,000 short-term at a loss (₹12 a unit;
		// target 30,000: 0), D ₹5,000 (not in the model: target 0).
		{Scheme: "A", NAV: nav, Units: fund.MustUnits("3000.000", 3), UnitsScale: 3, Lots: lot("3000.000", "30000.00", fund.NewDate(2026, 1, 2))},
		{Scheme: "B", NAV: nav, Units: fund.MustUnits("3500.000", 3), UnitsScale: 3, Lots: lot("3500.000", "17500.00", fund.NewDate(2024, 1, 15))},
		{Scheme: "C", NAV: nav, Units: fund.MustUnits("3000.000", 3), UnitsScale: 3, Lots: lot("3000.000", "36000.00", fund.NewDate(2026, 10, 1))},
		{Scheme: "D", NAV: nav, Units: fund.MustUnits("500.000", 3), UnitsScale: 3, Lots: lot("500.000", "5000.00", fund.NewDate(2026, 10, 1))},
	}
	// T = 100,000, band 100000 × 5 / 200 = 2500. D is redeemed whole
	// (5000); B must give 5000 − 2500 = 2500. Must buy: A 10000 − 2500 =
	// 7500. 7500 − 7500 = 0 extra: C (on target) is never sold.
	p, err := managed.PlanRebalance(m, hs, managed.PlanOptions{ThresholdPP: decimal.NewFromInt(5), TaxAware: true, On: on})
	if err != nil {
		t.Fatal(err)
	}
	assertTrades(t, p.Trades, []managed.Trade{{Scheme: "B", Side: "redeem", Amount: fund.MustAmount("2500.00")}, {Scheme: "D", Side: "redeem", Amount: fund.MustAmount("5000.00")},
		{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("7500.00")}})

	// Without D, and C ₹35,000 (3500 units at ₹12: a short-term loss):
	// T = 100,000, band 2500; B and C are each 5000 over, must give 2500
	// each; A must get 7500, so 2500 more: C's lot has (10 − 12)/10 = −0.2
	// a rupee, B's is long-term (0): C gives it. B 2500, C 5000, A 7500.
	hs = hs[:3]
	hs[2] = managed.Holding{Scheme: "C", NAV: nav, Units: fund.MustUnits("3500.000", 3), UnitsScale: 3, Lots: lot("3500.000", "42000.00", fund.NewDate(2026, 10, 1))}
	if p, err = managed.PlanRebalance(m, hs, managed.PlanOptions{ThresholdPP: decimal.NewFromInt(5), TaxAware: true, On: on}); err != nil {
		t.Fatal(err)
	}
	assertTrades(t, p.Trades, []managed.Trade{{Scheme: "B", Side: "redeem", Amount: fund.MustAmount("2500.00")}, {Scheme: "C", Side: "redeem", Amount: fund.MustAmount("5000.00")},
		{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("7500.00")}})
	// C's 500 units cost 6000 and sell for 5000: a short-term loss of 1000, no tax.
	if e := p.Estimates[1]; e.ShortGain.String() != "-1000.00" || !e.Tax.IsZero() {
		t.Errorf("C estimate %+v", e)
	}
}

// PairSwitches: out B 300, C 700; in A 600, D 400 → B→A 300, C→A 300,
// C→D 400 (north-west corner).
func TestPairSwitches(t *testing.T) {
	tr := func(s, side, a string) managed.Trade {
		return managed.Trade{Scheme: s, Side: side, Amount: fund.MustAmount(a)}
	}
	sw, err := managed.PairSwitches([]managed.Trade{tr("B", "redeem", "300.00"), tr("C", "redeem", "700.00"), tr("A", "purchase", "600.00"), tr("D", "purchase", "400.00")})
	if err != nil {
		t.Fatal(err)
	}
	want := []managed.Switch{{From: "B", To: "A", Amount: fund.MustAmount("300.00")}, {From: "C", To: "A", Amount: fund.MustAmount("300.00")}, {From: "C", To: "D", Amount: fund.MustAmount("400.00")}}
	if len(sw) != len(want) {
		t.Fatalf("%v", sw)
	}
	for i := range want {
		if sw[i].From != want[i].From || sw[i].To != want[i].To || !sw[i].Amount.Equal(want[i].Amount) {
			t.Errorf("%d: %+v, want %+v", i, sw[i], want[i])
		}
	}
	if _, err := managed.PairSwitches([]managed.Trade{tr("B", "redeem", "300.00"), tr("A", "purchase", "300.01")}); err == nil {
		t.Error("unequal sides accepted")
	}
}
