package review_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The evaluation's transaction takes the ledger's locks in the ledger's
// order: a held leg's folio before the audit chain's head. A ledger
// transaction (a payment capture) holding the folio and then taking the
// head must not deadlock with it. Before, the alert's audit row (the head)
// was written first and the hold then waited for the folio: Postgres
// found the deadlock and aborted one of the two (seen in
// TestFraudHoldsCrashWithAllotment as a capture failing with 40P01).
func TestRaiseTakesTheFolioBeforeTheAuditHead(t *testing.T) {
	svc, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	fraudtest.Place(t, svc, `{"order_id":"P1","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"47500.00","placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_P1"}`)
	sink := fraudeval.NewSink(fraudeval.Deps{PG: &postgres.Store{Pool: app}, Ledger: svc, Log: testkit.Logger(t)}, fraudtest.HoldJustUnder(t))

	// the ledger's side: the folio first (as a capture does)
	led, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Rollback(ctx) //nolint:errcheck
	var pid int
	if err := led.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := led.Exec(ctx, `SELECT 1 FROM folios WHERE folio_no = 'F1' FOR NO KEY UPDATE`); err != nil {
		t.Fatal(err)
	}
	// the evaluation raises the hold alert: it waits for the folio
	done := make(chan error, 1)
	go func() {
		_, err := sink.OutboxPass(ctx, 100)
		done <- err
	}()
	for {
		var waiting int
		if err := app.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND pid <> $1`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the evaluation finished while the ledger held the folio: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// then the ledger's side takes the audit chain's head, as its commit does
	var seq int64
	if err := led.QueryRow(ctx, `SELECT head_seq FROM audit_begin(ARRAY['{}'])`).Scan(&seq); err != nil {
		t.Fatalf("the ledger's transaction, holding the folio, could not take the audit head: %v", err)
	}
	if err := led.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the evaluation: %v", err)
	}
	if n := db.Num(`SELECT count(*) FROM fraud_alerts WHERE hold_id IS NOT NULL`); n != 1 {
		t.Errorf("%d alerts with their hold, want 1", n)
	}
	if n := db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'fraud_alert' AND action = 'raised'`); n != 1 {
		t.Errorf("%d audit rows of the alert, want 1", n)
	}
}
