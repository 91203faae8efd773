package wallet_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// An auto-invest purchase an operator cancels after the wallet paid it
// (B waits for its NAV) comes back to the wallet once. By hand: ₹10,000.01
// splits into A 4,000.00 and B 3,000.00, 3,000.01 left in the wallet
// (fund/managed's case); B cancelled → 3,000.01 + 3,000.00 = 6,000.01, the
// ledger's refund-due break and alert for B's payment resolved (the money
// is not refunded to the bank as well), one event; a second sweep moves
// nothing.
func TestAutoInvestPurchaseCancelledAfterPaymentSweptBack(t *testing.T) {
	e, ai := autoEnv(t)
	e.db.Exec(`DELETE FROM navs WHERE scheme_code = 'B'`) // B waits for its NAV: cancellable
	e.pay("e1", "pay_1", "wallet:W1", "captured", 1000001)
	e.credit()
	if _, err := ai.Invest(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	in, ok, err := fund.IntakeOf([]byte(`{"order_id":"X-B","type":"cancel","target_order_id":"AI-pay_1-B","placed_at":"`+
		clock.UTC().Format(time.RFC3339)+`"}`), fund.Receipt{Source: "test", At: clock, MaxSkew: time.Hour})
	if !ok {
		t.Fatal(err)
	}
	if p, err := e.ledger.PlaceOrders(e.ctx, []fund.OrderIntake{in}); err != nil || len(p) != 1 || p[0].Outcome != "accepted" {
		t.Fatalf("cancel: %+v %v", p, err)
	}
	if got := e.db.Str(`SELECT status || ' ' || (SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL) FROM orders WHERE id = 'AI-pay_1-B'`); got != "cancelled 1" {
		t.Fatalf("B and open breaks: %s, want cancelled 1", got)
	}
	if got := e.balance("W1"); got != "3000.01" {
		t.Fatalf("W1 %s before the sweep, want 3000.01", got)
	}
	n, err := ai.SweepEnded(e.ctx, 10)
	if err != nil || n != 1 {
		t.Fatalf("swept %d %v, want 1", n, err)
	}
	if got := e.balance("W1"); got != "6000.01" {
		t.Errorf("W1 %s, want 6000.01", got)
	}
	if got := e.db.Str(`SELECT (SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL) || ' ' ||
		(SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND resolved_at IS NULL) || ' ' ||
		(SELECT count(*) FROM outbox WHERE topic = 'autoinvest.purchase.swept' AND payload->>'amount' = '3000.00') || ' ' ||
		(SELECT count(*) FROM audit_log WHERE action = 'purchase_swept')`); got != "0 0 1 1" {
		t.Errorf("open breaks, open refund-due alerts, events, audit rows: %s, want 0 0 1 1", got)
	}
	if n, err := ai.SweepEnded(e.ctx, 10); err != nil || n != 0 {
		t.Errorf("a second sweep moved %d (%v)", n, err)
	}
	if got := e.balance("W1"); got != "6000.01" {
		t.Errorf("W1 %s after a second sweep, want 6000.01", got)
	}
}
