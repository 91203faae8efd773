package managed_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
)

func TestPoolNAVDate(t *testing.T) {
	// Sat 15 Aug 2026 (Independence Day) is a weekend anyway; make Mon 17
	// Aug a holiday to see the rule skip it.
	cal := fund.NewCalendar(fund.NewDate(2026, time.August, 17))
	ist := fund.IST()
	tests := []struct {
		name     string
		received time.Time
		cutoff   string
		want     string
	}{
		{"before the cut-off on a business day: that day", time.Date(2026, 8, 20, 14, 59, 59, 0, ist), "15:00", "2026-08-20"},
		{"at the cut-off: the next business day", time.Date(2026, 8, 20, 15, 0, 0, 0, ist), "15:00", "2026-08-21"},
		{"Friday evening: Monday, a holiday, so Tuesday", time.Date(2026, 8, 14, 18, 0, 0, 0, ist), "15:00", "2026-08-18"},
		{"Saturday morning: the next business day", time.Date(2026, 8, 22, 9, 0, 0, 0, ist), "15:00", "2026-08-24"},
		{"an earlier cut-off", time.Date(2026, 8, 20, 13, 30, 0, 0, ist), "13:00", "2026-08-21"},
		// 09:00 UTC is 14:30 IST: before the cut-off.
		{"a UTC time is read in IST", time.Date(2026, 8, 20, 9, 0, 0, 0, time.UTC), "15:00", "2026-08-20"},
	}
	for _, tt := range tests {
		got, err := managed.PoolNAVDate(tt.received, tt.cutoff, cal)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.name, got, err, tt.want)
		}
	}
	if _, err := managed.PoolNAVDate(time.Now(), "3pm", cal); err == nil {
		t.Error("a cut-off that is not hh:mm accepted")
	}
}

func TestPoolPricingRounding(t *testing.T) {
	units := []struct{ amount, nav, want string }{
		// 1,000.00 / 10 = 100 exactly.
		{"1000.00", "10.0000", "100.000"},
		// 500.00 / 6.6667 = 74.99962… → 74.999 (down, never 75.000).
		{"500.00", "6.6667", "74.999"},
		// 0.01 / 10 = 0.001.
		{"0.01", "10.0000", "0.001"},
	}
	for _, tt := range units {
		u, err := managed.ContributionUnits(fund.MustAmount(tt.amount), fund.MustNAV(tt.nav))
		if err != nil || u.String() != tt.want {
			t.Errorf("%s at %s: %v %v, want %s", tt.amount, tt.nav, u, err, tt.want)
		}
	}
	// 0.01 / 10.0001 = 0.00099… → 0: buys nothing, refused.
	if _, err := managed.ContributionUnits(fund.MustAmount("0.01"), fund.MustNAV("10.0001")); err == nil {
		t.Error("a contribution buying no unit accepted")
	}
	paid := []struct{ units, nav, want string }{
		// 50.000 × 6.6667 = 333.335 → 333.33 (down, not half-up's 333.34).
		{"50.000", "6.6667", "333.33"},
		// 0.001 × 9.9999 = 0.0099999 → 0.00.
		{"0.001", "9.9999", "0.00"},
		{"2.000", "100.0000", "200.00"},
	}
	for _, tt := range paid {
		a, err := managed.WithdrawalAmount(fund.MustUnits(tt.units, 3), fund.MustNAV(tt.nav))
		if err != nil || a.String() != tt.want {
			t.Errorf("%s × %s: %v %v, want %s", tt.units, tt.nav, a, err, tt.want)
		}
	}
	// (3,000.00 − 1,000.00) / 300.000 = 6.6666… → 6.6667 (half-up).
	if n, err := managed.ExDistributionNAV(fund.MustAmount("3000.00"), fund.MustAmount("1000.00"), fund.MustUnits("300.000", 3)); err != nil || n.String() != "6.6667" {
		t.Errorf("ex-distribution NAV %v %v", n, err)
	}
	// Distributing everything leaves no value: refused.
	if _, err := managed.ExDistributionNAV(fund.MustAmount("10.00"), fund.MustAmount("10.00"), fund.MustUnits("1.000", 3)); err == nil {
		t.Error("an ex-distribution NAV of zero accepted")
	}
	// 12.3457 × 100.000 = 1,234.57; 20.0001 × 33.333 = 666.6633… → 666.66.
	v := managed.PoolValue([]managed.PoolHolding{
		{Scheme: "S1", Units: fund.MustUnits("100.000", 3), NAV: fund.MustNAV("12.3457")},
		{Scheme: "S2", Units: fund.MustUnits("33.333", 3), NAV: fund.MustNAV("20.0001")},
	})
	if v.String() != "1901.23" {
		t.Errorf("holdings value %s, want 1901.23", v)
	}
	// No units: the launch NAV; with units, PoolNAV.
	if n, err := managed.PoolDayNAV(fund.Amount{}, fund.Amount{}, fund.MustUnits("0", 3), fund.MustNAV("10.0000")); err != nil || n.String() != "10.0000" {
		t.Errorf("launch %v %v", n, err)
	}
	if n, err := managed.PoolDayNAV(fund.MustAmount("1901.23"), fund.MustAmount("1000.00"), fund.MustUnits("100.000", 3), fund.MustNAV("10.0000")); err != nil || n.String() != "29.0123" {
		t.Errorf("day NAV %v %v", n, err)
	}
}
