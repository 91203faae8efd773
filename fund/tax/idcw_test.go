package tax_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/moneytest"
)

// 194K across a year, credit by credit, with the threshold in force on each
// date; 196A for a non-resident. Expected TDS by hand in the comments.
func TestTDSOnIDCW(t *testing.T) {
	type credit struct {
		on                string
		resident          bool
		prior, gross, tds string
		section           string
	}
	for _, c := range []credit{
		// FY 2024-25, threshold ₹5,000 (exceeds, not reaches):
		{"2024-06-10", true, "0.00", "3000.00", "0.00", "194K"},      // 3000 ≤ 5000
		{"2024-09-10", true, "3000.00", "2000.00", "0.00", "194K"},   // 5000 ≤ 5000: not exceeding
		{"2024-12-10", true, "5000.00", "1234.57", "123.46", "194K"}, // 6234.57 > 5000: 10 % × 1234.57 = 123.457 → 123.46
		{"2025-03-31", true, "6234.57", "100.00", "10.00", "194K"},   // still FY 2024-25, over: 10.00
		// FY 2025-26, threshold ₹10,000 from 1-Apr-2025:
		{"2025-04-01", true, "0.00", "6000.00", "0.00", "194K"},    // 6000 would have crossed ₹5,000; not ₹10,000
		{"2025-07-01", true, "6000.00", "4000.00", "0.00", "194K"}, // 10000 ≤ 10000
		{"2025-10-01", true, "10000.00", "0.05", "0.01", "194K"},   // 10000.05 > 10000: 10 % × 0.05 = 0.005 → 0.01 (half up)
		// NRI, 196A: 20 % + 4 % cess on it = 20.8 % from the first rupee
		{"2025-05-02", false, "0.00", "1000.00", "208.00", "196A"},  // 1000 × 0.208
		{"2025-05-02", false, "1000.00", "333.33", "69.33", "196A"}, // 333.33 × 0.208 = 69.33264 → 69.33
	} {
		got, err := tax.TDSOn(tax.TDSRules, c.resident, dt(c.on), am(c.prior), am(c.gross))
		if err != nil {
			t.Fatal(err)
		}
		wantNet := am(c.gross).Sub(am(c.tds))
		if got.Tax.String() != c.tds || got.Section != c.section || !got.Net.Equal(wantNet) {
			t.Errorf("%s resident=%v prior %s gross %s: tds %s %s net %s (%s), want %s %s net %s", c.on, c.resident, c.prior, c.gross,
				got.Tax, got.Section, got.Net, got.Why, c.tds, c.section, wantNet)
		}
	}
	if _, err := tax.TDSOn(tax.TDSRules, true, dt("2019-05-01"), am("0"), am("100000.00")); err == nil {
		t.Error("no IDCW TDS before 1-Apr-2020 (dividends were taxed at the fund, DDT)")
	}
}

// A reinvestment whose ex-date is a holiday (Independence Day, Friday
// 15-Aug-2025): the ex-NAV is Monday 18-Aug-2025's. Net 1111.11 at 23.4567:
// duty 1111.11 × 0.005/100.005 = 0.05555… → 0.06; 1111.05 / 23.4567 =
// 47.36599… → 47.365 units (down), checked against moneytest's big.Rat route.
func TestReinvestOnAHolidayExDate(t *testing.T) {
	cal := fund.HolidayCalendar(dt("2025-08-15"), dt("2025-08-27"))
	navDate, err := tax.ExNAVDate(dt("2025-08-15"), cal)
	if err != nil || navDate != dt("2025-08-18") {
		t.Fatalf("ex-NAV date %s %v, want 2025-08-18", navDate, err)
	}
	r := tax.Reinvest(am("1111.11"), fund.MustNAV("23.4567"), 3, navDate)
	duty, units := moneytest.ExpectPurchase("1111.11", "23.4567", 3)
	if r.Duty.String() != "0.06" || r.Invested.String() != "1111.05" || r.Units.String() != "47.365" || duty != "0.06" || units != "47.365" || r.NAVDate != navDate {
		t.Errorf("reinvestment %+v (route: %s %s)", r, duty, units)
	}
}

func TestDeclaration(t *testing.T) {
	dec := tax.Declaration{Scheme: "100218", RecordDate: dt("2025-08-14"), ExDate: dt("2025-08-15"), PerUnit: decimal.RequireFromString("1.25")}
	if err := dec.Check(); err != nil {
		t.Fatal(err)
	}
	// 1234.567 × 1.25 = 1543.20875 → 1543.21
	if g := dec.Gross(fund.MustUnits("1234.567", 3)); g.String() != "1543.21" {
		t.Errorf("gross %s", g)
	}
	for _, bad := range []tax.Declaration{
		{RecordDate: dec.RecordDate, ExDate: dec.ExDate, PerUnit: dec.PerUnit},
		{Scheme: "x", RecordDate: dec.RecordDate, ExDate: dt("2025-08-13"), PerUnit: dec.PerUnit},
		{Scheme: "x", RecordDate: dec.RecordDate, ExDate: dec.ExDate, PerUnit: decimal.Zero},
		{Scheme: "x", RecordDate: dec.RecordDate, ExDate: dec.ExDate, PerUnit: decimal.RequireFromString("0.00001")},
	} {
		if bad.Check() == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// The Form 16A summary: FY 2025-26's credits by AMC and section; the
// FY 2024-25 credit is left out. Alpha 194K: 0 + 50.00 on 6000 + 500;
// Alpha 196A: 208.00 on 1000; Beta 194K: 0 on 200.
func TestSummariseTDS(t *testing.T) {
	mk := func(on, amc string, resident bool, prior, gross string) tax.Credit {
		x, err := tax.TDSOn(tax.TDSRules, resident, dt(on), am(prior), am(gross))
		if err != nil {
			t.Fatal(err)
		}
		return tax.Credit{Date: dt(on), AMC: amc, TDS: x}
	}
	s := tax.SummariseTDS(tax.FY{Start: 2025}, []tax.Credit{
		mk("2025-03-31", "Alpha", true, "9000.00", "1000.00"), // FY 2024-25: not in the summary
		mk("2025-04-10", "Alpha", true, "0.00", "6000.00"),    // 0
		mk("2025-06-10", "Alpha", true, "10000.00", "500.00"), // 50.00
		mk("2025-06-10", "Beta", true, "0.00", "200.00"),      // 0
		mk("2025-07-01", "Alpha", false, "0.00", "1000.00"),   // 208.00
	})
	want := []tax.TDSLine{
		{AMC: "Alpha", Section: "194K", Credits: 2, Gross: am("6500.00"), Tax: am("50.00")},
		{AMC: "Beta", Section: "194K", Credits: 1, Gross: am("200.00"), Tax: am("0.00")},
		{AMC: "Alpha", Section: "196A", Credits: 1, Gross: am("1000.00"), Tax: am("208.00")},
	}
	if len(s.Lines) != len(want) || s.Gross.String() != "7700.00" || s.Tax.String() != "258.00" {
		t.Fatalf("%+v", s)
	}
	for i, w := range want {
		g := s.Lines[i]
		if g.AMC != w.AMC || g.Section != w.Section || g.Credits != w.Credits || !g.Gross.Equal(w.Gross) || !g.Tax.Equal(w.Tax) {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
	}
}
