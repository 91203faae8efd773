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

// The windows live in Postgres: a batch split across two stores (a restart
// between them) fires as one store would; a batch applied again (a Kafka
// redelivery after a crash) changes no window and raises nothing twice.
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
	s1 := &pgstore.Store{Pool: pool}
	r1, err := s1.Apply(ctx, rs, first)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Applied != 2 || len(r1.Raised) != 0 {
		t.Fatalf("first batch: %+v", r1)
	}
	s2 := &pgstore.Store{Pool: pool} // "restarted": nothing in memory
	r2, err := s2.Apply(ctx, rs, second)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range r2.Raised {
		ids = append(ids, f.AlertID())
	}
	want := []string{"mule-bank:c3", "ato-redemption:r1"}
	if !slices.Equal(ids, want) {
		t.Fatalf("raised %v, want %v", ids, want)
	}
	// redelivery of both batches: all 6 skipped, nothing raised
	for _, b := range [][]pgstore.Positioned{first, second} {
		r, err := s2.Apply(ctx, rs, b)
		if err != nil {
			t.Fatal(err)
		}
		if r.Applied != 0 || r.Skipped != len(b) || len(r.Raised) != 0 {
			t.Errorf("replay: %+v", r)
		}
	}
	var n, outbox, audit int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fraud_alerts), (SELECT count(*) FROM outbox WHERE topic = 'fraud.alert.raised'),
		(SELECT count(*) FROM audit_log WHERE entity = 'fraud_alert')`).Scan(&n, &outbox, &audit); err != nil {
		t.Fatal(err)
	}
	if n != 2 || outbox != 2 || audit != 2 {
		t.Errorf("alerts %d, outbox %d, audit %d; want 2 each", n, outbox, audit)
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
