package managed_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/shopspring/decimal"
)

func d(y, m, dd int) fund.Date { return fund.NewDate(y, time.Month(m), dd) }

func rates(t *testing.T, rs ...managed.Rate) managed.RateTable {
	t.Helper()
	tb, err := managed.NewRateTable(rs...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestQuarterFeeWithMidQuarterRateChange(t *testing.T) {
	// Q1 2026: 1 Jan..31 Mar, 90 days. 1.00 % p.a. until 15 Feb, 0.75 %
	// from 16 Feb: 31 (Jan) + 15 (Feb) = 46 days at 1.00 %, 13 (Feb) + 31
	// (Mar) = 44 days at 0.75 %. AUM ₹10,00,000.00 valued on 31 Dec and
	// carried (no valuation in the quarter: every day is carried).
	// Fee = 1,000,000 × (46×1 + 44×0.75) / 36500 = 79,000,000 / 36500
	//     = 2164.3835… → 2164.38 (down). GST 18 % = 389.5884 → 389.59.
	tb := rates(t, managed.Rate{From: d(2026, 2, 16), Percent: pct("0.75")}, managed.Rate{From: d(2025, 4, 1), Percent: pct("1.00")})
	acc, err := managed.AccrueAUMFee(d(2026, 1, 1), d(2026, 3, 31), []managed.AUM{{Date: d(2025, 12, 31), Value: fund.MustAmount("1000000.00")}}, tb)
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Days) != 90 {
		t.Fatalf("%d days, want 90", len(acc.Days))
	}
	at1, at075 := 0, 0
	for _, day := range acc.Days {
		switch day.Percent.String() {
		case "1":
			at1++
		case "0.75":
			at075++
		}
	}
	if at1 != 46 || at075 != 44 {
		t.Errorf("days at 1.00 %%: %d (want 46), at 0.75 %%: %d (want 44)", at1, at075)
	}
	if acc.Fee.String() != "2164.38" {
		t.Errorf("fee %s, want 2164.38", acc.Fee)
	}
	inv := managed.NewInvoice(acc.Fee)
	if inv.GST.String() != "389.59" || inv.Total.String() != "2553.97" {
		t.Errorf("invoice %+v, want GST 389.59, total 2553.97", inv)
	}
}

func TestFeeCarriesOverHolidays(t *testing.T) {
	// Fri 2 Jan 2026 valued 365,000.00, Sat and Sun carry it, Mon 5 Jan
	// valued 730,000.00; at 10 % p.a. a day is 365000×10/36500 = 100.00,
	// then 200.00: 100 × 3 + 200 = 500.00.
	tb := rates(t, managed.Rate{From: d(2026, 1, 1), Percent: pct("10")})
	acc, err := managed.AccrueAUMFee(d(2026, 1, 2), d(2026, 1, 5), []managed.AUM{
		{Date: d(2026, 1, 5), Value: fund.MustAmount("730000.00")},
		{Date: d(2026, 1, 2), Value: fund.MustAmount("365000.00")},
	}, tb)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Fee.String() != "500.00" {
		t.Errorf("fee %s, want 500.00", acc.Fee)
	}
	carried := []bool{false, true, true, false}
	accrued := []string{"100", "100", "100", "200"}
	for i, day := range acc.Days {
		if day.Carried != carried[i] || day.Accrued.String() != accrued[i] {
			t.Errorf("%s: carried %v accrued %s, want %v %s", day.Date, day.Carried, day.Accrued, carried[i], accrued[i])
		}
	}
}

func TestFeeRefuses(t *testing.T) {
	tb := rates(t, managed.Rate{From: d(2026, 1, 1), Percent: pct("1")})
	one := []managed.AUM{{Date: d(2026, 1, 2), Value: fund.MustAmount("100.00")}}
	if _, err := managed.AccrueAUMFee(d(2026, 1, 1), d(2026, 1, 3), one, tb); !errors.Is(err, managed.ErrNoAUM) {
		t.Errorf("no valuation to carry into 1 Jan: %v", err)
	}
	if _, err := managed.AccrueAUMFee(d(2025, 12, 31), d(2026, 1, 3), []managed.AUM{{Date: d(2025, 12, 31), Value: fund.MustAmount("1.00")}}, tb); err == nil {
		t.Error("a day before the first rate accrued")
	}
	if _, err := managed.AccrueAUMFee(d(2026, 1, 3), d(2026, 1, 2), one, tb); err == nil {
		t.Error("a period ending before it starts accrued")
	}
	two := append(one, one[0])
	if _, err := managed.AccrueAUMFee(d(2026, 1, 2), d(2026, 1, 3), two, tb); err == nil {
		t.Error("two valuations of one day accepted")
	}
	for _, rs := range [][]managed.Rate{
		{{From: d(2026, 1, 1), Percent: pct("1")}, {From: d(2026, 1, 1), Percent: pct("2")}},
		{{From: d(2026, 1, 1), Percent: pct("-1")}},
		{{From: d(2026, 1, 1), Percent: pct("100.01")}},
		{{Percent: pct("1")}},
	} {
		if _, err := managed.NewRateTable(rs...); err == nil {
			t.Errorf("rates %v accepted", rs)
		}
	}
}

func TestGSTRounding(t *testing.T) {
	tests := []struct{ fee, gst string }{
		{"100.00", "18.00"},
		{"0.03", "0.01"}, // 0.0054 → 0.01
		{"0.02", "0.00"}, // 0.0036 → 0.00
		{"2.50", "0.45"}, // exact
		{"0.25", "0.05"}, // 0.045 → half-up 0.05
		{"1.25", "0.23"}, // 0.225 → half-up 0.23
		{"0.00", "0.00"},
	}
	for _, tt := range tests {
		if g := managed.GST(fund.MustAmount(tt.fee)); g.String() != tt.gst {
			t.Errorf("GST(%s) = %s, want %s", tt.fee, g, tt.gst)
		}
	}
}

func TestPerformanceFeeTwoYearsSecondBelowHWM(t *testing.T) {
	terms := managed.PerfTerms{Percent: pct("20")}
	// Year 1: 1,00,000 → 1,20,000 over HWM 1,00,000: gain 20,000, fee 20 %
	// = 4,000.00, GST 720.00; HWM rises to 1,20,000.
	y1, err := managed.CrystallisePerfFee(terms, fund.MustAmount("100000.00"), managed.Period{Start: fund.MustAmount("100000.00"), End: fund.MustAmount("120000.00")})
	if err != nil {
		t.Fatal(err)
	}
	if y1.Gain.String() != "20000.00" || y1.Invoice.Fee.String() != "4000.00" || y1.Invoice.GST.String() != "720.00" || y1.HWMAfter.String() != "120000.00" {
		t.Fatalf("year 1: %+v", y1)
	}
	// Year 2 starts at 1,20,000 − 4,720 = 1,15,280 and ends at 1,18,000:
	// a 2.36 % gain, but below the HWM 1,20,000: no fee, HWM unchanged.
	start2 := fund.MustAmount("120000.00").Sub(y1.Invoice.Total)
	y2, err := managed.CrystallisePerfFee(terms, y1.HWMAfter, managed.Period{Start: start2, End: fund.MustAmount("118000.00")})
	if err != nil {
		t.Fatal(err)
	}
	if !y2.Invoice.Fee.IsZero() || !y2.Invoice.Total.IsZero() || y2.HWMAfter.String() != "120000.00" || start2.String() != "115280.00" {
		t.Fatalf("year 2: %+v (start %s)", y2, start2)
	}
	// Year 3: 1,18,000 → 1,26,000: only the 6,000 above the HWM is charged,
	// 1,200.00 + GST 216.00.
	y3, err := managed.CrystallisePerfFee(terms, y2.HWMAfter, managed.Period{Start: fund.MustAmount("118000.00"), End: fund.MustAmount("126000.00")})
	if err != nil {
		t.Fatal(err)
	}
	if y3.Invoice.Fee.String() != "1200.00" || y3.Invoice.GST.String() != "216.00" || y3.HWMAfter.String() != "126000.00" {
		t.Fatalf("year 3: %+v", y3)
	}
}

func TestPerformanceFeeHurdle(t *testing.T) {
	tests := []struct {
		name                 string
		hwm, start, end      string
		hurdle               string
		threshold, fee, hwmA string
	}{
		// Hurdle 8 %: threshold max(100000, 108000) = 108000; 20 % of
		// 12000 = 2400.00.
		{"hurdle above HWM", "100000.00", "100000.00", "120000.00", "8", "108000.00", "2400.00", "120000.00"},
		// HWM 115000 above the hurdle value 108000: the HWM is the bar.
		{"HWM above hurdle", "115000.00", "100000.00", "120000.00", "8", "115000.00", "1000.00", "120000.00"},
		// 100.01 × 1.08 = 108.0108 → 108.02 (up: the whole hurdle is
		// cleared first); 20 % of 0.98 = 0.196 → 0.19 (down).
		{"hurdle rounded up", "0.00", "100.01", "109.00", "8", "108.02", "0.19", "109.00"},
		// A loss: no fee, the HWM stays.
		{"loss", "100000.00", "100000.00", "90000.00", "8", "108000.00", "0.00", "100000.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := managed.CrystallisePerfFee(managed.PerfTerms{Percent: pct("20"), HurdlePercent: pct(tt.hurdle)},
				fund.MustAmount(tt.hwm), managed.Period{Start: fund.MustAmount(tt.start), End: fund.MustAmount(tt.end)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Threshold.String() != tt.threshold || c.Invoice.Fee.String() != tt.fee || c.HWMAfter.String() != tt.hwmA {
				t.Fatalf("got threshold %s fee %s HWM %s, want %s %s %s", c.Threshold, c.Invoice.Fee, c.HWMAfter, tt.threshold, tt.fee, tt.hwmA)
			}
		})
	}
}

// A quarter by runs: one valuation (1-Apr, ₹1,00,000.00) carried, 1 % from
// 1-Apr and 1.25 % from 16-May: two runs, 1-Apr..15-May (45 days) and
// 16-May..30-Jun (46 days); 100000 × (45 × 1 + 46 × 1.25) / 36500 =
// 10250000/36500 = 280.8219… → 280.82 (down).
func TestAccrueAUMFeeRunsQuarter(t *testing.T) {
	table, err := managed.NewRateTable(
		managed.Rate{From: fund.NewDate(2026, 4, 1), Percent: decimal.RequireFromString("1")},
		managed.Rate{From: fund.NewDate(2026, 5, 16), Percent: decimal.RequireFromString("1.25")})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := managed.AccrueAUMFeeRuns(fund.NewDate(2026, 4, 1), fund.NewDate(2026, 6, 30),
		[]managed.AUM{{Date: fund.NewDate(2026, 4, 1), Value: fund.AmountFromPaise(10000000)}}, table)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Fee.String() != "280.82" || len(acc.Runs) != 2 || acc.Runs[0].To != fund.NewDate(2026, 5, 15) || acc.Runs[1].From != fund.NewDate(2026, 5, 16) ||
		acc.Runs[1].Percent.String() != "1.25" || len(acc.Days) != 0 {
		t.Errorf("%+v", acc)
	}
	if days := acc.Expanded().Days; len(days) != 91 || days[0].Carried || !days[1].Carried {
		t.Errorf("%d days expanded", len(days))
	}
}

// A fee of 1,500.00 redeemed FIFO over three lots across two schemes: B's
// of 1-Jan (10 units × 50.0000 = 500.00) first, then on 1-Feb A's (20 ×
// 30.0000 = 600.00; A sorts before B on one date), then B's (10 × 50 =
// 500.00) for the last 1500 − 500 − 600 = 400.00. Per scheme, first used
// first: B 500.00 + 400.00 = 900.00, A 600.00. 2,000.00 over the same
// lots (worth 1,600.00) takes them all and leaves 400.00 short.
func TestPlanFeeRedemptionFIFO(t *testing.T) {
	u := func(s string) fund.Units { return fund.MustUnits(s, 3) }
	hs := []managed.Holding{
		{Scheme: "A", NAV: fund.MustNAV("30.0000"), Units: u("20.000"), UnitsScale: 3, Lots: []tax.Lot{{ID: "a1", Bought: d(2026, 2, 1), Units: u("20.000")}}},
		{Scheme: "B", NAV: fund.MustNAV("50.0000"), Units: u("20.000"), UnitsScale: 3, Lots: []tax.Lot{
			{ID: "b1", Bought: d(2026, 1, 1), Units: u("10.000")}, {ID: "b2", Bought: d(2026, 2, 1), Units: u("10.000")}}},
	}
	plan, short, err := managed.PlanFeeRedemption(fund.MustAmount("1500.00"), hs, fund.NewDate(2026, 8, 21))
	if err != nil || !short.IsZero() || len(plan) != 2 || plan[0].Scheme != "B" || plan[0].Amount.String() != "900.00" ||
		plan[1].Scheme != "A" || plan[1].Amount.String() != "600.00" {
		t.Errorf("plan %+v short %s %v", plan, short, err)
	}
	plan, short, err = managed.PlanFeeRedemption(fund.MustAmount("2000.00"), hs, fund.NewDate(2026, 8, 21))
	if err != nil || short.String() != "400.00" || len(plan) != 2 || plan[0].Amount.String() != "1000.00" || plan[1].Amount.String() != "600.00" || plan[0].All || plan[1].All {
		t.Errorf("short plan %+v short %s %v", plan, short, err)
	}
	// With a 1 % exit load on A (held < 365 days on 21 Aug): 500.00 of A
	// needs 500.00/30 → 16.667 units, load 5.00; 505.00/30 → 16.834, load
	// 5.0502 → 5.05; 505.05/30 → 16.835, load 5.0505 → 5.05: 16.835 of 20
	// held, by amount. All of A (600.00) plus its load needs more than 20
	// units: A is redeemed whole.
	hs[0].Loads = []fund.LoadSlab{{ValidFrom: d(2020, 1, 1), DaysBelow: 365, RatePct: decimal.RequireFromString("1")}}
	hs = hs[:1]
	for _, c := range []struct {
		fee string
		all bool
	}{{"500.00", false}, {"600.00", true}, {"599.99", true}} {
		plan, _, err := managed.PlanFeeRedemption(fund.MustAmount(c.fee), hs, fund.NewDate(2026, 8, 21))
		if err != nil || len(plan) != 1 || plan[0].Amount.String() != c.fee || plan[0].All != c.all {
			t.Errorf("%s with a load: %+v %v, want all_units %v", c.fee, plan, err, c.all)
		}
	}
}
