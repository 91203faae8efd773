package pgstore_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func profile(off int64, id, inv string, h int, fp string) pgstore.Positioned {
	return pgstore.Positioned{Stream: "investors.changed", Part: 0, Off: off, Event: fraud.Event{ID: id, Lineage: "kafka:investors.changed/0/" + id,
		Kind: fraud.EventProfile, InvestorID: inv, At: t0.Add(time.Duration(h) * time.Hour),
		Fields: []string{"bank_account"}, Fingerprints: map[string]string{"bank_account": fp}}}
}

func redemption(off int64, id, inv string, h int, amount, holdings string) pgstore.Positioned {
	return pgstore.Positioned{Stream: "orders.status", Part: 1, Off: off, Event: fraud.Event{ID: id, Lineage: "kafka:orders.status/1/" + id,
		Kind: fraud.EventOrder, OrderKind: "redemption", OrderID: "O-" + id, InvestorID: inv, FolioNo: "F-" + inv,
		At: t0.Add(time.Duration(h) * time.Hour), Amount: fund.MustAmount(amount), Holdings: fund.MustAmount(holdings)}}
}

// The windows live in memory and reach Postgres by Snapshot: a batch
// split across two stores (a restart after a snapshot) fires as one store
// would; a store restarted from an older snapshot (a crash before the
// next) evaluates the events since again and raises nothing twice; a
// batch applied again (a Kafka redelivery) is skipped; the windows of a
// full snapshot and a delta after it are what a later start fires on.
func TestApplyExactlyOnceAcrossRestarts(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	rs := fraud.Shipped()
	first := []pgstore.Positioned{
		profile(0, "c1", "I1", 0, "fpA"), // I1 changes bank
		profile(1, "c2", "I2", 1, "fpA"),
	}
	second := []pgstore.Positioned{
		profile(2, "c3", "I3", 2, "fpA"),                          // a third investor on fpA: mule-bank (> 2)
		redemption(0, "r1", "I1", 30, "60000", "100000"),          // 60% of I1's holdings 30h after the change: ato-redemption
		redemption(1, "r2", "I2", 30, "10000", "100000"),          // 10%: nothing
		{Stream: "orders.status", Part: 1, Off: 2, Ignored: true}, // a later status: moves the position only
	}
	apply := func(st *pgstore.Store, b []pgstore.Positioned) pgstore.Result {
		t.Helper()
		r, err := st.Apply(ctx, rs, b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	raised := func(r pgstore.Result) []string {
		var ids []string
		for _, f := range r.Raised {
			ids = append(ids, f.AlertID())
		}
		return ids
	}
	s1 := &pgstore.Store{Pool: pool}
	if r1 := apply(s1, first); r1.Applied != 2 || len(r1.Raised) != 0 {
		t.Fatalf("first batch: %+v", r1)
	}
	if err := s1.Snapshot(ctx); err != nil { // the first snapshot: full
		t.Fatal(err)
	}
	s2 := &pgstore.Store{Pool: pool} // "restarted": only the snapshot
	want := []string{"mule-bank:c3", "ato-redemption:r1"}
	if got := raised(apply(s2, second)); !slices.Equal(got, want) {
		t.Fatalf("raised %v, want %v", got, want)
	}
	// s2 dies before its snapshot: s3 starts from s1's and the stream
	// replays the second batch: evaluated again (3 events), the two alerts
	// found by id, none raised
	s3 := &pgstore.Store{Pool: pool}
	if r := apply(s3, second); r.Applied != 3 || r.Skipped != 0 || len(r.Raised) != 0 {
		t.Errorf("replay after a crash: %+v", r)
	}
	// redelivery of both batches to a store that applied them: all 6 skipped
	for _, b := range [][]pgstore.Positioned{first, second} {
		if r := apply(s3, b); r.Applied != 0 || r.Skipped != len(b) || len(r.Raised) != 0 {
			t.Errorf("redelivery: %+v", r)
		}
	}
	if err := s3.Snapshot(ctx); err != nil { // a delta after the full one
		t.Fatal(err)
	}
	if got := s3.Durable("orders.status", 1); got != 2 {
		t.Errorf("durable orders.status/1 = %d, want 2", got)
	}
	// a start from full + delta: everything applied is skipped, and a
	// fourth investor on fpA fires on the three the windows remember
	s4 := &pgstore.Store{Pool: pool}
	for _, b := range [][]pgstore.Positioned{first, second} {
		if r := apply(s4, b); r.Applied != 0 || r.Skipped != len(b) {
			t.Errorf("after the snapshots: %+v", r)
		}
	}
	if got := raised(apply(s4, []pgstore.Positioned{profile(3, "c4", "I4", 3, "fpA")})); !slices.Equal(got, []string{"mule-bank:c4"}) {
		t.Errorf("a fourth investor on fpA raised %v, want [mule-bank:c4]", got)
	}
	if err := s4.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	var snaps, fulls int
	pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE is_full) FROM fraud_snapshots`).Scan(&snaps, &fulls) //nolint:errcheck
	if snaps != 3 || fulls != 1 {
		t.Errorf("%d snapshots (%d full), want 3 (1 full, 2 deltas)", snaps, fulls)
	}
	var n, outbox, audit int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fraud_alerts), (SELECT count(*) FROM outbox WHERE topic = 'fraud.alert.raised'),
		(SELECT count(*) FROM audit_log WHERE entity = 'fraud_alert')`).Scan(&n, &outbox, &audit); err != nil {
		t.Fatal(err)
	}
	if n != 3 || outbox != 3 || audit != 3 {
		t.Errorf("alerts %d, outbox %d, audit %d; want 3 each", n, outbox, audit)
	}
	// the hold alert names the leg; its evidence is the change and the redemption with lineage
	var action, order, status string
	var ev []byte
	if err := pool.QueryRow(ctx, `SELECT action, order_id, status, evidence FROM fraud_alerts WHERE id = 'ato-redemption:r1'`).Scan(&action, &order, &status, &ev); err != nil {
		t.Fatal(err)
	}
	var refs []fraud.Ref
	json.Unmarshal(ev, &refs)
	wantRefs := []fraud.Ref{{EventID: "c1", Lineage: "kafka:investors.changed/0/c1"}, {EventID: "r1", Lineage: "kafka:orders.status/1/r1"}}
	if action != "hold" || order != "O-r1" || status != "open" || !slices.Equal(refs, wantRefs) {
		t.Errorf("alert: %s %s %s %v", action, order, status, refs)
	}
	var pos int64
	pool.QueryRow(ctx, `SELECT last_off FROM fraud_positions WHERE stream = 'orders.status' AND part = 1`).Scan(&pos)
	if pos != 2 {
		t.Errorf("orders.status/1 at %d, want 2 (the ignored message moved it)", pos)
	}
}

// One evaluation at a time: the windows are in its memory. A second asks
// for the lock and is refused while the first holds it, and gets it once
// the first lets it go.
func TestExclusive(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	a, b := &pgstore.Store{Pool: pool}, &pgstore.Store{Pool: pool}
	release, _, err := a.Exclusive(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Exclusive(ctx, false); err == nil {
		t.Fatal("a second evaluation got the lock while the first held it")
	}
	release()
	release() // twice is once
	r2, _, err := b.Exclusive(ctx, false)
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	r2()
}
