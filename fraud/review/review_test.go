package review_test

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/sinks/postgres"

	"github.com/fundflow/fundflow/ledger"
)

// One case end to end on the real ledger: the order's orders.status event
// from the outbox is enriched from the ledger, a hold rule fires, its leg
// is held (the investor sees under_review); the ops user who closed the
// alert may not release its hold, nor may "fraud" who raised it; a second
// ops user releases it; every step is audited.
func TestHoldAndFourEyesRelease(t *testing.T) {
	svc, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	fraudtest.Place(t, svc, `{"order_id":"P1","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"47500.00","placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_P1"}`)
	rs := fraudtest.HoldJustUnder(t) // one purchase in [45000, 50000) is enough
	sink := fraudeval.NewSink(fraudeval.Deps{PG: &postgres.Store{Pool: app}, Ledger: svc, Log: testkit.Logger(t)}, rs)
	// without Kafka the evaluation reads the outbox: the order's placement
	// event (orders.status awaiting_payment) as the ledger wrote it,
	// enriched from the ledger (investor, value)
	n, err := sink.OutboxPass(ctx, 100)
	if err != nil || n == 0 {
		t.Fatalf("outbox pass: %d %v", n, err)
	}
	if again, err := sink.OutboxPass(ctx, 100); err != nil || again != 0 {
		t.Fatalf("second pass read %d rows (%v), want none", again, err)
	}
	var alertID, investor string
	if err := app.QueryRow(ctx, `SELECT id, investor_id FROM fraud_alerts`).Scan(&alertID, &investor); err != nil {
		t.Fatal(err)
	}
	if alertID != "just-under:orders.status:P1:awaiting_payment" || investor != "INV-F1" {
		t.Errorf("alert %s of %s", alertID, investor)
	}
	hs, err := svc.Holds(ctx, ledger.HoldFilter{OrderID: "P1", OpenOnly: true})
	if err != nil || len(hs) != 1 || hs[0].Source != "fraud" || hs[0].Reason != "under_review" || hs[0].CaseRef != alertID || hs[0].RaisedBy != "fraud" {
		t.Fatalf("holds %+v %v", hs, err)
	}
	h := hs[0]
	// placing again (a crash before the alert recorded its hold) finds the same hold
	if _, err := app.Exec(ctx, `UPDATE fraud_alerts SET hold_id = NULL`); err != nil {
		t.Fatal(err)
	}
	if err := sink.PlaceHolds(ctx); err != nil {
		t.Fatal(err)
	}
	if n := db.Num(`SELECT count(*) FROM order_holds WHERE order_id = 'P1'`); n != 1 {
		t.Errorf("%d holds of P1 after a second placement, want 1", n)
	}

	rv := &review.Service{Ledger: svc, Pool: app}
	if _, err := rv.CloseAlert(ctx, alertID, "ops-a", "false_positive", "customer confirmed by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := rv.CloseAlert(ctx, alertID, "ops-b", "confirmed", ""); !errors.Is(err, review.ErrClosed) {
		t.Errorf("second close: %v, want ErrClosed", err)
	}
	for _, who := range []string{"ops-a", "fraud"} {
		if _, err := rv.Release(ctx, h.ID, who); !errors.Is(err, review.ErrFourEyes) {
			t.Errorf("release by %s: %v, want ErrFourEyes", who, err)
		}
	}
	rel, err := rv.Release(ctx, h.ID, "ops-b")
	if err != nil || rel.Resolution != "released" || rel.ClosedBy != "ops-b" {
		t.Fatalf("release by ops-b: %+v %v", rel, err)
	}
	if _, err := rv.Release(ctx, h.ID, "ops-c"); !errors.Is(err, review.ErrClosed) {
		t.Errorf("second release: %v, want ErrClosed", err)
	}
	if _, err := rv.Reject(ctx, 999999, "ops-c", ""); !errors.Is(err, review.ErrNotFound) {
		t.Errorf("reject of no hold: %v", err)
	}
	// audited: the alert raised (fraud) and closed (ops-a); the hold placed (fraud) and released (ops-b)
	if n := db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'fraud_alert' AND entity_id = $1 AND actor IN ('fraud', 'ops-a')`, alertID); n != 2 {
		t.Errorf("%d audit rows of the alert, want 2 (raised, closed)", n)
	}
	if n := db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'order_hold' AND action = 'released' AND payload->>'by' = 'ops-b'`); n != 1 {
		t.Errorf("the release is not audited")
	}
}
