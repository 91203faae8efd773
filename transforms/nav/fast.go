package nav

import (
	"math/bits"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// The validator runs once per row of every file (a 60-day backfill: a
// million rows), so its checks avoid what costs per row and changes
// nothing: math/big divisions and allocations, time.Date for date
// comparisons, lower-casing the category, the clock's date in IST. Each
// fast path decides exactly as the general form it stands for, which
// stays the fallback (TestStageIsTheReference, FuzzJumpIsTheDivision).

// before and after compare dates field by field (fund.Date.Compare):
// every date here is a calendar date (parsed, or from a time.Time), so
// this is fund.Date.Before/After without two time.Date calls.
func before(a, b fund.Date) bool { return a.Compare(b) < 0 }
func after(a, b fund.Date) bool  { return a.Compare(b) > 0 }

// jumpMove is the move the jump rule measures and its message shows:
// |nav - prev| / prev, rounded to decimal.DivisionPrecision places.
func jumpMove(nav, prev decimal.Decimal) decimal.Decimal { return nav.Sub(prev).Div(prev).Abs() }

// jumpLimit is a category's threshold, with what the integer form of the
// rule needs.
type jumpLimit struct {
	limit decimal.Decimal
	// The rule is jumpMove > limit, where the division rounds half away
	// from zero at 16 places. With M = floor(limit·10^16), that holds
	// exactly when |Δ|/prev ≥ M + ½ (in units of 10^-16), that is
	// 2·|Δ|·10^16 ≥ (2M+1)·prev: edge is 2M+1. fast: limit is such that
	// edge fits a uint64 (and DivisionPrecision is 16).
	edge uint64
	fast bool
}

func newJumpLimit(l decimal.Decimal) jumpLimit {
	jl := jumpLimit{limit: l}
	if decimal.DivisionPrecision != 16 || l.Sign() < 0 {
		return jl
	}
	m := l.Shift(16).Floor()
	if m.GreaterThanOrEqual(decimal.New(1, 18)) { // 2M+1 fits easily below 2·10^18
		return jl
	}
	jl.edge, jl.fast = 2*uint64(m.IntPart())+1, true
	return jl
}

// exceeded reports jumpMove(nav, prev) > limit, without dividing when both
// NAVs are positive with coefficients that align in an int64 (any two NAVs
// the columns hold: 18 digits, 8 after the point).
func (l jumpLimit) exceeded(nav, prev decimal.Decimal) bool {
	if l.fast {
		if d, p, ok := alignedDiff(nav, prev); ok {
			hi1, lo1 := bits.Mul64(d, 2e16)
			hi2, lo2 := bits.Mul64(l.edge, p)
			return hi1 > hi2 || (hi1 == hi2 && lo1 >= lo2)
		}
	}
	return jumpMove(nav, prev).GreaterThan(l.limit)
}

// alignedDiff returns |a - b| and b as integers at the smaller of their
// exponents, when both are positive and fit an int64 there.
func alignedDiff(a, b decimal.Decimal) (diff, bv uint64, ok bool) {
	if a.Sign() <= 0 || b.Sign() <= 0 {
		return 0, 0, false
	}
	na, nb := a.NumDigits(), b.NumDigits()
	ea, eb := int(a.Exponent()), int(b.Exponent())
	e := min(ea, eb)
	if na+ea-e > 18 || nb+eb-e > 18 {
		return 0, 0, false
	}
	av := uint64(a.CoefficientInt64()) * pow10[ea-e]
	bv = uint64(b.CoefficientInt64()) * pow10[eb-e]
	if av >= bv {
		return av - bv, bv, true
	}
	return bv - av, bv, true
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// limitCache is Thresholds.For by category: a file's rows come in category
// blocks, so the last category answers most rows, a map the rest.
type limitCache struct {
	lastCat string
	last    jumpLimit
	byCat   map[string]jumpLimit
}

func (c *limitCache) of(t Thresholds, category string) jumpLimit {
	if c.byCat != nil && category == c.lastCat {
		return c.last
	}
	l, ok := c.byCat[category]
	if !ok {
		if c.byCat == nil {
			c.byCat = map[string]jumpLimit{}
		}
		l = newJumpLimit(t.For(category))
		c.byCat[category] = l
	}
	c.lastCat, c.last = category, l
	return l
}

// dayCache is today's date in IST and the last date the future-date rule
// accepts, kept while the clock stays inside that IST day.
type dayCache struct {
	from, to   time.Time // the IST day [from, to)
	futureDays int
	day, last  fund.Date
}

func (c *dayCache) today(now time.Time, futureDays int) (today, last fund.Date) {
	if c.to.IsZero() || now.Before(c.from) || !now.Before(c.to) || futureDays != c.futureDays {
		c.day = Today(now)
		c.from = time.Date(c.day.Year, c.day.Month, c.day.Day, 0, 0, 0, 0, fund.IST())
		c.to = c.from.AddDate(0, 0, 1)
		c.futureDays, c.last = futureDays, c.day.AddDays(futureDays)
	}
	return c.day, c.last
}

// futureCache is amfi.IsFutureDated for the file being read: the last
// date its business date allows, computed once per business date.
type futureCache struct {
	business, last fund.Date
}

func (c *futureCache) isFuture(d, business fund.Date) bool {
	if business.IsZero() {
		return false
	}
	if business != c.business {
		c.business, c.last = business, business.AddDays(amfi.FutureLimitDays)
	}
	return after(d, c.last)
}

// fitsNAVColumns is |d| < roundsToMax. A value of at most 9 integer digits
// is below 10^9 and fits without the comparison's allocations.
func fitsNAVColumns(d decimal.Decimal) bool {
	if d.NumDigits()+int(d.Exponent()) <= NAVPrecision-MaxNAVDecimals-1 {
		return true
	}
	return d.Abs().LessThan(roundsToMax)
}

// plainText reports that s is ASCII without a NUL byte, eight bytes at a
// time: valid UTF-8 with no NUL, as storable requires. false says only
// that the exact checks must look (a real scheme name may have é).
func plainText(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// a high bit (not ASCII) or a zero byte (w-ones borrows into
		// the high bit of a zero byte and of no other when none is high)
		if w&highs != 0 || (w-ones)&^w&highs != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
