package fund_test

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
)

func TestSplitLargestRemainderHandComputed(t *testing.T) {
	dd := func(ss ...string) []decimal.Decimal {
		out := make([]decimal.Decimal, len(ss))
		for i, s := range ss {
			out[i] = decimal.RequireFromString(s)
		}
		return out
	}
	cases := []struct {
		name  string
		total string
		nums  []decimal.Decimal
		den   string
		want  []string
		err   error
	}{
		// 10.00 in thirds: 3.333… each, floors 3.33 × 3 = 9.99, one paisa to
		// the first (equal remainders: the first listed).
		{"thirds", "10.00", dd("10", "10", "10"), "3", []string{"3.34", "3.33", "3.33"}, nil},
		// 1.64 of 0.98625… and 0.65750…: floors 0.98 + 0.65, the paisa to the
		// larger remainder (0.750 paisa > 0.625 paisa).
		{"trail 60/40", "1.64", dd("35998.2", "23998.8"), "36500", []string{"0.98", "0.66"}, nil},
		{"exact", "5.00", dd("2.50", "2.50"), "1", []string{"2.50", "2.50"}, nil},
		{"zero part", "1.00", dd("0", "1"), "1", []string{"0.00", "1.00"}, nil},
		{"total too large", "10.03", dd("10", "10"), "3", nil, fund.ErrRemainder},
		{"total too small", "6.65", dd("10", "10"), "3", nil, fund.ErrRemainder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fund.SplitLargestRemainder(fund.MustAmount(c.total), c.nums, decimal.RequireFromString(c.den))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if !got[i].Equal(fund.MustAmount(w)) {
					t.Errorf("part %d = %s, want %s", i, got[i], w)
				}
			}
		})
	}
}

// TestSplitIsManagedDistribute: managed.Distribute's own loop (amount × w /
// Σw) gives the same shares as the shared split on 500 random cases, so it
// can be moved onto it without a change of result.
func TestSplitIsManagedDistribute(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	for n := 0; n < 500; n++ {
		amount := fund.AmountFromPaise(r.Int63n(10_000_000))
		ws := make([]decimal.Decimal, 1+r.Intn(7))
		sum := decimal.Zero
		for i := range ws {
			ws[i] = decimal.New(r.Int63n(1_000_000), -3)
			if r.Intn(5) == 0 {
				ws[i] = ws[(i+1)%len(ws)] // ties
			}
			sum = sum.Add(ws[i])
		}
		if sum.IsZero() {
			continue
		}
		want, err := managed.Distribute(amount, ws)
		if err != nil {
			t.Fatal(err)
		}
		nums := make([]decimal.Decimal, len(ws))
		for i, w := range ws {
			nums[i] = amount.Decimal().Mul(w)
		}
		got, err := fund.SplitLargestRemainder(amount, nums, sum)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Fatalf("case %d (%s over %v): part %d = %s, Distribute %s", n, amount, ws, i, got[i], want[i])
			}
		}
	}
}
