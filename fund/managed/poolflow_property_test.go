package managed_test

import (
	"math/big"
	"math/rand"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

// A pool distribution over random members (pool units at 3 decimals, some
// reinvesting) always sums exactly to the amount, matches the big.Rat
// largest remainder share for share, and each reinvested share buys the
// most units of 0.001 it can pay for at the NAV, never more.
func TestPropertyPoolDistributionSumsExactly(t *testing.T) {
	r := rand.New(rand.NewSource(46))
	for n := 0; n < 2000; n++ {
		paise := 1 + r.Int63n(1_000_000_00)
		k := 1 + r.Intn(10)
		hs := make([]managed.Holder, k)
		wr := make([]*big.Rat, k)
		anyUnits := false
		for i := range hs {
			milli := r.Int63n(100_000_000) // up to 100,000.000 units
			if n%4 == 0 {
				milli = 100_000 // equal holdings: ties to the first
			}
			hs[i] = managed.Holder{ID: string(rune('A' + i)), Units: fund.MustUnits(decimal.New(milli, -3).StringFixed(3), 3), Reinvest: r.Intn(2) == 0}
			wr[i] = big.NewRat(milli, 1000)
			anyUnits = anyUnits || milli > 0
		}
		nav := fund.MustNAV(decimal.New(1+r.Int63n(10_000_000), -4).StringFixed(4))
		shares, err := managed.DistributePool(fund.AmountFromPaise(paise), hs, nav)
		if !anyUnits {
			if err == nil {
				t.Fatalf("zero units accepted")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want := refDistribute(paise, wr)
		var sum int64
		for i, s := range shares {
			if s.Amount.Paise() != want[i] {
				t.Fatalf("%d paise over %v: share %d = %s, reference %d paise", paise, hs, i, s.Amount, want[i])
			}
			sum += s.Amount.Paise()
			if (s.Units != nil) != hs[i].Reinvest {
				t.Fatalf("share %d reinvested %v, holder reinvests %v", i, s.Units != nil, hs[i].Reinvest)
			}
			if s.Units != nil {
				// units × nav ≤ share < (units + 0.001) × nav, exactly.
				cost := new(big.Rat).Mul(s.Units.Decimal().Rat(), nav.Decimal().Rat())
				more := new(big.Rat).Mul(new(big.Rat).Add(s.Units.Decimal().Rat(), big.NewRat(1, 1000)), nav.Decimal().Rat())
				amt := s.Amount.Decimal().Rat()
				if cost.Cmp(amt) > 0 || more.Cmp(amt) <= 0 {
					t.Fatalf("%s at %s bought %s units", s.Amount, nav, s.Units)
				}
			}
		}
		if sum != paise {
			t.Fatalf("shares sum to %d paise, not %d", sum, paise)
		}
	}
}

// FuzzPoolNAVDate: any cut-off text and receipt time either is refused or
// gives a business day on or after the receipt's IST date, the same day
// only before the cut-off.
func FuzzPoolNAVDate(f *testing.F) {
	f.Add("15:00", int64(1787290560))
	f.Add("13:00", int64(1787300000))
	f.Add("24:99", int64(0))
	f.Add("", int64(-1))
	f.Add("9:5", int64(1787290560))
	cal := fund.NewCalendar(fund.NewDate(2026, time.August, 17))
	f.Fuzz(func(t *testing.T, cutoff string, unix int64) {
		if unix < -1e10 || unix > 1e11 {
			return
		}
		at := time.Unix(unix, 0).In(fund.IST())
		d, err := managed.PoolNAVDate(at, cutoff, cal)
		if err != nil {
			return
		}
		c, perr := time.Parse("15:04", cutoff)
		if perr != nil {
			t.Fatalf("cut-off %q accepted though not hh:mm", cutoff)
		}
		ok, _ := cal.IsBusinessDay(d)
		if !ok || d.Before(fund.DateOf(at)) {
			t.Fatalf("%v, cut-off %s: NAV date %s", at, cutoff, d)
		}
		sameDay := d == fund.DateOf(at)
		before := at.Hour()*60+at.Minute() < c.Hour()*60+c.Minute()
		if sameDay && !before {
			t.Fatalf("%v at or after the cut-off %s priced the same day", at, cutoff)
		}
		if busy, _ := cal.IsBusinessDay(fund.DateOf(at)); busy && before && !sameDay {
			t.Fatalf("%v before the cut-off %s on a business day priced on %s", at, cutoff, d)
		}
	})
}
