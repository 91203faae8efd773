package managed_test

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

func decs(ss ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		out[i] = decimal.RequireFromString(s)
	}
	return out
}

func amountStrings(as []fund.Amount) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func TestDistribute(t *testing.T) {
	tests := []struct {
		name    string
		amount  string
		weights []string
		want    []string
	}{
		// Σ = 10.75. 1000×1.5/10.75 = 139.5348… → 139.53 (dropped .0048…);
		// 1000×2.25/10.75 = 209.3023… → 209.30 (.0023…); 1000×7/10.75 =
		// 651.1627… → 651.16 (.0027…). Floors sum to 999.99: the paisa left
		// goes to the largest remainder, the first holder.
		{"issue's dry run", "1000.00", []string{"1.5", "2.25", "7"}, []string{"139.54", "209.30", "651.16"}},
		// 1000/3 = 333.333… each, floors 999.99, three equal remainders:
		// the tie goes to the holder listed first.
		{"three thirds", "1000.00", []string{"1", "1", "1"}, []string{"333.34", "333.33", "333.33"}},
		// 0.02/3 = 0.00666… each, floors 0: two paise to the first two.
		{"fewer paise than holders", "0.02", []string{"1", "1", "1"}, []string{"0.01", "0.01", "0.00"}},
		// 10×1/3 = 3.333… (.00333), 10×2/3 = 6.666… (.00666): the larger
		// remainder is the second holder's, not the first's.
		{"largest remainder not first", "10.00", []string{"1", "2"}, []string{"3.33", "6.67"}},
		{"zero holder gets nothing", "0.01", []string{"0", "1"}, []string{"0.00", "0.01"}},
		{"one holder", "100.00", []string{"0.001"}, []string{"100.00"}},
		{"zero amount", "0.00", []string{"1", "2"}, []string{"0.00", "0.00"}},
		// Weights in percent, as models use them: 10000.01 × 40/35/25 =
		// 4000.004, 3500.0035, 2500.0025; the paisa to the first (.004).
		{"model weights", "10000.01", []string{"40", "35", "25"}, []string{"4000.01", "3500.00", "2500.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := managed.Distribute(fund.MustAmount(tt.amount), decs(tt.weights...))
			if err != nil {
				t.Fatal(err)
			}
			g := amountStrings(got)
			if len(g) != len(tt.want) {
				t.Fatalf("got %v, want %v", g, tt.want)
			}
			for i := range g {
				if g[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", g, tt.want)
				}
			}
		})
	}
}

func TestDistributeRefuses(t *testing.T) {
	tests := []struct {
		name    string
		amount  string
		weights []string
		zero    bool
	}{
		{"zero units", "1000.00", []string{"0", "0"}, true},
		{"no holders", "1000.00", nil, true},
		{"negative units", "1000.00", []string{"2", "-1"}, false},
		{"negative amount", "-1.00", []string{"1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := managed.Distribute(fund.MustAmount(tt.amount), decs(tt.weights...))
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, managed.ErrZeroUnits) != tt.zero {
				t.Fatalf("err %v: ErrZeroUnits %v, want %v", err, !tt.zero, tt.zero)
			}
		})
	}
}

func TestParseUnitsList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "1.5,2.25,7", want: []string{"1.5", "2.25", "7"}},
		{in: " 1 , 2 ", want: []string{"1", "2"}},
		{in: "0.000000001", want: []string{"0.000000001"}},
		{in: "0.0000000001", bad: true}, // 10 decimals: beyond fund.MaxUnitsScale
		{in: "", bad: true},
		{in: "1,,2", bad: true},
		{in: "1e3", bad: true},
		{in: "-1", bad: true},
		{in: "1;2", bad: true},
	}
	for _, tt := range tests {
		got, err := managed.ParseUnitsList(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: accepted as %v", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		for i, w := range decs(tt.want...) {
			if !got[i].Equal(w) {
				t.Errorf("%q: item %d = %s, want %s", tt.in, i+1, got[i], w)
			}
		}
	}
}
