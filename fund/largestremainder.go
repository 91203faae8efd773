package fund

import (
	"errors"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"
)

// ErrRemainder is returned by SplitLargestRemainder for a total that is not
// within the parts' floors plus one paisa each.
var ErrRemainder = errors.New("largest remainder: total out of range")

// SplitLargestRemainder splits total across parts whose exact values in
// rupees are nums[i] / den (den > 0, every num ≥ 0), by the largest-remainder
// method to the paisa: each part gets its exact value rounded DOWN to the
// paisa, and the paise left (total − Σ floors) go one each to the parts with
// the largest dropped remainders, ties to the part listed first. The parts
// sum exactly to total. The caller rounds total from the same exact values
// (their sum rounded by its rule, or an amount they are shares of); a total
// below Σ floors or more than one paisa a part above it is ErrRemainder.
// Remainders are compared exactly (num − floor × den), never divided.
//
// It is the one split of a rounded total: fund/commission.Allocate and
// fund/managed.Distribute (pool distributions, `fundflow check distribute`)
// call it.
func SplitLargestRemainder(total Amount, nums []decimal.Decimal, den decimal.Decimal) ([]Amount, error) {
	if den.Sign() <= 0 {
		return nil, fmt.Errorf("largest remainder: denominator %s is not positive", den)
	}
	shares := make([]Amount, len(nums))
	rem := make([]decimal.Decimal, len(nums))
	left := total.Decimal()
	for i, n := range nums {
		if n.IsNegative() {
			return nil, fmt.Errorf("largest remainder: part %d (%s) is negative", i+1, n)
		}
		s, err := AmountFromRatio(n, den, RoundDown)
		if err != nil {
			return nil, fmt.Errorf("largest remainder: %w", err)
		}
		shares[i] = s
		rem[i] = n.Sub(s.Decimal().Mul(den))
		left = left.Sub(s.Decimal())
	}
	extra := left.Shift(AmountScale)
	if extra.IsNegative() || !extra.IsInteger() || extra.Cmp(decimal.New(int64(len(nums)), 0)) > 0 {
		return nil, fmt.Errorf("%w: %s over %d parts whose floors leave %s", ErrRemainder, total, len(nums), left)
	}
	order := make([]int, len(nums))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return rem[order[x]].Cmp(rem[order[y]]) > 0 })
	for _, i := range order[:extra.IntPart()] {
		shares[i] = shares[i].Add(AmountFromPaise(1))
	}
	return shares, nil
}
