package fund

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	ok := map[string]string{
		"1234.50":                 "1234.50",
		"1234.5":                  "1234.50",
		"1234":                    "1234.00",
		"1234.500":                "1234.50", // trailing zeros lose nothing
		"0":                       "0.00",
		"-0.01":                   "-0.01",
		"+5":                      "5.00",
		".5":                      "0.50",
		"10.":                     "10.00",
		"00012.30":                "12.30",
		"99999999999999999999.99": "99999999999999999999.99", // beyond int64 paise: still exact
	}
	for in, want := range ok {
		a, err := ParseAmount(in)
		if err != nil {
			t.Errorf("ParseAmount(%q): %v", in, err)
			continue
		}
		if a.String() != want {
			t.Errorf("ParseAmount(%q) = %s, want %s", in, a, want)
		}
	}
	for _, in := range []string{"", " ", "1234.505", "0.001", "1e3", "1E-2", "1,234.50", " 12", "12 ", "N.A.", ".", "-", "+", "1.2.3", "₹10", "0x10", "--1", "1-", "\u22121"} {
		if a, err := ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q) = %s, want an error", in, a)
		}
	}
	if _, err := ParseAmount("1234.505"); !errors.Is(err, ErrTooManyDecimals) {
		t.Errorf("ParseAmount(1234.505): %v, want ErrTooManyDecimals", err)
	}
}

func TestParseAmountRounded(t *testing.T) {
	cases := []struct {
		in   string
		mode RoundingMode
		want string
	}{
		{"1234.505", RoundHalfUp, "1234.51"},
		{"1234.505", RoundHalfEven, "1234.50"},
		{"1234.515", RoundHalfEven, "1234.52"},
		{"1234.505", RoundDown, "1234.50"},
		{"1234.5049999", RoundHalfUp, "1234.50"},
		{"1234.5050001", RoundHalfEven, "1234.51"},
		{"1234.509", RoundDown, "1234.50"},
		{"-1234.505", RoundHalfUp, "-1234.51"}, // half away from zero
		{"-1234.505", RoundHalfEven, "-1234.50"},
		{"-1234.509", RoundDown, "-1234.50"}, // toward zero
		{"0.004", RoundHalfUp, "0.00"},
		{"0.005", RoundHalfUp, "0.01"},
		{"1234.50", NoRounding, "1234.50"},
	}
	for _, c := range cases {
		a, err := ParseAmountRounded(c.in, c.mode)
		if err != nil {
			t.Errorf("%s %v: %v", c.in, c.mode, err)
			continue
		}
		if a.String() != c.want {
			t.Errorf("ParseAmountRounded(%q, %v) = %s, want %s", c.in, c.mode, a, c.want)
		}
	}
	if _, err := ParseAmountRounded("1.005", RoundingMode(42)); err == nil {
		t.Error("unknown rounding mode accepted")
	}
}

func TestAmountOps(t *testing.T) {
	a, b := MustAmount("1000.25"), MustAmount("0.75")
	if got := a.Add(b); got.String() != "1001.00" {
		t.Errorf("Add = %s", got)
	}
	if got := b.Sub(a); got.String() != "-999.50" || !got.IsNegative() || got.Sign() != -1 {
		t.Errorf("Sub = %s", got)
	}
	if got := a.Neg().Neg(); !got.Equal(a) || a.Cmp(b) != 1 || b.Cmp(a) != -1 || a.Cmp(a) != 0 {
		t.Error("Neg/Equal/Cmp")
	}
	if (Amount{}).String() != "0.00" || !(Amount{}).IsZero() {
		t.Error("zero Amount")
	}
	if got := AmountFromPaise(123450); got.String() != "1234.50" || got.Paise() != 123450 {
		t.Errorf("AmountFromPaise = %s (%d)", got, got.Paise())
	}
	if got := AmountFromPaise(-1); got.String() != "-0.01" || got.Paise() != -1 {
		t.Errorf("AmountFromPaise(-1) = %s", got)
	}
	if got := MustAmount("1234.5").Decimal(); !got.Equal(decimal.RequireFromString("1234.5")) {
		t.Errorf("Decimal = %s", got)
	}
	if _, err := AmountFromDecimal(decimal.RequireFromString("0.125"), NoRounding); !errors.Is(err, ErrTooManyDecimals) {
		t.Errorf("AmountFromDecimal(0.125): %v", err)
	}
	if got, _ := AmountFromDecimal(decimal.RequireFromString("0.125"), RoundHalfEven); got.String() != "0.12" {
		t.Errorf("AmountFromDecimal(0.125, half-even) = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustAmount did not panic")
		}
	}()
	MustAmount("1.001")
}

func TestNAV(t *testing.T) {
	ok := map[string]string{"123.4567": "123.4567", ".4157": "0.4157", "10.": "10.0000", "1000": "1000.0000", "0.0001": "0.0001", "12.34560": "12.3456"}
	for in, want := range ok {
		n, err := ParseNAV(in)
		if err != nil || n.String() != want {
			t.Errorf("ParseNAV(%q) = %s, %v; want %s", in, n, err, want)
		}
	}
	for _, in := range []string{"123.45678", "0", "0.0000", "-1", "N.A.", "", "1e2", "0.00001"} {
		if n, err := ParseNAV(in); err == nil {
			t.Errorf("ParseNAV(%q) = %s, want an error", in, n)
		}
	}
	if n, err := ParseNAVRounded("123.45675", RoundHalfUp); err != nil || n.String() != "123.4568" {
		t.Errorf("ParseNAVRounded half-up = %s, %v", n, err)
	}
	if n, err := ParseNAVRounded("123.45675", RoundHalfEven); err != nil || n.String() != "123.4568" {
		t.Errorf("ParseNAVRounded half-even = %s, %v", n, err)
	}
	if n, err := ParseNAVRounded("123.45665", RoundHalfEven); err != nil || n.String() != "123.4566" {
		t.Errorf("ParseNAVRounded half-even = %s, %v", n, err)
	}
	// rounding that reaches zero is still not a NAV
	if _, err := ParseNAVRounded("0.00004", RoundHalfUp); err == nil {
		t.Error("NAV rounded to zero accepted")
	}
	n := MustNAV("45.6789")
	if !n.Equal(MustNAV("45.67890")) || n.Cmp(MustNAV("45.6788")) != 1 || n.IsZero() || !(NAV{}).IsZero() {
		t.Error("NAV Equal/Cmp/IsZero")
	}
	if !n.Decimal().Equal(decimal.RequireFromString("45.6789")) {
		t.Error("NAV Decimal")
	}
}

func TestUnits(t *testing.T) {
	u, err := ParseUnits("80.996", DefaultUnitsScale)
	if err != nil || u.String() != "80.996" || u.Scale() != 3 {
		t.Fatalf("ParseUnits = %s, %v", u, err)
	}
	if u, _ := ParseUnits("80.9", 3); u.String() != "80.900" {
		t.Errorf("padding: %s", u)
	}
	if u, _ := ParseUnits("80.9960", 4); u.String() != "80.9960" || u.Scale() != 4 {
		t.Errorf("scale 4: %s", u)
	}
	if _, err := ParseUnits("80.9965", 3); !errors.Is(err, ErrTooManyDecimals) {
		t.Errorf("too many decimals: %v", err)
	}
	for _, sc := range []int32{-1, MaxUnitsScale + 1} {
		if _, err := ParseUnits("1", sc); err == nil {
			t.Errorf("scale %d accepted", sc)
		}
	}
	if u, _ := ParseUnitsRounded("80.9969", 3, RoundDown); u.String() != "80.996" {
		t.Errorf("units round down: %s", u)
	}
	if u, _ := ParseUnitsRounded("80.9965", 3, RoundHalfUp); u.String() != "80.997" {
		t.Errorf("units half up: %s", u)
	}
	a, b := MustUnits("10.5", 3), MustUnits("0.0001", 4)
	if s := a.Add(b); s.String() != "10.5001" || s.Scale() != 4 {
		t.Errorf("Add across scales = %s", s)
	}
	if s := a.Sub(a); !s.IsZero() || s.Sign() != 0 {
		t.Errorf("Sub = %s", s)
	}
	if a.Neg().Sign() != -1 || a.Cmp(b) != 1 || !a.Equal(MustUnits("10.50", 3)) || !a.Decimal().Equal(decimal.RequireFromString("10.5")) {
		t.Error("Units Neg/Cmp/Equal/Decimal")
	}
}

func TestUnitsAtAndValue(t *testing.T) {
	// 9999.50 / 123.4567: 123.4567 × 80.996 = 9999.4988732 ≤ 9999.50 and
	// 123.4567 × 80.997 = 9999.6223299 > 9999.50 → 80.996 (rounded down).
	inv, nav := MustAmount("9999.50"), MustNAV("123.4567")
	cases := []struct {
		scale int32
		want  string
	}{{3, "80.996"}, {4, "80.9960"}, {2, "80.99"}, {0, "80"}}
	for _, c := range cases {
		if got := inv.UnitsAt(nav, c.scale); got.String() != c.want || got.Scale() != c.scale {
			t.Errorf("UnitsAt scale %d = %s, want %s", c.scale, got, c.want)
		}
	}
	// Just below a whole unit stays below: 10.00 at 3.3334 is 2.99994… → 2.999.
	if got := MustAmount("10.00").UnitsAt(MustNAV("3.3334"), 3); got.String() != "2.999" {
		t.Errorf("UnitsAt = %s", got)
	}
	// Value rounds half-up to the paisa: 80.996 × 123.4567 = 9999.4988732 → 9999.50.
	if got := MustUnits("80.996", 3).Value(nav); got.String() != "9999.50" {
		t.Errorf("Value = %s", got)
	}
	// a tie: 1.000 × 10.0050 = 10.005 → 10.01 (half-up), not 10.00 (half-even)
	if got := MustUnits("1", 3).Value(MustNAV("10.005")); got.String() != "10.01" {
		t.Errorf("Value tie = %s", got)
	}
	// 0.001 × 4.9999 = 0.0049999 → 0.00
	if got := MustUnits("0.001", 3).Value(MustNAV("4.9999")); got.String() != "0.00" {
		t.Errorf("Value below half = %s", got)
	}
	for _, f := range []func(){
		func() { inv.UnitsAt(NAV{}, 3) },
		func() { inv.UnitsAt(nav, -1) },
		func() { inv.UnitsAt(nav, MaxUnitsScale+1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func TestDivRoundHand(t *testing.T) {
	cases := []struct {
		a, b  string
		scale int32
		mode  RoundingMode
		want  string
	}{
		{"1", "8", 2, RoundHalfUp, "0.13"}, // 0.125
		{"1", "8", 2, RoundHalfEven, "0.12"},
		{"1", "8", 2, RoundDown, "0.12"},
		{"3", "8", 2, RoundHalfEven, "0.38"}, // 0.375 → even 8
		{"-1", "8", 2, RoundHalfUp, "-0.13"},
		{"1", "-8", 2, RoundHalfEven, "-0.12"},
		{"-1", "8", 2, RoundDown, "-0.12"},
		{"2", "3", 2, RoundHalfUp, "0.67"},
		{"2", "3", 2, RoundDown, "0.66"},
		{"-2", "-3", 2, RoundHalfEven, "0.67"},
		{"1", "8", 3, NoRounding, "0.125"},
		{"50000", "100005", 2, RoundHalfUp, "0.5"},
		{"5", "1", 0, RoundHalfUp, "5"},
		{"1", "3", 0, RoundHalfUp, "0"},
	}
	for _, c := range cases {
		got, err := divRound(decimal.RequireFromString(c.a), decimal.RequireFromString(c.b), c.scale, c.mode)
		if err != nil || !got.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("%s/%s @%d %v = %s, %v; want %s", c.a, c.b, c.scale, c.mode, got, err, c.want)
		}
	}
	if _, err := divRound(decimal.New(1, 0), decimal.New(8, 0), 2, NoRounding); !errors.Is(err, ErrTooManyDecimals) {
		t.Errorf("inexact NoRounding: %v", err)
	}
	if _, err := divRound(decimal.New(1, 0), decimal.New(8, 0), 2, RoundingMode(9)); err == nil {
		t.Error("unknown mode accepted")
	}
}

// divRound against exact rational arithmetic (math/big.Rat) on random
// operands: every mode, both signs, several scales.
func TestDivRoundRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260821, 1))
	for i := range 20000 {
		a := decimal.New(rng.Int64N(2_000_000_001)-1_000_000_000, -int32(rng.IntN(5)))
		b := decimal.New(rng.Int64N(2_000_000)-1_000_000, -int32(rng.IntN(5)))
		if b.IsZero() {
			continue
		}
		scale := int32(rng.IntN(6))
		exact := new(big.Rat).Quo(a.Rat(), b.Rat())
		for _, mode := range []RoundingMode{RoundHalfUp, RoundHalfEven, RoundDown} {
			got, err := divRound(a, b, scale, mode)
			if err != nil {
				t.Fatal(err)
			}
			if want := ratRound(exact, scale, mode); !got.Equal(want) {
				t.Fatalf("case %d: %s/%s @%d %v = %s, want %s", i, a, b, scale, mode, got, want)
			}
		}
		// and the library's own DivRound is half away from zero
		if got, _ := divRound(a, b, scale, RoundHalfUp); !got.Equal(a.DivRound(b, scale)) {
			t.Fatalf("case %d: %s/%s @%d half-up %s vs DivRound %s", i, a, b, scale, got, a.DivRound(b, scale))
		}
	}
}

// ratRound rounds x to scale decimals with mode, by integer arithmetic.
func ratRound(x *big.Rat, scale int32, mode RoundingMode) decimal.Decimal {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	num := new(big.Int).Mul(x.Num(), p) // x·10^scale = num/den
	den := x.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated toward zero
	if r.Sign() != 0 && mode != RoundDown {
		twice := new(big.Int).Abs(r)
		twice.Lsh(twice, 1)
		c := twice.Cmp(den)
		up := c > 0 || (c == 0 && (mode == RoundHalfUp || q.Bit(0) == 1))
		if up {
			if num.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	return decimal.NewFromBigInt(q, -scale)
}

func TestRoundingModeString(t *testing.T) {
	for m, want := range map[RoundingMode]string{NoRounding: "no-rounding", RoundHalfUp: "half-up", RoundHalfEven: "half-even", RoundDown: "down", 9: "RoundingMode(9)"} {
		if m.String() != want {
			t.Errorf("%d: %s", int(m), m)
		}
	}
}

func TestMoneyJSON(t *testing.T) {
	type row struct {
		Amount Amount `json:"amount"`
		NAV    NAV    `json:"nav"`
		Units  Units  `json:"units"`
	}
	b, err := json.Marshal(row{MustAmount("10000"), MustNAV("123.4567"), MustUnits("80.996", 3)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"amount":"10000.00","nav":"123.4567","units":"80.996"}`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
	var back struct {
		Amount Amount `json:"amount"`
		NAV    NAV    `json:"nav"`
	}
	if err := json.Unmarshal([]byte(`{"amount":"1234.50","nav":"10.5"}`), &back); err != nil || back.Amount.String() != "1234.50" || back.NAV.String() != "10.5000" {
		t.Errorf("unmarshal: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"amount":"1234.505"}`), &back); err == nil {
		t.Error("unmarshal accepted 3 decimals")
	}
	if err := json.Unmarshal([]byte(`{"nav":"0"}`), &back); err == nil {
		t.Error("unmarshal accepted NAV 0")
	}
}
