package pgstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// applyAll applies evs batch by batch (each batch a slice of evs) and
// returns the alert ids raised, sorted; want are those of EvalAll over a
// plain map (every window kept), the same events in the same order.
func applyAll(t *testing.T, st *pgstore.Store, rs *fraud.RuleSet, batches [][]pgstore.Positioned) (got, want []string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	ref := map[string]fraud.State{}
	for _, b := range batches {
		for _, p := range b {
			changed, fs := rs.EvalAll(ref, p.Event)
			for k, s := range changed {
				if s.Len() == 0 {
					delete(ref, k)
				} else {
					ref[k] = s
				}
			}
			for _, f := range fs {
				want = append(want, f.AlertID())
			}
		}
		res, err := st.Apply(ctx, rs, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Raised {
			got = append(got, f.AlertID())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	return got, want
}

// orderOn is an orders.status event on partition part at offset off.
func orderOn(part int, off int64, id, inv, folio, kind string, at time.Time, amount, holdings string) pgstore.Positioned {
	return pgstore.Positioned{Stream: "orders.status", Part: part, Off: off, Event: fraud.Event{ID: id, Lineage: fmt.Sprintf("orders.status/%d/%s", part, id),
		Kind: fraud.EventOrder, OrderKind: kind, OrderID: "O" + id, InvestorID: inv, FolioNo: folio, At: at,
		Amount: fund.MustAmount(amount), Holdings: fund.MustAmount(holdings)}}
}

// orders.status is keyed by folio: an investor's two folios are on two
// partitions. X buys 200,000 in F1 (partition 0) at T0; partition 0 reads
// on to T0+6d while partition 1 lags 5 days behind; then partition 1
// delivers X's redemption of 190,000 from F2 dated T0+1d. The per-investor
// round trip must fire as it does with every window kept: the window
// created on partition 0 may not be dropped against partition 0's clock.
// The old code dropped it (partition 0's newest less a day is past the
// window's 3 days) and raised nothing.
func TestExpiryWaitsForTheSlowestPartitionOfAnInvestorsFolios(t *testing.T) {
	pool, _ := testkit.PG(t)
	rs := fraud.Shipped()
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	var p0, p1 []pgstore.Positioned
	var o0, o1 int64
	on0 := func(id, inv, kind string, at time.Time, amount, holdings string) {
		p0 = append(p0, orderOn(0, o0, id, inv, "F"+inv, kind, at, amount, holdings))
		o0++
	}
	// partition 1 has been read to T0-1d: another investor's purchase
	p1 = append(p1, orderOn(1, o1, "y1", "Y", "FY", "purchase", t0.Add(-24*time.Hour), "1000", "50000"))
	o1++
	on0("x1", "X", "purchase", t0, "200000", "200000")
	// partition 0 moves on to T0+6d, other investors' SIP purchases
	for h := 6; h <= 6*24; h += 6 {
		on0(fmt.Sprintf("s%d", h), fmt.Sprintf("S%d", h), "purchase", t0.Add(time.Duration(h)*time.Hour), "1000", "50000")
	}
	// partition 1, 5 days behind, delivers X's redemption from F2
	red := orderOn(1, o1, "x2", "X", "F2", "redemption", t0.Add(24*time.Hour), "190000", "200000")
	batches := [][]pgstore.Positioned{p1[:1], p0[:1]}
	for _, p := range p0[1:] {
		batches = append(batches, []pgstore.Positioned{p})
	}
	batches = append(batches, []pgstore.Positioned{red})

	got, want := applyAll(t, &pgstore.Store{Pool: pool}, rs, batches)
	// counted from the input: X's redemption is 95% of the 3 days'
	// purchases, which are all of the holdings
	if !slices.Equal(want, []string{"round-trip:x2"}) {
		t.Fatalf("with every window kept the rules raised %v, want [round-trip:x2]", want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("with expiry %v, with every window kept %v", got, want)
	}
}

// seenAt sets when the bus took p.
func seenAt(p pgstore.Positioned, at time.Time) pgstore.Positioned {
	p.Seen = at
	return p
}

// A purchase dated 60 days ahead of its Kafka time (a bad clock at the
// source) must not move its partition's clock: with the old code the
// partition's floor jumped 59 days and X's round-trip window, 2 hours old,
// was dropped before X's redemption the next day. An event more than
// Lateness behind its partition's newest is counted as late.
func TestFutureDatedEventDoesNotMoveTheFloor(t *testing.T) {
	pool, _ := testkit.PG(t)
	rs := fraud.Shipped()
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	batches := [][]pgstore.Positioned{
		{seenAt(orderOn(0, 0, "x1", "X", "FX", "purchase", t0, "200000", "200000"), t0)},
		{seenAt(orderOn(0, 1, "f1", "F", "FF", "purchase", t0.Add(60*day), "1000", "50000"), t0.Add(time.Hour))},
		{seenAt(orderOn(0, 2, "x2", "X", "FX", "redemption", t0.Add(day), "190000", "200000"), t0.Add(day))},
	}
	st := &pgstore.Store{Pool: pool}
	got, want := applyAll(t, st, rs, batches)
	if !slices.Equal(want, []string{"round-trip:x2"}) {
		t.Fatalf("with every window kept the rules raised %v, want [round-trip:x2]", want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("with expiry %v, with every window kept %v", got, want)
	}
	if n := st.Late(); n != 0 {
		t.Fatalf("%d late events, want 0 (none is a day behind its partition)", n)
	}
	// two days after the redemption, then one dated 2 days before that
	late := [][]pgstore.Positioned{
		{seenAt(orderOn(0, 3, "g1", "G", "FG", "purchase", t0.Add(3*day), "1000", "50000"), t0.Add(3*day))},
		{seenAt(orderOn(0, 4, "h1", "H", "FH", "purchase", t0.Add(day-time.Hour), "1000", "50000"), t0.Add(3*day))},
	}
	if _, w := applyAll(t, st, rs, late); len(w) != 0 {
		t.Fatalf("the late batch raises %v with every window kept, want nothing", w)
	}
	if n := st.Late(); n != 1 {
		t.Fatalf("%d late events, want 1", n)
	}
}

// The windows of a rule taken out of the set are never read again: the
// next sweep drops them, in a live store and in one started from a
// snapshot (the old code never bucketed them: they stayed for ever).
func TestWindowsOfARemovedRuleAreDropped(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	rs := fraud.Shipped()
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	// a purchase: X's round-trip window (and structuring's, if any)
	x1 := orderOn(0, 0, "x1", "X", "FX", "purchase", t0, "200000", "200000")
	st := &pgstore.Store{Pool: pool}
	if _, err := st.Apply(ctx, rs, []pgstore.Positioned{x1}); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Windows()
	if before == 0 {
		t.Fatal("no window after a purchase")
	}
	if err := st.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	without := &fraud.RuleSet{Version: rs.Version + 1}
	for _, r := range rs.Rules {
		if r.ID != "round-trip" {
			without.Rules = append(without.Rules, r)
		}
	}
	// a message that moves the position only: no window changes, the sweep runs
	skip := pgstore.Positioned{Stream: "orders.status", Part: 0, Off: 1, Ignored: true}
	for name, s := range map[string]*pgstore.Store{"live": st, "from the snapshot": {Pool: pool}} {
		if name != "live" {
			if err := s.Load(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Apply(ctx, without, []pgstore.Positioned{skip}); err != nil {
			t.Fatal(err)
		}
		// counted from the input: the one round-trip window, X's
		if live, dropped := s.Windows(); live != before-1 || dropped != 1 {
			t.Errorf("%s: %d windows live, %d dropped after round-trip left the set; want %d and 1", name, live, dropped, before-1)
		}
	}
}
