package commission

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func hm(key string, days int, unitDays, aumDays, basis string, direct bool) HoldingMonth {
	return HoldingMonth{Key: key, Days: days, UnitDays: d(unitDays), AUMDays: d(aumDays), Basis: d(basis), Direct: direct}
}

func TestExplainHandComputed(t *testing.T) {
	cases := []struct {
		name       string
		prev, cur  []HoldingMonth
		want, diff string // "cause=amount …" in order
	}{
		{
			// 1,000 units at 10, 1 %: March 31 × 10,000 = 310,000 → 8.49,
			// April 300,000 → 8.22; one day fewer: −10,000/36,500 → −0.27.
			"a shorter month",
			[]HoldingMonth{hm("F/S", 31, "31000", "310000", "310000", false)},
			[]HoldingMonth{hm("F/S", 30, "30000", "300000", "300000", false)},
			"days_in_month=-0.27", "-0.27",
		},
		{
			// April: 1,000 units to 15-Apr, 500 after, NAV 10, 1 %: Y 22,500,
			// basis 225,000 → 6.16. May: 500 units, NAV 11, 1 % to 15-May and
			// 0.8 % after: Y 15,500, AUM-days 170,500, basis 15 × 5,500 + 16 ×
			// 4,400 = 152,900 → 4.19. Steps from 30 × 750 × 10 × 1 = 225,000:
			// days 31 × 750 × 10 = 232,500 (+0.2054 → 0.21); units 31 × 500 ×
			// 10 = 155,000 (−2.1232 → −2.12); NAV × 11 = 170,500 (+0.4246 →
			// 0.42); rate → 152,900 (−0.4821 → −0.48). −1.97 = 4.19 − 6.16.
			"redemption, NAV and rate",
			[]HoldingMonth{hm("F/S", 30, "22500", "225000", "225000", false)},
			[]HoldingMonth{hm("F/S", 31, "15500", "170500", "152900", false)},
			"days_in_month=0.21 units=-2.12 nav_moves=0.42 rate_changes=-0.48", "-1.97",
		},
		{
			// Regular all April (300,000 → 8.22) plus a holding gone in May
			// (73,000 → −2.00); in May direct from the 11th (10 × 10,000 =
			// 100,000 → 2.74) plus a new one (36,500 → +1.00). Days: 310,000
			// − 300,000 → +0.27; the switch: 100,000 − 310,000 → −5.75.
			// 3.74 − 10.22 = −6.48.
			"switch to direct, new and gone holdings",
			[]HoldingMonth{hm("F/S", 30, "30000", "300000", "300000", false), hm("G/S", 30, "7300", "73000", "73000", false)},
			[]HoldingMonth{hm("F/S", 31, "31000", "310000", "100000", true), hm("H/S", 31, "3650", "36500", "36500", false)},
			"new_holdings=1.00 redeemed_in_full=-2.00 days_in_month=0.27 switch_to_direct=-5.75", "-6.48",
		},
	}
	for _, c := range cases {
		e := Explain(c.prev, c.cur)
		var got []string
		for _, x := range e.Components {
			got = append(got, x.Cause+"="+x.Amount.String())
		}
		if strings.Join(got, " ") != c.want || e.Difference.String() != c.diff {
			t.Errorf("%s: %v, difference %s; want %s and %s", c.name, got, e.Difference, c.want, c.diff)
		}
	}
}

// Property: over random months of random holdings, the components' amounts
// add up to the difference of the two rounded months exactly, and their
// exact values to the exact difference (big.Rat, from the bases directly).
func TestPropertyExplainSumsToDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 31))
	month := func(n int) []HoldingMonth {
		var out []HoldingMonth
		for i := 0; i < n; i++ {
			if rng.IntN(4) == 0 {
				continue // this holding did not accrue this month
			}
			days := 28 + rng.IntN(4)
			u := decimal.New(int64(rng.IntN(10_000_000)+1), -3).Mul(decimal.New(int64(days), 0))
			aum := u.Mul(decimal.New(int64(rng.IntN(1_000_000)+10_000), -4))
			basis := aum.Mul(decimal.New(int64(rng.IntN(200)), -2))
			out = append(out, HoldingMonth{Key: fmt.Sprint(i), Days: days, UnitDays: u, AUMDays: aum, Basis: basis, Direct: rng.IntN(5) == 0})
		}
		return out
	}
	for iter := 0; iter < 500; iter++ {
		n := 1 + rng.IntN(30)
		prev, cur := month(n), month(n)
		e := Explain(prev, cur)
		var total, exact = decimal.Zero, new(big.Rat)
		for _, c := range e.Components {
			total = total.Add(c.Amount.Decimal())
			if c.exact != nil {
				exact.Add(exact, c.exact)
			}
		}
		if !total.Equal(e.Difference.Decimal()) {
			t.Fatalf("iter %d: components sum %s; difference %s", iter, total, e.Difference)
		}
		want := new(big.Rat)
		for _, h := range cur {
			want.Add(want, h.Basis.Rat())
		}
		for _, h := range prev {
			want.Sub(want, h.Basis.Rat())
		}
		want.Quo(want, big.NewRat(36500, 1))
		if exact.Cmp(want) != 0 {
			t.Fatalf("iter %d: exact components %s; want %s", iter, exact.FloatString(12), want.FloatString(12))
		}
	}
}
