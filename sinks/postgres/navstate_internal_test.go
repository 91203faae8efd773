package postgres

import (
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
// by ranks it keeps on the state's entries: ranked on first sight, ranked
// again when a batch brings a scheme the ranking has not seen.
func TestNAVPlanFreshInKeyOrder(t *testing.T) {
	s := &NAVSink{}
	s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
	batches := [][]fund.NAVLine{
		{navLine("300", 3, "1"), navLine("1000", 2, "1"), navLine("20", 4, "1"), navLine("abc", 1, "1"), navLine("1000", 1, "1"), navLine("3", 2, "1")},
		// a scheme between those ranked, one after them all, and old ones
		{navLine("25", 5, "1"), navLine("zz", 5, "1"), navLine("300", 6, "1"), navLine("1000", 7, "1"), navLine("20", 5, "1")},
		// only ranked schemes, after an entry was made outside plan
		{navLine("3", 9, "1"), navLine("25", 8, "1"), navLine("1000", 9, "1")},
	}
	for i, batch := range batches {
		if i == 2 {
			s.state.mu.Lock()
			s.state.mutable("0")
			s.state.mu.Unlock()
		}
		p := s.plan(batch)
		if len(p.fresh) != len(batch) {
			t.Fatalf("batch %d: %d fresh rows of %d new keys", i+1, len(p.fresh), len(batch))
		}
		var got []string
		for _, n := range p.fresh {
			got = append(got, n.SchemeCode+"@"+n.Date.String())
		}
		if !slices.IsSortedFunc(p.fresh, func(a, b *fund.NAVLine) int {
			if c := strings.Compare(a.SchemeCode, b.SchemeCode); c != 0 {
				return c
			}
			return a.Date.Time().Compare(b.Date.Time())
		}) {
			t.Errorf("batch %d: fresh rows not in (code, date) order: %v", i+1, got)
		}
		s.apply(p)
	}
}
