package main

import (
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/jobs/instalments"
	"github.com/fundflow/fundflow/plans"
)

// sipEnv is the money path as serve wires it (webhooks on a test server),
// the stand-in gateway delivering its webhooks there, and the instalment
// run configured against that gateway, all on the test's clock.
type sipEnv struct {
	*moneyEnv
	sim    *gatewaysim.Server
	simURL string
	job    instalments.Job
	clock  atomic.Int64 // unix nanoseconds: the test's time, read by the gateway's goroutines too
}

func newSIPEnv(t *testing.T, now string) *sipEnv {
	e := &sipEnv{}
	e.setNow(now)
	clock := func() time.Time { return time.Unix(0, e.clock.Load()) }
	sim := &gatewaysim.Server{KeyID: "rzp_test_sim", KeySecret: "sim-secret", WebhookSecret: []byte(testWebhookSecret), Now: clock}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	e.simURL = simSrv.URL
	t.Setenv("FUNDFLOW_TEST_RZP_KEY_ID", sim.KeyID)
	t.Setenv("FUNDFLOW_TEST_RZP_KEY_SECRET", sim.KeySecret)
	cfg := moneyConfig(t, `  instalments:
    gateway: {base_url: "`+simSrv.URL+`", key_id_env: FUNDFLOW_TEST_RZP_KEY_ID, key_secret_env: FUNDFLOW_TEST_RZP_KEY_SECRET}
`)
	e.moneyEnv = newMoneyWith(t, cfg, clock)
	sim.WebhookURL = e.srv.URL + "/webhooks/razorpay"
	e.sim = sim
	j, err := instalmentsJob(e.d)
	if err != nil {
		t.Fatal(err)
	}
	e.job = j
	return e
}

// setNow sets the test's clock (RFC 3339).
func (e *sipEnv) setNow(s string) { e.clock.Store(ist(s).UnixNano()) }

// mandate makes investor INV-<folio>'s confirmed mandate token_<folio>, as
// the gateway reports it (token.confirmed through the webhook intake).
func (e *sipEnv) mandate(folio string) {
	e.t.Helper()
	e.exec(`INSERT INTO investors (id) VALUES ($1) ON CONFLICT DO NOTHING`, "INV-"+folio)
	e.exec(`INSERT INTO folios (folio_no, investor_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, folio, "INV-"+folio)
	e.sim.AddToken(gatewaysim.Token{ID: "token_" + folio, CustomerID: "cust_" + folio, MaxAmount: fund.MustAmount("50000.00"), InvestorID: "INV-" + folio})
	if err := e.sim.ConfirmMandate("token_" + folio); err != nil {
		e.t.Fatal(err)
	}
	e.deliver()
	// The token webhooks carry no customer id: the mandate's authorisation
	// payment links it (ledger.LinkMandate); written here as it would.
	e.exec(`UPDATE mandates SET customer_id = $2 WHERE id = $1 AND customer_id = ''`, "token_"+folio, "cust_"+folio)
	if st := e.str(`SELECT status FROM mandates WHERE id = $1`, "token_"+folio); st != "confirmed" {
		e.t.Fatalf("mandate token_%s is %s, want confirmed", folio, st)
	}
}

// sip registers a monthly SIP on folio's mandate (the rows registration
// writes) with instalments due on the dates given, each notified a day
// before now (so presentable now).
func (e *sipEnv) sip(id, folio, scheme, amount string, dues ...string) {
	e.t.Helper()
	// Its instalments all written here: the run's Generate step has
	// nothing to add (generated_all).
	e.exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, mandate_id, frequency, start_date, status,
		generated_through, generated_all) VALUES ($1, $1, 'x', 'sip', $2, $3, $4, $5, 'monthly', $6, 'active', $7, true)`,
		id, "INV-"+folio, folio, scheme, "token_"+folio, dues[0], dues[len(dues)-1])
	for i, due := range dues {
		e.exec(`INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status, notified_at, present_after)
			VALUES ($1, $2, $3, $2, $4, 'due', $5::timestamptz - interval '1 day', $5)`, id, due, i+1, amount, time.Unix(0, e.clock.Load()).Add(-time.Minute))
	}
}

// run is one instalment run.
func (e *sipEnv) run() instalments.Stats {
	e.t.Helper()
	st, err := e.job.Run(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// deliver sends the gateway's queued webhooks.
func (e *sipEnv) deliver() {
	e.t.Helper()
	if err := e.sim.Settle(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *sipEnv) instalment(plan, due string) (status, reason, detail string) {
	e.t.Helper()
	q := `SELECT %s FROM plan_instalments WHERE plan_id = $1 AND due_date = $2`
	return e.str(fmt.Sprintf(q, "status"), plan, due), e.str(fmt.Sprintf(q, "reason"), plan, due), e.str(fmt.Sprintf(q, "detail"), plan, due)
}

func (e *sipEnv) events(topic string) int {
	e.t.Helper()
	return e.num(`SELECT count(*) FROM outbox WHERE topic = $1`, topic)
}

// A SIP instalment is presented once; the gateway captures its debit at
// 16:00 IST on 19 Aug, after the 3 PM cut-off, so the funds are realised
// for the next business day's NAV (20 Aug): its purchase order is allotted
// at that NAV with stamp duty (the Stamp Act arithmetic, computed apart).
// presented, paid and allotted are each one event.
func TestSIPInstalmentPresentedPaidAllotted(t *testing.T) {
	e := newSIPEnv(t, "2026-08-19T16:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.nav("119551", "2026-08-19", "40.0000")
	e.nav("119551", "2026-08-20", "42.4242")
	e.mandate("F1")
	e.sip("pl_sip1", "F1", "119551", "5000.00", "2026-08-19")

	if st := e.run(); st.Present.Presented != 1 {
		s, r, d := e.instalment("pl_sip1", "2026-08-19")
		t.Fatalf("run: %+v, want 1 presented (instalment %s %s %s)", st, s, r, d)
	}
	if st, _, _ := e.instalment("pl_sip1", "2026-08-19"); st != "presented" {
		t.Fatalf("instalment %s, want presented", st)
	}
	e.setNow("2026-08-20T09:00:00+05:30")
	e.deliver()
	if st := e.run(); st.Present.Presented != 0 || st.Settle.Paid != 1 || st.Settle.Allotted != 1 {
		t.Fatalf("second run: %+v, want nothing presented, 1 paid and allotted", st)
	}
	key := plans.InstalmentKey("sip", "pl_sip1", "2026-08-19")
	duty, units := expectPurchase("5000.00", "42.4242", 3)
	var navDate, gotDuty, gotUnits string
	if err := e.d.pg.Pool.QueryRow(e.ctx, `SELECT nav_date::text, stamp_duty::text, units::text FROM ledger_transactions WHERE order_id = $1`, key).
		Scan(&navDate, &gotDuty, &gotUnits); err != nil {
		t.Fatal(err)
	}
	if navDate != "2026-08-20" || gotDuty != duty || gotUnits != units+"000000" {
		t.Errorf("allotted at %s: duty %s, units %s; want 2026-08-20, %s, %s", navDate, gotDuty, gotUnits, duty, units)
	}
	if st, _, _ := e.instalment("pl_sip1", "2026-08-19"); st != "allotted" {
		t.Errorf("instalment %s, want allotted", st)
	}
	for _, topic := range []string{"sip.instalment.presented", "sip.instalment.paid", "sip.instalment.allotted"} {
		if n := e.events(topic); n != 1 {
			t.Errorf("%d %s events, want 1", n, topic)
		}
	}
	if n := e.sim.Calls(gatewaysim.CreateRecurring); n != 1 {
		t.Errorf("the gateway saw %d debits, want 1", n)
	}
	e.checkLedger()
}

// A failed debit fails the instalment with the gateway's code and
// description, and its waiting purchase order is cancelled.
func TestSIPFailedDebit(t *testing.T) {
	e := newSIPEnv(t, "2026-08-20T10:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.mandate("F1")
	e.sim.FailToken("token_F1", "BAD_REQUEST_ERROR", "Payment failed due to insufficient balance in the account")
	e.sip("pl_sip1", "F1", "119551", "5000.00", "2026-08-20")

	e.run()
	e.deliver()
	if st := e.run(); st.Settle.Failed != 1 || st.Settle.OrdersCancelled != 1 {
		t.Fatalf("run: %+v, want 1 failed, 1 order cancelled", st)
	}
	st, reason, detail := e.instalment("pl_sip1", "2026-08-20")
	if st != "failed" || reason != "BAD_REQUEST_ERROR" || detail != "Payment failed due to insufficient balance in the account" {
		t.Errorf("instalment %s (%s: %s), want failed with the gateway's reason", st, reason, detail)
	}
	key := plans.InstalmentKey("sip", "pl_sip1", "2026-08-20")
	if st := e.str(`SELECT status FROM orders WHERE id = $1`, key); st != "cancelled" {
		t.Errorf("order %s, want cancelled", st)
	}
	if n := e.num(`SELECT consecutive_failures FROM plans WHERE id = 'pl_sip1'`); n != 1 {
		t.Errorf("consecutive_failures %d, want 1", n)
	}
	if n := e.events("sip.instalment.failed"); n != 1 {
		t.Errorf("%d sip.instalment.failed events, want 1", n)
	}
	e.checkLedger()
}

// Three failed debits in a row cancel the plan (failed_debits) with a
// sip.cancelled event; its instalment not yet presented is dropped.
func TestSIPThreeStrikesCancel(t *testing.T) {
	e := newSIPEnv(t, "2026-08-20T10:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.mandate("F1")
	e.sim.FailToken("token_F1", "BAD_REQUEST_ERROR", "insufficient balance")
	e.sip("pl_sip1", "F1", "119551", "1000.00", "2026-08-18", "2026-08-19", "2026-08-20", "2026-08-21")
	e.exec(`UPDATE plan_instalments SET present_after = '2026-08-21T09:00:00+05:30' WHERE due_date = '2026-08-21'`)

	if st := e.run(); st.Present.Presented != 3 {
		t.Fatalf("run: %+v, want the 3 instalments due presented", st)
	}
	e.deliver()
	if st := e.run(); st.Settle.Failed != 3 || st.Settle.PlansCancelled != 1 {
		t.Fatalf("run: %+v, want 3 failed and the plan cancelled", st)
	}
	if st := e.str(`SELECT status || ' ' || status_reason FROM plans WHERE id = 'pl_sip1'`); st != "cancelled failed_debits" {
		t.Errorf("plan %s, want cancelled failed_debits", st)
	}
	if st, reason, _ := e.instalment("pl_sip1", "2026-08-21"); st != "dropped" || reason != "plan_cancelled" {
		t.Errorf("the last instalment %s (%s), want dropped", st, reason)
	}
	if n := e.events("sip.cancelled"); n != 1 {
		t.Errorf("%d sip.cancelled events, want 1", n)
	}
	e.setNow("2026-08-21T10:00:00+05:30")
	if st := e.run(); st.Present.Presented != 0 {
		t.Errorf("a run after the cancel presented %d", st.Present.Presented)
	}
	if n := e.sim.Calls(gatewaysim.CreateRecurring); n != 3 {
		t.Errorf("the gateway saw %d debits, want 3", n)
	}
	e.checkLedger()
}

// A plan cancelled after an instalment was presented: that instalment
// still completes (paid, allotted); the next is dropped.
func TestSIPCancelAfterPresentationCompletes(t *testing.T) {
	e := newSIPEnv(t, "2026-08-20T10:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.nav("119551", "2026-08-20", "42.4242")
	e.mandate("F1")
	e.sip("pl_sip1", "F1", "119551", "5000.00", "2026-08-20", "2026-09-21")
	e.run()
	// The investor cancels (what the cancel use case writes).
	e.exec(`UPDATE plans SET status = 'cancelled', status_reason = 'by_investor' WHERE id = 'pl_sip1'`)
	e.exec(`UPDATE plan_instalments SET status = 'dropped', reason = 'plan_cancelled' WHERE plan_id = 'pl_sip1' AND status = 'due'`)
	e.deliver()
	if st := e.run(); st.Settle.Allotted != 1 {
		t.Fatalf("run: %+v, want the presented instalment allotted", st)
	}
	if st, _, _ := e.instalment("pl_sip1", "2026-08-20"); st != "allotted" {
		t.Errorf("presented instalment %s, want allotted", st)
	}
	e.checkLedger()
}

// A crash between the gateway's debit and our record of it: the answer is
// lost (the gateway acted), then the instalment's record is lost after a
// second presentation too. Each run presents with the same key: the
// gateway saw one debit, the ledger one order, the investor is debited
// once.
func TestSIPPresentedOnceAcrossCrashes(t *testing.T) {
	e := newSIPEnv(t, "2026-08-20T10:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.nav("119551", "2026-08-20", "42.4242")
	e.mandate("F1")
	e.sip("pl_sip1", "F1", "119551", "5000.00", "2026-08-20")

	e.sim.LoseAnswer(gatewaysim.CreateRecurring, 504)
	if st := e.run(); st.Present.Retry != 1 || st.Present.Presented != 0 {
		t.Fatalf("run with the answer lost: %+v, want 1 to retry", st)
	}
	if st := e.run(); st.Present.Presented != 1 {
		t.Fatalf("run after: %+v, want 1 presented", st)
	}
	// The record lost: the run crashed after placing the order.
	e.exec(`UPDATE plan_instalments SET status = 'due', order_id = NULL, gateway_order_id = '' WHERE plan_id = 'pl_sip1'`)
	if st := e.run(); st.Present.Presented != 1 {
		t.Fatalf("run after the lost record: %+v, want 1 presented", st)
	}
	e.deliver()
	e.run()
	if n, calls := len(e.sim.Payments()), e.sim.Calls(gatewaysim.CreateRecurring); n != 1 || calls != 1 {
		t.Errorf("the gateway holds %d payments after %d debit calls, want 1 and 1", n, calls)
	}
	if n := e.num(`SELECT count(*) FROM order_requests WHERE id LIKE 'sip-%'`); n != 1 {
		t.Errorf("%d order requests, want 1", n)
	}
	if st, _, _ := e.instalment("pl_sip1", "2026-08-20"); st != "allotted" {
		t.Errorf("instalment %s, want allotted", st)
	}
	e.checkLedger()
}

// The whole run over two days: a registered monthly SIP of one instalment
// due on Thursday 20 Aug is generated on Tuesday (within the 3-day
// horizon) with its pre-debit notification, not presented before it is due
// and 24 hours have passed, presented on the day, captured, paid and
// allotted, and the plan is then completed.
func TestSIPGeneratedThenPresentedAndCompleted(t *testing.T) {
	e := newSIPEnv(t, "2026-08-18T10:00:00+05:30")
	e.scheme("119551", "Equity Scheme - Large Cap Fund")
	e.nav("119551", "2026-08-20", "42.4242")
	e.mandate("F1")
	e.exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, mandate_id, frequency, start_date, instalments, status)
		VALUES ('pl_g', 'pl_g', 'x', 'sip', 'INV-F1', 'F1', '119551', 'token_F1', 'monthly', '2026-08-20', 1, 'active')`)
	e.exec(`INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month) VALUES ('pl_g', 1, '2026-08-20', 2500.00, 20)`)

	if st := e.run(); st.Generate.Due != 1 || st.Present.Presented != 0 {
		t.Fatalf("run on the 18th: %+v, want 1 generated due and nothing presented", st)
	}
	if n := e.events("sip.instalment.due"); n != 1 {
		t.Errorf("%d sip.instalment.due events, want 1", n)
	}
	e.setNow("2026-08-19T10:00:00+05:30")
	if st := e.run(); st.Generate.Instalments != 0 || st.Present.Presented != 0 {
		t.Fatalf("run on the 19th: %+v, want nothing generated or presented (due tomorrow)", st)
	}
	e.setNow("2026-08-20T10:00:00+05:30")
	if st := e.run(); st.Present.Presented != 1 {
		t.Fatalf("run on the 20th: %+v, want 1 presented", st)
	}
	e.deliver()
	if st := e.run(); st.Settle.Allotted != 1 || st.Settle.PlansCompleted != 1 {
		t.Fatalf("run after the capture: %+v, want 1 allotted and the plan completed", st)
	}
	if st := e.str(`SELECT status FROM plans WHERE id = 'pl_g'`); st != "completed" {
		t.Errorf("plan %s, want completed", st)
	}
	if n := e.sim.Calls(gatewaysim.CreateRecurring); n != 1 {
		t.Errorf("the gateway saw %d debits, want 1", n)
	}
	e.checkLedger()
}

// The instalment run takes its rules from the config's plans section (it
// ran on the package defaults before: max_failures: 2 in the config still
// cancelled a plan after three failed debits only).
func TestInstalmentRunUsesThePlansSection(t *testing.T) {
	cfg := moneyConfig(t, "  instalments: {}\nplans:\n  max_failures: 2\n  pre_debit_notice: 36h\n")
	d := testDeps(t, cfg)
	j, err := instalmentsJob(d)
	if err != nil {
		t.Fatal(err)
	}
	c := j.Plans.(*plans.Service).Config
	if c.MaxFailures != 2 || c.PreDebitNotice != 36*time.Hour || c.HorizonDays != 3 {
		t.Fatalf("run's rules %+v, want max_failures 2, pre_debit_notice 36h, horizon_days 3 (the default)", c)
	}
}
