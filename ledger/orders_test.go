package ledger_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/fundflow/fundflow/ledger"
)

// Redemptions consume lots first in, first out; each lot pays the exit load
// of the structure in force on its own purchase date, for the days it was
// held; by units, by amount (units rounded up to pay the amount asked) and
// all units.
func TestRedemptionsFIFOWithExitLoadPerLot(t *testing.T) {
	m := newEnv(t)
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
	p, st := m.redeem("R1", "F1", "E1", fmt.Sprintf(`"units":%q`, want.FloatString(3)), "2026-08-20T11:00:00+05:30")
	if p.Outcome != ledger.OutcomeAccepted || st != "allotted" {
		t.Fatalf("R1: %s %s", p.Outcome, st)
	}
	load1 := roundRat(new(big.Rat).Quo(mulRat(u1, "15", "1"), rat("100")), 2, true)
	load2 := roundRat(new(big.Rat).Quo(mulRat("100", "15", "0.5"), rat("100")), 2, true)
	gross := roundRat(new(big.Rat).Mul(want, rat("15")), 2, true)
	payout := ratSub(ratSub(rat(gross), rat(load1)), rat(load2)).FloatString(2)
	var gotGross, gotLoad, gotNet string
	if err := m.pool.QueryRow(m.ctx, `SELECT amount::text, exit_load::text, net_amount::text FROM ledger_transactions WHERE order_id = 'R1'`).Scan(&gotGross, &gotLoad, &gotNet); err != nil {
		t.Fatal(err)
	}
	if !decEq(gotGross, gross) || !decEq(gotLoad, ratSub(rat(load1), rat("-"+load2)).FloatString(2)) || !decEq(gotNet, payout) {
		t.Errorf("R1: gross %s load %s payout %s; want %s, %s+%s, %s", gotGross, gotLoad, gotNet, gross, load1, load2, payout)
	}
	rows, err := m.pool.Query(m.ctx, `SELECT l.ledger_tx_id = (SELECT id FROM ledger_transactions WHERE order_id = 'B1'), c.units::text, c.days_held, c.load_rate_pct::text, c.exit_load::text
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
	if p, st := m.redeem("R2", "F1", "E1", `"amount":"1000.00"`, "2026-08-21T11:00:00+05:30"); p.Outcome != ledger.OutcomeAccepted || st != "allotted" {
		t.Fatalf("R2: %s %s", p.Outcome, st)
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
	if p, st := m.redeem("R5", "F1", "E1", `"all_units":true`, "2026-08-24T11:00:00+05:30"); p.Outcome != ledger.OutcomeAccepted || st != "allotted" {
		t.Fatalf("R5: %s %s", p.Outcome, st)
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

// A switch is a redemption of one scheme and a purchase of another, linked
// by the request id: the switch-in buys with the switch-out's payout (stamp
// duty applies), and the clearing account between them nets to zero.
func TestSwitchLinksBothLegs(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.scheme("L1", "Debt Scheme - Liquid Fund")
	m.nav("E1", "2026-08-03", "20.0000")
	m.nav("E1", "2026-08-20", "25.0000")
	m.nav("L1", "2026-08-19", "1000.1234") // liquid: the day before
	m.nav("L1", "2026-08-20", "1000.2345")
	units := m.buy("B1", "F1", "E1", "20000.00", "2026-08-03", "20.0000")
	p := m.order(`{"order_id":"SW-1","type":"switch","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","to_scheme_code":"L1","all_units":true,"placed_at":"2026-08-20T12:00:00+05:30"}`)
	if p.Outcome != ledger.OutcomeAccepted || len(p.Legs) != 2 {
		t.Fatalf("switch: %+v", p)
	}
	for _, l := range p.Legs {
		if l.Status != "allotted" {
			t.Errorf("leg %s: %s", l.ID, l.Status)
		}
	}
	payout := roundRat(new(big.Rat).Mul(rat(units), rat("25")), 2, true) // no load data: no load
	duty, inUnits := expectPurchase(payout, "1000.1234", 3)
	var outNet, inAmt, inDuty, inUnitsGot, inNAVDate, sw1, sw2 string
	if err := m.pool.QueryRow(m.ctx, `SELECT o.net_amount::text, i.amount::text, i.stamp_duty::text, i.units::text, i.nav_date::text, o.switch_id, i.switch_id
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
	p = m.order(`{"order_id":"SW-2","type":"switch","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","to_scheme_code":"L1","units":"1","placed_at":"2026-08-20T12:00:00+05:30"}`)
	if p.Outcome != ledger.OutcomeAccepted || len(p.Legs) != 2 || p.Legs[0].Status != "rejected" || p.Legs[1].Status != "rejected" {
		t.Errorf("switch of units not held: %+v", p)
	}
	m.checkLedger()
}

// Cancels: before payment (a later payment is a break), after payment but
// before the NAV (a break: refund due), after allotment (refused), of an
// unknown request (refused).
func TestCancel(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	cancel := func(id, target string) (string, string) {
		p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"cancel","target_order_id":%q,"placed_at":"2026-08-20T12:00:00+05:30"}`, id, target))
		if p.Outcome == ledger.OutcomeRejected {
			return p.Outcome, "rejected:" + p.Reason
		}
		if len(p.Legs) == 0 {
			return p.Outcome, p.Outcome
		}
		return p.Outcome, p.Legs[0].Status
	}
	m.purchase("C1", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	if out, st := cancel("X1", "C1"); out != ledger.OutcomeAccepted || st != "cancelled" {
		t.Fatalf("cancel before payment: %s %s", out, st)
	}
	m.pay("C1", "100.00", ist("2026-08-20T12:30:00+05:30"))
	if got := m.str(`SELECT reason FROM payment_breaks WHERE payment_id = 'pay_C1'`); got != "order_cancelled" {
		t.Errorf("payment of a cancelled order: break %q", got)
	}

	m.purchase("C2", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	m.pay("C2", "100.00", ist("2026-08-20T10:30:00+05:30")) // no NAV yet: pending
	if out, st := cancel("X2", "C2"); out != ledger.OutcomeAccepted || st != "cancelled" {
		t.Fatalf("cancel pending: %s %s", out, st)
	}
	if got := m.str(`SELECT reason FROM payment_breaks WHERE payment_id = 'pay_C2'`); got != "cancelled_after_payment" {
		t.Errorf("cancel after payment: break %q", got)
	}
	m.nav("E1", "2026-08-20", "10.0000")
	if res, err := m.svc.AllotPending(m.ctx, 10); err != nil || res.Allotted != 0 {
		t.Errorf("a cancelled order was allotted: %+v %v", res, err)
	}

	m.purchase("C3", "F1", "E1", "100.00", "2026-08-20T10:00:00+05:30")
	m.pay("C3", "100.00", ist("2026-08-20T10:30:00+05:30"))
	if out, st := cancel("X3", "C3"); out != ledger.OutcomeRejected || st != "rejected:already_allotted" {
		t.Errorf("cancel after allotment: %s %s", out, st)
	}
	if out, st := cancel("X4", "NOPE"); out != ledger.OutcomeRejected || st != "rejected:unknown_target" {
		t.Errorf("cancel of nothing: %s %s", out, st)
	}
	m.checkLedger()
}

// The client's order id is the idempotency key: the same request again (in
// any spelling) is a duplicate, another request under the same id a
// conflict; refused requests are stored under their id too.
func TestOrderIdempotencyAndRefusals(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	first := `{"order_id":"I-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.00","placed_at":"2026-08-20T10:00:00+05:30"}`
	same := `{ "placed_at": "2026-08-20T04:30:00Z", "amount": "500.0", "scheme_code": "E1", "folio": "F1", "investor_id": "INV-1", "type": "purchase", "order_id": "I-1" }`
	other := `{"order_id":"I-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.01","placed_at":"2026-08-20T10:00:00+05:30"}`
	cases := []struct {
		name, body string
		outcome    string
		reason     string
	}{
		{"new", first, "accepted", ""},
		{"again", first, "duplicate", ""},
		{"same request, other spelling", same, "duplicate", ""},
		{"other request, same id", other, "conflict", "order_id_reused"},
		{"bad amount", `{"order_id":"I-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.001","placed_at":"2026-08-20T10:00:00+05:30"}`, "rejected", "bad_json"},
		{"bad amount again", `{"order_id":"I-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.001","placed_at":"2026-08-20T10:00:00+05:30"}`, "duplicate", "bad_json"},
		{"no time stamp", `{"order_id":"I-3","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00"}`, "rejected", "missing_field"},
		{"unknown scheme", `{"order_id":"I-4","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"ZZ","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "rejected", "unknown_scheme"},
		{"another investor's folio", `{"order_id":"I-5","type":"purchase","investor_id":"INV-2","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "rejected", "folio_investor_mismatch"},
		{"redemption with two quantities", `{"order_id":"I-6","type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","all_units":true,"placed_at":"2026-08-20T10:00:00+05:30"}`, "rejected", "bad_quantity"},
		{"amount as a JSON number", `{"order_id":"I-7","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":5,"placed_at":"2026-08-20T10:00:00+05:30"}`, "rejected", "bad_json"},
		{"unknown field", `{"order_id":"I-8","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30","price":"1"}`, "rejected", "bad_json"},
	}
	for _, c := range cases {
		p := m.order(c.body)
		if p.Outcome != c.outcome || p.Reason != c.reason {
			t.Errorf("%s: %q %q; want %q %q (%s)", c.name, p.Outcome, p.Reason, c.outcome, c.reason, p.Detail)
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
