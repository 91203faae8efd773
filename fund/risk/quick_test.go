package risk_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund/risk"
)

func TestQuickCAGRByHand(t *testing.T) {
	for _, c := range []struct {
		name             string
		from, to, nf, nt string
		want             string
	}{
		// 365 days: the ratio − 1
		{"one year", "2023-03-01", "2024-02-29", "120", "150", "0.25"},
		// 730 days: the square root of 1.21 = 1.1
		{"two years", "2021-01-01", "2023-01-01", "100", "121", "0.1"},
		// a tie at 8 places: 112.3456785/100 − 1 = 0.123456785 exactly, half-even keeps the even 8
		{"tie to even", "2022-01-01", "2023-01-01", "100", "112.3456785", "0.12345678"},
		// 0.123456775: the tie goes up to the even 8
		{"tie up", "2022-01-01", "2023-01-01", "100", "112.3456775", "0.12345678"},
		// 100 → 81 over 730 days: sqrt(0.81) − 1 = −0.1
		{"loss", "2021-01-01", "2023-01-01", "100", "81", "-0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := risk.QuickCAGR(risk.Point{Date: day(c.from), NAV: d(c.nf)}, risk.Point{Date: day(c.to), NAV: d(c.nt)})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(d(c.want)) {
				t.Errorf("QuickCAGR = %s, want %s", got, c.want)
			}
		})
	}
	if _, err := risk.QuickCAGR(risk.Point{Date: day("2024-01-02"), NAV: d("1")}, risk.Point{Date: day("2024-01-02"), NAV: d("2")}); err == nil {
		t.Error("a window of no days has a CAGR")
	}
}

// QuickCAGR is CAGR, digit for digit, on random pairs: windows of 1 to 3
// years (rolling returns) and a few short ones (huge CAGRs: the decimal
// route).
func TestQuickCAGREqualsCAGR(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 65))
	first := day("2018-01-01")
	for i := range 3000 {
		days := 350 + rng.IntN(800)
		if i%50 == 0 {
			days = 1 + rng.IntN(30)
		}
		a := risk.Point{Date: first.AddDays(rng.IntN(400)), NAV: decimal.New(int64(1+rng.IntN(5_000_000)), -4)}
		b := risk.Point{Date: a.Date.AddDays(days), NAV: decimal.New(int64(1+rng.IntN(5_000_000)), -4)}
		want, err := risk.CAGR([]risk.Point{a, b})
		if err != nil {
			t.Fatal(err)
		}
		got, err := risk.QuickCAGR(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("%s %s → %s %s: QuickCAGR %s, CAGR %s", a.Date, a.NAV, b.Date, b.NAV, got, want)
		}
	}
}

// A prepared series (NewQuick) gives CAGR's decimal for every pair of its
// points, digit for digit, and refuses a pair out of order as QuickCAGR
// does: 400 business-day-like NAVs over ~2 years, every 7th pair.
func TestQuickSeriesEqualsCAGR(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 21))
	var s []risk.Point
	dt, nav := day("2021-03-31"), int64(1_000_000)
	for range 400 {
		dt = dt.AddDays(1 + rng.IntN(3))
		nav = max(1, nav+nav*int64(rng.IntN(401)-195)/10000)
		s = append(s, risk.Point{Date: dt, NAV: decimal.New(nav, -4)})
	}
	q := risk.NewQuick(s)
	for i := 0; i < len(s); i += 7 {
		for j := i + 1; j < len(s); j += 7 {
			want, err := risk.CAGR([]risk.Point{s[i], s[j]})
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.CAGR(i, j)
			if err != nil || !got.Equal(want) {
				t.Fatalf("%d→%d: Quick %s (%v), CAGR %s", i, j, got, err, want)
			}
			u, ok, err := q.CAGRUnits(i, j)
			if err != nil || !ok || !decimal.New(u, -8).Equal(want) {
				t.Fatalf("%d→%d: CAGRUnits %d %v (%v), CAGR %s", i, j, u, ok, err, want)
			}
		}
	}
	if _, err := q.CAGR(5, 5); err == nil {
		t.Error("a window of no days has a CAGR")
	}
	if _, err := q.CAGR(6, 5); err == nil {
		t.Error("a window going back has a CAGR")
	}
	if _, _, err := q.CAGRUnits(6, 5); err == nil {
		t.Error("a window going back has CAGR units")
	}
	// 1 → 1,000,000 over 2 days: (10^6)^182.5 − 1, far beyond an int64 of 1e-8
	huge := risk.NewQuick([]risk.Point{{Date: day("2024-01-01"), NAV: d("1")}, {Date: day("2024-01-03"), NAV: d("1000000")}})
	if _, ok, err := huge.CAGRUnits(0, 1); ok || err != nil {
		t.Errorf("a CAGR of 10^1095 fits an int64 (%v)", err)
	}
}
