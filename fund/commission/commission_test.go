package commission

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal  { return decimal.RequireFromString(s) }
func date(y, m, dd int) fund.Date { return fund.NewDate(y, timeMonth(m), dd) }
func amt(s string) fund.Amount    { return fund.MustAmount(s) }
func units(s string) fund.Units   { return fund.MustUnits(s, 3) }

func mustTable(t *testing.T, ss ...Structure) *Table {
	t.Helper()
	tb, err := NewTable(ss)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func mustSeries(t *testing.T, pts ...NAVPoint) NAVSeries {
	t.Helper()
	s, err := NewNAVSeries(pts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// accrueApril accrues a holding for every day of April 2026, the holding
// given by the day (a switch changes it mid-month).
func accrueApril(t *testing.T, tb *Table, navs NAVSeries, holdingOn func(fund.Date) Holding) []DayAccrual {
	t.Helper()
	var out []DayAccrual
	for dd := 1; dd <= 30; dd++ {
		dy := date(2026, 4, dd)
		h := holdingOn(dy)
		a, err := AccrueDay(tb, dy, h, navs, AUMOf(h, navs, dy))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// AUMOf is the holding's own AUM on the day (no slabs in these tables).
func AUMOf(h Holding, navs NAVSeries, dy fund.Date) decimal.Decimal {
	n, _, _ := navs.On(dy)
	return AUM(h.Units, n)
}

func sum(as []DayAccrual) Accrual {
	var s Accrual
	for _, a := range as {
		s = s.Add(a.Accrual)
	}
	return s
}

var hold = Holding{ARN: "ARN-1", Folio: "F1", Scheme: "S1", Plan: Regular, Units: fund.MustUnits("1000.000", 3)}

// The hand-computed month cases: 1,000 units, trail rates from the
// table, April 2026 (30 days), accrued exactly and rounded once half-up.
func TestMonthAccrualHandComputed(t *testing.T) {
	oneYear := Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("1.00")}
	// A direct structure that must be ignored: direct plans earn nothing.
	direct := Structure{Scheme: "S1", Plan: Direct, From: date(2026, 1, 1), TrailPct: d("1.00")}
	cut := Structure{Scheme: "S1", Plan: Regular, From: date(2026, 4, 16), TrailPct: d("0.80")}
	flat10 := mustSeries(t, NAVPoint{date(2026, 3, 31), fund.MustNAV("10.0000")})

	cases := []struct {
		name      string
		tb        *Table
		navs      NAVSeries
		holding   func(fund.Date) Holding
		wantBasis string // Σ AUM × rate-%
		want      string // basis / 36500, half-up once
	}{
		{
			// NAV 10 published 1-Apr, 10.5 on Mon 13-Apr, none on the 14-Apr
			// holiday (10.5 carried), 12 from 15-Apr (weekends carried too):
			// days 1..12: 12 × 1000 × 10.0 × 1 = 120,000
			// days 13,14:  2 × 1000 × 10.5 × 1 =  21,000
			// days 15..30: 16 × 1000 × 12.0 × 1 = 192,000
			// 333,000 / 36,500 = 9.1232876… → 9.12. (Rounding each day
			// instead: 12×0.27 + 2×0.29 + 16×0.33 = 9.10, two paise short.)
			name: "holiday carries the NAV",
			tb:   mustTable(t, oneYear, direct),
			navs: mustSeries(t,
				NAVPoint{date(2026, 4, 1), fund.MustNAV("10.0000")},
				NAVPoint{date(2026, 4, 13), fund.MustNAV("10.5000")},
				NAVPoint{date(2026, 4, 15), fund.MustNAV("12.0000")}),
			holding:   func(fund.Date) Holding { return hold },
			wantBasis: "333000", want: "9.12",
		},
		{
			// 1.00 % to 15-Apr, 0.80 % from 16-Apr, NAV 10 all month:
			// 15 × 10,000 × 1.00 + 15 × 10,000 × 0.80 = 150,000 + 120,000
			// = 270,000 / 36,500 = 7.3972602… → 7.40.
			name: "mid-month rate change", tb: mustTable(t, oneYear, cut), navs: flat10,
			holding:   func(fund.Date) Holding { return hold },
			wantBasis: "270000", want: "7.40",
		},
		{
			// Regular to 10-Apr, switched to the direct plan from 11-Apr:
			// 10 × 10,000 × 1.00 = 100,000 / 36,500 = 2.7397260… → 2.74;
			// the 20 direct days earn nothing although the table has 1 %.
			name: "switch to direct", tb: mustTable(t, oneYear, direct), navs: flat10,
			holding: func(dy fund.Date) Holding {
				h := hold
				if dy.After(date(2026, 4, 10)) {
					h.Plan = Direct
				}
				return h
			},
			wantBasis: "100000", want: "2.74",
		},
		{
			// No structure in force (from 1-May): nothing accrues.
			name: "no structure yet",
			tb:   mustTable(t, Structure{Scheme: "S1", Plan: Regular, From: date(2026, 5, 1), TrailPct: d("1")}),
			navs: flat10, holding: func(fund.Date) Holding { return hold },
			wantBasis: "0", want: "0.00",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sum(accrueApril(t, c.tb, c.navs, c.holding))
			if !got.Basis().Equal(d(c.wantBasis)) || got.Amount().String() != c.want {
				t.Errorf("basis %s amount %s; want %s and %s", got.Basis(), got.Amount(), c.wantBasis, c.want)
			}
		})
	}
}

func TestNAVCarriedAndMissing(t *testing.T) {
	s := mustSeries(t, NAVPoint{date(2026, 4, 13), fund.MustNAV("10.5000")}, NAVPoint{date(2026, 4, 15), fund.MustNAV("12.0000")})
	n, from, ok := s.On(date(2026, 4, 14))
	if !ok || n.String() != "10.5000" || from != date(2026, 4, 13) {
		t.Errorf("14-Apr: %s from %s %v; want 10.5000 carried from 2026-04-13", n, from, ok)
	}
	if _, err := AccrueDay(mustTable(t), date(2026, 4, 12), hold, s, decimal.Zero); err == nil {
		t.Error("a day before the first NAV accrued; want an error")
	}
	if _, err := NewNAVSeries([]NAVPoint{{date(2026, 4, 13), fund.MustNAV("1")}, {date(2026, 4, 13), fund.MustNAV("2")}}); err == nil {
		t.Error("two NAVs on one day accepted")
	}
}

// Slabs: the band the AUM is in sets the rate for the whole AUM.
func TestSlabs(t *testing.T) {
	tb := mustTable(t, Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), Slabs: []Slab{
		{d("0"), d("1.00")}, {d("1000000"), d("0.90")}, {d("50000000"), d("0.75")}}})
	for _, c := range []struct{ aum, want string }{
		{"0", "1.00"}, {"999999.99", "1.00"}, {"1000000", "0.90"}, {"49999999.99", "0.90"}, {"50000000", "0.75"},
	} {
		if got := tb.TrailPct("S1", Regular, date(2026, 2, 1), d(c.aum)); !got.Equal(d(c.want)) {
			t.Errorf("AUM %s: %s %%; want %s", c.aum, got, c.want)
		}
	}
	// 1,000,000 AUM at 0.90 % for a day: 1,000,000 × 0.90 / 36,500 = 24.6575… → 24.66.
	if got := DailyTrail(d("1000000"), d("0.90")).Amount(); got.String() != "24.66" {
		t.Errorf("a day at 0.90 %%: %s; want 24.66", got)
	}
	if got := tb.TrailPct("S1", Direct, date(2026, 2, 1), d("1")); !got.IsZero() {
		t.Errorf("direct: %s; want 0", got)
	}
}

func TestTableRefusals(t *testing.T) {
	ok := Structure{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("1")}
	bad := []struct {
		name string
		ss   []Structure
	}{
		{"two on one date", []Structure{ok, ok}},
		{"negative trail", []Structure{{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("-0.1")}}},
		{"over 100", []Structure{{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), TrailPct: d("100.01")}}},
		{"no date", []Structure{{Scheme: "S1", Plan: Regular, TrailPct: d("1")}}},
		{"no plan", []Structure{{Scheme: "S1", From: date(2026, 1, 1), TrailPct: d("1")}}},
		{"slab not from 0", []Structure{{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), Slabs: []Slab{{d("5"), d("1")}}}}},
		{"slabs descending", []Structure{{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), Slabs: []Slab{{d("0"), d("1")}, {d("0"), d("1")}}}}},
		{"upfront without period", []Structure{{Scheme: "S1", Plan: Regular, From: date(2026, 1, 1), UpfrontPct: d("1")}}},
	}
	for _, c := range bad {
		if _, err := NewTable(c.ss); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// An upfront is clawed back pro rata (units taken, unexpired days), FIFO.
func TestClawbackHandComputed(t *testing.T) {
	s := Structure{Scheme: "S1", Plan: Regular, From: date(2024, 1, 1), UpfrontPct: d("1.00"), UpfrontMaxSIP: amt("3000.00"), ClawbackDays: 365}
	// 1 % of a 3,000.00 instalment: 30.00.
	if up := Upfront(s, amt("3000.00")); up.String() != "30.00" {
		t.Fatalf("upfront %s; want 30.00", up)
	}
	for _, c := range []struct {
		newInv bool
		inst   string
		plan   Plan
		want   bool
	}{{true, "3000.00", Regular, true}, {true, "3000.01", Regular, false}, {false, "500.00", Regular, false}, {true, "500.00", Direct, false}} {
		st := s
		st.Plan = c.plan
		if got := UpfrontEligible(st, c.newInv, amt(c.inst)); got != c.want {
			t.Errorf("eligible(new=%v, %s, %s) = %v; want %v", c.newInv, c.inst, c.plan, got, c.want)
		}
	}
	lots := []Lot{
		{ID: "L0", Date: date(2025, 1, 1), Units: units("100.000"), Remaining: units("100.000"), Upfront: amt("30.00"), ClawbackDays: 365},
		{ID: "L1", Date: date(2026, 1, 1), Units: units("300.000"), Remaining: units("300.000"), Upfront: amt("30.00"), ClawbackDays: 365},
		{ID: "L2", Date: date(2026, 2, 1), Units: units("290.000"), Remaining: units("290.000"), Upfront: amt("30.00"), ClawbackDays: 365},
	}
	// 2-Mar-2026, 250 units: L0 gives 100 (its period ended 1-Jan-2026: no
	// line), L1 gives 150 of 300 with 306 days of its period left
	// (2-Mar-2026 → 1-Jan-2027: 30 to 1-Apr, then 30+31+30+31+31+30+31+30+31
	// for Apr..Dec = 305): 30 × 150/300 × 305/365 = 4,575/365 = 12.5342… → 12.53.
	left, lines, err := Clawback(lots, date(2026, 3, 2), units("250.000"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].LotID != "L1" || lines[0].UnexpiredDays != 305 || lines[0].Amount.String() != "12.53" {
		t.Fatalf("first redemption: %+v; want one L1 line, 305 days, 12.53", lines)
	}
	if !left[0].Remaining.IsZero() || left[1].Remaining.String() != "150.000" || left[2].Remaining.String() != "290.000" {
		t.Fatalf("lots left %v", left)
	}
	// Again 250 units the same day: L1's last 150 (12.53 again) and 100 of
	// L2's 290 with 336 days left (305 + 31 in Jan-2027):
	// 30 × 100/290 × 336/365 = 1,008,000/105,850 = 9.5229… → 9.52.
	left, lines, err = Clawback(left, date(2026, 3, 2), units("250.000"))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Amount.String() != "12.53" || lines[1].LotID != "L2" || lines[1].UnexpiredDays != 336 || lines[1].Amount.String() != "9.52" {
		t.Fatalf("second redemption: %+v; want 12.53 (L1) and 9.52 (L2, 336 days)", lines)
	}
	if _, _, err := Clawback(left, date(2026, 3, 2), units("190.001")); !errors.Is(err, ErrNotEnoughUnits) {
		t.Errorf("over-redemption: %v; want ErrNotEnoughUnits", err)
	}
	// After the period (1-Feb-2027 is L2's last day + 1): no clawback.
	if _, lines, _ := Clawback(left, date(2027, 2, 1), units("10.000")); len(lines) != 0 {
		t.Errorf("after the period: %+v; want none", lines)
	}
}

// GST and TDS at both 194H rates; every amount rounded half-up once.
func TestSettleHandComputed(t *testing.T) {
	before, after := date(2024, 9, 30), date(2024, 10, 1)
	cases := []struct {
		name                       string
		payee                      Payee
		on                         fund.Date
		trail, up, ev, claw        string
		gross, cgst, sgst, igst    string
		tds, net, carried, tdsRate string
	}{
		// IGST 18 % of 10,000 = 1,800; TDS 5 % = 500; 10,000 + 1,800 − 500.
		{"registered, 5 %", Payee{"A", true, false}, before, "10000.00", "0.00", "0.00", "0.00",
			"10000.00", "0.00", "0.00", "1800.00", "500.00", "11300.00", "0.00", "5"},
		// From 1-Oct-2024: TDS 2 % = 200; 10,000 + 1,800 − 200.
		{"registered, 2 %", Payee{"A", true, false}, after, "10000.00", "0.00", "0.00", "0.00",
			"10000.00", "0.00", "0.00", "1800.00", "200.00", "11600.00", "0.00", "2"},
		// Intra-state: 9 % of 1,234.57 = 111.1113 → 111.11 twice; TDS 2 % =
		// 24.6914 → 24.69; 1,234.57 + 222.22 − 24.69 = 1,432.10.
		{"intra-state", Payee{"B", true, true}, after, "1234.57", "0.00", "0.00", "0.00",
			"1234.57", "111.11", "111.11", "0.00", "24.69", "1432.10", "0.00", "2"},
		// Unregistered: no GST; TDS 5 % of 1,234.57 = 61.7285 → 61.73; net 1,172.84.
		{"unregistered", Payee{"C", false, false}, before, "1234.57", "0.00", "0.00", "0.00",
			"1234.57", "0.00", "0.00", "0.00", "61.73", "1172.84", "0.00", "5"},
		// Half-up named: 2 % of 12.25 = 0.245 → 0.25 (half-even would give 0.24).
		{"tie goes up", Payee{"C", false, false}, after, "12.25", "0.00", "0.00", "0.00",
			"12.25", "0.00", "0.00", "0.00", "0.25", "12.00", "0.00", "2"},
		// Trail 8 + upfront 30 + first-SIP 100 − clawback 12.58 = 125.42;
		// IGST 22.5756 → 22.58; TDS 2 % 2.5084 → 2.51; 125.42 + 22.58 − 2.51 = 145.49.
		{"all components", Payee{"A", true, false}, after, "8.00", "30.00", "100.00", "12.58",
			"125.42", "0.00", "0.00", "22.58", "2.51", "145.49", "0.00", "2"},
		// Clawback beyond the month's trail: −2.58 carried, nothing paid or taxed.
		{"negative carried", Payee{"A", true, false}, after, "10.00", "0.00", "0.00", "12.58",
			"-2.58", "0.00", "0.00", "0.00", "0.00", "0.00", "-2.58", "2"},
	}
	for _, c := range cases {
		s := Settle(c.payee, c.on, amt(c.trail), amt(c.up), amt(c.ev), amt(c.claw))
		got := []string{s.Gross.String(), s.CGST.String(), s.SGST.String(), s.IGST.String(), s.TDS.String(), s.Net.String(), s.Carried.String(), s.TDSPct.String()}
		want := []string{c.gross, c.cgst, c.sgst, c.igst, c.tds, c.net, c.carried, c.tdsRate}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: [gross cgst sgst igst tds net carried rate] = %v; want %v", c.name, got, want)
				break
			}
		}
		if !s.GST.Equal(s.CGST.Add(s.SGST).Add(s.IGST)) {
			t.Errorf("%s: GST %s is not the sum of its lines", c.name, s.GST)
		}
	}
}

func TestTDSRateBoundary(t *testing.T) {
	for _, c := range []struct {
		on   fund.Date
		want string
	}{{date(2020, 1, 1), "5"}, {date(2024, 9, 30), "5"}, {date(2024, 10, 1), "2"}, {date(2027, 1, 1), "2"}} {
		if got := TDSPctOn(c.on); got.String() != c.want {
			t.Errorf("TDS on %s: %s; want %s", c.on, got, c.want)
		}
	}
}

// Two months of one payee: April's clawback beyond its trail is carried and
// set off in May before GST and TDS; a May still short carries the rest.
func TestSettleCarriedAcrossMonths(t *testing.T) {
	a := Payee{"A", true, false}
	// April: 10.00 − 12.58 = −2.58 carried.
	apr, err := SettleCarried(a, date(2026, 5, 7), amt("10.00"), amt("0.00"), amt("0.00"), amt("12.58"), amt("0.00"))
	if err != nil || apr.Carried.String() != "-2.58" || !apr.Net.IsZero() || !apr.GST.IsZero() || !apr.TDS.IsZero() {
		t.Fatalf("April %+v %v; want −2.58 carried, nothing paid", apr, err)
	}
	cases := []struct {
		name, trail                    string
		gross, igst, tds, net, carried string
	}{
		// 20.00 − 2.58 = 17.42; IGST 18 % = 3.1356 → 3.14; TDS 2 % = 0.3484
		// → 0.35; net 17.42 + 3.14 − 0.35 = 20.21.
		{"set off", "20.00", "17.42", "3.14", "0.35", "20.21", "0.00"},
		// 1.00 − 2.58 = −1.58: still short, carried again.
		{"still short", "1.00", "-1.58", "0.00", "0.00", "0.00", "-1.58"},
		// 2.58 − 2.58 = 0: nothing paid, nothing carried.
		{"exactly", "2.58", "0.00", "0.00", "0.00", "0.00", "0.00"},
	}
	for _, c := range cases {
		may, err := SettleCarried(a, date(2026, 6, 7), amt(c.trail), amt("0.00"), amt("0.00"), amt("0.00"), apr.Carried)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{may.Gross.String(), may.IGST.String(), may.TDS.String(), may.Net.String(), may.Carried.String(), may.BroughtForward.String()}
		want := []string{c.gross, c.igst, c.tds, c.net, c.carried, "-2.58"}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: [gross igst tds net carried bf] %v; want %v", c.name, got, want)
				break
			}
		}
	}
	if _, err := SettleCarried(a, date(2026, 6, 7), amt("1.00"), amt("0.00"), amt("0.00"), amt("0.00"), amt("0.01")); err == nil {
		t.Error("a positive amount brought forward: settled; want refused")
	}
}
