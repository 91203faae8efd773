package analytics_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

func pts(rows ...string) []risk.Point {
	var out []risk.Point
	for i := 0; i < len(rows); i += 2 {
		d, _ := fund.ParseISODate(rows[i])
		out = append(out, risk.Point{Date: d, NAV: decimal.RequireFromString(rows[i+1])})
	}
	return out
}

func TestDailyAUMCarriesTheNAVOverHolidays(t *testing.T) {
	// Fri 2026-03-06 NAV 10.00005 (applied half-up: 10.0001), Mon 03-09 NAV 11; 100 units bought
	// on Thu 03-05 (before any NAV in the list: no row), 40 redeemed on Mon.
	navs := pts("2026-03-06", "10.00005", "2026-03-09", "11")
	changes := []analytics.UnitsChange{{fund.NewDate(2026, 3, 5), mustDec("100")}, {fund.NewDate(2026, 3, 9), mustDec("-40")}}
	rows, err := analytics.DailyAUM("S", changes, navs, fund.NewDate(2026, 3, 5), fund.NewDate(2026, 3, 10))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		day, navDate, units, aum string
	}{
		{"2026-03-06", "2026-03-06", "100", "1000.01"}, // 100 × 10.0001
		{"2026-03-07", "2026-03-06", "100", "1000.01"}, // Saturday: Friday's NAV carried
		{"2026-03-08", "2026-03-06", "100", "1000.01"},
		{"2026-03-09", "2026-03-09", "60", "660"}, // 60 × 11
		{"2026-03-10", "2026-03-09", "60", "660"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Date.String() != w.day || r.NAVDate.String() != w.navDate || !r.Units.Equal(mustDec(w.units)) || !r.AUM.Equal(mustDec(w.aum)) {
			t.Errorf("row %d: %s nav of %s units %s aum %s; want %+v", i, r.Date, r.NAVDate, r.Units, r.AUM, w)
		}
	}
}

func TestTrailingReturnsAMFI(t *testing.T) {
	// as of 2026-03-31: 1M looks for the NAV on or before 2026-02-28 (a Saturday: Friday 02-27's),
	// 1Y for 2025-03-31's, 3Y reaches before the first NAV: no row.
	navs := pts("2025-03-31", "100", "2026-02-27", "120", "2026-03-02", "121", "2026-03-31", "126")
	got, err := analytics.TrailingReturns(navs, fund.NewDate(2026, 3, 31))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ kind, from, value string }{
		"1M": {"absolute", "2026-02-27", "0.05"}, // 126/120 − 1
		"3M": {"absolute", "2025-03-31", "0.26"}, // on or before 2025-12-31: the first NAV; 126/100 − 1
		"6M": {"absolute", "2025-03-31", "0.26"},
		"1Y": {"cagr", "2025-03-31", "0.26"}, // 365 days: (1.26)^(365/365) − 1
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for _, r := range got {
		w := want[r.Period]
		if r.Kind != w.kind || r.From.String() != w.from || !r.Value.Equal(mustDec(w.value)) {
			t.Errorf("%s: %+v, want %+v", r.Period, r, w)
		}
	}
}

func TestCategoryAverage(t *testing.T) {
	d1, d2 := fund.NewDate(2026, 1, 1), fund.NewDate(2026, 1, 2)
	a := []risk.Return{{Date: d1, R: big.NewRat(1, 10)}, {Date: d2, R: big.NewRat(-1, 10)}}
	b := []risk.Return{{Date: d1, R: big.NewRat(3, 10)}}
	got := analytics.CategoryAverage([][]risk.Return{a, b})
	// d1: (0.1 + 0.3)/2 = 0.2; d2: only a, −0.1 (256-bit sums: equal to 70 decimals)
	near := func(r, want *big.Rat) bool {
		d := new(big.Rat).Sub(r, want)
		return d.Abs(d).Cmp(new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(70), nil))) < 0
	}
	if len(got) != 2 || !near(got[0].R, big.NewRat(1, 5)) || !near(got[1].R, big.NewRat(-1, 10)) {
		t.Fatalf("%v", got)
	}
}

// monthsBack in integers is the time.Date route it replaced, for every day
// of 1999-2030 and 0 to 61 months back: the first of the month n months
// earlier (time.Date normalises the month), then d's day clamped to that
// month's last.
func TestMonthsBackEqualsTimeDate(t *testing.T) {
	for d := fund.NewDate(1999, 1, 1); d.Year < 2031; d = d.AddDays(1) {
		for _, n := range []int{0, 1, 3, 6, 11, 12, 13, 36, 60, 61} {
			first := time.Date(d.Year, d.Month-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
			last := first.AddDate(0, 1, -1).Day()
			want := fund.NewDate(first.Year(), first.Month(), min(d.Day, last))
			if got := analytics.MonthsBack(d, n); got != want {
				t.Fatalf("%s − %d months: %v, want %v", d, n, got, want)
			}
		}
	}
}
