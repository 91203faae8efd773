package main

import (
	"net/http"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// A purchase placed over HTTP, paid by a signed Razorpay webhook before the
// 3 PM cut-off on a business day, is allotted at that day's NAV at once: the
// ledger transaction, its lot and holding, the order's state and its events,
// with the arithmetic redone here independently.
func TestPurchasePaidIsAllottedAtTheApplicableNAV(t *testing.T) {
	m := newMoney(t)
	m.scheme("119551", "Debt Scheme - Banking and PSU Fund")
	m.nav("119551", "2026-08-20", "101.2345")
	m.nav("119551", "2026-08-21", "101.3456")

	p := m.purchase("ORD-1", "F1", "119551", "5000.00", "2026-08-21T10:00:00+05:30")
	if len(p.Legs) != 1 || p.Legs[0].Status != "awaiting_payment" {
		t.Fatalf("placed %+v", p)
	}
	if code := m.pay("ORD-1", "5000.00", ist("2026-08-21T11:30:00+05:30")); code != http.StatusOK {
		t.Fatalf("webhook: HTTP %d", code)
	}
	duty, units := expectPurchase("5000.00", "101.3456", 3)
	var gotUnits, gotDuty, gotNet, navDate, status string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT t.units::text, t.stamp_duty::text, t.net_amount::text, t.nav_date::text, o.status
		FROM ledger_transactions t JOIN orders o ON o.id = t.order_id WHERE t.order_id = 'ORD-1'`).Scan(&gotUnits, &gotDuty, &gotNet, &navDate, &status); err != nil {
		t.Fatal(err)
	}
	if navDate != "2026-08-21" || status != "allotted" {
		t.Errorf("NAV date %s, status %s; want 2026-08-21, allotted", navDate, status)
	}
	if !decEq(gotUnits, units) || !decEq(gotDuty, duty) {
		t.Errorf("units %s duty %s; want %s and %s", gotUnits, gotDuty, units, duty)
	}
	if want := roundRat(ratSub(rat("5000.00"), rat(duty)), 2, false); !decEq(gotNet, want) {
		t.Errorf("net %s, want %s", gotNet, want)
	}
	if got := m.str(`SELECT units::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = '119551'`); !decEq(got, units) {
		t.Errorf("holding %s, want %s", got, units)
	}
	if n := m.num(`SELECT count(*) FROM outbox WHERE topic = 'transactions.completed'`); n != 1 {
		t.Errorf("%d transactions.completed events, want 1", n)
	}
	if got := m.str(`SELECT string_agg(payload->>'status', ',' ORDER BY id) FROM outbox WHERE topic = 'orders.status'`); got != "awaiting_payment,pending_nav,allotted" {
		t.Errorf("orders.status events %q", got)
	}
	if got := m.str(`SELECT status FROM inbox WHERE event_id = 'evt_cap_ORD-1'`); got != "applied" {
		t.Errorf("inbox status %q", got)
	}
	if got := m.str(`SELECT realised_event_id FROM payments WHERE id = 'pay_ORD-1'`); got != "evt_cap_ORD-1" {
		t.Errorf("payment lineage %q", got)
	}
	if n := m.num(`SELECT count(*) FROM audit_log WHERE entity = 'ledger_tx'`); n != 1 {
		t.Errorf("%d audit rows for the ledger transaction, want 1", n)
	}
	m.checkLedger()
}

// The applicable NAV date follows the SEBI rules with the holiday calendar:
// the payment's time decides, not the order's.
func TestNAVDateFollowsFundsRealisation(t *testing.T) {
	cases := []struct {
		name, category, placed, paid, want string
	}{
		{"before cut-off", "Equity Scheme - Large Cap Fund", "2026-08-20T09:00:00+05:30", "2026-08-20T14:59:00+05:30", "2026-08-20"},
		{"paid after cut-off", "Equity Scheme - Large Cap Fund", "2026-08-20T09:00:00+05:30", "2026-08-20T15:00:00+05:30", "2026-08-21"},
		{"paid on a Friday evening", "Equity Scheme - Large Cap Fund", "2026-08-21T09:00:00+05:30", "2026-08-21T18:00:00+05:30", "2026-08-24"},
		{"paid the day after independence day (Sat 15-Aug holiday is a weekend anyway)", "Equity Scheme - Large Cap Fund", "2026-08-14T16:00:00+05:30", "2026-08-14T16:00:00+05:30", "2026-08-17"},
		{"holiday 14-Sep-2026", "Equity Scheme - Large Cap Fund", "2026-09-14T10:00:00+05:30", "2026-09-14T10:00:00+05:30", "2026-09-15"},
		{"liquid before 1:30 PM: the day before", "Debt Scheme - Liquid Fund", "2026-08-20T10:00:00+05:30", "2026-08-20T13:00:00+05:30", "2026-08-19"},
		{"liquid Friday afternoon: Sunday", "Debt Scheme - Liquid Fund", "2026-08-21T10:00:00+05:30", "2026-08-21T14:00:00+05:30", "2026-08-23"},
	}
	m := newMoney(t)
	for i, c := range cases {
		code := "S" + string(rune('A'+i))
		m.scheme(code, c.category)
		id := "NAVD-" + code
		m.purchase(id, "F-"+code, code, "1000.00", c.placed)
		if st := m.pay(id, "1000.00", ist(c.paid)); st != http.StatusOK {
			t.Fatalf("%s: webhook HTTP %d", c.name, st)
		}
		if got := m.str(`SELECT nav_date::text FROM orders WHERE id = $1`, id); got != c.want {
			t.Errorf("%s: NAV date %s, want %s", c.name, got, c.want)
		}
		if got := m.str(`SELECT status FROM orders WHERE id = $1`, id); got != "pending_nav" {
			t.Errorf("%s: status %s, want pending_nav (no NAV published)", c.name, got)
		}
	}
}

// An order waits for its NAV and is allotted by the allocate pass once the
// NAV lands; a second pass changes nothing.
func TestOrderWaitingForNAVIsAllottedWhenItLands(t *testing.T) {
	m := newMoney(t)
	m.scheme("100027", "Equity Scheme - Flexi Cap Fund")
	m.purchase("W-1", "F1", "100027", "2500.50", "2026-08-24T11:00:00+05:30")
	m.pay("W-1", "2500.50", ist("2026-08-24T11:05:00+05:30"))
	if got := m.str(`SELECT status FROM orders WHERE id = 'W-1'`); got != "pending_nav" {
		t.Fatalf("status %s before the NAV", got)
	}
	res, err := m.l.AllotPending(m.ctx, 10)
	if err != nil || res.Allotted != 0 || res.Waiting != 1 {
		t.Fatalf("allocate without the NAV: %+v %v", res, err)
	}
	m.nav("100027", "2026-08-24", "10.")
	if res, err = m.l.AllotPending(m.ctx, 10); err != nil || res.Allotted != 1 || res.Waiting != 0 {
		t.Fatalf("allocate with the NAV: %+v %v", res, err)
	}
	if res, err = m.l.AllotPending(m.ctx, 10); err != nil || res.Allotted != 0 {
		t.Fatalf("allocate again: %+v %v", res, err)
	}
	_, units := expectPurchase("2500.50", "10", 3)
	if got := m.str(`SELECT units::text FROM ledger_transactions WHERE order_id = 'W-1'`); !decEq(got, units) {
		t.Errorf("units %s, want %s", got, units)
	}
	m.checkLedger()
}

// A payment that arrives before its order is kept unmatched, and realises
// the order when the order is placed.
func TestPaymentBeforeOrder(t *testing.T) {
	m := newMoney(t)
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.nav("119551", "2026-08-20", "50.0000")
	m.pay("EARLY-1", "1000.00", ist("2026-08-20T10:00:00+05:30"))
	if got := m.str(`SELECT match_status FROM payments WHERE id = 'pay_EARLY-1'`); got != "unmatched" {
		t.Fatalf("match status %s", got)
	}
	p := m.purchase("EARLY-1", "F9", "119551", "1000.00", "2026-08-20T09:59:00+05:30")
	if len(p.Legs) != 1 || p.Legs[0].Status != "allotted" || p.Legs[0].NAVDate != "2026-08-20" {
		t.Fatalf("placed %+v", p)
	}
	m.checkLedger()
}

// Events arrive out of order and twice: a late "authorized" never undoes
// "captured"; a redelivered event is a duplicate; a different event id with
// a stale state is stored and ignored.
func TestPaymentStateMovesForwardOnly(t *testing.T) {
	m := newMoney(t)
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.nav("119551", "2026-08-20", "50.0000")
	m.purchase("FWD-1", "F1", "119551", "700.00", "2026-08-20T09:00:00+05:30")
	at := ist("2026-08-20T10:00:00+05:30")
	capd := rzPayment{ID: "pay_FWD-1", OrderID: "FWD-1", Status: "captured", Paise: 70000, At: at}
	auth := rzPayment{ID: "pay_FWD-1", OrderID: "FWD-1", Status: "authorized", Paise: 70000, At: at.Add(-time1)}
	steps := []struct {
		event  string
		body   []byte
		inbox  string
		status string
	}{
		{"evt_cap", capd.body(), "applied", "captured"},
		{"evt_auth", auth.body(), "ignored", "captured"},
		{"evt_cap", capd.body(), "applied", "captured"}, // redelivery: same row
		{"evt_created", rzPayment{ID: "pay_FWD-1", OrderID: "FWD-1", Status: "created", Paise: 70000, At: at}.body(), "ignored", "captured"},
		{"evt_refund", rzPayment{ID: "pay_FWD-1", OrderID: "FWD-1", Status: "refunded", Paise: 70000, At: at.Add(time1)}.body(), "applied", "refunded"},
		{"evt_cap2", capd.body(), "ignored", "refunded"},
	}
	for i, s := range steps {
		if code := m.webhook(s.event, s.body, nil); code != http.StatusOK {
			t.Fatalf("step %d: HTTP %d", i, code)
		}
		if got := m.str(`SELECT status FROM inbox WHERE event_id = $1`, s.event); got != s.inbox {
			t.Errorf("step %d (%s): inbox %s, want %s", i, s.event, got, s.inbox)
		}
		if got := m.str(`SELECT status FROM payments WHERE id = 'pay_FWD-1'`); got != s.status {
			t.Errorf("step %d (%s): payment %s, want %s", i, s.event, got, s.status)
		}
	}
	if n := m.num(`SELECT count(*) FROM inbox`); n != 5 {
		t.Errorf("%d inbox rows, want 5 (one redelivery)", n)
	}
	if n := m.num(`SELECT count(*) FROM ledger_transactions`); n != 1 {
		t.Errorf("%d ledger transactions, want 1", n)
	}
	if got := m.str(`SELECT string_agg(reason, ',') FROM payment_breaks`); got != fund.BreakRefundAfterAllot {
		t.Errorf("breaks %q, want the refund after allotment", got)
	}
	m.checkLedger()
}

// A payment that does not fit its order is a break with a reason, never an
// allotment.
func TestPaymentMismatchIsABreak(t *testing.T) {
	cases := []struct {
		name     string
		order    string // amount
		pay      rzPayment
		reason   string
		orderEnd string
	}{
		{"amount short by a paisa", "1000.00", rzPayment{Status: "captured", Paise: 99999}, fund.BreakAmountMismatch, "awaiting_payment"},
		{"amount over", "1000.00", rzPayment{Status: "captured", Paise: 100100}, fund.BreakAmountMismatch, "awaiting_payment"},
		{"currency", "1000.00", rzPayment{Status: "captured", Paise: 100000, Currency: "USD"}, fund.BreakCurrencyMismatch, "awaiting_payment"},
	}
	m := newMoney(t)
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.nav("119551", "2026-08-20", "50.0000")
	for i, c := range cases {
		id := "MM-" + string(rune('A'+i))
		m.purchase(id, "F"+id, "119551", c.order, "2026-08-20T09:00:00+05:30")
		c.pay.ID, c.pay.OrderID, c.pay.At = "pay_"+id, id, ist("2026-08-20T10:00:00+05:30")
		if code := m.webhook("evt_"+id, c.pay.body(), nil); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", c.name, code)
		}
		if got := m.str(`SELECT coalesce(string_agg(reason, ','), '') FROM payment_breaks WHERE payment_id = $1`, c.pay.ID); got != c.reason {
			t.Errorf("%s: breaks %q, want %q", c.name, got, c.reason)
		}
		if got := m.str(`SELECT status FROM orders WHERE id = $1`, id); got != c.orderEnd {
			t.Errorf("%s: order %s, want %s", c.name, got, c.orderEnd)
		}
	}
	if n := m.num(`SELECT count(*) FROM ledger_transactions`); n != 0 {
		t.Errorf("%d ledger transactions from mismatched payments", n)
	}
	// The right payment still realises the order afterwards.
	m.webhook("evt_MM-A-2", rzPayment{ID: "pay_MM-A-2", OrderID: "MM-A", Status: "captured", Paise: 100000, At: ist("2026-08-20T11:00:00+05:30")}.body(), nil)
	if got := m.str(`SELECT status FROM orders WHERE id = 'MM-A'`); got != "allotted" {
		t.Errorf("MM-A after the right payment: %s", got)
	}
	m.checkLedger()
}
