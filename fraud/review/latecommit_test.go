package review_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Without Kafka the evaluation's position is an outbox id. A row whose
// transaction took its id first but commits after a later row was read
// must still be evaluated: the reader stops below the oldest open writer
// (postgres.OutboxHorizon) instead of moving past its id for good.
func TestOutboxRowCommittedLateIsNotSkipped(t *testing.T) {
	svc, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	sink := fraudeval.NewSink(fraudeval.Deps{PG: &postgres.Store{Pool: app}, Ledger: svc, Log: testkit.Logger(t)}, fraudtest.HoldJustUnder(t))

	// a writer takes an outbox id and stays open (its payload is no event:
	// the evaluation moves past it as malformed, which is all this needs)
	late, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx)
	var lateID int64
	if err := late.QueryRow(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ('late-1', $1, 'F0', '{}') RETURNING id`,
		fund.TopicOrderStatus).Scan(&lateID); err != nil {
		t.Fatal(err)
	}
	// a later order commits its events above it
	fraudtest.Place(t, svc, `{"order_id":"P1","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"47500.00","placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_P1"}`)
	moved := 0
	n, err := sink.OutboxPass(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	moved += n
	if n != 0 {
		t.Errorf("with outbox id %d still open the pass moved past %d rows above it, want 0", lateID, n)
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := sink.OutboxPass(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		moved += n
	}
	// every row of the topics the evaluation reads, the late one included
	want := db.Num(`SELECT count(*) FROM outbox WHERE topic IN ('orders.status', 'investors.changed', 'payments.status')`)
	if moved != want || want < 2 {
		t.Errorf("the evaluation moved past %d outbox rows, the outbox holds %d of its topics", moved, want)
	}
	if n := db.Num(`SELECT count(*) FROM fraud_alerts WHERE id = 'just-under:orders.status:P1:awaiting_payment'`); n != 1 {
		t.Errorf("%d alerts for P1, want 1", n)
	}
}
