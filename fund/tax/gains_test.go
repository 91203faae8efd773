package tax_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
)

func dt(s string) fund.Date {
	v, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func u3(s string) fund.Units  { return fund.MustUnits(s, 3) }
func am(s string) fund.Amount { return fund.MustAmount(s) }
func navp(s string) *fund.NAV {
	n := fund.MustNAV(s)
	return &n
}

func TestAddMonthsAndHoldingPeriod(t *testing.T) {
	for _, c := range []struct {
		bought, sold string
		m            int
		wantEnd      string
		long         bool
	}{
		// 29-Feb + 12 months is 28-Feb: selling on the 28th is not "more than" 12 months
		{"2020-02-29", "2021-02-28", 12, "2021-02-28", false},
		{"2020-02-29", "2021-03-01", 12, "2021-02-28", true},
		// into a leap February: 28-Feb-2023 + 12 = 28-Feb-2024, so 29-Feb-2024 is after it
		{"2023-02-28", "2024-02-28", 12, "2024-02-28", false},
		{"2023-02-28", "2024-02-29", 12, "2024-02-28", true},
		// 31-Aug + 6 months: no 31-Feb, the month's last day
		{"2023-08-31", "2024-03-01", 6, "2024-02-29", true},
		{"2021-05-10", "2024-05-10", 36, "2024-05-10", false}, // exactly 36 months: not more
		{"2021-05-10", "2024-05-11", 36, "2024-05-10", true},
		{"2024-01-01", "2099-01-01", 0, "2024-01-01", false}, // M = 0: never long-term
	} {
		if got := tax.AddMonths(dt(c.bought), c.m); got != dt(c.wantEnd) {
			t.Errorf("AddMonths(%s, %d) = %s, want %s", c.bought, c.m, got, c.wantEnd)
		}
		if got := tax.IsLongTerm(dt(c.bought), dt(c.sold), c.m); got != c.long {
			t.Errorf("IsLongTerm(%s, %s, %d) = %v, want %v", c.bought, c.sold, c.m, got, c.long)
		}
	}
}

func TestGrandfatheredBranches(t *testing.T) {
	for _, c := range []struct {
		actual, fmv, sale, want, branch string
	}{
		{"20000.00", "15000.00", "18000.00", "20000.00", tax.GFActual}, // min(15000, 18000) = 15000 < 20000
		{"10000.00", "15000.00", "18000.00", "15000.00", tax.GFFMV},    // min = 15000 (FMV) > 10000
		{"10000.00", "15000.00", "12000.00", "12000.00", tax.GFSale},   // min = 12000 (sale) > 10000
	} {
		got, b := tax.Grandfathered(am(c.actual), am(c.fmv), am(c.sale))
		if !got.Equal(am(c.want)) || b != c.branch {
			t.Errorf("Grandfathered(%s, %s, %s) = %s %s, want %s %s", c.actual, c.fmv, c.sale, got, b, c.want, c.branch)
		}
	}
}

// want is one consumed lot's expected result, computed by hand in the case.
type want struct {
	units, costUsed, saleValue, gain, load string
	term                                   tax.Term
	section, rate, gf                      string
}

func TestRealiseHandComputed(t *testing.T) {
	eq := func(bought, units, cost string, fmv *fund.NAV) tax.Lot {
		return tax.Lot{Type: tax.Equity, Bought: dt(bought), Units: u3(units), Cost: am(cost), FMVPerUnit: fmv}
	}
	of := func(ty tax.SchemeType, bought, units, cost string) tax.Lot {
		return tax.Lot{Type: ty, Bought: dt(bought), Units: u3(units), Cost: am(cost)}
	}
	sale := func(date, units, nav, load string) tax.Sale {
		return tax.Sale{Date: dt(date), Units: u3(units), NAV: fund.MustNAV(nav), ExitLoad: am(load)}
	}
	cases := []struct {
		name string
		lots []tax.Lot
		sale tax.Sale
		want []want
	}{
		{
			// bought 2017 (before 1-Feb-2018): FMV 100 × 150 = 15000, sale 100 × 180 = 18000,
			// min(15000, 18000) = 15000 < actual 20000 → cost 20000, gain 18000 − 20000 = −2000
			name: "grandfathered: actual cost wins",
			lots: []tax.Lot{eq("2017-06-01", "100.000", "20000.00", navp("150.0000"))},
			sale: sale("2025-05-02", "100.000", "180.0000", "0"),
			want: []want{{"100.000", "20000.00", "18000.00", "-2000.00", "0.00", tax.Long, "112A", "12.5", tax.GFActual}},
		},
		{
			// min(FMV 15000, sale 18000) = 15000 > actual 10000 → cost 15000, gain 3000
			name: "grandfathered: FMV wins",
			lots: []tax.Lot{eq("2017-06-01", "100.000", "10000.00", navp("150.0000"))},
			sale: sale("2025-05-02", "100.000", "180.0000", "0"),
			want: []want{{"100.000", "15000.00", "18000.00", "3000.00", "0.00", tax.Long, "112A", "12.5", tax.GFFMV}},
		},
		{
			// sale 100 × 120 = 12000 ≤ FMV 15000, > actual 10000 → cost 12000, gain 0
			// (sold 2024-03-15, before 23-Jul-2024: 10 %)
			name: "grandfathered: sale value wins",
			lots: []tax.Lot{eq("2017-06-01", "100.000", "10000.00", navp("150.0000"))},
			sale: sale("2024-03-15", "100.000", "120.0000", "0"),
			want: []want{{"100.000", "12000.00", "12000.00", "0.00", "0.00", tax.Long, "112A", "10", tax.GFSale}},
		},
		{
			// with an exit load of 120: the grandfathering's sale value is the full value of
			// consideration 12000 (section 55(2)(ac); Schedule 112A col. 9 = lower of col. 6 and 11),
			// cost min(15000, 12000) = 12000 > 10000; the load is an expenditure on transfer:
			// sale value 12000 − 120 = 11880, gain 11880 − 12000 = −120 (col. 14 = 12000 − (12000 + 120))
			name: "grandfathered: sale value wins, with an exit load",
			lots: []tax.Lot{eq("2017-06-01", "100.000", "10000.00", navp("150.0000"))},
			sale: sale("2024-03-15", "100.000", "120.0000", "120.00"),
			want: []want{{"100.000", "12000.00", "11880.00", "-120.00", "120.00", tax.Long, "112A", "10", tax.GFSale}},
		},
		{
			// bought 1-Feb-2018: not grandfathered, FMV ignored: 100 × 180 − 10000 = 8000
			name: "equity bought on 1-Feb-2018 is not grandfathered",
			lots: []tax.Lot{eq("2018-02-01", "100.000", "10000.00", navp("150.0000"))},
			sale: sale("2025-05-02", "100.000", "180.0000", "0"),
			want: []want{{"100.000", "10000.00", "18000.00", "8000.00", "0.00", tax.Long, "112A", "12.5", ""}},
		},
		{
			// the day before the Budget: 50 × 130 = 6500 − 5000.25 (stamp duty in the cost) = 1499.75;
			// 2023-01-10 + 12 months = 2024-01-10 < sale → long at 10 %; the 2024-01-15 lot is short at 15 %:
			// 20 × 130 = 2600 − 2000.10 = 599.90
			name: "equity sold 22-Jul-2024 (old rates)",
			lots: []tax.Lot{eq("2023-01-10", "50.000", "5000.25", nil), eq("2024-01-15", "20.000", "2000.10", nil)},
			sale: sale("2024-07-22", "70.000", "130.0000", "0"),
			want: []want{
				{"50.000", "5000.25", "6500.00", "1499.75", "0.00", tax.Long, "112A", "10", ""},
				{"20.000", "2000.10", "2600.00", "599.90", "0.00", tax.Short, "111A", "15", ""},
			},
		},
		{
			// the same lots a day later: 12.5 % and 20 %
			name: "equity sold 23-Jul-2024 (new rates)",
			lots: []tax.Lot{eq("2023-01-10", "50.000", "5000.25", nil), eq("2024-01-15", "20.000", "2000.10", nil)},
			sale: sale("2024-07-23", "70.000", "130.0000", "0"),
			want: []want{
				{"50.000", "5000.25", "6500.00", "1499.75", "0.00", tax.Long, "112A", "12.5", ""},
				{"20.000", "2000.10", "2600.00", "599.90", "0.00", tax.Short, "111A", "20", ""},
			},
		},
		{
			// other fund bought 2022-01-20, held 30 months: before 23-Jul-2024 M = 36 (short, slab);
			// 10 × 40 = 400 − 300.01 = 99.99
			name: "other fund 30 months, sold 22-Jul-2024: short",
			lots: []tax.Lot{of(tax.Other, "2022-01-20", "10.000", "300.01")},
			sale: sale("2024-07-22", "10.000", "40.0000", "0"),
			want: []want{{"10.000", "300.01", "400.00", "99.99", "0.00", tax.Short, "slab", "", ""}},
		},
		{
			// from 23-Jul-2024 M = 24: 2024-01-20 < sale → long, 112 at 12.5 %
			name: "other fund 30 months, sold 23-Jul-2024: long",
			lots: []tax.Lot{of(tax.Other, "2022-01-20", "10.000", "300.01")},
			sale: sale("2024-07-23", "10.000", "40.0000", "0"),
			want: []want{{"10.000", "300.01", "400.00", "99.99", "0.00", tax.Long, "112", "12.5", ""}},
		},
		{
			// debt bought 31-Mar-2023 (before 1-Apr-2023): 24 months (sold after 23-Jul-2024);
			// 2025-03-31 < 2025-04-01 → long 112; 1000 × 12.3456 = 12345.60 − 10000.50 = 2345.10
			name: "debt bought before 1-Apr-2023, long",
			lots: []tax.Lot{of(tax.Debt, "2023-03-31", "1000.000", "10000.50")},
			sale: sale("2025-04-01", "1000.000", "12.3456", "0"),
			want: []want{{"1000.000", "10000.50", "12345.60", "2345.10", "0.00", tax.Long, "112", "12.5", ""}},
		},
		{
			// the same lot sold on 31-Mar-2025, exactly 24 months: short, slab
			name: "debt bought before 1-Apr-2023, exactly 24 months",
			lots: []tax.Lot{of(tax.Debt, "2023-03-31", "1000.000", "10000.50")},
			sale: sale("2025-03-31", "1000.000", "12.3456", "0"),
			want: []want{{"1000.000", "10000.50", "12345.60", "2345.10", "0.00", tax.Short, "slab", "", ""}},
		},
		{
			// bought on 1-Apr-2023: 50AA, short-term however long it is held
			name: "debt bought on 1-Apr-2023: 50AA",
			lots: []tax.Lot{of(tax.Debt, "2023-04-01", "1000.000", "10000.50")},
			sale: sale("2026-06-01", "1000.000", "12.3456", "0"),
			want: []want{{"1000.000", "10000.50", "12345.60", "2345.10", "0.00", tax.Short, "50AA", "", ""}},
		},
		{
			// FIFO with an exit load of 30.86 split by units over 25 sold:
			// lot 1 whole: 10 × 123.4567 = 1234.567 → 1234.57; load 30.86 × 10/25 = 12.344 → 12.34;
			//   sale 1222.23 − cost 1000.05 = 222.18 (2024-01-10 + 12 = 2025-01-10 > sale: short, 20 %)
			// lot 2, 15 of 20: cost 2200.11 × 15/20 = 1650.0825 → 1650.08; 15 × 123.4567 = 1851.8505
			//   → 1851.85; load 30.86 × 15/25 = 18.516 → 18.52; sale 1833.33 − 1650.08 = 183.25
			name: "exit load pro rata, FIFO, partial lot",
			lots: []tax.Lot{eq("2024-01-10", "10.000", "1000.05", nil), eq("2024-06-03", "20.000", "2200.11", nil)},
			sale: sale("2024-12-02", "25.000", "123.4567", "30.86"),
			want: []want{
				{"10.000", "1000.05", "1222.23", "222.18", "12.34", tax.Short, "111A", "20", ""},
				{"15.000", "1650.08", "1833.33", "183.25", "18.52", tax.Short, "111A", "20", ""},
			},
		},
		{
			// a switch-out is a transfer like a redemption: other fund bought 2021-05-10,
			// switched out 2024-05-13 (36 months ended 2024-05-10): long, 112 at 20 % with indexation;
			// 200 × 25.5 = 5100 − 4000.20 = 1099.80
			name: "switch-out of an other fund",
			lots: []tax.Lot{of(tax.Other, "2021-05-10", "200.000", "4000.20")},
			sale: sale("2024-05-13", "200.000", "25.5000", "0"),
			want: []want{{"200.000", "4000.20", "5100.00", "1099.80", "0.00", tax.Long, "112", "20", ""}},
		},
		{
			// a merged scheme's lots keep their first date and cost: A's 100 units bought
			// 2016-11-15 for 1000, FMV 14.20 → 1420, became 40 units of B (ratio 14/35 = 0.4), FMV
			// per B unit 14.20 / 0.4 = 35.50 (40 × 35.5 = 1420, unchanged); sold at 40: 1600,
			// min(1420, 1600) = 1420 > 1000 → cost 1420, gain 180.
			// A lot bought in A on 2024-09-01 and merged 2025-03-01: long from its first date
			// (2025-09-01 < 2025-09-02), 5 × 40 = 200 − 150.01 = 49.99
			name: "merged scheme's lots",
			lots: []tax.Lot{eq("2016-11-15", "40.000", "1000.00", navp("35.5000")), eq("2024-09-01", "5.000", "150.01", nil)},
			sale: sale("2025-09-02", "45.000", "40.0000", "0"),
			want: []want{
				{"40.000", "1420.00", "1600.00", "180.00", "0.00", tax.Long, "112A", "12.5", tax.GFFMV},
				{"5.000", "150.01", "200.00", "49.99", "0.00", tax.Long, "112A", "12.5", ""},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gs, err := tax.Realise(tax.CGRules, c.lots, c.sale)
			if err != nil {
				t.Fatal(err)
			}
			if len(gs) != len(c.want) {
				t.Fatalf("%d lots consumed, want %d", len(gs), len(c.want))
			}
			for i, w := range c.want {
				g := gs[i]
				if g.Units.String() != w.units || g.CostUsed.String() != w.costUsed || g.SaleValue.String() != w.saleValue ||
					g.Gain.String() != w.gain || g.ExitLoad.String() != w.load || g.Term != w.term ||
					g.RateSection != w.section || g.RatePct != w.rate || g.Grandfathered != w.gf {
					t.Errorf("lot %d: got units %s cost %s sale %s gain %s load %s %s %s %q gf %q\nwant units %s cost %s sale %s gain %s load %s %s %s %q gf %q",
						i, g.Units, g.CostUsed, g.SaleValue, g.Gain, g.ExitLoad, g.Term, g.RateSection, g.RatePct, g.Grandfathered,
						w.units, w.costUsed, w.saleValue, w.gain, w.load, w.term, w.section, w.rate, w.gf)
				}
			}
		})
	}
}

func TestRealiseErrors(t *testing.T) {
	lot := tax.Lot{Type: tax.Equity, Bought: dt("2017-06-01"), Units: u3("10.000"), Cost: am("100.00")}
	sale := tax.Sale{Date: dt("2025-05-02"), Units: u3("10.000"), NAV: fund.MustNAV("20.0000")}
	if _, err := tax.Realise(tax.CGRules, []tax.Lot{lot}, sale); err == nil || !strings.Contains(err.Error(), "fmv_2018_01_31") {
		t.Errorf("a grandfathered lot without FMV: %v", err)
	}
	sale.Units = u3("10.001")
	lot.FMVPerUnit = navp("15.0000")
	if _, err := tax.Realise(tax.CGRules, []tax.Lot{lot}, sale); !errors.Is(err, tax.ErrNotEnoughUnits) {
		t.Errorf("oversold: %v", err)
	}
	sale.Units, sale.Date = u3("1.000"), dt("2018-03-31")
	if _, err := tax.Realise(tax.CGRules, []tax.Lot{lot}, sale); err == nil {
		t.Error("a transfer before the table starts has no rule")
	}
}

// TestRulesTable: no two rows of a table are in force for the same
// (type, bought, transfer) — probed on every boundary date and its eve — and
// every type has a row for any transfer from RulesStart.
func TestRulesTable(t *testing.T) {
	var probes []fund.Date
	add := func(x fund.Date) {
		if !x.IsZero() {
			probes = append(probes, x, x.AddDays(-1), x.AddDays(1))
		}
	}
	for _, r := range tax.CGRules {
		add(r.BoughtFrom)
		add(r.BoughtBefore)
		add(r.TransferFrom)
		add(r.TransferBefore)
	}
	add(tax.GrandfatherBefore)
	add(fund.NewDate(2010, time.January, 1))
	add(fund.NewDate(2030, time.January, 1))
	for _, ty := range []tax.SchemeType{tax.Equity, tax.Debt, tax.Other} {
		for _, b := range probes {
			for _, s := range probes {
				if s.Before(b) {
					continue
				}
				n := 0
				for _, r := range tax.CGRules {
					if r.Type == ty && inRange(b, r.BoughtFrom, r.BoughtBefore) && inRange(s, r.TransferFrom, r.TransferBefore) {
						n++
						if (r.LongAfterMonths == 0) != (r.LongSection == "") {
							t.Errorf("%s: long section %q with %d months", r.Source, r.LongSection, r.LongAfterMonths)
						}
					}
				}
				if want := 1; !s.Before(tax.RulesStart) && n != want {
					t.Errorf("%s bought %s sold %s: %d rows in force, want 1", ty, b, s, n)
				}
			}
		}
	}
}

func inRange(x, from, before fund.Date) bool {
	return (from.IsZero() || !x.Before(from)) && (before.IsZero() || x.Before(before))
}

func TestFYAndTables(t *testing.T) {
	for _, c := range []struct{ in, fy string }{{"2025-04-01", "2025-26"}, {"2026-03-31", "2025-26"}, {"2000-01-15", "1999-00"}} {
		if got := tax.FYOf(dt(c.in)).String(); got != c.fy {
			t.Errorf("FYOf(%s) = %s, want %s", c.in, got, c.fy)
		}
	}
	for _, bad := range []string{"2025-27", "2025", "25-26", "2025-2026", "abcd-ef", "2025-6", "1899-00"} {
		if _, err := tax.ParseFY(bad); err == nil {
			t.Errorf("ParseFY(%q) accepted", bad)
		}
	}
	if fy, err := tax.ParseFY("1999-00"); err != nil || fy.First() != dt("1999-04-01") || fy.Last() != dt("2000-03-31") {
		t.Errorf("ParseFY(1999-00) = %v %v", fy, err)
	}
	for _, c := range []struct {
		fy   int
		want string
	}{{2017, "0.00"}, {2018, "100000.00"}, {2023, "100000.00"}, {2024, "125000.00"}, {2026, "125000.00"}} {
		if got := tax.LTCGExemption(tax.LTCGExemptions, tax.FY{Start: c.fy}); got.String() != c.want {
			t.Errorf("exemption FY %d = %s, want %s", c.fy, got, c.want)
		}
	}
	for _, c := range []struct {
		on        string
		resident  bool
		section   string
		threshold string
	}{
		{"2025-03-31", true, "194K", "5000.00"},
		{"2025-04-01", true, "194K", "10000.00"},
		{"2025-04-01", false, "196A", "0.00"},
	} {
		r, err := tax.TDSRuleFor(tax.TDSRules, c.resident, dt(c.on))
		if err != nil || r.Section != c.section || r.Threshold.String() != c.threshold {
			t.Errorf("TDS on %s resident=%v: %+v %v, want %s %s", c.on, c.resident, r, err, c.section, c.threshold)
		}
	}
	if _, err := tax.TDSRuleFor(tax.TDSRules, true, dt("2020-03-31")); err == nil {
		t.Error("no 194K before 1-Apr-2020")
	}
}

func TestTypeOfCategory(t *testing.T) {
	for _, c := range []struct {
		cat  string
		want tax.SchemeType
	}{
		{"Equity Scheme - Large Cap Fund", tax.Equity},
		{"Equity Scheme - ELSS", tax.Equity},
		{"Hybrid Scheme - Arbitrage Fund", tax.Equity},
		{"Hybrid Scheme - Balanced Advantage", tax.Other},
		{"Debt Scheme - Corporate Bond Fund", tax.Debt},
		{"debt scheme - liquid fund", tax.Debt},
		{"Other Scheme - Index Funds", tax.Other},
		{"", tax.Other},
	} {
		if got := tax.TypeOfCategory(tax.CategoryRules, c.cat); got != c.want {
			t.Errorf("%q: %s, want %s", c.cat, got, c.want)
		}
	}
}
