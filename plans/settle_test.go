package plans_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
)

// env is a test's plans service on its own database, over the ledger as
// cmd/fundflow wires it, with the ledger's invariants checked at the end.
type settleEnv struct {
	t     *testing.T
	ctx   context.Context
	owner *pgxpool.Pool
	app   *pgxpool.Pool
	led   *ledger.Service
	svc   *plans.Service
	now   time.Time
}

func newSettleEnv(t *testing.T) *settleEnv {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	e := &settleEnv{t: t, ctx: testkit.Ctx(t), owner: owner, app: app, now: moneytest.IST("2026-08-20T10:00:00+05:30")}
	e.led = &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: func() time.Time { return e.now }}
	e.svc = &plans.Service{Store: pgstore.Store{Pool: app}, Calendar: cal, Orders: e.led, Now: func() time.Time { return e.now },
		Log: testkit.Logger(t)}
	t.Cleanup(func() {
		if err := ledgergen.CheckService(context.WithoutCancel(e.ctx), app); err != nil {
			t.Error(err)
		}
	})
	return e
}

func (e *settleEnv) db() moneytest.DB {
	return moneytest.DB{T: e.t, Ctx: e.ctx, Owner: e.owner, Read: e.app}
}

// buy places a purchase of amount in scheme on folio and pays it at at:
// units allotted at that day's NAV (which the test published).
func (e *settleEnv) buy(id, folio, scheme, amount string, at time.Time) {
	e.t.Helper()
	a := fund.MustAmount(amount)
	req := fund.OrderRequest{ID: id, Kind: fund.ReqPurchase, InvestorID: "INV-" + folio, Folio: folio, SchemeCode: scheme, Amount: &a,
		Currency: "INR", PaymentRef: "order_" + id, PlacedAt: at.Add(-time.Minute)}
	if p, err := e.led.Place(e.ctx, fund.OrderIntake{Req: req, Source: "test", ReceivedAt: req.PlacedAt, At: req.PlacedAt}); err != nil || p.Outcome != ledger.OutcomeAccepted {
		e.t.Fatalf("purchase %s: %+v %v", id, p, err)
	}
	e.webhook("evt_cap_"+id, moneytest.Payment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: moneytest.Paise(amount), At: at}.Body())
	if st := e.db().Str(`SELECT status FROM orders WHERE id = $1`, id); st != "allotted" {
		e.t.Fatalf("purchase %s is %s, want allotted", id, st)
	}
}

// webhook hands a Razorpay webhook body to the ledger as the receiver does.
func (e *settleEnv) webhook(eventID string, body []byte) {
	e.t.Helper()
	ev := ledger.InboxEvent{Source: "razorpay", EventID: eventID, Body: body}
	typ, p, err := webhook.ParseRazorpay(body, eventID)
	if err != nil {
		e.t.Fatal(err)
	}
	ev.EventType, ev.Payment = typ, p
	if _, err := e.led.Receive(e.ctx, ev); err != nil {
		e.t.Fatal(err)
	}
}

// plan registers a plan directly (what registration writes) with one due
// instalment, notified a day before its due date.
func (e *settleEnv) plan(id, kind, folio, scheme, to, due, amount string) {
	e.t.Helper()
	var toScheme, mandate any
	if to != "" {
		toScheme = to
	}
	e.folio(folio)
	if kind == "sip" {
		mandate = "token_" + id
		e.db().Exec(`INSERT INTO mandates (id, gateway, investor_id, customer_id, method, status, max_amount)
			VALUES ($1, 'razorpay', $2, 'cust_1', 'upi', 'confirmed', 100000) ON CONFLICT DO NOTHING`, mandate, "INV-"+folio)
	}
	e.db().Exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code, mandate_id,
		frequency, start_date, status) VALUES ($1, $1, 'x', $2, $3, $4, $5, $6, $7, 'monthly', $8, 'active')`,
		id, kind, "INV-"+folio, folio, scheme, toScheme, mandate, due)
	e.instalment(id, due, 1, amount)
}

// folio adds investor INV-<folio> and the folio (what onboarding writes).
func (e *settleEnv) folio(folio string) {
	e.t.Helper()
	e.db().Exec(`INSERT INTO investors (id) VALUES ($1) ON CONFLICT DO NOTHING`, "INV-"+folio)
	e.db().Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, folio, "INV-"+folio)
}

func (e *settleEnv) instalment(plan, due string, seq int, amount string) {
	e.t.Helper()
	e.db().Exec(`INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status, notified_at, present_after)
		VALUES ($1, $2, $3, $2, $4, 'due', $5::timestamptz - interval '1 day', $5)`, plan, due, seq, amount, e.now.Add(-time.Hour))
}

func (e *settleEnv) present() plans.PresentStats {
	e.t.Helper()
	st, err := e.svc.Present(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *settleEnv) settle() plans.SettleStats {
	e.t.Helper()
	st, err := e.svc.Settle(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// instalment's status, reason of plan's instalment due on due.
func (e *settleEnv) status(plan, due string) (string, string) {
	e.t.Helper()
	return e.db().Str(`SELECT status FROM plan_instalments WHERE plan_id = $1 AND due_date = $2`, plan, due),
		e.db().Str(`SELECT reason FROM plan_instalments WHERE plan_id = $1 AND due_date = $2`, plan, due)
}

func (e *settleEnv) events(topic string) int {
	e.t.Helper()
	return e.db().Num(`SELECT count(*) FROM outbox WHERE topic = $1`, topic)
}

// An SWP instalment larger than the holding is failed with the ledger's
// reason; the holding is what it was (never negative).
func TestSWPUnitsShortFailsHoldingUnchanged(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.db().NAV("S1", "2026-08-19", "10.0000")
	e.db().NAV("S1", "2026-08-20", "10.0000")
	e.folio("F1")
	e.buy("B1", "F1", "S1", "1000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	before := e.db().Str(`SELECT units::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'S1'`)

	e.plan("pl_swp1", "swp", "F1", "S1", "", "2026-08-20", "5000.00")
	if st := e.present(); st.Presented != 1 {
		t.Fatalf("present: %+v, want 1 presented", st)
	}
	if st := e.settle(); st.Failed != 1 {
		t.Fatalf("settle: %+v, want 1 failed", st)
	}
	if st, reason := e.status("pl_swp1", "2026-08-20"); st != "failed" || reason != "insufficient_units" {
		t.Errorf("instalment %s (%s), want failed (insufficient_units)", st, reason)
	}
	if after := e.db().Str(`SELECT units::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'S1'`); after != before {
		t.Errorf("holding %s after the failed SWP, was %s", after, before)
	}
	if n := e.events("swp.instalment.failed"); n != 1 {
		t.Errorf("%d swp.instalment.failed events, want 1", n)
	}
}

// An SWP instalment redeems by amount at the day's NAV: allotted, one
// order; presenting again after a crash before the record (the instalment
// still due) is the same order, a duplicate.
func TestSWPAllottedOnceAcrossACrash(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.db().NAV("S1", "2026-08-19", "10.0000")
	e.db().NAV("S1", "2026-08-20", "12.5000")
	e.folio("F1")
	e.buy("B1", "F1", "S1", "10000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	e.plan("pl_swp2", "swp", "F1", "S1", "", "2026-08-20", "1000.00")

	e.present()
	// The crash: the order was placed, the instalment's record not written.
	e.db().Exec(`UPDATE plan_instalments SET status = 'due', order_id = NULL WHERE plan_id = 'pl_swp2'`)
	e.db().Exec(`DELETE FROM outbox WHERE topic = 'swp.instalment.presented'`)
	if st := e.present(); st.Presented != 1 {
		t.Fatalf("present after the crash: %+v, want 1 presented", st)
	}
	if st := e.settle(); st.Allotted != 1 {
		t.Fatalf("settle: %+v, want 1 allotted", st)
	}
	if n := e.db().Num(`SELECT count(*) FROM order_requests WHERE id LIKE 'swp-%'`); n != 1 {
		t.Errorf("%d order requests for the instalment, want 1", n)
	}
	// 1000 rupees at 12.5 is 80 units (no exit load on this scheme).
	if got := e.db().Str(`SELECT units::text FROM ledger_transactions WHERE order_id = $1`, plans.InstalmentKey("swp", "pl_swp2", "2026-08-20")); got != "80.000000000" {
		t.Errorf("redeemed %s units, want 80", got)
	}
	for _, topic := range []string{"swp.instalment.presented", "swp.instalment.allotted"} {
		if n := e.events(topic); n != 1 {
			t.Errorf("%d %s events, want 1", n, topic)
		}
	}
}

// newSTPEnv: schemes S1 (NAV 10 on the 19th and 20th) and S2 (33.3333 on
// the 20th), and folio F1 holding S1 bought for 10,000 on the 19th.
func newSTPEnv(t *testing.T) *settleEnv {
	t.Helper()
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.db().Scheme("S2", "Equity Scheme - Mid Cap Fund")
	e.db().NAV("S1", "2026-08-19", "10.0000")
	e.db().NAV("S1", "2026-08-20", "10.0000")
	e.db().NAV("S2", "2026-08-20", "33.3333")
	e.folio("F1")
	e.buy("B1", "F1", "S1", "10000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	return e
}

// An STP instalment is a switch: both legs allotted, stamp duty on the
// in-leg only (the Stamp Act arithmetic, computed apart).
func TestSTPBothLegsAllotted(t *testing.T) {
	e := newSTPEnv(t)
	e.plan("pl_stp1", "stp", "F1", "S1", "S2", "2026-08-20", "2500.00")

	e.present()
	if st := e.settle(); st.Allotted != 1 {
		t.Fatalf("settle: %+v, want 1 allotted", st)
	}
	key := plans.InstalmentKey("stp", "pl_stp1", "2026-08-20")
	if n := e.db().Num(`SELECT count(*) FROM orders WHERE request_id = $1 AND status = 'allotted'`, key); n != 2 {
		t.Errorf("%d legs allotted, want 2", n)
	}
	duty, units := moneytest.ExpectPurchase("2500.00", "33.3333", 3)
	var gotDuty, gotUnits, outDuty string
	if err := e.app.QueryRow(e.ctx, `SELECT stamp_duty::text, units::text FROM ledger_transactions WHERE order_id = $1`, fund.SwitchInLeg(key)).Scan(&gotDuty, &gotUnits); err != nil {
		t.Fatal(err)
	}
	outDuty = e.db().Str(`SELECT stamp_duty::text FROM ledger_transactions WHERE order_id = $1`, fund.SwitchOutLeg(key))
	if gotDuty != duty || gotUnits != units+"000000" || outDuty != "0.00" {
		t.Errorf("in-leg duty %s units %s, out-leg duty %s; want %s, %s, 0.00", gotDuty, gotUnits, outDuty, duty, units)
	}
	if st, _ := e.status("pl_stp1", "2026-08-20"); st != "allotted" {
		t.Errorf("instalment %s, want allotted", st)
	}
}

// The idempotency key fits the gateway's 40 characters whatever the plan
// id, and is the same for the same instalment.
func TestInstalmentKey(t *testing.T) {
	for _, c := range []struct{ kind, plan, due, want string }{
		{"sip", "pl_01J9ZK3Q4R5S6T7V8W9X0Y1Z2A", "2026-08-20", "sip-01J9ZK3Q4R5S6T7V8W9X0Y1Z2A-20260820"},
		{"stp", "pl_7", "2026-01-05", "stp-7-20260105"},
	} {
		if got := plans.InstalmentKey(c.kind, c.plan, c.due); got != c.want {
			t.Errorf("InstalmentKey(%s, %s, %s) = %s, want %s", c.kind, c.plan, c.due, got, c.want)
		}
	}
	long := plans.InstalmentKey("sip", "pl_"+fmt.Sprint(time.Now().UnixNano())+"-and-a-very-long-tail", "2026-08-20")
	odd := plans.InstalmentKey("swp", "pl_with space", "2026-08-20")
	for _, k := range []string{long, odd} {
		if len(k) > 40 {
			t.Errorf("key %s: %d characters, over 40", k, len(k))
		}
		if _, err := fund.DecodeOrderRequest([]byte(fmt.Sprintf(`{"order_id":%q}`, k))); err != nil {
			if _, ok := err.(*fund.InvalidOrderError); !ok {
				t.Errorf("key %s is not a valid order id: %v", k, err)
			}
		}
	}
}

// A mandate the gateway cancelled cancels its live SIPs
// (mandate_cancelled) with a sip.cancelled event; their due instalments are
// dropped, and plans on other mandates are left alone.
func TestMandateCancelledCancelsItsPlans(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.plan("pl_a", "sip", "F1", "S1", "", "2026-08-21", "1000.00")
	e.plan("pl_b", "sip", "F2", "S1", "", "2026-08-21", "1000.00")
	e.db().Exec(`UPDATE mandates SET status = 'cancelled' WHERE id = 'token_pl_a'`)
	if st := e.settle(); st.PlansCancelled != 1 {
		t.Fatalf("settle: %+v, want 1 plan cancelled", st)
	}
	if got := e.db().Str(`SELECT string_agg(id || ' ' || status || ' ' || status_reason, ', ' ORDER BY id) FROM plans`); got != "pl_a cancelled mandate_cancelled, pl_b active " {
		t.Errorf("plans: %s", got)
	}
	if st, reason := e.status("pl_a", "2026-08-21"); st != "dropped" || reason != "plan_cancelled" {
		t.Errorf("instalment %s (%s), want dropped", st, reason)
	}
	if got := e.db().Str(`SELECT payload->>'reason' FROM outbox WHERE topic = 'sip.cancelled' AND key = 'F1'`); got != "mandate_cancelled" {
		t.Errorf("sip.cancelled reason %q", got)
	}
	if st := e.settle(); st.PlansCancelled != 0 {
		t.Errorf("a second settle cancelled %d more", st.PlansCancelled)
	}
}

// A plan of two instalments, both generated (the run's end mark) and
// final, is completed; one still in flight keeps it active.
func TestBoundedPlanCompletes(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.plan("pl_c", "swp", "F1", "S1", "", "2026-07-20", "1000.00")
	e.instalment("pl_c", "2026-08-20", 2, "1000.00")
	e.db().Exec(`UPDATE plans SET instalments = 2, generated_through = '2026-08-20', generated_all = true WHERE id = 'pl_c'`)
	e.db().Exec(`UPDATE plan_instalments SET status = 'allotted' WHERE plan_id = 'pl_c' AND seq = 1`)
	e.db().Exec(`UPDATE plan_instalments SET status = 'presented' WHERE plan_id = 'pl_c' AND seq = 2`)
	if st := e.settle(); st.PlansCompleted != 0 {
		t.Fatalf("settle with one in flight: %+v", st)
	}
	e.db().Exec(`UPDATE plan_instalments SET status = 'failed' WHERE plan_id = 'pl_c' AND seq = 2`)
	if st := e.settle(); st.PlansCompleted != 1 {
		t.Fatalf("settle: %+v, want the plan completed", st)
	}
	if st := e.db().Str(`SELECT status FROM plans WHERE id = 'pl_c'`); st != "completed" {
		t.Errorf("plan %s, want completed", st)
	}
}

// A run crashed after placing an SWP instalment's order but before its
// record, and the plan was cancelled before the next run: the instalment
// was claimed (its order may be out), so the cancel leaves it and the next
// run presents it (the same order) and it completes.
func TestClaimedInstalmentCompletesAfterCancel(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.db().NAV("S1", "2026-08-19", "10.0000")
	e.db().NAV("S1", "2026-08-20", "10.0000")
	e.folio("F1")
	e.buy("B1", "F1", "S1", "10000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	e.plan("pl_swp3", "swp", "F1", "S1", "", "2026-08-20", "1000.00")
	e.instalment("pl_swp3", "2026-08-27", 2, "1000.00")
	e.present()
	e.db().Exec(`UPDATE plan_instalments SET status = 'due', order_id = NULL WHERE plan_id = 'pl_swp3' AND seq = 1`) // the crash
	// The investor's cancel (plans.Service.Cancel, as the API calls it):
	// the plan and its instalments not claimed; the claimed one stays due.
	if _, err := e.svc.Cancel(e.ctx, "pl_swp3"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.status("pl_swp3", "2026-08-20"); st != "due" {
		t.Fatalf("claimed instalment %s after the cancel, want due (its order may be out)", st)
	}
	if n := e.events("swp.cancelled"); n != 1 {
		t.Errorf("%d swp.cancelled events, want 1", n)
	}
	if st := e.present(); st.Presented != 1 {
		t.Fatalf("present: %+v, want the claimed instalment presented", st)
	}
	e.settle()
	if st, _ := e.status("pl_swp3", "2026-08-20"); st != "allotted" {
		t.Errorf("claimed instalment %s, want allotted", st)
	}
	if st, _ := e.status("pl_swp3", "2026-08-27"); st != "dropped" {
		t.Errorf("unclaimed instalment %s, want dropped", st)
	}
	if n := e.db().Num(`SELECT count(*) FROM order_requests WHERE id LIKE 'swp-%'`); n != 1 {
		t.Errorf("%d order requests, want 1", n)
	}
}

// A pause that has run its course resumes the plan: the instalment after
// the paused ones is presented, and the plan is active again (with its
// audit row), not "paused" for ever.
func TestElapsedPauseResumesThePlan(t *testing.T) {
	e := newSettleEnv(t)
	e.db().Scheme("S1", "Equity Scheme - Large Cap Fund")
	e.db().NAV("S1", "2026-08-19", "10.0000")
	e.db().NAV("S1", "2026-08-20", "10.0000")
	e.folio("F1")
	e.folio("F2")
	e.buy("B1", "F1", "S1", "10000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	e.buy("B2", "F2", "S1", "10000.00", moneytest.IST("2026-08-19T10:00:00+05:30"))
	// pl_a: seq 1 paused (skipped), seq 2 due today: the pause is over.
	e.plan("pl_a", "swp", "F1", "S1", "", "2026-08-13", "1000.00")
	e.instalment("pl_a", "2026-08-20", 2, "1000.00")
	// pl_b: seqs 1-2 paused, only seq 1 generated: still paused.
	e.plan("pl_b", "swp", "F2", "S1", "", "2026-08-13", "1000.00")
	for _, id := range []string{"pl_a", "pl_b"} {
		e.db().Exec(`UPDATE plan_instalments SET status = 'skipped', reason = 'paused' WHERE plan_id = $1 AND seq = 1`, id)
	}
	e.db().Exec(`INSERT INTO plan_pauses (plan_id, from_seq, to_seq) VALUES ('pl_a', 1, 1), ('pl_b', 1, 2)`)
	e.db().Exec(`UPDATE plans SET status = 'paused' WHERE id IN ('pl_a', 'pl_b')`)

	if st := e.present(); st.Presented != 1 {
		t.Fatalf("present: %+v, want pl_a's instalment after its pause presented", st)
	}
	if st := e.settle(); st.PlansResumed != 1 {
		t.Fatalf("settle: %+v, want 1 plan resumed", st)
	}
	if a, b := e.db().Str(`SELECT status FROM plans WHERE id = 'pl_a'`), e.db().Str(`SELECT status FROM plans WHERE id = 'pl_b'`); a != "active" || b != "paused" {
		t.Errorf("plans: pl_a %s (want active), pl_b %s (want paused)", a, b)
	}
	if n := e.db().Num(`SELECT count(*) FROM audit_log WHERE entity = 'plan' AND entity_id = 'pl_a' AND action = 'resumed' AND actor = 'instalment-run'`); n != 1 {
		t.Errorf("%d resumed audit rows, want 1", n)
	}
	if st := e.settle(); st.PlansResumed != 0 {
		t.Errorf("second settle resumed %d plans, want 0", st.PlansResumed)
	}
}

// The KYC gate holds plan instalments like any order (issue 23): an STP
// instalment of an investor whose KYC is on hold places both switch legs;
// the ledger holds the switch-out with the public reason (a kyc
// restriction blocks both switch legs) and the switch-in waits for it;
// nothing is allotted, the holding is untouched (the purchase's 10,000
// less 0.005 % stamp duty at NAV 10: 999.95 units).
// The KRA status that lifts the restriction releases them: both legs
// allotted at the release day's NAV, and the instalment settles.
func TestSTPHeldByKYCUntilReleased(t *testing.T) {
	e := newSTPEnv(t)
	if err := e.led.SetRestriction(e.ctx, ledger.Restriction{InvestorID: "INV-F1", Source: ledger.HoldKYC, Reason: "kyc_on_hold",
		Detail: "KRA status on hold", BlocksPurchase: true, By: "kra-feed"}); err != nil {
		t.Fatal(err)
	}
	e.plan("pl_stpk", "stp", "F1", "S1", "S2", "2026-08-20", "2500.00")
	e.present()
	e.settle()
	key := plans.InstalmentKey("stp", "pl_stpk", "2026-08-20")
	legs := `SELECT string_agg(o.kind || ' ' || o.status || coalesce(' held ' || h.reason, ''), ', ' ORDER BY o.kind) FROM orders o
		LEFT JOIN order_holds h ON h.order_id = o.id AND h.closed_at IS NULL WHERE o.request_id = $1`
	if got, want := e.db().Str(legs, key), "switch_in awaiting_leg, switch_out pending_nav held kyc_on_hold"; got != want {
		t.Errorf("legs under the KYC hold: %q, want %q", got, want)
	}
	if st, _ := e.status("pl_stpk", "2026-08-20"); st == "allotted" {
		t.Errorf("instalment allotted under a KYC hold")
	}
	if units := e.db().Str(`SELECT units::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'S1'`); units != "999.950000000" {
		t.Errorf("S1 units %s under the hold, want 999.950000000 (the purchase's)", units)
	}

	if _, err := e.led.LiftRestriction(e.ctx, "INV-F1", ledger.HoldKYC, "kra-feed"); err != nil {
		t.Fatal(err)
	}
	if got, want := e.db().Str(legs, key), "switch_in allotted, switch_out allotted"; got != want {
		t.Errorf("legs after the release: %q, want %q", got, want)
	}
	e.settle()
	if st, _ := e.status("pl_stpk", "2026-08-20"); st != "allotted" {
		t.Errorf("instalment %s after the release, want allotted", st)
	}
}
