package amfi

import (
	"math/big"

	"github.com/shopspring/decimal"
)

// parseDecimal reads a plain decimal number exactly as written: an optional
// sign, digits, at most one '.', at least one digit ("10." is 10, ".4157"
// is 0.4157, "1000.0000" keeps its four decimals). Exponents, thousands
// separators and anything else are refused. No float64 is involved.
func parseDecimal(b []byte) (decimal.Decimal, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var (
		v       uint64
		digits  int // significant digits accumulated into v
		scale   int32
		seenDot bool
		any     bool
	)
	for i, c := range b {
		switch {
		case c == '.':
			if seenDot {
				return decimal.Decimal{}, false
			}
			seenDot = true
		case '0' <= c && c <= '9':
			any = true
			if digits == 0 && c == '0' {
				if seenDot {
					scale++
				}
				continue // leading zeros carry no value
			}
			if digits == 18 {
				return parseBigDecimal(b[i:], v, scale, seenDot, neg)
			}
			digits++
			if seenDot {
				scale++
			}
			v = v*10 + uint64(c-'0')
		default:
			return decimal.Decimal{}, false
		}
	}
	if !any {
		return decimal.Decimal{}, false
	}
	n := int64(v)
	if neg {
		n = -n
	}
	return decimal.New(n, -scale), true
}

// parseBigDecimal continues parseDecimal past 18 significant digits with a
// big.Int. rest starts at the digit that did not fit.
func parseBigDecimal(rest []byte, v uint64, scale int32, seenDot, neg bool) (decimal.Decimal, bool) {
	bi := new(big.Int).SetUint64(v)
	ten := big.NewInt(10)
	var d big.Int
	for _, c := range rest {
		switch {
		case c == '.':
			if seenDot {
				return decimal.Decimal{}, false
			}
			seenDot = true
			continue
		case '0' <= c && c <= '9':
		default:
			return decimal.Decimal{}, false
		}
		if seenDot {
			scale++
		}
		bi.Mul(bi, ten)
		bi.Add(bi, d.SetInt64(int64(c-'0')))
	}
	if neg {
		bi.Neg(bi)
	}
	return decimal.NewFromBigInt(bi, -scale), true
}
