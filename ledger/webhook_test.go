package ledger_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

// A group commit allots the legs its payments realise together,
// set-based, and that gives the rows receiving the same events one by one
// gives: several purchases on one holding, a leg paid twice in the batch
// (the second payment a break), one captured then refunded in the batch
// (allotted, then a refund-after-allotment break), one underpaid (a break), one whose NAV is not
// there yet (pending) and one placed after its payment (unmatched). Each
// order's events come in the same order; across orders of a folio the
// batch announces its decisions first and its allotments after.
func TestReceiveManyAllotsSetBasedAsReceiveDoes(t *testing.T) {
	at := ist("2026-08-20T10:00:00+05:30")
	setup := func(m *env) []ledger.InboxEvent {
		m.scheme("E1", "Equity Scheme - Large Cap Fund")
		m.scheme("E2", "Equity Scheme - Mid Cap Fund")
		m.nav("E1", "2026-08-03", "19.5000")
		m.nav("E1", "2026-08-20", "20.0000")
		m.buy("B1", "F1", "E1", "1000.00", "2026-08-03", "19.5000")
		var evs []ledger.InboxEvent
		cap := func(ev, pay, order string, paise int64) {
			evs = append(evs, event(t, ev, rzPayment{ID: pay, OrderID: order, Status: "captured", Paise: paise, At: at}.Body()))
		}
		for i := 1; i <= 8; i++ {
			id, folio := fmt.Sprintf("G-%d", i), fmt.Sprintf("F%d", 1+i%3)
			amt := fmt.Sprintf("%d.%02d", 100*i, i)
			m.purchase(id, folio, "E1", amt, "2026-08-20T09:00:00+05:30")
			cap("e"+id, "pay_"+id, id, paise(amt))
		}
		m.purchase("G-9", "F1", "E2", "900.00", "2026-08-20T09:00:00+05:30")
		cap("eG-9", "pay_G-9", "G-9", 90000)
		m.purchase("G-10", "F2", "E1", "1000.00", "2026-08-20T09:00:00+05:30")
		cap("eG-10", "pay_G-10", "G-10", 99900) // underpaid
		cap("eG-2b", "pay_G-2b", "G-2", paise("200.02"))
		evs = append(evs, event(t, "eG-4r", rzPayment{ID: "pay_G-4", OrderID: "G-4", Status: "refunded", Paise: paise("400.04"), At: at}.Body()))
		cap("eG-11", "pay_G-11", "G-11", 110000)
		// A failed attempt, then a second payment for the same order that
		// is captured: the second must find the order the first did.
		m.purchase("G-12", "F3", "E1", "1200.00", "2026-08-20T09:00:00+05:30")
		evs = append(evs, event(t, "eG-12a", rzPayment{ID: "pay_G-12a", OrderID: "G-12", Status: "failed", Paise: 120000, At: at}.Body()))
		cap("eG-12b", "pay_G-12b", "G-12", 120000)
		return evs
	}
	ref := newEnv(t)
	for _, ev := range setup(ref) {
		if _, err := ref.svc.Receive(ref.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	m := newEnv(t)
	rcs, err := m.svc.ReceiveMany(m.ctx, setup(m))
	if err != nil {
		t.Fatal(err)
	}
	var allotted []string
	for _, rc := range rcs {
		allotted = append(allotted, rc.Allotted...)
	}
	sort.Strings(allotted)
	// G-1..G-8 (G-4 allotted at its capture, its refund a break after),
	// and G-12 by its second payment.
	if got := strings.Join(allotted, ","); got != "G-1,G-12,G-2,G-3,G-4,G-5,G-6,G-7,G-8" {
		t.Errorf("receipts say allotted %s", got)
	}
	want, got := ledgerRows(ref), ledgerRows(m)
	// Events by order, not by folio (see above).
	byOrder := `SELECT concat_ws('|', key, o, string_agg(event_id || ' ' || (payload - 'at' - 'posted_at' - 'tx_id')::text, ', ' ORDER BY id))
		FROM (SELECT *, coalesce(payload->>'order_id', event_id) AS o FROM outbox) e GROUP BY key, o`
	want["outbox"], got["outbox"] = strs(ref, byOrder), strs(m, byOrder)
	for table, w := range want {
		if g := got[table]; strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s differs: %s", table, firstDiff(w, g))
		}
	}
	if got := m.str(`SELECT string_agg(id || '=' || status, ',' ORDER BY id) FROM orders WHERE id IN ('G-2', 'G-4', 'G-9', 'G-10')`); got != "G-10=awaiting_payment,G-2=allotted,G-4=allotted,G-9=pending_nav" {
		t.Errorf("orders %s", got)
	}
	if got := m.str(`SELECT string_agg(payment_id, ',' ORDER BY payment_id) FROM payment_breaks`); got != "pay_G-10,pay_G-2b,pay_G-4" {
		t.Errorf("breaks %s", got)
	}
}

// strs is q's one text column, sorted.
func strs(m *env, q string) []string {
	m.t.Helper()
	rows, err := m.pool.Query(m.ctx, `SELECT r FROM (`+q+`) AS x(r) ORDER BY r`)
	if err != nil {
		m.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		m.t.Fatal(err)
	}
	return out
}
