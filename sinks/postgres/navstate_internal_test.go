package postgres

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func navLine(code string, day int, nav string) fund.NAVLine {
	return fund.NAVLine{
		NAVRecord: fund.NAVRecord{SchemeCode: code, SchemeName: "Fund " + code, NAV: decimal.RequireFromString(nav),
			Date: fund.NewDate(2026, time.August, day)},
		From: fund.Origin{File: "NAVAll.txt", SHA256: "abc", Line: day},
	}
}

// apply moves the state a plan was made on through the plan's pointers;
// a state reloaded since gets the moves by code, and a dropped one none.
func TestNAVStateApplyAfterReloadOrDrop(t *testing.T) {
	batch := []fund.NAVLine{navLine("100", 17, "10.5"), navLine("200", 17, "20.5")}
	for _, tc := range []struct {
		name    string
		between func(s *NAVSink)
		holds   bool // the state holds the batch after apply
	}{
		{"same load", func(*NAVSink) {}, true},
		{"reloaded", func(s *NAVSink) {
			// what ensure does after a drop: a new map, the next epoch
			s.state.drop()
			s.state.mu.Lock()
			s.state.loaded, s.state.schemes = true, map[string]*schemeState{"100": {version: 1, attrs: attrsOf(batch[0].NAVRecord)}}
			s.state.epoch++
			s.state.mu.Unlock()
		}, true},
		{"dropped", func(s *NAVSink) { s.state.drop() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &NAVSink{}
			s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
			p := s.plan(batch)
			if len(p.first) != 2 || len(p.changed) != 2 || len(p.fresh) != 2 {
				t.Fatalf("plan of two new schemes: first %d, changed %d, fresh %d", len(p.first), len(p.changed), len(p.fresh))
			}
			tc.between(s)
			s.apply(p)
			for _, n := range batch {
				if got := s.Holds(n.NAVRecord); got != tc.holds {
					t.Errorf("Holds(%s) = %v, want %v", n.SchemeCode, got, tc.holds)
				}
			}
			latest := s.Latest()
			if tc.holds && (len(latest) != 2 || !latest["200"].NAV.Equal(decimal.RequireFromString("20.5"))) {
				t.Errorf("Latest = %v, want both schemes at 17 Aug", latest)
			}
			if !tc.holds && len(latest) != 0 {
				t.Errorf("Latest of a dropped state = %v, want none", latest)
			}
		})
	}
}

// The entries plan makes for schemes it has not seen say nothing: a plan
// that is never applied (its write failed) leaves no scheme held or latest.
func TestNAVStateUnappliedPlanHoldsNothing(t *testing.T) {
	s := &NAVSink{}
	s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
	s.plan([]fund.NAVLine{navLine("100", 17, "10.5")})
	if s.Holds(navLine("100", 17, "10.5").NAVRecord) || len(s.Latest()) != 0 {
		t.Fatalf("an unapplied plan left scheme 100 held (%v) or latest (%v)", s.Holds(navLine("100", 17, "10.5").NAVRecord), s.Latest())
	}
	// and the next plan still takes it for new
	if p := s.plan([]fund.NAVLine{navLine("100", 18, "10.6")}); len(p.first) != 1 || len(p.changed) != 1 || p.changed[0].version != 1 {
		t.Fatalf("next plan: first %d, changed %v", len(p.first), p.changed)
	}
}

// Held moves merge as one map of moves did: the newer date wins, a tie
// goes to the move held later, an upsert (first) is kept if either needed
// one; Cut adds the moves held to those cut; a failed flush's moves are
// held again in front of those held since.
func TestHeldMovesMerge(t *testing.T) {
	d := func(day int) fund.Date { return fund.NewDate(2026, time.August, day) }
	mv := func(code string, day int, first bool) heldMove { return heldMove{latestRow{code, d(day)}, first} }
	for _, tc := range []struct {
		name       string
		older, new heldMove
		want       heldMove
	}{
		{"newer after older", mv("A", 17, false), mv("A", 18, false), mv("A", 18, false)},
		{"older after newer", mv("A", 18, false), mv("A", 17, false), mv("A", 18, false)},
		{"same day: later wins, first kept", mv("A", 18, true), mv("A", 18, false), mv("A", 18, true)},
		{"first from the older", mv("A", 17, true), mv("A", 18, false), mv("A", 18, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHeldMoves(1)
			h.add(tc.older)
			h.add(tc.new)
			if len(h.rows) != 1 || h.rows[0] != tc.want {
				t.Fatalf("held %v, want [%v]", h.rows, tc.want)
			}
		})
	}

	s := &NAVSink{HoldLatest: true}
	s.hold([]latestRow{{"A", d(17)}, {"B", d(17)}}, nil)
	s.Cut()
	s.hold([]latestRow{{"A", d(18)}}, []latestRow{{"C", d(18)}})
	s.Cut() // a cut not yet flushed takes the new moves in
	if s.Held() != 0 || len(s.cut.rows) != 3 {
		t.Fatalf("after two cuts: held %d, cut %v", s.Held(), s.cut.rows)
	}
	want := []heldMove{mv("A", 18, false), mv("B", 17, false), mv("C", 18, true)}
	for i, m := range want {
		if s.cut.rows[i] != m {
			t.Fatalf("cut %v, want %v", s.cut.rows, want)
		}
	}
	failed := s.cut
	s.cut = nil
	s.hold([]latestRow{{"B", d(16)}, {"D", d(19)}}, nil) // B older than the failed flush's
	s.holdAgain(failed)
	want = []heldMove{mv("A", 18, false), mv("B", 17, false), mv("C", 18, true), mv("D", 19, false)}
	if s.Held() != len(want) {
		t.Fatalf("held again %v, want %v", s.pending.rows, want)
	}
	for i, m := range want {
		if s.pending.rows[i] != m {
			t.Fatalf("held again %v, want %v", s.pending.rows, want)
		}
	}
}

// plan hands the COPY its new rows in navs' key order (code, then date),
// whether it sorts them by the ranks it keeps on the state's entries or,
// for a small batch bringing a scheme not ranked yet, by code. The order is
// checked against strings.Compare and time.Time, over fixed batches and
// then random ones (drops, reloads and plans never applied among them).
func TestNAVPlanFreshInKeyOrder(t *testing.T) {
	at := func(code string, y int, m time.Month, d int) fund.NAVLine {
		n := navLine(code, 1, "1")
		n.Date = fund.NewDate(y, m, d)
		return n
	}
	inKeyOrder := func(a, b *fund.NAVLine) int {
		if c := strings.Compare(a.SchemeCode, b.SchemeCode); c != 0 {
			return c
		}
		return a.Date.Time().Compare(b.Date.Time())
	}
	check := func(t *testing.T, what string, s *NAVSink, batch []fund.NAVLine, wantFresh int) navPlan {
		t.Helper()
		p := s.plan(batch)
		if wantFresh >= 0 && len(p.fresh) != wantFresh {
			t.Fatalf("%s: %d fresh rows, want %d", what, len(p.fresh), wantFresh)
		}
		if !slices.IsSortedFunc(p.fresh, inKeyOrder) {
			var got []string
			for _, n := range p.fresh {
				got = append(got, n.SchemeCode+"@"+n.Date.String())
			}
			t.Errorf("%s: fresh rows not in (code, date) order: %v", what, got)
		}
		return p
	}

	s := &NAVSink{}
	s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
	for _, b := range []struct {
		what  string
		batch []fund.NAVLine
		zero  int32 // scheme 0's rank after the batch (-1: none yet)
	}{
		{"first batch: all new, across a year's end", []fund.NAVLine{at("300", 2026, 8, 3), at("1000", 2026, 1, 1), at("20", 2026, 8, 4),
			at("abc", 2026, 8, 1), at("1000", 2025, 12, 31), at("3", 2026, 9, 1)}, -1},
		{"new schemes between and after ranked ones", []fund.NAVLine{at("25", 2026, 9, 5), at("zz", 2026, 9, 5), at("300", 2026, 9, 6),
			at("1000", 2026, 9, 7), at("20", 2026, 10, 1), at("20", 2026, 9, 30)}, -1},
		// one scheme of eight: the map is not ranked for it
		{"a small batch with a new scheme: by code", []fund.NAVLine{at("0", 2027, 1, 2), at("0", 2026, 12, 31)}, 0},
		// two schemes of nine, one new: by code ("300" before "4", which
		// a sort by key would put first, its rank 0 before any other)
		{"a small batch with a new and a ranked scheme: by code", []fund.NAVLine{at("4", 2027, 1, 5), at("300", 2027, 1, 5)}, 0},
		{"ranked schemes and the one sorted by code", []fund.NAVLine{at("3", 2027, 3, 9), at("25", 2027, 3, 8), at("1000", 2027, 3, 9),
			at("0", 2027, 2, 1), at("zz", 2026, 11, 30)}, 1},
	} {
		s.apply(check(t, b.what, s, b.batch, len(b.batch)))
		if e := s.state.schemes["0"]; b.zero >= 0 && (e == nil || e.rank != b.zero) {
			t.Errorf("%s: scheme 0's entry %+v, want rank %d", b.what, e, b.zero)
		}
	}

	reload := func() { // a new map, nothing ranked, as ensure after a drop but for the ranking
		s.state.mu.Lock()
		s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
		s.state.epoch++
		s.state.mu.Unlock()
	}
	rng := rand.New(rand.NewPCG(15, 42))
	codes := []string{"1", "10", "100", "1000", "101", "11", "2", "20", "200", "9", "90", "a", "ab", "b"}
	for i := range 3000 {
		switch rng.IntN(40) {
		case 0:
			s.state.drop() // plans on a map of their own until reloaded
		case 1:
			reload()
		case 2:
			if s.state.schemes != nil {
				s.state.mu.Lock()
				s.state.mutable(fmt.Sprint("m", i))
				s.state.mu.Unlock()
			}
		}
		var batch []fund.NAVLine
		for range 1 + rng.IntN(12) {
			code := codes[rng.IntN(len(codes))]
			if rng.IntN(8) == 0 {
				code = fmt.Sprint(rng.IntN(1000)) // new now and then
			}
			batch = append(batch, at(code, 2020+rng.IntN(10), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)))
		}
		p := check(t, fmt.Sprint("random batch ", i), s, batch, -1)
		if t.Failed() {
			return
		}
		if rng.IntN(10) == 0 {
			reload() // between a plan and its apply, which then goes by code
		}
		if rng.IntN(4) > 0 {
			s.apply(p)
		}
	}
}
