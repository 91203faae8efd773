package managed_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

// moderate is the 40/35/25 model with minimums: A ₹1,000 and ₹1
// multiples, B ₹1,000 and ₹1,000 multiples thereafter, C ₹5,000.
const moderate = `{"id": "moderate-1", "version": 1, "profile": "moderate", "effective": "2026-01-01",
 "schemes": [
  {"scheme": "A", "weight": "40", "min": "1000.00", "multiple": "1.00"},
  {"scheme": "B", "weight": "35", "min": "1000.00", "multiple": "1000.00"},
  {"scheme": "C", "weight": "25", "min": "5000.00", "multiple": "1.00"}]}`

func TestSplitDepositHandComputed(t *testing.T) {
	m, err := managed.ParseModel([]byte(moderate))
	if err != nil {
		t.Fatal(err)
	}
	// Ideal shares of ₹10,000.01 (Distribute): 4000.01, 3500.00, 2500.00.
	// A: 1000 + floor(3000.01/1)×1 = 4000.00, leftover 0.01 (multiple).
	// B: 1000 + floor(2500/1000)×1000 = 3000.00, leftover 500.00 (multiple).
	// C: 2500.00 < 5000 minimum: not invested, leftover 2500.00.
	// Invested 7000.00 + leftover 3000.01 = 10000.01.
	s, err := managed.SplitDeposit(fund.MustAmount("10000.01"), m)
	if err != nil {
		t.Fatal(err)
	}
	wantLegs := []managed.Leg{{Scheme: "A", Amount: fund.MustAmount("4000.00")}, {Scheme: "B", Amount: fund.MustAmount("3000.00")}}
	wantLeft := []managed.Leftover{
		{Scheme: "A", Amount: fund.MustAmount("0.01"), Reason: managed.ReasonMultiple},
		{Scheme: "B", Amount: fund.MustAmount("500.00"), Reason: managed.ReasonMultiple},
		{Scheme: "C", Amount: fund.MustAmount("2500.00"), Reason: managed.ReasonBelowMin},
	}
	if len(s.Legs) != len(wantLegs) || len(s.Leftovers) != len(wantLeft) {
		t.Fatalf("got %+v", s)
	}
	for i, l := range wantLegs {
		if s.Legs[i].Scheme != l.Scheme || !s.Legs[i].Amount.Equal(l.Amount) {
			t.Errorf("leg %d = %v, want %v", i, s.Legs[i], l)
		}
	}
	for i, l := range wantLeft {
		if s.Leftovers[i].Scheme != l.Scheme || !s.Leftovers[i].Amount.Equal(l.Amount) || s.Leftovers[i].Reason != l.Reason {
			t.Errorf("leftover %d = %v, want %v", i, s.Leftovers[i], l)
		}
	}
	if !s.Leftover.Equal(fund.MustAmount("3000.01")) {
		t.Errorf("leftover %s, want 3000.01", s.Leftover)
	}
}

func TestSplitDepositCases(t *testing.T) {
	m, err := managed.ParseModel([]byte(moderate))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		deposit  string
		legs     map[string]string
		leftover string
	}{
		// 20000.00 → 8000, 7000, 5000: B 1000+6×1000 = 7000; C exactly its minimum.
		{"20000.00", map[string]string{"A": "8000.00", "B": "7000.00", "C": "5000.00"}, "0.00"},
		// 2000.00 → 800, 700, 500: all below their minimums, all stays.
		{"2000.00", map[string]string{}, "2000.00"},
		// 0.01 → 0.01, 0, 0: below A's minimum.
		{"0.01", map[string]string{}, "0.01"},
	}
	for _, tt := range tests {
		s, err := managed.SplitDeposit(fund.MustAmount(tt.deposit), m)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Legs) != len(tt.legs) {
			t.Errorf("%s: legs %v, want %v", tt.deposit, s.Legs, tt.legs)
		}
		for _, l := range s.Legs {
			if l.Amount.String() != tt.legs[l.Scheme] {
				t.Errorf("%s: %s = %s, want %s", tt.deposit, l.Scheme, l.Amount, tt.legs[l.Scheme])
			}
		}
		if s.Leftover.String() != tt.leftover {
			t.Errorf("%s: leftover %s, want %s", tt.deposit, s.Leftover, tt.leftover)
		}
	}
	if _, err := managed.SplitDeposit(fund.MustAmount("0.00"), m); err == nil {
		t.Error("a zero deposit was split")
	}
}

func TestParseModelRefuses(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		weights bool
	}{
		{"weights sum to 99.99", func(s string) string { return strings.Replace(s, `"25"`, `"24.99"`, 1) }, true},
		{"weights sum to 100.01", func(s string) string { return strings.Replace(s, `"25"`, `"25.01"`, 1) }, true},
		{"zero weight", func(s string) string { return strings.Replace(s, `"25"`, `"0"`, 1) }, false},
		{"negative weight", func(s string) string { return strings.Replace(s, `"40"`, `"-40"`, 1) }, false},
		{"scheme twice", func(s string) string { return strings.Replace(s, `"scheme": "B"`, `"scheme": "A"`, 1) }, false},
		{"unknown profile", func(s string) string { return strings.Replace(s, `"moderate"`, `"reckless"`, 1) }, false},
		{"unknown field", func(s string) string { return strings.Replace(s, `"version"`, `"versio"`, 1) }, false},
		{"no effective date", func(s string) string { return strings.Replace(s, `"effective": "2026-01-01",`, ``, 1) }, false},
		{"trailing data", func(s string) string { return s + "{}" }, false},
		{"negative minimum", func(s string) string { return strings.Replace(s, `"5000.00"`, `"-5000.00"`, 1) }, false},
		{"minimum with three decimals", func(s string) string { return strings.Replace(s, `"5000.00"`, `"5000.001"`, 1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := managed.ParseModel([]byte(tt.edit(moderate)))
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, managed.ErrWeights) != tt.weights {
				t.Fatalf("%v: ErrWeights = %v", err, !tt.weights)
			}
		})
	}
	// Weights that sum to 100 only in floating point are refused exactly:
	// 33.33 × 3 = 99.99.
	m := managed.Model{ID: "x", Version: 1, Profile: managed.Conservative, Effective: fund.NewDate(2026, 1, 1)}
	for _, s := range []string{"A", "B", "C"} {
		m.Schemes = append(m.Schemes, managed.Target{Scheme: s, Weight: decimal.RequireFromString("33.33")})
	}
	if err := m.Validate(); !errors.Is(err, managed.ErrWeights) {
		t.Fatalf("33.33×3: %v", err)
	}
}
