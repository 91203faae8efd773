package managed_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

func sixtyForty() managed.Model {
	return managed.Model{ID: "m", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2026, 1, 1),
		Schemes: []managed.Target{{Scheme: "A", Weight: decimal.NewFromInt(60)}, {Scheme: "B", Weight: decimal.NewFromInt(40)}}}
}

func TestRebalanceAfterTwentyPercentMove(t *testing.T) {
	// 6000/4000 at 60/40, then A's NAV rises 20 %: A 7200, B 4000, total
	// 11200. A = 720000/11200 = 64.28571…% → 64.2857 (+4.2857 pp);
	// B = 400000/11200 = 35.71428…% → 35.7143 (−4.2857 pp).
	vals := map[string]fund.Amount{"A": fund.MustAmount("7200.00"), "B": fund.MustAmount("4000.00")}
	tests := []struct {
		name      string
		threshold int64
		force     bool
		trades    []managed.Trade
	}{
		{"within a 5 pp threshold", 5, false, nil},
		// Targets 11200×60% = 6720.00, ×40% = 4480.00: redeem A 480, buy B 480.
		{"over a 3 pp threshold", 3, false, []managed.Trade{{Scheme: "A", Side: "redeem", Amount: fund.MustAmount("480.00")}, {Scheme: "B", Side: "purchase", Amount: fund.MustAmount("480.00")}}},
		{"forced by a model change", 5, true, []managed.Trade{{Scheme: "A", Side: "redeem", Amount: fund.MustAmount("480.00")}, {Scheme: "B", Side: "purchase", Amount: fund.MustAmount("480.00")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := managed.ProposeRebalance(sixtyForty(), vals, decimal.NewFromInt(tt.threshold), tt.force)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Drift.Schemes[0]; got.Actual.String() != "64.2857" || got.Drift.String() != "4.2857" {
				t.Errorf("A: actual %s drift %s, want 64.2857 and 4.2857", got.Actual, got.Drift)
			}
			if got := p.Drift.Schemes[1]; got.Actual.String() != "35.7143" || got.Drift.String() != "-4.2857" {
				t.Errorf("B: actual %s drift %s, want 35.7143 and -4.2857", got.Actual, got.Drift)
			}
			if !p.Drift.Total.Equal(fund.MustAmount("11200.00")) {
				t.Errorf("total %s", p.Drift.Total)
			}
			assertTrades(t, p.Trades, tt.trades)
		})
	}
}

func assertTrades(t *testing.T, got, want []managed.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("trades %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Scheme != want[i].Scheme || got[i].Side != want[i].Side || !got[i].Amount.Equal(want[i].Amount) {
			t.Fatalf("trades %v, want %v", got, want)
		}
	}
}

func TestRebalanceEdges(t *testing.T) {
	// A at exactly 65 % with a 5 pp threshold: within tolerance (strict).
	p, err := managed.ProposeRebalance(sixtyForty(), map[string]fund.Amount{"A": fund.MustAmount("6500.00"), "B": fund.MustAmount("3500.00")}, decimal.NewFromInt(5), false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Drift.Over || len(p.Trades) != 0 {
		t.Errorf("drift at the threshold: %+v", p)
	}
	// A scheme held but not in the model (target 0): X = 1000/11000 =
	// 9.09 % > 3. Targets of 11000: 6600, 4400, 0 → redeem X 1000, buy A
	// 600 and B 400 (redemptions first).
	p, err = managed.ProposeRebalance(sixtyForty(), map[string]fund.Amount{"A": fund.MustAmount("6000.00"), "B": fund.MustAmount("4000.00"), "X": fund.MustAmount("1000.00")}, decimal.NewFromInt(3), false)
	if err != nil {
		t.Fatal(err)
	}
	assertTrades(t, p.Trades, []managed.Trade{
		{Scheme: "X", Side: "redeem", Amount: fund.MustAmount("1000.00")},
		{Scheme: "A", Side: "purchase", Amount: fund.MustAmount("600.00")},
		{Scheme: "B", Side: "purchase", Amount: fund.MustAmount("400.00")},
	})
	// Empty portfolio: nothing to measure.
	if _, err := managed.MeasureDrift(sixtyForty(), nil, decimal.NewFromInt(5)); err == nil {
		t.Error("an empty portfolio was measured")
	}
}
