package managed_test

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
)

func TestPoolNAV(t *testing.T) {
	tests := []struct{ holdings, cash, units, want string }{
		// (10,000.00 + 500.00) / 1,000.000 = 10.5 exactly.
		{"10000.00", "500.00", "1000.000", "10.5000"},
		// 100.00 / 3.000 = 33.33333… → 33.3333.
		{"100.00", "0.00", "3.000", "33.3333"},
		// 200.00 / 3.000 = 66.66666… → 66.6667 (half-up).
		{"200.00", "0.00", "3.000", "66.6667"},
		// 0.01 / 0.200 = 0.05 exactly; 1.00 / 0.008 = 125.
		{"0.00", "0.01", "0.200", "0.0500"},
		{"1.00", "0.00", "0.008", "125.0000"},
	}
	for _, tt := range tests {
		n, err := managed.PoolNAV(fund.MustAmount(tt.holdings), fund.MustAmount(tt.cash), fund.MustUnits(tt.units, 3))
		if err != nil || n.String() != tt.want {
			t.Errorf("(%s + %s) / %s = %v %v, want %s", tt.holdings, tt.cash, tt.units, n, err, tt.want)
		}
	}
	if _, err := managed.PoolNAV(fund.MustAmount("1.00"), fund.Amount{}, fund.MustUnits("0", 3)); !errors.Is(err, managed.ErrZeroUnits) {
		t.Errorf("zero units: %v", err)
	}
}

func TestDistributePoolThreeMembers(t *testing.T) {
	// ₹1,000.00 over three members with 100.000 units each (a third each):
	// 333.333… floors to 333.33 three times, the paisa left to the first.
	// The second reinvests at NAV 10.5000: 333.33 / 10.5 = 31.74571… →
	// 31.745 units (down).
	u := fund.MustUnits("100.000", 3)
	shares, err := managed.DistributePool(fund.MustAmount("1000.00"), []managed.Holder{
		{ID: "M1", Units: u}, {ID: "M2", Units: u, Reinvest: true}, {ID: "M3", Units: u},
	}, fund.MustNAV("10.5000"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, amount, units string }{{"M1", "333.34", ""}, {"M2", "333.33", "31.745"}, {"M3", "333.33", ""}}
	for i, w := range want {
		s := shares[i]
		got := ""
		if s.Units != nil {
			got = s.Units.String()
		}
		if s.ID != w.id || s.Amount.String() != w.amount || got != w.units {
			t.Errorf("share %d = %s %s %q, want %s %s %q", i, s.ID, s.Amount, got, w.id, w.amount, w.units)
		}
	}
	if _, err := managed.DistributePool(fund.MustAmount("1000.00"), []managed.Holder{{ID: "M1", Units: fund.MustUnits("0", 3)}}, fund.MustNAV("10.0000")); !errors.Is(err, managed.ErrZeroUnits) {
		t.Errorf("a pool with zero units: %v", err)
	}
}
