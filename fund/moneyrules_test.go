package fund

import (
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

// The platform's one NAV rule: a published value is taken half-up to 4
// decimals. The expected values are the published digits rounded by hand.
func TestAppliedNAV(t *testing.T) {
	cases := []struct{ published, want string }{
		{"12.345650", "12.3457"}, // the NAV: a tie at the 5th decimal goes up
		{"12.34565", "12.3457"},
		{"12.3456499999", "12.3456"}, // below the tie: down
		{"12.3456", "12.3456"},       // 4 decimals: as published
		{"10", "10.0000"},
		{"4531.73065", "4531.7307"},
		{"0.00005", "0.0001"}, // the smallest value that is still a NAV
	}
	for _, c := range cases {
		n, err := AppliedNAV(decimal.RequireFromString(c.published))
		if err != nil || n.String() != c.want {
			t.Errorf("AppliedNAV(%s) = %s, %v; want %s", c.published, n, err, c.want)
		}
	}
	for _, bad := range []string{"0.00004999", "0", "-1"} {
		if n, err := AppliedNAV(decimal.RequireFromString(bad)); err == nil {
			t.Errorf("AppliedNAV(%s) = %s, want an error (not a positive NAV)", bad, n)
		}
	}
}

// UnitsCovering: the fewest units at the scale whose value is at least the
// amount (rounded UP); UnitsAt rounds DOWN. Expected values by hand:
// 4531.7307 × 2.206 = 9996.9979242 < 10000 ≤ 4531.7307 × 2.207 = 10001.5296549.
func TestUnitsCovering(t *testing.T) {
	cases := []struct {
		amount, nav string
		scale       int32
		up, down    string
	}{
		{"10000.00", "4531.7307", 3, "2.207", "2.206"},
		{"10000.00", "1000.0000", 3, "10.000", "10.000"}, // exact: both the same
		{"10000.00", "1234.5678", 3, "8.101", "8.100"},   // 1234.5678 × 8.1 = 9999.99918
		{"4.53", "4531.7307", 3, "0.001", "0.000"},       // the issue's ₹4.53: down buys nothing
		{"100.00", "3.0000", 0, "34", "33"},
		{"100.00", "3.0000", 4, "33.3334", "33.3333"},
	}
	for _, c := range cases {
		a, n := MustAmount(c.amount), MustNAV(c.nav)
		up, down := a.UnitsCovering(n, c.scale), a.UnitsAt(n, c.scale)
		if up.String() != c.up || down.String() != c.down {
			t.Errorf("%s at %s scale %d: covering %s, at %s; want %s and %s", c.amount, c.nav, c.scale, up, down, c.up, c.down)
		}
		// units × NAV ≥ amount, and one step fewer is below it (unless exact).
		val := new(big.Rat).Mul(ratOf(up.Decimal()), ratOf(n.Decimal()))
		if val.Cmp(ratOf(a.Decimal())) < 0 {
			t.Errorf("%s units at %s are worth %s < %s", up, n, val.FloatString(6), a)
		}
	}
	if got, _ := UnitsFromDecimal(decimal.RequireFromString("1.2341"), 3, RoundUp); got.String() != "1.235" {
		t.Errorf("RoundUp 1.2341 → %s, want 1.235", got)
	}
	if RoundUp.String() != "up" {
		t.Errorf("RoundUp.String() = %q", RoundUp.String())
	}
}

// LotCost is computed from the lot as bought, never cut step by step. The
// issue's AF-17: ₹77,777.77 buys 3056.284 units; redeem 22, then 1. Step by
// step: 22 units take round(77777.77 × 22 / 3056.284) = 559.87 (exact
// 559.8657…), leaving 77217.90; 1 more takes round(77217.90 / 3034.284) =
// 25.45 (exact 25.4484…), leaving 77192.45. From the lot as bought:
// 77777.77 × 3033.284 / 3056.284 = 77192.45505… → 77192.46.
func TestLotCost(t *testing.T) {
	paid := MustAmount("77777.77")
	bought := MustUnits("3056.284", 3)
	cases := []struct {
		name, rem, want string
	}{
		{"nothing redeemed", "3056.284", "77777.77"},
		{"22 redeemed", "3034.284", "77217.90"},
		{"22 then 1 redeemed", "3033.284", "77192.46"},
		{"all redeemed", "0.000", "0.00"},
		{"a thousandth left", "0.001", "0.03"}, // 77777.77 / 3056284 = 0.02545… → 0.03
	}
	for _, c := range cases {
		got := LotCost(paid, bought, MustUnits(c.rem, 3))
		if got.String() != c.want {
			t.Errorf("%s: LotCost = %s, want %s", c.name, got, c.want)
		}
		l := Lot{Units: bought, Paid: paid, Remaining: MustUnits(c.rem, 3)}
		if !l.Cost().Equal(got) {
			t.Errorf("%s: Lot.Cost %s, LotCost %s", c.name, l.Cost(), got)
		}
	}
	// Half-up at an exact tie: 0.05 × 1 / 2 = 0.025 → 0.03.
	if got := LotCost(MustAmount("0.05"), MustUnits("2", 0), MustUnits("1", 0)); got.String() != "0.03" {
		t.Errorf("tie: %s, want 0.03", got)
	}
}

func ratOf(d decimal.Decimal) *big.Rat {
	r, ok := new(big.Rat).SetString(d.String())
	if !ok {
		panic(d.String())
	}
	return r
}
