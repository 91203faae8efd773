package schedule_test

import (
	"math/big"
	"math/rand"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
	"github.com/shopspring/decimal"
)

// reference computes a bounded plan's schedule the slow, obvious way: it
// walks every calendar day from the start, asks whether the day matches the
// rule in force that day, and groups the matches by due date. It shares
// no code with the package (no month arithmetic, no segments).
func reference(spec schedule.Spec, cal *fund.Calendar) schedule.Schedule {
	var out schedule.Schedule
	day, wd := spec.Day, spec.Weekday
	if day == 0 {
		day = spec.Start.Day
	}
	change, n := 0, 0
	var quarterMonth time.Time // month of the first quarterly nominal date
	for t := spec.Start.Time(); ; t = t.AddDate(0, 0, 1) {
		date := fund.DateOf(t)
		if !spec.End.IsZero() && date.After(spec.End) || spec.Count > 0 && n == spec.Count {
			return out
		}
		for change < len(spec.Changes) && !t.Before(spec.Changes[change].From.Time()) {
			c := spec.Changes[change]
			day, wd = c.Day, c.Weekday
			if day == 0 {
				day = c.From.Day
			}
			change++
		}
		monthLen := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		var match bool
		switch spec.Frequency {
		case schedule.Daily:
			match = true
		case schedule.Weekly:
			match = t.Weekday() == wd
		case schedule.Monthly:
			match = t.Day() == min(day, monthLen)
		case schedule.Quarterly:
			match = t.Day() == min(day, monthLen)
			if match && !quarterMonth.IsZero() {
				months := (t.Year()-quarterMonth.Year())*12 + int(t.Month()) - int(quarterMonth.Month())
				match = months%3 == 0
			}
			if match && quarterMonth.IsZero() {
				quarterMonth = t
			}
		}
		if !match {
			continue
		}
		n++
		due := date
		if spec.Frequency == schedule.Daily {
			if ok, _ := cal.IsBusinessDay(date); !ok { // an unbounded calendar (NewCalendar): no error
				out.Dropped = append(out.Dropped, schedule.Nominal{Seq: n, Date: date})
				continue
			}
		} else {
			for ok, _ := cal.IsBusinessDay(due); !ok; ok, _ = cal.IsBusinessDay(due) {
				due = due.AddDays(1)
			}
		}
		if k := len(out.Instalments) - 1; k >= 0 && out.Instalments[k].Due == due {
			out.Instalments[k].Merged = append(out.Instalments[k].Merged, date)
			continue
		}
		out.Instalments = append(out.Instalments, schedule.Instalment{Seq: n, Nominal: date, Due: due})
	}
}

// randomCalendar is the NSE fixtures plus a few random stretches of one to
// nine holidays (long ones make weekly dates merge).
func randomCalendar(rng *rand.Rand, base *fund.Calendar) *fund.Calendar {
	hs := base.Holidays()
	for range rng.Intn(6) {
		start := fund.NewDate(2024, 1, 1+rng.Intn(3*365))
		for i := range 1 + rng.Intn(9) {
			hs = append(hs, start.AddDays(i))
		}
	}
	return fund.NewCalendar(hs...)
}

func randomSpec(rng *rand.Rand) schedule.Spec {
	freqs := []schedule.Frequency{schedule.Daily, schedule.Weekly, schedule.Monthly, schedule.Quarterly}
	s := schedule.Spec{Frequency: freqs[rng.Intn(4)], Start: fund.NewDate(2024, 1, 1+rng.Intn(700))}
	switch s.Frequency {
	case schedule.Weekly:
		s.Weekday = time.Weekday(rng.Intn(7))
	case schedule.Monthly, schedule.Quarterly:
		s.Day = rng.Intn(32) // 0: the start's day
	}
	if rng.Intn(2) == 0 {
		s.Count = 1 + rng.Intn(40)
	} else {
		s.End = s.Start.AddDays(rng.Intn(500))
	}
	if s.Frequency != schedule.Daily {
		from := s.Start
		for range rng.Intn(3) {
			from = from.AddDays(1 + rng.Intn(120))
			c := schedule.Change{From: from}
			if s.Frequency == schedule.Weekly {
				c.Weekday = time.Weekday(rng.Intn(7))
			} else {
				c.Day = rng.Intn(32)
			}
			s.Changes = append(s.Changes, c)
		}
	}
	return s
}

func TestScheduleProperties(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	base := nse(t)
	for i := range 3000 {
		spec, cal := randomSpec(rng), randomCalendar(rng, base)
		got, err := schedule.Explain(spec, cal)
		if err != nil {
			t.Fatalf("seed %d case %d: %+v: %v", seed, i, spec, err)
		}
		if want := reference(spec, cal); !sameSchedule(got, want) {
			t.Fatalf("seed %d case %d: %+v\n got %v %v\nwant %v %v", seed, i, spec, show(got.Instalments), got.Dropped, show(want.Instalments), want.Dropped)
		}
		// the invariants, on their own terms
		nominals := len(got.Dropped)
		for j, in := range got.Instalments {
			if ok, err := cal.IsBusinessDay(in.Due); !ok || err != nil || in.Due.Before(in.Nominal) {
				t.Fatalf("seed %d case %d: %v due %s is not a business day on or after its nominal date", seed, i, spec, in.Due)
			}
			if j > 0 && !in.Due.After(got.Instalments[j-1].Due) {
				t.Fatalf("seed %d case %d: two instalments on or out of order at %s", seed, i, in.Due)
			}
			for _, m := range in.Merged {
				if m.After(in.Due) || !m.After(in.Nominal) {
					t.Fatalf("seed %d case %d: merged %s outside (%s, %s]", seed, i, m, in.Nominal, in.Due)
				}
			}
			nominals += 1 + len(in.Merged)
			if !spec.End.IsZero() && in.LastNominal().After(spec.End) {
				t.Fatalf("seed %d case %d: nominal %s after end %s", seed, i, in.LastNominal(), spec.End)
			}
		}
		if spec.Count > 0 && nominals != spec.Count {
			t.Fatalf("seed %d case %d: %d nominal dates, want %d", seed, i, nominals, spec.Count)
		}
		if last, ok, err := schedule.Last(spec); err != nil || ok != (nominals > 0) || ok && last.Seq != nominals {
			t.Fatalf("seed %d case %d: Last = %v %v %v with %d nominal dates", seed, i, last, ok, err, nominals)
		}
		checkWindows(t, seed, i, rng, spec, cal, got)
	}
}

func sameSchedule(a, b schedule.Schedule) bool {
	if len(a.Instalments) != len(b.Instalments) || len(a.Dropped) != len(b.Dropped) {
		return false
	}
	for i := range a.Instalments {
		x, y := a.Instalments[i], b.Instalments[i]
		if x.Seq != y.Seq || x.Nominal != y.Nominal || x.Due != y.Due || len(x.Merged) != len(y.Merged) {
			return false
		}
		for j := range x.Merged {
			if x.Merged[j] != y.Merged[j] {
				return false
			}
		}
	}
	for i := range a.Dropped {
		if a.Dropped[i] != b.Dropped[i] {
			return false
		}
	}
	return true
}

// checkWindows runs the instalment run's protocol: windows up to random
// days, each after the last stored instalment's LastNominal; concatenated
// they must be the whole schedule. The same plan made perpetual, windowed
// up to a day, must be its prefix.
func checkWindows(t *testing.T, seed int64, i int, rng *rand.Rand, spec schedule.Spec, cal *fund.Calendar, all schedule.Schedule) {
	t.Helper()
	var joined []schedule.Instalment
	var after fund.Date
	end := spec.Start.AddDays(30)
	if n := len(all.Instalments); n > 0 {
		end = all.Instalments[n-1].Due.AddDays(30)
	}
	// step 0 repeats a window: the run called twice on one day
	for through := spec.Start.AddDays(-3); ; through = through.AddDays(rng.Intn(60)) {
		if through.After(end) {
			through = end
		}
		w, err := schedule.Window(spec, cal, after, through)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, w...)
		if len(w) > 0 {
			after = w[len(w)-1].LastNominal()
		}
		if through == end {
			break
		}
	}
	if !sameSchedule(schedule.Schedule{Instalments: joined}, schedule.Schedule{Instalments: all.Instalments}) {
		t.Fatalf("seed %d case %d: %+v: windows joined\n%v\nAll\n%v", seed, i, spec, show(joined), show(all.Instalments))
	}
	perpetual := spec
	perpetual.End, perpetual.Count = fund.Date{}, 0
	upTo := spec.Start.AddDays(rng.Intn(400))
	w, err := schedule.WindowExplain(perpetual, cal, fund.Date{}, upTo)
	if err != nil {
		t.Fatal(err)
	}
	bounded := perpetual
	bounded.End = upTo
	var want schedule.Schedule
	ref := reference(bounded, cal)
	for _, in := range ref.Instalments {
		if !in.Due.After(upTo) {
			want.Instalments = append(want.Instalments, in)
		}
	}
	want.Dropped = ref.Dropped
	if !sameSchedule(w, want) {
		t.Fatalf("seed %d case %d: perpetual %+v through %s\n got %v\nwant %v", seed, i, perpetual, upTo, show(w.Instalments), show(want.Instalments))
	}
}

func TestStepUpHand(t *testing.T) {
	amt := func(s string) fund.Amount { return fund.MustAmount(s) }
	pct := func(s string) schedule.StepUp { return schedule.StepUp{Pct: decimal.RequireFromString(s)} }
	by := func(s string) schedule.StepUp { a := amt(s); return schedule.StepUp{Amount: &a} }
	anchor := d("2024-01-15")
	cases := []struct {
		su      schedule.StepUp
		base    string
		anchor  fund.Date
		nominal string
		want    string
	}{
		{pct("10"), "1000.00", anchor, "2025-01-14", "1000.00"}, // a day short of a year
		{pct("10"), "1000.00", anchor, "2025-01-15", "1100.00"},
		{pct("10"), "1000.00", anchor, "2027-01-15", "1331.00"},
		{pct("2.5"), "1000.00", anchor, "2027-02-01", "1076.89"},            // 1076.890625
		{pct("7.25"), "1000.00", anchor, "2026-01-20", "1150.26"},           // 1150.25625
		{pct("5"), "100.10", anchor, "2025-06-01", "105.11"},                // 105.105: a tie, half-up
		{pct("5"), "100.10", anchor, "2026-06-01", "110.36"},                // 110.36025 rounded once (per year: 105.11 → 110.37)
		{by("100"), "500.00", anchor, "2026-03-01", "700.00"},               // two years
		{schedule.StepUp{}, "500.00", anchor, "2030-03-01", "500.00"},       // none
		{by("250.50"), "1000.00", d("2024-02-29"), "2025-02-28", "1250.50"}, // 29-Feb's anniversary in 2025: 28-Feb
		{by("250.50"), "1000.00", d("2024-02-29"), "2025-02-27", "1000.00"},
		{by("1"), "1.00", d("2024-02-29"), "2028-02-28", "4.00"}, // 2028 is a leap year: 3 years on the 28th
		{by("1"), "1.00", d("2024-02-29"), "2028-02-29", "5.00"},
	}
	for _, c := range cases {
		got, err := c.su.AmountAt(amt(c.base), c.anchor, d(c.nominal))
		if err != nil || got.String() != c.want {
			t.Errorf("%+v on %s from %s at %s: %v %v, want %s", c.su, c.base, c.anchor, c.nominal, got, err, c.want)
		}
	}
	a := amt("5")
	for _, bad := range []schedule.StepUp{{Amount: &a, Pct: decimal.NewFromInt(5)}, pct("-1"), pct("100.01"), by("0")} {
		if _, err := bad.AmountAt(amt("100"), anchor, anchor); schedule.ReasonOf(err) != schedule.ReasonStepUp {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := pct("1").AmountAt(amt("100"), anchor, d("2200-01-01")); schedule.ReasonOf(err) != schedule.ReasonStepUp {
		t.Errorf("over 100 years: %v", err)
	}
}

// TestStepUpExact checks percentage step-ups against big.Rat: base ×
// (1 + p/100)^k exactly, then half-up to the paisa.
func TestStepUpExact(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	anchor := d("2020-03-31")
	for i := range 5000 {
		paise := 1 + rng.Int63n(10_000_000_00)
		bp := 1 + rng.Int63n(100_0000) // p in (0, 100] with 4 decimals
		k := rng.Intn(41)
		su := schedule.StepUp{Pct: decimal.New(bp, -4)}
		got, err := su.AmountAt(fund.AmountFromPaise(paise), anchor, fund.NewDate(2020+k, 3, 31+rng.Intn(30)))
		if err != nil {
			t.Fatal(err)
		}
		// exact: paise × (1 + bp/1e6)^k, in paise, half-up
		f := new(big.Rat).SetFrac64(1_000_000+bp, 1_000_000)
		v := new(big.Rat).SetInt64(paise)
		for range k {
			v.Mul(v, f)
		}
		v.Add(v, big.NewRat(1, 2))
		want := new(big.Int).Quo(v.Num(), v.Denom()) // floor, v > 0
		if g := got.Decimal().Shift(2).String(); g != want.String() {
			t.Fatalf("seed %d case %d: %d paise × (1+%s%%)^%d = %s paise, want %s", seed, i, paise, su.Pct, k, g, want)
		}
	}
}

// TestCivilArithmetic checks the package's integer calendar against
// package time over every day from 1899 to 2101 and a few far ones.
func TestCivilArithmetic(t *testing.T) {
	days := []time.Time{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2400, 2, 29, 0, 0, 0, 0, time.UTC)}
	for tm := time.Date(1899, 1, 1, 0, 0, 0, 0, time.UTC); tm.Year() < 2101; tm = tm.AddDate(0, 0, 1) {
		days = append(days, tm)
	}
	for _, tm := range days {
		if err := schedule.CheckCivil(fund.DateOf(tm)); err != nil {
			t.Fatal(err)
		}
	}
}
