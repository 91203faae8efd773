package fund

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Scales of the three quantities every allotment is made of.
const (
	// AmountScale: rupee amounts are kept to the paisa.
	AmountScale = 2
	// DefaultUnitsScale: units are allotted to 3 decimals unless a scheme's
	// offer document says otherwise (some use 4).
	DefaultUnitsScale = 3
	// MaxUnitsScale bounds the units scale a scheme may ask for.
	MaxUnitsScale = 9
)

// RoundingMode names how a value is brought to a scale. Every operation in
// this package that can lose digits takes or documents one of these; none
// rounds silently.
type RoundingMode int

const (
	// NoRounding demands that the value already fits the scale: a value
	// with non-zero digits beyond the scale is an error, not rounded.
	// Trailing zeros beyond the scale ("1234.500" for an amount) lose nothing
	// and are accepted.
	NoRounding RoundingMode = iota
	// RoundHalfUp rounds to the nearest value, ties away from zero
	// (0.005 → 0.01, −0.005 → −0.01): the commercial rule used for money
	// (stamp duty, valuations), what an investor or an auditor redoing the
	// sum by hand expects. For the positive values money normally takes it is
	// exactly "half up".
	RoundHalfUp
	// RoundHalfEven rounds to the nearest value, ties to the even neighbour
	// (banker's rounding): unbiased over many values, used for statistics
	// that nobody is paid on (the XIRR rate).
	RoundHalfEven
	// RoundDown truncates toward zero: used for units allotted, so that an
	// investor is never given more units than the money paid for (the
	// fraction of a unit not allotted stays in the scheme, to the benefit of
	// all unit holders, instead of diluting them).
	RoundDown
	// RoundUp rounds away from zero (the ceiling, for the positive values
	// money takes): used for the units an amount-based redemption takes, so
	// that units × NAV covers the amount asked (Amount.UnitsCovering).
	RoundUp
)

// String names the mode.
func (m RoundingMode) String() string {
	switch m {
	case NoRounding:
		return "no-rounding"
	case RoundHalfUp:
		return "half-up"
	case RoundHalfEven:
		return "half-even"
	case RoundDown:
		return "down"
	case RoundUp:
		return "up"
	}
	return fmt.Sprintf("RoundingMode(%d)", int(m))
}

// ErrTooManyDecimals is returned (wrapped) when a value has non-zero digits
// beyond its scale and no rounding mode was asked for.
var ErrTooManyDecimals = errors.New("more decimals than the scale allows")

// Round brings d to scale decimals with mode, for a value that is not one
// of this package's types (a rate of return).
func Round(d decimal.Decimal, scale int32, mode RoundingMode) (decimal.Decimal, error) {
	return roundTo(d, scale, mode)
}

// roundTo brings d to scale decimals with mode. Under NoRounding a value that
// would change is an error wrapping ErrTooManyDecimals.
func roundTo(d decimal.Decimal, scale int32, mode RoundingMode) (decimal.Decimal, error) {
	switch mode {
	case NoRounding:
		r := d.RoundDown(scale)
		if !r.Equal(d) {
			return decimal.Decimal{}, fmt.Errorf("%s has %w (%d)", d.String(), ErrTooManyDecimals, scale)
		}
		return r, nil
	case RoundHalfUp:
		return d.Round(scale), nil // shopspring Round: half away from zero
	case RoundHalfEven:
		return d.RoundBank(scale), nil
	case RoundDown:
		return d.RoundDown(scale), nil // toward zero
	case RoundUp:
		return d.RoundUp(scale), nil // away from zero
	}
	return decimal.Decimal{}, fmt.Errorf("unknown rounding mode %d", int(mode))
}

// divRound returns a/b at scale decimals, rounded by mode, exactly: the
// quotient is truncated by an integer division and the remainder decides the
// last digit, so no intermediate precision (and no global
// decimal.DivisionPrecision) is involved. NoRounding is an error unless the
// division is exact at that scale. b must not be zero.
func divRound(a, b decimal.Decimal, scale int32, mode RoundingMode) (decimal.Decimal, error) {
	q, r := a.QuoRem(b, scale) // q truncated toward zero, r has a's sign
	if r.IsZero() {
		return q, nil
	}
	ulp := decimal.New(1, -scale)
	step := ulp
	if a.Sign()*b.Sign() < 0 {
		step = ulp.Neg()
	}
	// c compares the dropped part with half a step: |r| ? |b|*ulp/2.
	c := r.Abs().Add(r.Abs()).Cmp(b.Abs().Mul(ulp))
	switch mode {
	case NoRounding:
		return decimal.Decimal{}, fmt.Errorf("%s / %s has %w (%d)", a.String(), b.String(), ErrTooManyDecimals, scale)
	case RoundDown:
		return q, nil
	case RoundUp:
		return q.Add(step), nil
	case RoundHalfUp:
		if c >= 0 {
			return q.Add(step), nil
		}
		return q, nil
	case RoundHalfEven:
		if c > 0 || (c == 0 && q.Shift(scale).BigInt().Bit(0) == 1) {
			return q.Add(step), nil
		}
		return q, nil
	}
	return decimal.Decimal{}, fmt.Errorf("unknown rounding mode %d", int(mode))
}

// parseDecimal parses a plain decimal numeral: an optional sign, digits, an
// optional point and more digits ("1234.50", "-3", ".4157", "10."). Exponents,
// spaces, thousands separators and anything else are refused, so that what
// is stored is exactly what was written.
func parseDecimal(s string) (decimal.Decimal, error) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, point := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return decimal.Decimal{}, fmt.Errorf("%q is not a plain decimal number", s)
		}
	}
	if digits == 0 {
		return decimal.Decimal{}, fmt.Errorf("%q is not a plain decimal number", s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%q is not a plain decimal number", s)
	}
	return d, nil
}

// ---------------------------------------------------------------- Amount

// Amount is a rupee amount with exactly AmountScale (2) decimals. The zero
// value is ₹0.00. Compare with Equal or Cmp, not ==.
type Amount struct{ d decimal.Decimal }

// ParseAmount parses "1234.50" exactly. More than 2 non-zero decimals is an
// error (wrapping ErrTooManyDecimals); use ParseAmountRounded to round.
func ParseAmount(s string) (Amount, error) { return ParseAmountRounded(s, NoRounding) }

// ParseAmountRounded parses s and brings it to paise with mode.
func ParseAmountRounded(s string, mode RoundingMode) (Amount, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return Amount{}, fmt.Errorf("amount: %w", err)
	}
	return AmountFromDecimal(d, mode)
}

// AmountFromDecimal brings d to paise with mode (NoRounding: d must fit).
func AmountFromDecimal(d decimal.Decimal, mode RoundingMode) (Amount, error) {
	r, err := roundTo(d, AmountScale, mode)
	if err != nil {
		return Amount{}, fmt.Errorf("amount: %w", err)
	}
	return Amount{r}, nil
}

// AmountFromRatio returns num/den brought to paise with mode, divided
// exactly (no intermediate precision): for pro-rata shares and percentages.
// den must not be zero.
func AmountFromRatio(num, den decimal.Decimal, mode RoundingMode) (Amount, error) {
	if den.IsZero() {
		return Amount{}, errors.New("amount: division by zero")
	}
	d, err := divRound(num, den, AmountScale, mode)
	if err != nil {
		return Amount{}, fmt.Errorf("amount: %w", err)
	}
	return Amount{d}, nil
}

// AmountFromPaise returns p paise as an Amount (payment gateways send paise).
func AmountFromPaise(p int64) Amount { return Amount{decimal.New(p, -AmountScale)} }

// MustAmount is ParseAmount that panics: for constants and tests.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Decimal returns the amount as a decimal (2 decimals).
func (a Amount) Decimal() decimal.Decimal { return a.d }

// String formats the amount with exactly 2 decimals: "1234.50", "-0.01".
func (a Amount) String() string { return a.d.StringFixed(AmountScale) }

// Paise returns the amount in paise. It is exact: an Amount has 2 decimals.
// Amounts beyond ±9.2e16 rupees do not fit and are not expected.
func (a Amount) Paise() int64 { return a.d.Shift(AmountScale).IntPart() }

// Add returns a+b (exact).
func (a Amount) Add(b Amount) Amount { return Amount{a.d.Add(b.d)} }

// Sub returns a−b (exact).
func (a Amount) Sub(b Amount) Amount { return Amount{a.d.Sub(b.d)} }

// Neg returns −a.
func (a Amount) Neg() Amount { return Amount{a.d.Neg()} }

// Cmp compares a and b: −1, 0 or +1.
func (a Amount) Cmp(b Amount) int { return a.d.Cmp(b.d) }

// Equal reports whether a and b are the same amount.
func (a Amount) Equal(b Amount) bool { return a.d.Equal(b.d) }

// Sign returns −1, 0 or +1.
func (a Amount) Sign() int { return a.d.Sign() }

// IsZero reports whether a is ₹0.00.
func (a Amount) IsZero() bool { return a.d.IsZero() }

// IsNegative reports whether a < 0.
func (a Amount) IsNegative() bool { return a.d.IsNegative() }

// UnitsAt returns the units a buys at nav, at scale decimals, rounded DOWN
// (truncated): the investor never gets more units than the money paid for.
// It panics if nav is zero or scale is outside 0..MaxUnitsScale.
func (a Amount) UnitsAt(nav NAV, scale int32) Units {
	checkUnitsScale(scale)
	if nav.IsZero() {
		panic("fund: units at a zero NAV")
	}
	q, err := divRound(a.d, nav.d, scale, RoundDown)
	if err != nil {
		panic(err) // unreachable: RoundDown never fails
	}
	return Units{q, scale}
}

// UnitsCovering returns the fewest units, at scale decimals, worth at least
// a at nav: a / nav rounded UP, so units × nav ≥ a (an amount-based
// redemption takes these units and pays the amount asked; the fraction of a
// paisa the units are worth beyond it stays in the scheme). It panics if nav
// is zero or scale is outside 0..MaxUnitsScale.
func (a Amount) UnitsCovering(nav NAV, scale int32) Units {
	checkUnitsScale(scale)
	if nav.IsZero() {
		panic("fund: units at a zero NAV")
	}
	q, err := divRound(a.d, nav.d, scale, RoundUp)
	if err != nil {
		panic(err) // unreachable: RoundUp never fails
	}
	return Units{q, scale}
}

// MarshalText formats the amount as String does (JSON: a string, so no
// client parses it into a binary floating-point number).
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses exactly as ParseAmount does.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ---------------------------------------------------------------- NAV

// NAV is a net asset value per unit with NAVScale (4) decimals. A NAV made by
// a constructor is positive; the zero value is "no NAV".
type NAV struct{ d decimal.Decimal }

// ParseNAV parses "123.4567" exactly; more than 4 non-zero decimals, zero or a
// negative value is an error. ".4157" and "10." (as AMFI writes them) parse.
func ParseNAV(s string) (NAV, error) { return ParseNAVRounded(s, NoRounding) }

// ParseNAVRounded parses s and brings it to 4 decimals with mode. AMFI
// publishes some NAVs with 5 or more decimals: pick the mode deliberately.
func ParseNAVRounded(s string, mode RoundingMode) (NAV, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return NAV{}, fmt.Errorf("nav: %w", err)
	}
	return NAVFromDecimal(d, mode)
}

// NAVFromDecimal brings d to 4 decimals with mode; the result must be > 0.
func NAVFromDecimal(d decimal.Decimal, mode RoundingMode) (NAV, error) {
	r, err := roundTo(d, NAVScale, mode)
	if err != nil {
		return NAV{}, fmt.Errorf("nav: %w", err)
	}
	if r.Sign() <= 0 {
		return NAV{}, fmt.Errorf("nav: %s is not positive", r.StringFixed(NAVScale))
	}
	return NAV{r}, nil
}

// AppliedNAV is the platform's one rule for the NAV a published value stands
// for: the published value (navs.nav keeps it exactly as the file said) taken
// HALF-UP to NAVScale (4) decimals. AMFI and the RTAs compute NAVs to 4
// decimals; a file that prints more (12.345650) is read as the 4-decimal NAV
// it rounds to (12.3457). Allotment, valuation, statements, exports and
// lineage all go through this function, so a NAV is never used two ways. The
// SQL that values holdings in Postgres does the same with round(nav, 4)
// (half away from zero, the same for positive values), pinned by a test.
func AppliedNAV(published decimal.Decimal) (NAV, error) {
	return NAVFromDecimal(published, RoundHalfUp)
}

// AppliedNAVRule names AppliedNAV's rule where it is shown (lineage).
const AppliedNAVRule = "published NAV rounded half-up to 4 decimals"

// MustNAV is ParseNAV that panics: for constants and tests.
func MustNAV(s string) NAV {
	n, err := ParseNAV(s)
	if err != nil {
		panic(err)
	}
	return n
}

// Decimal returns the NAV as a decimal.
func (n NAV) Decimal() decimal.Decimal { return n.d }

// String formats the NAV with exactly 4 decimals: "123.4567".
func (n NAV) String() string { return n.d.StringFixed(NAVScale) }

// Cmp compares n and o.
func (n NAV) Cmp(o NAV) int { return n.d.Cmp(o.d) }

// Equal reports whether n and o are the same NAV.
func (n NAV) Equal(o NAV) bool { return n.d.Equal(o.d) }

// IsZero reports whether n is the zero value ("no NAV").
func (n NAV) IsZero() bool { return n.d.IsZero() }

// MarshalText formats the NAV as String does.
func (n NAV) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText parses exactly as ParseNAV does.
func (n *NAV) UnmarshalText(b []byte) error {
	v, err := ParseNAV(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// ---------------------------------------------------------------- Units

// Units is a number of units of a scheme at the scheme's scale
// (DefaultUnitsScale = 3 unless the scheme says otherwise). The zero value is
// 0 units at scale 0; make Units with a constructor or Amount.UnitsAt.
type Units struct {
	d     decimal.Decimal
	scale int32
}

// ParseUnits parses "80.996" exactly at scale decimals (non-zero digits
// beyond the scale are an error).
func ParseUnits(s string, scale int32) (Units, error) {
	return ParseUnitsRounded(s, scale, NoRounding)
}

// ParseUnitsRounded parses s and brings it to scale decimals with mode.
func ParseUnitsRounded(s string, scale int32, mode RoundingMode) (Units, error) {
	d, err := parseDecimal(s)
	if err != nil {
		return Units{}, fmt.Errorf("units: %w", err)
	}
	return UnitsFromDecimal(d, scale, mode)
}

// UnitsFromDecimal brings d to scale decimals with mode.
func UnitsFromDecimal(d decimal.Decimal, scale int32, mode RoundingMode) (Units, error) {
	if scale < 0 || scale > MaxUnitsScale {
		return Units{}, fmt.Errorf("units: scale %d outside 0..%d", scale, MaxUnitsScale)
	}
	r, err := roundTo(d, scale, mode)
	if err != nil {
		return Units{}, fmt.Errorf("units: %w", err)
	}
	return Units{r, scale}, nil
}

// MustUnits is ParseUnits that panics: for constants and tests.
func MustUnits(s string, scale int32) Units {
	u, err := ParseUnits(s, scale)
	if err != nil {
		panic(err)
	}
	return u
}

func checkUnitsScale(scale int32) {
	if scale < 0 || scale > MaxUnitsScale {
		panic(fmt.Sprintf("fund: units scale %d outside 0..%d", scale, MaxUnitsScale))
	}
}

// Decimal returns the units as a decimal.
func (u Units) Decimal() decimal.Decimal { return u.d }

// Scale returns the number of decimals the units are kept with.
func (u Units) Scale() int32 { return u.scale }

// String formats the units with exactly Scale decimals: "80.996".
func (u Units) String() string { return u.d.StringFixed(u.scale) }

// Add returns u+o, exact, at the larger of the two scales.
func (u Units) Add(o Units) Units { return Units{u.d.Add(o.d), max(u.scale, o.scale)} }

// Sub returns u−o, exact, at the larger of the two scales.
func (u Units) Sub(o Units) Units { return Units{u.d.Sub(o.d), max(u.scale, o.scale)} }

// Neg returns −u.
func (u Units) Neg() Units { return Units{u.d.Neg(), u.scale} }

// Cmp compares the quantities u and o (scales aside).
func (u Units) Cmp(o Units) int { return u.d.Cmp(o.d) }

// Equal reports whether u and o are the same quantity (scales aside).
func (u Units) Equal(o Units) bool { return u.d.Equal(o.d) }

// Sign returns −1, 0 or +1.
func (u Units) Sign() int { return u.d.Sign() }

// IsZero reports whether u is zero units.
func (u Units) IsZero() bool { return u.d.IsZero() }

// Value returns u × nav in rupees rounded HALF-UP to the paisa: a valuation
// is the nearest paisa to the exact product, neither side favoured.
func (u Units) Value(nav NAV) Amount {
	r, err := roundTo(u.d.Mul(nav.d), AmountScale, RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: RoundHalfUp never fails
	}
	return Amount{r}
}

// MarshalText formats the units as String does.
func (u Units) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
