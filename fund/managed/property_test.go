package managed_test

import (
	"math/big"
	"math/rand"
	"sort"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

func rat(d decimal.Decimal) *big.Rat { return d.Rat() }

// refDistribute is an independent largest-remainder in paise with big.Rat:
// exact share q_i = P × w_i / Σw, floor, then the leftover paise to the
// largest fractional parts, ties to the lower index.
func refDistribute(paise int64, w []*big.Rat) []int64 {
	total := new(big.Rat)
	for _, x := range w {
		total.Add(total, x)
	}
	out := make([]int64, len(w))
	fracs := make([]*big.Rat, len(w))
	left := paise
	for i, x := range w {
		q := new(big.Rat).Mul(big.NewRat(paise, 1), x)
		q.Quo(q, total)
		fl := new(big.Int).Quo(q.Num(), q.Denom())
		out[i] = fl.Int64()
		fracs[i] = new(big.Rat).Sub(q, new(big.Rat).SetInt(fl))
		left -= out[i]
	}
	idx := make([]int, len(w))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return fracs[idx[a]].Cmp(fracs[idx[b]]) > 0 })
	for _, i := range idx[:left] {
		out[i]++
	}
	return out
}

func randWeight(r *rand.Rand) decimal.Decimal {
	if r.Intn(8) == 0 {
		return decimal.Zero
	}
	return decimal.New(r.Int63n(10_000_000), -int32(r.Intn(10)))
}

func TestPropertyDistributeSumsExactly(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	for n := 0; n < 3000; n++ {
		paise := r.Int63n(1_000_000_000_00)
		if n%3 == 0 {
			paise = r.Int63n(10)
		}
		k := 1 + r.Intn(12)
		w := make([]decimal.Decimal, k)
		wr := make([]*big.Rat, k)
		for i := range w {
			w[i] = randWeight(r)
			if n%5 == 0 { // equal weights: ties decided by order
				w[i] = decimal.NewFromInt(3)
			}
			wr[i] = rat(w[i])
		}
		got, err := managed.Distribute(fund.AmountFromPaise(paise), w)
		if err != nil {
			continue // all-zero weights: refused, checked elsewhere
		}
		want := refDistribute(paise, wr)
		var sum int64
		for i, g := range got {
			if g.Paise() != want[i] {
				t.Fatalf("%d paise over %v: share %d = %d, reference %d", paise, w, i, g.Paise(), want[i])
			}
			sum += g.Paise()
		}
		if sum != paise {
			t.Fatalf("%d paise over %v: shares sum to %d", paise, w, sum)
		}
	}
}

func TestPropertySplitConserves(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for n := 0; n < 2000; n++ {
		k := 1 + r.Intn(5)
		m := managed.Model{ID: "p", Version: 1, Profile: managed.Aggressive, Effective: fund.NewDate(2026, 1, 1)}
		// Integer weights summing to 100.
		cuts := []int{0, 100}
		for i := 1; i < k; i++ {
			cuts = append(cuts, 1+r.Intn(99))
		}
		sort.Ints(cuts)
		for i := 0; i+1 < len(cuts); i++ {
			if cuts[i+1] == cuts[i] {
				continue
			}
			m.Schemes = append(m.Schemes, managed.Target{
				Scheme:   string(rune('A' + i)),
				Weight:   decimal.NewFromInt(int64(cuts[i+1] - cuts[i])),
				Min:      fund.AmountFromPaise(r.Int63n(500_000)),
				Multiple: fund.AmountFromPaise([]int64{0, 1, 100, 10000, 333}[r.Intn(5)]),
			})
		}
		dep := fund.AmountFromPaise(1 + r.Int63n(10_000_000))
		s, err := managed.SplitDeposit(dep, m)
		if err != nil {
			t.Fatal(err)
		}
		total := s.Leftover
		for _, l := range s.Legs {
			total = total.Add(l.Amount)
			var tg managed.Target
			for _, x := range m.Schemes {
				if x.Scheme == l.Scheme {
					tg = x
				}
			}
			if l.Amount.Cmp(tg.Min) < 0 || l.Amount.Sign() <= 0 {
				t.Fatalf("leg %v below minimum %s", l, tg.Min)
			}
			if !tg.Multiple.IsZero() && (l.Amount.Paise()-tg.Min.Paise())%tg.Multiple.Paise() != 0 {
				t.Fatalf("leg %v not min %s + k × %s", l, tg.Min, tg.Multiple)
			}
		}
		if !total.Equal(dep) {
			t.Fatalf("deposit %s: legs + leftover = %s", dep, total)
		}
	}
}

func TestPropertyAUMFeeNeverExceedsRate(t *testing.T) {
	r := rand.New(rand.NewSource(365))
	for n := 0; n < 300; n++ {
		from := fund.NewDate(2025, 1, 1).AddDays(r.Intn(400))
		to := from.AddDays(r.Intn(120))
		var aum []managed.AUM
		for dd := from.AddDays(-3); !dd.After(to); dd = dd.AddDays(1) {
			if dd == from.AddDays(-3) || r.Intn(3) != 0 {
				aum = append(aum, managed.AUM{Date: dd, Value: fund.AmountFromPaise(r.Int63n(1_000_000_000_00))})
			}
		}
		rs := []managed.Rate{{From: from.AddDays(-10), Percent: decimal.New(r.Int63n(300), -2)}}
		for i := 0; i < r.Intn(3); i++ {
			rs = append(rs, managed.Rate{From: from.AddDays(1 + r.Intn(120) + i*200), Percent: decimal.New(r.Int63n(300), -2)})
		}
		tb, err := managed.NewRateTable(rs...)
		if err != nil {
			continue // two rates drawn on one day
		}
		acc, err := managed.AccrueAUMFee(from, to, aum, tb)
		if err != nil {
			t.Fatal(err)
		}
		// Independent route: walk the days, look the AUM and rate up by
		// scanning, sum AUM × pct / 36500 as big.Rat.
		exact := new(big.Rat)
		for dd := from; !dd.After(to); dd = dd.AddDays(1) {
			var v, p decimal.Decimal
			for _, a := range aum {
				if !a.Date.After(dd) {
					v = a.Value.Decimal()
				}
			}
			p = latestRate(rs, dd)
			term := new(big.Rat).Mul(rat(v), rat(p))
			exact.Add(exact, term.Quo(term, big.NewRat(36500, 1)))
		}
		fee := rat(acc.Fee.Decimal())
		if fee.Cmp(exact) > 0 {
			t.Fatalf("fee %s exceeds the stated rate's %s", acc.Fee, exact.FloatString(6))
		}
		if new(big.Rat).Sub(exact, fee).Cmp(big.NewRat(1, 100)) >= 0 {
			t.Fatalf("fee %s a paisa or more under %s", acc.Fee, exact.FloatString(6))
		}
	}
}

func latestRate(rs []managed.Rate, dd fund.Date) decimal.Decimal {
	var best managed.Rate
	for _, x := range rs {
		if !x.From.After(dd) && (best.From.IsZero() || x.From.After(best.From)) {
			best = x
		}
	}
	return best.Percent
}

func TestPropertyHWMNeverFallsAndFeeBounded(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 500; n++ {
		terms := managed.PerfTerms{Percent: decimal.New(r.Int63n(3000), -2), HurdlePercent: decimal.New(r.Int63n(1200), -2)}
		value := fund.AmountFromPaise(1 + r.Int63n(100_000_000))
		hwm := value
		for year := 0; year < 10; year++ {
			// A year's return between −40 % and +60 %.
			end, _ := fund.AmountFromRatio(value.Decimal().Mul(decimal.NewFromInt(60+r.Int63n(101))), decimal.NewFromInt(100), fund.RoundDown)
			c, err := managed.CrystallisePerfFee(terms, hwm, managed.Period{Start: value, End: end})
			if err != nil {
				t.Fatal(err)
			}
			if c.HWMAfter.Cmp(hwm) < 0 {
				t.Fatalf("HWM fell from %s to %s", hwm, c.HWMAfter)
			}
			// fee ≤ pct × (end − hwm)⁺: never more than the stated rate on
			// the gain above the high-water mark.
			gain := end.Sub(hwm)
			if gain.IsNegative() {
				gain = fund.Amount{}
			}
			bound := new(big.Rat).Mul(rat(gain.Decimal()), rat(terms.Percent))
			bound.Quo(bound, big.NewRat(100, 1))
			if rat(c.Invoice.Fee.Decimal()).Cmp(bound) > 0 {
				t.Fatalf("fee %s above %s%% of the gain %s", c.Invoice.Fee, terms.Percent, gain)
			}
			hwm = c.HWMAfter
			value = end.Sub(c.Invoice.Total)
		}
	}
}

// AccrueAUMFeeRuns is AccrueAUMFee by stretches: on random periods,
// valuations (gaps carried, some after the period, some missing at its
// start) and effective-dated rates, the two give the same fee, the same
// days (Expanded) and refuse the same inputs.
func TestPropertyAccrueRunsIsAccrueByDays(t *testing.T) {
	r := rand.New(rand.NewSource(2230))
	base := fund.NewDate(2026, 1, 1)
	for n := 0; n < 2000; n++ {
		from := base.AddDays(r.Intn(60))
		to := from.AddDays(r.Intn(120) - 5) // sometimes before from
		var vals []managed.AUM
		seen := map[fund.Date]bool{}
		for k := r.Intn(8); k > 0; k-- {
			d := base.AddDays(r.Intn(200))
			if seen[d] {
				continue
			}
			seen[d] = true
			vals = append(vals, managed.AUM{Date: d, Value: fund.AmountFromPaise(r.Int63n(1_000_000_000_00))})
		}
		var rates []managed.Rate
		seenR := map[fund.Date]bool{}
		for k := 1 + r.Intn(4); k > 0; k-- {
			d := base.AddDays(r.Intn(150))
			if seenR[d] {
				continue
			}
			seenR[d] = true
			rates = append(rates, managed.Rate{From: d, Percent: decimal.New(r.Int63n(300), -2)})
		}
		table, err := managed.NewRateTable(rates...)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := managed.AccrueAUMFee(from, to, vals, table)
		got, gerr := managed.AccrueAUMFeeRuns(from, to, vals, table)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("case %d: by days %v, by runs %v", n, werr, gerr)
		}
		if werr != nil {
			continue
		}
		if !got.Fee.Equal(want.Fee) {
			t.Fatalf("case %d: fee by runs %s, by days %s", n, got.Fee, want.Fee)
		}
		days := got.Expanded().Days
		if len(days) != len(want.Days) {
			t.Fatalf("case %d: %d days, want %d", n, len(days), len(want.Days))
		}
		for i, d := range days {
			w := want.Days[i]
			if d.Date != w.Date || !d.AUM.Equal(w.AUM) || !d.Percent.Equal(w.Percent) || d.Carried != w.Carried || !d.Accrued.Equal(w.Accrued) {
				t.Fatalf("case %d day %d: %+v, want %+v", n, i, d, w)
			}
		}
	}
}
