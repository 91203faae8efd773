package review_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// stalled is the ledger with its first hold failing as a dropped
// connection would (not permanent: retried): the moment between an alert
// and its hold, made to last.
type stalled struct {
	*ledger.Service
	failed bool
}

func (s *stalled) PlaceHoldIn(ctx context.Context, db ledger.Tx, req ledger.HoldRequest) (ledger.Hold, bool, error) {
	if !s.failed {
		s.failed = true
		return ledger.Hold{}, false, fmt.Errorf("hold %s: %w", req.OrderID, context.DeadlineExceeded)
	}
	return s.Service.PlaceHoldIn(ctx, db, req)
}

func (s *stalled) PlaceHold(ctx context.Context, req ledger.HoldRequest) (ledger.Hold, bool, error) {
	if !s.failed {
		s.failed = true
		return ledger.Hold{}, false, fmt.Errorf("hold %s: %w", req.OrderID, context.DeadlineExceeded)
	}
	return s.Service.PlaceHold(ctx, req)
}

// No hold alert is ever visible without its hold: the alert and the hold
// commit in one transaction. With the hold failing, nothing of the batch
// commits (before, the alert committed and its hold was placed in a second
// transaction, and the payment arriving in between allotted a leg a
// committed hold alert said to hold). When the evaluation catches up after
// the allotment, the alert records the ledger's refusal instead of a hold.
func TestNoHoldAlertWithoutItsHold(t *testing.T) {
	svc, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	db.NAV("E1", "2026-08-03", "50.0000")
	fraudtest.Place(t, svc, `{"order_id":"P1","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"47500.00","placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_P1"}`)
	rs := fraudtest.HoldJustUnder(t)
	led := &stalled{Service: svc}
	sink := fraudeval.NewSink(fraudeval.Deps{PG: &postgres.Store{Pool: app}, Ledger: led, Log: testkit.Logger(t)}, rs)
	if _, err := sink.OutboxPass(ctx, 100); err == nil {
		t.Fatal("the pass whose hold failed succeeded")
	}
	if n := db.Num(`SELECT count(*) FROM fraud_alerts WHERE action = 'hold' AND hold_id IS NULL`); n != 0 {
		t.Errorf("%d hold alerts committed without their hold, want 0", n)
	}
	if n := db.Num(`SELECT count(*) FROM fraud_alerts`); n != 0 {
		t.Errorf("%d alerts committed by the failed pass, want 0 (all or nothing)", n)
	}

	// the payment arrives while the evaluation is behind: the leg is not
	// held, so it is allotted (47,500.00 at 50.0000)
	fraudtest.Capture(t, svc, "P1", 4750000, moneytest.IST("2026-08-03T10:05:00+05:30"))
	if st := db.Str(`SELECT status FROM orders WHERE id = 'P1'`); st != "allotted" {
		t.Fatalf("P1 %s, want allotted", st)
	}
	// the evaluation catches up: the alert is raised, and records that
	// the ledger refused the hold of an allotted leg
	for {
		n, err := sink.OutboxPass(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var holdID int64
	var holdErr string
	if err := app.QueryRow(ctx, `SELECT hold_id, hold_error FROM fraud_alerts WHERE id = 'just-under:orders.status:P1:awaiting_payment'`).Scan(&holdID, &holdErr); err != nil {
		t.Fatal(err)
	}
	if holdID != 0 || !strings.Contains(holdErr, "allotted") {
		t.Errorf("alert hold %d %q, want 0 and the ledger's refusal (allotted)", holdID, holdErr)
	}
	if n := db.Num(`SELECT count(*) FROM order_holds`); n != 0 {
		t.Errorf("%d holds, want none", n)
	}
}
