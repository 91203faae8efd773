package fund

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestAllotHand(t *testing.T) {
	cases := []struct {
		name                  string
		net, nav              string
		scale                 int32
		date                  Date
		kind                  TxKind
		duty, invested, units string
	}{
		// 9999.50 / 123.4567: ×80.996 = 9999.4988732, ×80.997 = 9999.6223299 → 80.996
		{"brief example", "10000.00", "123.4567", 3, afterDuty, Purchase, "0.50", "9999.50", "80.996"},
		// remainder 0.0011268 < 0.0123457 (one 4th-decimal step) → 80.9960
		{"scale 4", "10000.00", "123.4567", 4, afterDuty, Purchase, "0.50", "9999.50", "80.9960"},
		// 4999.75 / 45.6789: 45.6789 × 109 = 4979.0001, remainder 20.7499;
		// × 0.454 = 20.7382206, remainder 0.0116794 < 0.0456789 → 109.454
		{"SIP 5000", "5000.00", "45.6789", 3, afterDuty, SIP, "0.25", "4999.75", "109.454"},
		// 0.0116794: × 0.0002 = 0.00913578, remainder 0.00254362 < 0.00456789 → 109.4542
		{"SIP 5000 scale 4", "5000.00", "45.6789", 4, afterDuty, SIP, "0.25", "4999.75", "109.4542"},
		// 999.95 / 10.0000 = 99.995 exactly
		{"exact division", "1000.00", "10.0000", 3, afterDuty, SwitchIn, "0.05", "999.95", "99.995"},
		// 99.99 / 10 = 9.999 exactly
		{"IDCW reinvestment", "100.00", "10.0000", 3, afterDuty, IDCWReinvest, "0.00", "100.00", "10.000"},
		// 29.99 / 3 = 9.99666… → 9.996 (rounded down, not 9.997)
		{"rounds down, never up", "30.00", "3.0000", 3, afterDuty, Purchase, "0.00", "30.00", "10.000"},
		{"rounds down 2", "29.99", "3.0000", 3, afterDuty, Purchase, "0.00", "29.99", "9.996"},
		// stamp duty started on 1 July 2020
		{"30-Jun-2020: no duty", "10000.00", "123.4567", 3, NewDate(2020, time.June, 30), Purchase, "0.00", "10000.00", "81.000"},
		{"01-Jul-2020: duty", "10000.00", "123.4567", 3, NewDate(2020, time.July, 1), Purchase, "0.50", "9999.50", "80.996"},
		// 5000 − 4979.0001 = 20.9999; × 0.459 = 20.9666151, remainder 0.0332849 → 109.459
		{"2019 SIP: no duty", "5000.00", "45.6789", 3, NewDate(2019, time.December, 31), SIP, "0.00", "5000.00", "109.459"},
		// redemptions bear no duty: 10000 / 123.4567 = 81.00004… → 81.000
		{"redemption", "10000.00", "123.4567", 3, afterDuty, Redemption, "0.00", "10000.00", "81.000"},
		{"switch-out", "10000.00", "123.4567", 3, afterDuty, SwitchOut, "0.00", "10000.00", "81.000"},
		{"zero", "0.00", "123.4567", 3, afterDuty, Purchase, "0.00", "0.00", "0.000"},
		// 99999.99 − 5.00 = 99994.99; /1000 = 99.99499 → 99.994
		{"1 crore scale", "99999.99", "1000.0000", 3, afterDuty, Purchase, "5.00", "99994.99", "99.994"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Allot(MustAmount(c.net), MustNAV(c.nav), c.scale, c.date, c.kind)
			if got.Duty.String() != c.duty || got.Invested.String() != c.invested || got.Units.String() != c.units || got.Units.Scale() != c.scale {
				t.Errorf("Allot = duty %s invested %s units %s (scale %d); want %s %s %s",
					got.Duty, got.Invested, got.Units, got.Units.Scale(), c.duty, c.invested, c.units)
			}
		})
	}
}

func TestAllotPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"zero NAV":       func() { Allot(MustAmount("1"), NAV{}, 3, afterDuty, Purchase) },
		"invalid kind":   func() { Allot(MustAmount("1"), MustNAV("1"), 3, afterDuty, TxKind(0)) },
		"negative net":   func() { Allot(MustAmount("-1"), MustNAV("1"), 3, afterDuty, Purchase) },
		"negative scale": func() { Allot(MustAmount("1"), MustNAV("1"), -1, afterDuty, Purchase) },
		"huge scale":     func() { Allot(MustAmount("1"), MustNAV("1"), MaxUnitsScale+1, afterDuty, Purchase) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// Property, 20,000 seeded random cases (amounts from ₹0.01 to ₹10 crore,
// NAVs from 0.0100 to 99,999.9999, units scales 0-4, every kind, dates
// either side of 1-Jul-2020):
//   - net = invested + duty exactly;
//   - duty is the nearest paisa to net × 5/100005 (|100005·duty − 5·net| ≤
//     100005 × 0.005), or zero where none applies;
//   - units are never more than the exact value: units × NAV ≤ invested;
//   - and short of it by less than one step: (units + 10^−scale) × NAV > invested;
//   - so units × NAV + duty reconstructs net within one unit step × NAV + 0.01.
func TestAllotProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 20200701))
	half := decimal.RequireFromString("500.025") // 100005 × 0.005
	kinds := []TxKind{Purchase, SIP, SwitchIn, IDCWReinvest, Redemption, SwitchOut}
	for i := range 20000 {
		var paise int64
		switch rng.IntN(3) {
		case 0:
			paise = 1 + rng.Int64N(100_000) // up to ₹1,000
		case 1:
			paise = 1 + rng.Int64N(10_000_000) // up to ₹1 lakh
		default:
			paise = 1 + rng.Int64N(10_000_000_000) // up to ₹10 crore
		}
		net := AmountFromPaise(paise)
		var navTicks int64
		if rng.IntN(4) == 0 {
			navTicks = 100 + rng.Int64N(100_000) // 0.0100 .. 10.0099
		} else {
			navTicks = 100 + rng.Int64N(999_999_900) // up to 99,999.9999
		}
		nav, err := NAVFromDecimal(decimal.New(navTicks, -NAVScale), NoRounding)
		if err != nil {
			t.Fatal(err)
		}
		scale := int32(rng.IntN(5))
		date := NewDate(2019+rng.IntN(8), time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
		kind := kinds[rng.IntN(len(kinds))]

		a := Allot(net, nav, scale, date, kind)
		N, duty, inv, units, v := net.Decimal(), a.Duty.Decimal(), a.Invested.Decimal(), a.Units.Decimal(), nav.Decimal()
		fail := func(why string) {
			t.Fatalf("case %d: %s\n net %s nav %s scale %d %s %v → duty %s invested %s units %s", i, why, net, nav, scale, date, kind, a.Duty, a.Invested, a.Units)
		}
		if !inv.Add(duty).Equal(N) {
			fail("invested + duty != net")
		}
		if a.Units.Scale() != scale || units.Exponent() < -scale || a.Duty.Decimal().Exponent() < -AmountScale {
			fail("scale")
		}
		charged := kind.IssuesUnits() && !date.Before(StampDutyStart())
		if !charged && !duty.IsZero() {
			fail("duty where none applies")
		}
		if charged && duty.Mul(decimal.New(100005, 0)).Sub(N.Mul(decimal.New(5, 0))).Abs().GreaterThan(half) {
			fail("duty is not the nearest paisa")
		}
		if units.Mul(v).GreaterThan(inv) {
			fail("more units than paid for")
		}
		step := decimal.New(1, -scale)
		if !units.Add(step).Mul(v).GreaterThan(inv) {
			fail("units short by a whole step or more")
		}
		if N.Sub(units.Mul(v).Add(duty)).Abs().GreaterThan(step.Mul(v).Add(decimal.New(1, -2))) {
			fail("reconstruction off by more than a step × NAV + 0.01")
		}
	}
}
