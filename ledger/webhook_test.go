package ledger_test

import (
	"testing"

	"github.com/fundflow/fundflow/ledger"
)

// Group commit: events written in one transaction behave as if written one
// by one, in order: an in-batch duplicate is a duplicate, a payment's
// authorized then captured events both apply, a late authorized is
// ignored, an event for an order placed later waits unmatched.
func TestReceiveManyIsReceiveInOrder(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.nav("E1", "2026-08-20", "20.0000")
	m.purchase("G-1", "F1", "E1", "100.00", "2026-08-20T09:00:00+05:30")
	m.purchase("G-2", "F2", "E1", "200.00", "2026-08-20T09:00:00+05:30")
	at := ist("2026-08-20T10:00:00+05:30")
	ev := func(id string, p rzPayment) ledger.InboxEvent { return event(t, id, p.Body()) }
	batch := []ledger.InboxEvent{
		ev("e1", rzPayment{ID: "pay_G1", OrderID: "G-1", Status: "authorized", Paise: 10000, At: at}),
		ev("e2", rzPayment{ID: "pay_G1", OrderID: "G-1", Status: "captured", Paise: 10000, At: at}),
		ev("e2", rzPayment{ID: "pay_G1", OrderID: "G-1", Status: "captured", Paise: 10000, At: at}),
		ev("e3", rzPayment{ID: "pay_G1", OrderID: "G-1", Status: "authorized", Paise: 10000, At: at}),
		ev("e4", rzPayment{ID: "pay_G2", OrderID: "G-2", Status: "captured", Paise: 20000, At: at}),
		ev("e5", rzPayment{ID: "pay_G3", OrderID: "G-3", Status: "captured", Paise: 30000, At: at}),
	}
	rcs, err := m.svc.ReceiveMany(m.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"applied", "applied", "duplicate", "ignored", "applied", "applied"}
	for i, rc := range rcs {
		got := rc.Status
		if rc.Duplicate {
			got = "duplicate"
		}
		if got != want[i] {
			t.Errorf("event %d (%s): %s, want %s", i, batch[i].EventID, got, want[i])
		}
	}
	if got := m.str(`SELECT string_agg(id || '=' || status, ',' ORDER BY id) FROM orders`); got != "G-1=allotted,G-2=allotted" {
		t.Errorf("orders %s", got)
	}
	if got := m.str(`SELECT match_status FROM payments WHERE id = 'pay_G3'`); got != "unmatched" {
		t.Errorf("pay_G3 %s", got)
	}
	// Again: all duplicates.
	rcs, err = m.svc.ReceiveMany(m.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, rc := range rcs {
		if !rc.Duplicate {
			t.Errorf("event %d again: %+v", i, rc)
		}
	}
	m.purchase("G-3", "F3", "E1", "300.00", "2026-08-20T09:00:00+05:30")
	if got := m.str(`SELECT status FROM orders WHERE id = 'G-3'`); got != "allotted" {
		t.Errorf("G-3 after it was placed: %s", got)
	}
	m.checkLedger()
}
