package managed

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// ErrZeroUnits refuses a distribution over holdings that add up to nothing:
// there is no pro-rata share of zero units.
var ErrZeroUnits = errors.New("distribution over zero units")

// Distribute splits amount over holders in proportion to their weights
// (pool units, model weights) with the largest-remainder method to the
// paisa: each share is amount × w / Σw rounded DOWN to the paisa, and the
// paise that leaves over go one each to the holders with the largest
// dropped remainders, ties to the holder listed first. The shares are in
// the order given and sum exactly to amount. A negative amount or weight is
// refused, and so are weights that sum to zero (ErrZeroUnits); a holder with
// zero weight gets ₹0.00.
func Distribute(amount fund.Amount, weights []decimal.Decimal) ([]fund.Amount, error) {
	if amount.IsNegative() {
		return nil, fmt.Errorf("distribute: amount %s is negative", amount)
	}
	total := decimal.Zero
	for i, w := range weights {
		if w.IsNegative() {
			return nil, fmt.Errorf("distribute: weight %d (%s) is negative", i+1, w)
		}
		total = total.Add(w)
	}
	if total.IsZero() {
		return nil, ErrZeroUnits
	}
	// The one largest-remainder split (fund.SplitLargestRemainder): share
	// i is exactly amount × w / Σw, so its numerator is amount × w over Σw.
	nums := make([]decimal.Decimal, len(weights))
	for i, w := range weights {
		nums[i] = amount.Decimal().Mul(w)
	}
	shares, err := fund.SplitLargestRemainder(amount, nums, total)
	if err != nil {
		return nil, fmt.Errorf("distribute: %w", err)
	}
	return shares, nil
}

// ParseUnitsList parses a comma-separated list of holders' units
// ("1.5,2.25,7"), each a plain non-negative decimal with at most
// fund.MaxUnitsScale decimals; an error names the item (1-based).
func ParseUnitsList(s string) ([]decimal.Decimal, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("units: empty list")
	}
	parts := strings.Split(s, ",")
	out := make([]decimal.Decimal, len(parts))
	for i, p := range parts {
		u, err := fund.ParseUnits(strings.TrimSpace(p), fund.MaxUnitsScale)
		if err != nil {
			return nil, fmt.Errorf("units item %d: %w", i+1, err)
		}
		if u.Sign() < 0 {
			return nil, fmt.Errorf("units item %d: %s is negative", i+1, p)
		}
		out[i] = u.Decimal()
	}
	return out, nil
}

func sortStrings(s []string) { sort.Strings(s) }
