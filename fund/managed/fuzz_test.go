package managed_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
)

// FuzzDistribute feeds `check distribute`'s two flags through their parsers
// and, when both parse, Distribute: nothing panics, and the shares sum to
// the amount exactly.
func FuzzDistribute(f *testing.F) {
	f.Add("1000.00", "1.5,2.25,7")
	f.Add("1000.00", "1,1,1")
	f.Add("0.01", "0,0")
	f.Add("99999999999.99", "0.000000001,999999999")
	f.Add("1e3", "1;2")
	f.Add("-1", " , ")
	f.Fuzz(func(t *testing.T, amount, units string) {
		w, err := managed.ParseUnitsList(units)
		if err != nil {
			return
		}
		a, err := fund.ParseAmount(amount)
		if err != nil || len(w) > 1000 {
			return
		}
		shares, err := managed.Distribute(a, w)
		if err != nil {
			return
		}
		var sum fund.Amount
		for _, s := range shares {
			if s.IsNegative() {
				t.Fatalf("negative share %s", s)
			}
			sum = sum.Add(s)
		}
		if !sum.Equal(a) {
			t.Fatalf("%s over %q: shares sum to %s", amount, units, sum)
		}
	})
}

// FuzzParseModel: a model that loads splits any deposit into legs and
// leftovers that add up to the deposit.
func FuzzParseModel(f *testing.F) {
	f.Add([]byte(moderate), int64(1000001))
	f.Add([]byte(`{"id":"x","version":1,"profile":"aggressive","effective":"2026-01-01","schemes":[{"scheme":"A","weight":"100","min":"0.00","multiple":"0.00"}]}`), int64(1))
	f.Add([]byte(`{"id":"x","version":1,"profile":"aggressive","effective":"2026-01-01","schemes":[{"scheme":"A","weight":1e2}]}`), int64(7))
	f.Add([]byte(`{"schemes":[{"weight":"99.99"}]}`), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, paise int64) {
		m, err := managed.ParseModel(b)
		if err != nil || paise <= 0 || paise > 1e15 {
			return
		}
		s, err := managed.SplitDeposit(fund.AmountFromPaise(paise), m)
		if err != nil {
			t.Fatalf("a loaded model did not split: %v", err)
		}
		sum := s.Leftover
		for _, l := range s.Legs {
			sum = sum.Add(l.Amount)
		}
		if sum.Paise() != paise {
			t.Fatalf("split of %d paise adds up to %s", paise, sum)
		}
	})
}
