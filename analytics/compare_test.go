package analytics_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
)

func tot(n int64, amount, units string) analytics.DayTotal {
	return analytics.DayTotal{Count: n, Amount: decimal.RequireFromString(amount), Units: decimal.RequireFromString(units)}
}

func TestCompare(t *testing.T) {
	d1, d2 := fund.NewDate(2026, 3, 2), fund.NewDate(2026, 3, 3)
	k := func(d fund.Date, s, kind string) analytics.DayKey {
		return analytics.DayKey{Date: d, Scheme: s, Kind: kind}
	}
	ledger := analytics.Days{
		k(d1, "100", "purchase"):   tot(2, "1000.00", "10.000"), // same in facts (1000.0 = 1000.00: values, not strings)
		k(d1, "100", "redemption"): tot(1, "250.00", "2.500"),   // facts lack the row
		k(d2, "100", "purchase"):   tot(3, "1500.00", "15.000"), // facts: one amount off by a paisa
		k(d2, "200", "purchase"):   tot(1, "500.00", "5.000"),   // facts: a transaction counted twice
	}
	facts := analytics.Days{
		k(d1, "100", "purchase"):  tot(2, "1000.0", "10"),
		k(d2, "100", "purchase"):  tot(3, "1500.01", "15.000"),
		k(d2, "200", "purchase"):  tot(2, "1000.00", "10.000"),
		k(d2, "300", "switch_in"): tot(1, "10.00", "1.000"), // not in the ledger at all
	}
	got := analytics.Compare(ledger, facts)
	want := []analytics.Diff{
		{DayKey: k(d1, "100", "redemption"), Ledger: tot(1, "250.00", "2.500")},
		{DayKey: k(d2, "100", "purchase"), Ledger: tot(3, "1500.00", "15.000"), Facts: tot(3, "1500.01", "15.000")},
		{DayKey: k(d2, "200", "purchase"), Ledger: tot(1, "500.00", "5.000"), Facts: tot(2, "1000.00", "10.000")},
		{DayKey: k(d2, "300", "switch_in"), Facts: tot(1, "10.00", "1.000")},
	}
	if len(got) != len(want) {
		t.Fatalf("%d diffs, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.DayKey != w.DayKey || g.Ledger.Count != w.Ledger.Count || !g.Ledger.Amount.Equal(w.Ledger.Amount) ||
			g.Facts.Count != w.Facts.Count || !g.Facts.Amount.Equal(w.Facts.Amount) || !g.Facts.Units.Equal(w.Facts.Units) {
			t.Errorf("diff %d: %+v, want %+v", i, g, w)
		}
	}
	if d := analytics.Compare(ledger, ledger); len(d) != 0 {
		t.Errorf("a side against itself: %+v", d)
	}
}

func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
