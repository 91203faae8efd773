package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/orderhttp"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
)

// buy places and pays a purchase at a NAV date, returning the units the
// arithmetic says it got.
func (m *moneyEnv) buy(id, folio, scheme, amount, date, nav string) string {
	m.t.Helper()
	m.purchase(id, folio, scheme, amount, date+"T10:00:00+05:30")
	if code := m.pay(id, amount, ist(date+"T10:05:00+05:30")); code != http.StatusOK {
		m.t.Fatalf("pay %s: HTTP %d", id, code)
	}
	if got := m.str(`SELECT status FROM orders WHERE id = $1`, id); got != "allotted" {
		m.t.Fatalf("%s: %s, want allotted", id, got)
	}
	_, units := expectPurchase(amount, nav, 3)
	return units
}

func (m *moneyEnv) redeem(id, folio, scheme, qty, placed string) (int, string) {
	m.t.Helper()
	code, p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"redemption","investor_id":"INV-%s","folio":%q,"scheme_code":%q,%s,"placed_at":%q}`,
		id, folio, folio, scheme, qty, placed))
	st := ""
	if len(p.Legs) > 0 {
		st = p.Legs[0].Status
	}
	if p.Outcome == "rejected" {
		st = "rejected:" + p.Reason
	}
	return code, st
}

func mulRat(xs ...string) *big.Rat {
	r := big.NewRat(1, 1)
	for _, x := range xs {
		r.Mul(r, rat(x))
	}
	return r
}

// Redemptions consume lots first in, first out; each lot pays the exit load
// of the structure in force on its own purchase date, for the days it was
// held; by units, by amount (units rounded up to pay the amount asked) and
// all units.
func TestRedemptionsFIFOWithExitLoadPerLot(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.exec(`INSERT INTO scheme_loads (scheme_code, valid_from, days_below, rate_pct) VALUES
		('E1', '2020-01-01', 365, 1.0000),
		('E1', '2026-06-01', 30, 0.5000)`)
	for d, n := range map[string]string{"2025-09-01": "10.0000", "2026-08-03": "12.0000", "2026-08-20": "15.0000", "2026-08-21": "16.0000", "2026-08-24": "16.5000"} {
		m.nav("E1", d, n)
	}
	u1 := m.buy("B1", "F1", "E1", "10000.00", "2025-09-01", "10.0000")
	u2 := m.buy("B2", "F1", "E1", "6000.00", "2026-08-03", "12.0000")

	// R1: all of lot 1 (353 days, 1 % under the 2020 structure) and 100
	// units of lot 2 (17 days, 0.5 % under the 2026 structure).
	want := ratSub(rat(u1), rat("-100")) // u1 + 100
	code, st := m.redeem("R1", "F1", "E1", fmt.Sprintf(`"units":%q`, want.FloatString(3)), "2026-08-20T11:00:00+05:30")
	if code != http.StatusCreated || st != "allotted" {
		t.Fatalf("R1: HTTP %d %s", code, st)
	}
	load1 := roundRat(new(big.Rat).Quo(mulRat(u1, "15", "1"), rat("100")), 2, true)
	load2 := roundRat(new(big.Rat).Quo(mulRat("100", "15", "0.5"), rat("100")), 2, true)
	gross := roundRat(new(big.Rat).Mul(want, rat("15")), 2, true)
	payout := ratSub(ratSub(rat(gross), rat(load1)), rat(load2)).FloatString(2)
	var gotGross, gotLoad, gotNet string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT amount::text, exit_load::text, net_amount::text FROM ledger_transactions WHERE order_id = 'R1'`).Scan(&gotGross, &gotLoad, &gotNet); err != nil {
		t.Fatal(err)
	}
	if !decEq(gotGross, gross) || !decEq(gotLoad, ratSub(rat(load1), rat("-"+load2)).FloatString(2)) || !decEq(gotNet, payout) {
		t.Errorf("R1: gross %s load %s payout %s; want %s, %s+%s, %s", gotGross, gotLoad, gotNet, gross, load1, load2, payout)
	}
	rows, err := m.d.pg.Pool.Query(m.ctx, `SELECT l.ledger_tx_id = (SELECT id FROM ledger_transactions WHERE order_id = 'B1'), c.units::text, c.days_held, c.load_rate_pct::text, c.exit_load::text
		FROM lot_consumptions c JOIN holding_lots l ON l.id = c.lot_id
		WHERE c.ledger_tx_id = (SELECT id FROM ledger_transactions WHERE order_id = 'R1') ORDER BY l.id`)
	if err != nil {
		t.Fatal(err)
	}
	type use struct {
		first      bool
		units      string
		days       int
		rate, load string
	}
	var uses []use
	for rows.Next() {
		var u use
		if err := rows.Scan(&u.first, &u.units, &u.days, &u.rate, &u.load); err != nil {
			t.Fatal(err)
		}
		uses = append(uses, u)
	}
	if len(uses) != 2 || !uses[0].first || !decEq(uses[0].units, u1) || uses[0].days != 353 || !decEq(uses[0].rate, "1") || !decEq(uses[0].load, load1) ||
		uses[1].first || !decEq(uses[1].units, "100") || uses[1].days != 17 || !decEq(uses[1].rate, "0.5") || !decEq(uses[1].load, load2) {
		t.Errorf("lot consumptions %+v; want lot B1 %s units 353 days 1%% %s, lot B2 100 units 17 days 0.5%% %s", uses, u1, load1, load2)
	}

	// R2: by amount: the investor is paid ₹1000.00 exactly; the units
	// (rounded up) cover it and the 0.5 % load on them, at 16.0000.
	if code, st := m.redeem("R2", "F1", "E1", `"amount":"1000.00"`, "2026-08-21T11:00:00+05:30"); code != http.StatusCreated || st != "allotted" {
		t.Fatalf("R2: HTTP %d %s", code, st)
	}
	r2units, r2load := expectAmountRedemption("1000.00", "16", "0.5", 3)
	if got := m.str(`SELECT units::text || ' ' || exit_load::text FROM ledger_transactions WHERE order_id = 'R2'`); !decPairEq(got, r2units, r2load) {
		t.Errorf("R2: %s, want %s %s", got, r2units, r2load)
	}
	if got := m.str(`SELECT net_amount::text || ' ' || amount::text FROM ledger_transactions WHERE order_id = 'R2'`); !decPairEq(got, "1000.00", ratSub(rat("1000.00"), rat("-"+r2load)).FloatString(2)) {
		t.Errorf("R2 payout and gross: %s, want 1000.00 and 1000.00 + %s", got, r2load)
	}

	// Too many units: rejected, nothing written. Units beyond the scheme's
	// 3 decimals: rejected.
	if _, st := m.redeem("R3", "F1", "E1", `"units":"100000"`, "2026-08-24T11:00:00+05:30"); st != "rejected" {
		t.Errorf("R3 (more than held): %s", st)
	}
	if got := m.str(`SELECT reason FROM orders WHERE id = 'R3'`); got != "insufficient_units" {
		t.Errorf("R3 reason %q", got)
	}
	if _, st := m.redeem("R4", "F1", "E1", `"units":"1.2345"`, "2026-08-24T11:00:00+05:30"); st != "rejected" {
		t.Errorf("R4 (4 decimals): %s", st)
	}
	// R5: all units: the holding goes to zero, every lot is empty.
	if code, st := m.redeem("R5", "F1", "E1", `"all_units":true`, "2026-08-24T11:00:00+05:30"); code != http.StatusCreated || st != "allotted" {
		t.Fatalf("R5: HTTP %d %s", code, st)
	}
	left := ratSub(ratSub(rat(u2), rat("100")), rat(r2units)).FloatString(3)
	if got := m.str(`SELECT units::text FROM ledger_transactions WHERE order_id = 'R5'`); !decEq(got, left) {
		t.Errorf("R5 units %s, want %s", got, left)
	}
	if got := m.str(`SELECT units::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'E1'`); !decEq(got, "0") {
		t.Errorf("holding after all units: %s", got)
	}
	m.checkLedger()
}

func decPairEq(got, a, b string) bool {
	f := strings.Fields(got)
	return len(f) == 2 && decEq(f[0], a) && decEq(f[1], b)
}

// A switch is a redemption of one scheme and a purchase of another, linked
// by the request id: the switch-in buys with the switch-out's payout (stamp
// duty applies), and the clearing account between them nets to zero.
func TestSwitchLinksBothLegs(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.scheme("L1", "Debt Scheme - Liquid Fund")
	m.nav("E1", "2026-08-03", "20.0000")
	m.nav("E1", "2026-08-20", "25.0000")
	m.nav("L1", "2026-08-19", "1000.1234") // liquid: the day before
	m.nav("L1", "2026-08-20", "1000.2345")
	units := m.buy("B1", "F1", "E1", "20000.00", "2026-08-03", "20.0000")
	code, p := m.order(`{"order_id":"SW-1","type":"switch","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","to_scheme_code":"L1","all_units":true,"placed_at":"2026-08-20T12:00:00+05:30"}`)
	if code != http.StatusCreated || len(p.Legs) != 2 {
		t.Fatalf("switch: HTTP %d %+v", code, p)
	}
	for _, l := range p.Legs {
		if l.Status != "allotted" {
			t.Errorf("leg %s: %s", l.ID, l.Status)
		}
	}
	payout := roundRat(new(big.Rat).Mul(rat(units), rat("25")), 2, true) // no load data: no load
	duty, inUnits := expectPurchase(payout, "1000.1234", 3)
	var outNet, inAmt, inDuty, inUnitsGot, inNAVDate, sw1, sw2 string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT o.net_amount::text, i.amount::text, i.stamp_duty::text, i.units::text, i.nav_date::text, o.switch_id, i.switch_id
		FROM ledger_transactions o, ledger_transactions i WHERE o.order_id = 'SW-1#out' AND i.order_id = 'SW-1#in'`).Scan(&outNet, &inAmt, &inDuty, &inUnitsGot, &inNAVDate, &sw1, &sw2); err != nil {
		t.Fatal(err)
	}
	if !decEq(outNet, payout) || !decEq(inAmt, payout) || !decEq(inDuty, duty) || !decEq(inUnitsGot, inUnits) || sw1 != "SW-1" || sw2 != "SW-1" {
		t.Errorf("out net %s, in amount %s duty %s units %s (switch ids %s %s); want %s, %s, %s, %s", outNet, inAmt, inDuty, inUnitsGot, sw1, sw2, payout, payout, duty, inUnits)
	}
	if inNAVDate != "2026-08-19" {
		t.Errorf("liquid switch-in before 13:30 gets the day before: %s", inNAVDate)
	}
	if got := m.str(`SELECT sum(amount)::text FROM ledger_postings WHERE account = 'switch:SW-1'`); !decEq(got, "0") {
		t.Errorf("switch clearing account %s, want 0", got)
	}
	// Switching out more than is held rejects both legs.
	code, p = m.order(`{"order_id":"SW-2","type":"switch","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","to_scheme_code":"L1","units":"1","placed_at":"2026-08-20T12:00:00+05:30"}`)
	if code != http.StatusCreated || len(p.Legs) != 2 || p.Legs[0].Status != "rejected" || p.Legs[1].Status != "rejected" {
		t.Errorf("switch of units not held: HTTP %d %+v", code, p)
	}
	m.checkLedger()
}

// Cancels: before payment (a later payment is a break), after payment but
// before the NAV (a break: refund due), after allotment (refused), of an
// unknown request (refused).
func TestCancel(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	cancel := func(id, target string) (int, string) {
		code, p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"cancel","target_order_id":%q,"placed_at":"2026-08-20T12:00:00+05:30"}`, id, target))
		if p.Outcome == "rejected" {
			return code, "rejected:" + p.Reason
		}
		if len(p.Legs) == 0 {
			return code, p.Outcome
		}
		return code, p.Legs[0].Status
	}
	m.purchase("C1", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	if code, st := cancel("X1", "C1"); code != http.StatusCreated || st != "cancelled" {
		t.Fatalf("cancel before payment: HTTP %d %s", code, st)
	}
	m.pay("C1", "100.00", ist("2026-08-20T12:30:00+05:30"))
	if got := m.str(`SELECT reason FROM payment_breaks WHERE payment_id = 'pay_C1'`); got != "order_cancelled" {
		t.Errorf("payment of a cancelled order: break %q", got)
	}

	m.purchase("C2", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	m.pay("C2", "100.00", ist("2026-08-20T10:30:00+05:30")) // no NAV yet: pending
	if code, st := cancel("X2", "C2"); code != http.StatusCreated || st != "cancelled" {
		t.Fatalf("cancel pending: HTTP %d %s", code, st)
	}
	if got := m.str(`SELECT reason FROM payment_breaks WHERE payment_id = 'pay_C2'`); got != "cancelled_after_payment" {
		t.Errorf("cancel after payment: break %q", got)
	}
	m.nav("E1", "2026-08-20", "10.0000")
	if res, err := m.l.AllotPending(m.ctx, 10); err != nil || res.Allotted != 0 {
		t.Errorf("a cancelled order was allotted: %+v %v", res, err)
	}

	m.purchase("C3", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	m.pay("C3", "100.00", ist("2026-08-20T10:30:00+05:30"))
	if code, st := cancel("X3", "C3"); code != http.StatusUnprocessableEntity || st != "rejected:already_allotted" {
		t.Errorf("cancel after allotment: HTTP %d %s", code, st)
	}
	if code, st := cancel("X4", "NOPE"); code != http.StatusUnprocessableEntity || st != "rejected:unknown_target" {
		t.Errorf("cancel of nothing: HTTP %d %s", code, st)
	}
	m.checkLedger()
}

// The client's order id is the idempotency key: the same request again (in
// any spelling) is a duplicate, another request under the same id a
// conflict; refused requests are stored under their id too.
func TestOrderIdempotencyAndRefusals(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	first := `{"order_id":"I-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.00","placed_at":"2026-08-20T10:00:00+05:30"}`
	same := `{ "placed_at": "2026-08-20T04:30:00Z", "amount": "500.0", "scheme_code": "E1", "folio": "F1", "investor_id": "INV-1", "type": "purchase", "order_id": "I-1" }`
	other := `{"order_id":"I-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.01","placed_at":"2026-08-20T10:00:00+05:30"}`
	cases := []struct {
		name, body string
		code       int
		outcome    string
		reason     string
	}{
		{"new", first, http.StatusCreated, "accepted", ""},
		{"again", first, http.StatusOK, "duplicate", ""},
		{"same request, other spelling", same, http.StatusOK, "duplicate", ""},
		{"other request, same id", other, http.StatusConflict, "conflict", "order_id_reused"},
		{"bad amount", `{"order_id":"I-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.001","placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusUnprocessableEntity, "rejected", "bad_json"},
		{"bad amount again", `{"order_id":"I-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.001","placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusOK, "duplicate", "bad_json"},
		{"no time stamp", `{"order_id":"I-3","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00"}`, http.StatusUnprocessableEntity, "rejected", "missing_field"},
		{"unknown scheme", `{"order_id":"I-4","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"ZZ","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusUnprocessableEntity, "rejected", "unknown_scheme"},
		{"another investor's folio", `{"order_id":"I-5","type":"purchase","investor_id":"INV-2","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusUnprocessableEntity, "rejected", "folio_investor_mismatch"},
		{"redemption with two quantities", `{"order_id":"I-6","type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","all_units":true,"placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusUnprocessableEntity, "rejected", "bad_quantity"},
		{"amount as a JSON number", `{"order_id":"I-7","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":5,"placed_at":"2026-08-20T10:00:00+05:30"}`, http.StatusUnprocessableEntity, "rejected", "bad_json"},
		{"unknown field", `{"order_id":"I-8","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30","price":"1"}`, http.StatusUnprocessableEntity, "rejected", "bad_json"},
		{"no order id", `{"type":"purchase"}`, http.StatusBadRequest, "", ""},
		{"not JSON", `order please`, http.StatusBadRequest, "", ""},
	}
	for _, c := range cases {
		code, p := m.order(c.body)
		if code != c.code || p.Outcome != c.outcome || p.Reason != c.reason {
			t.Errorf("%s: HTTP %d %q %q; want %d %q %q (%s)", c.name, code, p.Outcome, p.Reason, c.code, c.outcome, c.reason, p.Detail)
		}
	}
	if n := m.num(`SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("%d order legs, want 1", n)
	}
	if n := m.num(`SELECT count(*) FROM order_requests WHERE status = 'rejected'`); n != 7 {
		t.Errorf("%d rejected requests stored, want 7", n)
	}
	if got := m.str(`SELECT amount::text FROM orders WHERE id = 'I-1'`); got != "500.00" {
		t.Errorf("the conflicting request changed the order: %s", got)
	}
}

// Orders that can never be stored (issue 11, item 5) are refused with 422
// and a stable reason before any transaction, recorded under their id, and
// answered as duplicates when sent again; they never get the 503 "send it
// again" that a client would retry forever. Good orders around them land.
func TestPoisonOrdersAre422NotRetryForever(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	good := func(id string) string {
		return fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.00","placed_at":"2026-08-20T10:00:00+05:30"}`, id)
	}
	poison := []struct{ name, id, body, reason string }{
		{"amount beyond numeric(18,2)", "P-1", `{"order_id":"P-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"10000000000000000.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "out_of_range"},
		{"NUL in payment_ref", "P-2", `{"order_id":"P-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","payment_ref":"order_\u0000","placed_at":"2026-08-20T10:00:00+05:30"}`, "bad_encoding"},
		{"NUL in folio", "P-3", `{"order_id":"P-3","type":"purchase","investor_id":"INV-1","folio":"F\u00001","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "bad_encoding"},
		{"NUL in an unknown field", "P-4", `{"order_id":"P-4","type":"purchase","note":"\u0000"}`, "bad_json"},
		{"Latin-1 byte", "P-5", "{\"order_id\":\"P-5\",\"type\":\"purchase\",\"investor_id\":\"INV-1\",\"folio\":\"F1\",\"scheme_code\":\"E1\",\"amount\":\"5.00\",\"payment_ref\":\"caf\xe9\",\"placed_at\":\"2026-08-20T10:00:00+05:30\"}", "bad_encoding"},
		{"units beyond numeric(24,9)", "P-6", `{"order_id":"P-6","type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","units":"1000000000000000","placed_at":"2026-08-20T10:00:00+05:30"}`, "out_of_range"},
	}
	n := 0
	for i, p := range poison {
		n++
		if code, pl := m.order(good(fmt.Sprintf("G-%d", i))); code != http.StatusCreated {
			t.Fatalf("good order before %s: HTTP %d %+v", p.name, code, pl)
		}
		for try, want := range []struct {
			code    int
			outcome string
		}{{http.StatusUnprocessableEntity, "rejected"}, {http.StatusOK, "duplicate"}, {http.StatusOK, "duplicate"}} {
			code, pl := m.order(p.body)
			if code != want.code || pl.Outcome != want.outcome || pl.Reason != p.reason {
				t.Errorf("%s, try %d: HTTP %d %q %q (%s); want %d %q %q", p.name, try+1, code, pl.Outcome, pl.Reason, pl.Detail, want.code, want.outcome, p.reason)
			}
		}
	}
	if code, pl := m.order(good("G-last")); code != http.StatusCreated {
		t.Fatalf("good order after the poison: HTTP %d %+v", code, pl)
	}
	if got := m.num(`SELECT count(*) FROM orders`); got != n+1 {
		t.Errorf("%d order legs, want the %d good orders", got, n+1)
	}
	if got := m.num(`SELECT count(*) FROM order_requests WHERE status = 'rejected'`); got != len(poison) {
		t.Errorf("%d rejected requests stored, want %d", got, len(poison))
	}
}

// A failure that a retry can cure (the database cannot be reached) is the
// one that answers 503, with Retry-After.
func TestOrderIs503OnlyWhenARetryCanHelp(t *testing.T) {
	m := newMoney(t)
	down, err := pgxpool.New(m.ctx, "postgres://fundflow@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	h := &orderhttp.Handler{Placer: orderPlacer{&ledger.Service{Store: pgstore.New(down)}}, Log: testkit.Logger(t)}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(
		`{"order_id":"D-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("database down: HTTP %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// The time an order counts as placed is ours (issue 11, item 10): the
// client's placed_at is used only within max_clock_skew (5 minutes) before
// our receipt and never after it; otherwise the receipt time is, and
// orders.time_source says which. Redemptions get their NAV date at once, so
// the cut-off decision on the effective time shows in nav_date.
func TestOrderTimeIsOurs(t *testing.T) {
	received := ist("2026-08-20T14:50:00+05:30") // before the 3 PM cut-off of Thursday 20-Aug
	cfg := moneyConfig(t, "")
	cfg.Pipelines.Orders.MaxClockSkew = 5 * time.Minute
	m := newMoneyWith(t, cfg, func() time.Time { return received })
	m.scheme("E1", "Equity Scheme - Large Cap Fund") // no NAVs: the redemptions wait with their NAV date
	cases := []struct {
		name, placed string
		source       string
		placedAt     time.Time // the effective time stored
		navDate      string
	}{
		{"3 minutes before receipt: the client's", "2026-08-20T14:47:00+05:30", "client", ist("2026-08-20T14:47:00+05:30"), "2026-08-20"},
		{"exactly 5 minutes before: the client's", "2026-08-20T14:45:00+05:30", "client", ist("2026-08-20T14:45:00+05:30"), "2026-08-20"},
		{"6 minutes before: ours", "2026-08-20T14:44:00+05:30", "received", received, "2026-08-20"},
		{"the day before (its own cut-off): ours", "2026-08-19T11:00:00+05:30", "received", received, "2026-08-20"},
		{"16-Jun-2025, the stale NAV of the report: ours", "2025-06-16T10:00:00+05:30", "received", received, "2026-08-20"},
		{"after receipt, past the cut-off: ours", "2026-08-20T15:10:00+05:30", "received", received, "2026-08-20"},
		{"a second after receipt: ours", "2026-08-20T14:50:01+05:30", "received", received, "2026-08-20"},
	}
	for i, c := range cases {
		id := fmt.Sprintf("T-%d", i)
		code, p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","units":"1","placed_at":%q}`, id, c.placed))
		if code != http.StatusCreated {
			t.Fatalf("%s: HTTP %d %+v", c.name, code, p)
		}
		var src, nav string
		var placed, client, rcv time.Time
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT time_source, placed_at, client_placed_at, received_at, nav_date::text FROM orders WHERE id = $1`, id).
			Scan(&src, &placed, &client, &rcv, &nav); err != nil {
			t.Fatal(err)
		}
		if src != c.source || !placed.Equal(c.placedAt) || nav != c.navDate {
			t.Errorf("%s: time_source %s, placed_at %v, NAV date %s; want %s, %v, %s", c.name, src, placed, nav, c.source, c.placedAt, c.navDate)
		}
		if !client.Equal(ist(c.placed)) || !rcv.Equal(received) {
			t.Errorf("%s: client_placed_at %v received_at %v; want %v and %v", c.name, client, rcv, ist(c.placed), received)
		}
	}
}

// /v1/orders with a token (issue 11, items 14 and 15): a wrong token is 401,
// and after serve.api.failed_auth_burst failures from one address every
// request from it is 429 rate_limited with Retry-After until the limit
// refills (one a second).
func TestOrdersHTTPFailedAuthIsLimited(t *testing.T) {
	now := ist("2026-08-20T10:00:00+05:30")
	m := newMoneyWith(t, moneyConfig(t, ""), func() time.Time { return now })
	burst := m.d.cfg.Serve.API.FailedAuthBurst // the default, 20
	post := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, m.srv.URL+"/v1/orders", strings.NewReader(`{"order_id":"A-1","type":"cancel","target_order_id":"B","placed_at":"2026-08-20T10:00:00+05:30"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	counts := map[int]int{}
	for i := 0; i < 200; i++ {
		code, ra := post(fmt.Sprintf("guess-%d", i))
		counts[code]++
		if code == http.StatusTooManyRequests && ra != "1" {
			t.Fatalf("429 with Retry-After %q", ra)
		}
	}
	if counts[http.StatusUnauthorized] != burst || counts[http.StatusTooManyRequests] != 200-burst {
		t.Errorf("answers %v; want %d × 401 then %d × 429", counts, burst, 200-burst)
	}
	now = now.Add(time.Second)
	if code, _ := post(testOrdersToken); code != http.StatusUnprocessableEntity { // a cancel of an unknown order: refused, but authenticated
		t.Errorf("the right token a second later: HTTP %d", code)
	}
	if n := m.num(`SELECT count(*) FROM order_requests`); n != 1 {
		t.Errorf("%d requests stored, want only the authenticated one", n)
	}
}

// insecure_no_auth opens /v1/orders without a token, and every start says
// so in the log (issue 11, item 14).
func TestOrdersInsecureNoAuthWarnsAtStart(t *testing.T) {
	cfg := moneyConfig(t, "")
	cfg.Pipelines.Orders.HTTPTokenEnv, cfg.Pipelines.Orders.InsecureNoAuth = "", true
	t.Setenv("FUNDFLOW_TEST_RZP_SECRET", testWebhookSecret)
	d := testDeps(t, cfg)
	var logs bytes.Buffer
	d.log = slog.New(slog.NewTextHandler(&logs, nil))
	l, err := moneyLedger(d)
	if err != nil {
		t.Fatal(err)
	}
	h, err := moneyHandler(testkit.Ctx(t), d, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_no_auth") {
		t.Errorf("no warning at start; log:\n%s", logs.String())
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/orders", "application/json", strings.NewReader(`{"order_id":"A-1","type":"cancel","target_order_id":"B","placed_at":"2026-08-20T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("no token with insecure_no_auth: HTTP %d, want the order's own answer (422 unknown target)", resp.StatusCode)
	}
	// A config built without either is refused at start too.
	cfg.Pipelines.Orders.InsecureNoAuth = false
	if _, err := moneyHandler(testkit.Ctx(t), d, l, nil); err == nil {
		t.Error("/v1/orders without a token and without insecure_no_auth was served")
	}
}

// The limits of fund's storability check are the database's columns: read
// their precision and scale from the schema (issue 11, item 5: one place).
func TestStorableLimitsMatchColumns(t *testing.T) {
	m := newMoney(t)
	for _, c := range []struct {
		table, column    string
		precision, scale int
	}{
		{"orders", "amount", fund.AmountPrecision, fund.AmountScale},
		{"payments", "amount", fund.AmountPrecision, fund.AmountScale},
		{"ledger_transactions", "amount", fund.AmountPrecision, fund.AmountScale},
		{"orders", "units", fund.UnitsPrecision, fund.UnitsColumnScale},
		{"holding_lots", "units", fund.UnitsPrecision, fund.UnitsColumnScale},
	} {
		var p, s int
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT numeric_precision, numeric_scale FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, c.table, c.column).Scan(&p, &s); err != nil {
			t.Fatalf("%s.%s: %v", c.table, c.column, err)
		}
		if p != c.precision || s != c.scale {
			t.Errorf("%s.%s is numeric(%d,%d); fund checks against numeric(%d,%d)", c.table, c.column, p, s, c.precision, c.scale)
		}
	}
	// And the largest value each check lets through is stored as it is.
	var amount, units string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT $1::numeric(18,2)::text, $2::numeric(24,9)::text`, fund.MaxAmount, fund.MaxUnits).Scan(&amount, &units); err != nil {
		t.Fatal(err)
	}
	if amount != "9999999999999999.99" || units != "999999999999999.999999999" {
		t.Errorf("largest values stored as %s and %s", amount, units)
	}
}
