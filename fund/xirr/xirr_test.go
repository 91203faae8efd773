package xirr

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// cf is a cash flow written compactly: "2026-08-21", "-1000.50".
func cf(date, amount string) CashFlow {
	d, err := fund.ParseISODate(date)
	if err != nil {
		panic(err)
	}
	return CashFlow{Date: d, Amount: decimal.RequireFromString(amount)}
}

// monthlyFlows returns n instalments of -amt on day `day` of consecutive
// months from y-m (the Python script's monthly()).
func monthlyFlows(y int, m time.Month, day, n int, amt string) []CashFlow {
	out := make([]CashFlow, 0, n)
	for i := range n {
		out = append(out, CashFlow{Date: fund.NewDate(y, m+time.Month(i), day), Amount: decimal.RequireFromString("-" + amt)})
	}
	return out
}

// weeklyFlows returns n instalments of -amt every 7 days from start.
func weeklyFlows(start fund.Date, n int, amt string) []CashFlow {
	out := make([]CashFlow, 0, n)
	for i := range n {
		out = append(out, CashFlow{Date: start.AddDays(7 * i), Amount: decimal.RequireFromString("-" + amt)})
	}
	return out
}

func join(parts ...[]CashFlow) []CashFlow {
	var out []CashFlow
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func idcwPayouts() []CashFlow {
	var out []CashFlow
	for y := 2022; y <= 2026; y++ {
		out = append(out, CashFlow{Date: fund.NewDate(y, time.March, 25), Amount: decimal.RequireFromString("6500")})
	}
	return out
}

// The expected rates were computed INDEPENDENTLY of this package by a
// Python 3 script kept outside the repository (/tmp/xirr_expect/xirr.py at the
// time of writing): Python's decimal module at 50 significant digits,
// NPV(r) = Σ Pᵢ·(1+r)^(−(dᵢ−d₀)/365) with Decimal's correctly rounded
// non-integral power, and plain bisection on r over [−0.999999, 1e7] until
// the bracket was narrower than 1e−18 (no Newton, no substitution), printed
// to 12 decimals. The same flows are built there by the same rules (monthly
// instalments on a fixed day of month, weekly every 7 days).
func TestXIRRTable(t *testing.T) {
	cases := []struct {
		name  string
		flows []CashFlow
		want  string
	}{
		// By hand: 1000 × 1.10 after exactly 365 days.
		{"one_year_10pct", []CashFlow{cf("2025-01-01", "-1000"), cf("2026-01-01", "1100")}, "0.100000000000"},
		// By hand: 366 days (2024 is a leap year), so r = 1.1^(365/366) − 1.
		{"leap_year_366_days", []CashFlow{cf("2024-01-01", "-1000"), cf("2025-01-01", "1100")}, "0.099713585934"},
		// The example of Excel's XIRR documentation (Excel shows 0.373362535).
		{"excel_doc_example", []CashFlow{cf("2008-01-01", "-10000"), cf("2008-03-01", "2750"), cf("2008-10-30", "4250"), cf("2009-02-15", "3250"), cf("2009-04-01", "2750")}, "0.373362533519"},
		// Same flows, not sorted: d₀ is the earliest date, not the first flow.
		{"excel_doc_example_unsorted", []CashFlow{cf("2008-10-30", "4250"), cf("2009-04-01", "2750"), cf("2008-01-01", "-10000"), cf("2009-02-15", "3250"), cf("2008-03-01", "2750")}, "0.373362533519"},
		// By hand: −10 % in exactly 365 days.
		{"loss_10pct", []CashFlow{cf("2025-03-10", "-1000"), cf("2026-03-10", "900")}, "-0.100000000000"},
		// By hand: doubled in 730 days → √2 − 1.
		{"double_in_730_days", []CashFlow{cf("2022-06-01", "-1000"), cf("2024-05-31", "2000")}, "0.414213562373"},
		// By hand: 1.01^(365/30) − 1.
		{"thirty_days_1pct", []CashFlow{cf("2026-01-05", "-10000"), cf("2026-02-04", "10100")}, "0.128695294159"},
		// By hand: 10^(365/100) − 1, a very large rate.
		{"ten_x_in_100_days", []CashFlow{cf("2026-01-01", "-100"), cf("2026-04-11", "1000")}, "4465.835921509631"},
		// By hand: 1/1000 − 1 after 365 days.
		{"near_total_loss", []CashFlow{cf("2025-01-01", "-1000"), cf("2026-01-01", "1")}, "-0.999000000000"},
		// By hand: 1.001^365 − 1.
		{"one_day_0_1pct", []CashFlow{cf("2026-08-20", "-1000"), cf("2026-08-21", "1001")}, "0.440251313430"},
		// By hand: money back without gain → 0.
		{"zero_return", []CashFlow{cf("2024-04-01", "-1000"), cf("2025-04-01", "500"), cf("2026-04-01", "500")}, "0.000000000000"},
		// Signs reversed (received first): the same rate.
		{"received_first_then_paid", []CashFlow{cf("2025-01-01", "1000"), cf("2026-01-01", "-1100")}, "0.100000000000"},
		{"same_day_flows_netted", []CashFlow{cf("2025-01-01", "-600"), cf("2025-01-01", "-400"), cf("2025-07-01", "-500"), cf("2026-01-01", "1700"), cf("2026-01-01", "10")}, "0.169041729731"},
		{"irregular_purchases_redemptions", []CashFlow{cf("2021-02-15", "-25000"), cf("2021-09-03", "-10000.50"), cf("2022-03-28", "8000"), cf("2023-01-17", "-15000"), cf("2024-06-04", "12000.25"), cf("2026-08-21", "41234.56")}, "0.055233267825"},
		{"lump_sum_with_idcw_payouts", join([]CashFlow{cf("2021-04-01", "-100000")}, idcwPayouts(), []CashFlow{cf("2026-08-21", "98765.43")}), "0.058973729356"},
		{"paise_amounts", []CashFlow{cf("2023-11-30", "-123456.78"), cf("2024-02-29", "-0.01"), cf("2025-02-28", "-7890.12"), cf("2026-08-21", "150000.99")}, "0.051327612244"},
		{"leap_day_2020", []CashFlow{cf("2020-02-29", "-5000"), cf("2020-03-01", "-5000"), cf("2021-02-28", "10750")}, "0.075106645687"},
		// 36 monthly SIP instalments of 5000 on the 5th, valued on the 37th month.
		{"sip_36m_gain", join(monthlyFlows(2023, time.January, 5, 36, "5000"), []CashFlow{cf("2026-01-05", "215000")}), "0.118474313937"},
		{"sip_12m_loss", join(monthlyFlows(2025, time.January, 10, 12, "10000"), []CashFlow{cf("2026-01-10", "112000")}), "-0.120245611202"},
		// 121 flows: ten years of monthly SIP.
		{"sip_120m_long", join(monthlyFlows(2016, time.August, 1, 120, "2500"), []CashFlow{cf("2026-08-21", "612345.67")}), "0.135327557381"},
		{"sip_weekly_52", join(weeklyFlows(fund.NewDate(2025, time.August, 22), 52, "1000"), []CashFlow{cf("2026-08-21", "55500")}), "0.135258204581"},
		{"sip_with_partial_redemption", join(monthlyFlows(2024, time.January, 15, 24, "3000"), []CashFlow{cf("2025-06-20", "20000"), cf("2026-01-15", "60000")}), "0.121830305491"},
		// Several sign changes; the script's bisection found this root.
		{"multi_sign_changes_unique_root", []CashFlow{cf("2022-01-01", "-1000"), cf("2022-07-01", "300"), cf("2023-01-01", "-200"), cf("2023-07-01", "400"), cf("2024-01-01", "700")}, "0.120492098856"},
		{"deep_loss_short", []CashFlow{cf("2026-01-01", "-1000"), cf("2026-03-01", "500")}, "-0.986269201638"},
	}
	tol := decimal.New(1, -6)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Rate(c.flows)
			if err != nil {
				t.Fatalf("XIRR: %v", err)
			}
			want := decimal.RequireFromString(c.want)
			if got.Sub(want).Abs().GreaterThan(tol) {
				t.Errorf("XIRR = %s, want %s (±1e-6)", got, c.want)
			}
			if got.Exponent() < -6 {
				t.Errorf("XIRR = %s has more than 6 decimals", got)
			}
		})
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
}

func TestXIRRErrors(t *testing.T) {
	cases := []struct {
		name  string
		flows []CashFlow
		want  error
	}{
		{"no_flows", nil, ErrNotEnoughCashFlows},
		{"one_flow", []CashFlow{cf("2025-01-01", "-1000")}, ErrNotEnoughCashFlows},
		{"all_negative", []CashFlow{cf("2025-01-01", "-1000"), cf("2025-02-01", "-1000"), cf("2026-01-01", "-5")}, ErrNotEnoughCashFlows},
		{"all_positive", []CashFlow{cf("2025-01-01", "1000"), cf("2026-01-01", "1100")}, ErrNotEnoughCashFlows},
		{"negative_and_zero", []CashFlow{cf("2025-01-01", "-1000"), cf("2026-01-01", "0")}, ErrNotEnoughCashFlows},
		// Both signs but on one date: no rate discounts anything.
		{"single_date", []CashFlow{cf("2025-01-01", "-1000"), cf("2025-01-01", "1100")}, ErrNoRate},
		// −1000 + 2000x − 1100x² (x = 1/(1+r) per year) has no real root.
		{"no_real_root", []CashFlow{cf("2024-01-01", "-1000"), cf("2025-01-01", "2000"), cf("2026-01-01", "-1100")}, ErrNoRate},
		// Nets to nothing at d₀ and at one later date: no rate.
		{"netted_away", []CashFlow{cf("2024-01-01", "-1000"), cf("2024-01-01", "1000"), cf("2025-01-01", "5"), cf("2025-01-01", "-5")}, ErrNoRate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Rate(c.flows)
			if !errors.Is(err, c.want) {
				t.Fatalf("XIRR = %s, %v; want error %v", got, err, c.want)
			}
		})
	}
}

// The bracket promised in the doc comment: w = 0.96 and w = 1.03 correspond
// to r ≈ 2.9e6 and r ≈ −0.99998, so rates of −99.99 % and 1e6 are inside.
// The −0.9999 case (like near_total_loss in the table) is one where Newton
// from 10 % leaves the bracket and the bracketed fallback finds the rate.
func TestXIRRBracketCoversRange(t *testing.T) {
	// r = −0.9999: 1000 → 0.1 in a year.
	got, err := Rate([]CashFlow{cf("2025-01-01", "-1000"), cf("2026-01-01", "0.1")})
	if err != nil || !got.Equal(decimal.RequireFromString("-0.9999")) {
		t.Errorf("r = −0.9999: got %s, %v", got, err)
	}
	// r = 1e6: 1 → 1000001 in a year.
	got, err = Rate([]CashFlow{cf("2025-01-01", "-1"), cf("2026-01-01", "1000001")})
	if err != nil || !got.Equal(decimal.RequireFromString("1000000")) {
		t.Errorf("r = 1e6: got %s, %v", got, err)
	}
}

// 1000 → 100000 in 10 days is 100^36.5 − 1 ≈ 1e73 a year, far outside the
// bracket: Newton leaves it, the bracketed search finds no sign change, and
// the answer is ErrNoRate, never NaN or a wrong number.
func TestXIRROutOfRange(t *testing.T) {
	_, err := Rate([]CashFlow{cf("2025-01-01", "-1000"), cf("2025-01-11", "100000")})
	if !errors.Is(err, ErrNoRate) {
		t.Fatalf("err = %v, want ErrNoRate", err)
	}
}

// The bracketed solver alone agrees with Newton on the table's cases.
func TestXIRRBracketedAgreesWithNewton(t *testing.T) {
	flows := join(monthlyFlows(2016, time.August, 1, 120, "2500"), []CashFlow{cf("2026-08-21", "612345.67")})
	terms := xirrTerms(flows, flows[0].Date)
	w, err := xirrBracketed(terms)
	if err != nil {
		t.Fatal(err)
	}
	r := xirrFloat(1)
	r.Quo(r, w)
	r = powInt(xirrFloat(0), r, 365)
	r.Sub(r, xirrFloat(1))
	if got := r.Text('f', 9); got != "0.135327557" {
		t.Errorf("bracketed r = %s, want 0.135327557", got)
	}
}

func sip100() []CashFlow {
	return join(monthlyFlows(2018, time.March, 7, 99, "1500"), []CashFlow{cf("2026-08-21", "250000")})
}

// BenchmarkXIRR100 times XIRR of a 100-flow SIP (about 0.3 ms on a 2-core
// VM); speed lives here, not in a unit test's clock.
func BenchmarkXIRR100(b *testing.B) {
	flows := sip100()
	for b.Loop() {
		if _, err := Rate(flows); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleRate() {
	r, err := Rate([]CashFlow{
		{Date: fund.NewDate(2025, time.January, 1), Amount: decimal.RequireFromString("-1000")},
		{Date: fund.NewDate(2026, time.January, 1), Amount: decimal.RequireFromString("1100")},
	})
	fmt.Println(r, err)
	// Output: 0.1 <nil>
}
