package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
)

// A month of daily instalment runs (`fundflow run instalments`, a child
// process on the month's clock), each killed with SIGKILL at random points
// and run again until one finishes, at least 20 kills in all, while the
// stand-in gateway delivers the debits' webhooks to the intake and the
// ledger allots them. SIPs on nine mandates (one whose debits all fail),
// STPs and SWPs, 4 instalments each. In the end: every instalment due in
// the month was presented exactly once (the gateway holds one payment per
// SIP instalment and saw one debit call each; the ledger one order request
// each) and allotted at most once (one ledger transaction per leg); none
// is left due, so no due day was skipped; the failing SIP was cancelled
// after three strikes; each event was written once; the ledger's
// invariants hold.
func TestInstalmentRunsCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	e := newSIPEnv(t, "2026-08-03T09:00:00+05:30")
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var days []fund.Date // the business days of August 2026
	for d := fund.NewDate(2026, 8, 1); d.Month == time.August; d = d.AddDays(1) {
		if ok, err := cal.IsBusinessDay(d); err != nil {
			t.Fatal(err)
		} else if ok {
			days = append(days, d)
		}
	}
	e.scheme("E1", "Equity Scheme - Large Cap Fund")
	e.scheme("E2", "Equity Scheme - Mid Cap Fund")
	for d := fund.NewDate(2026, 7, 31); d.Before(fund.NewDate(2026, 9, 8)); d = d.AddDays(1) {
		e.nav("E1", d.String(), fmt.Sprintf("%d.%04d", 30+d.Day%7, 1000+d.Day*37))
		e.nav("E2", d.String(), fmt.Sprintf("%d.%04d", 50+d.Day%5, 2000+d.Day*53))
	}

	// Four instalments a plan, due every fifth business day from a
	// plan-dependent first one, presentable from 09:00 IST of the due day.
	type inst struct{ plan, kind, due string }
	var all []inst
	addPlan := func(id, kind, folio, scheme, to, mandate string, first int) {
		var toScheme, mand any
		if to != "" {
			toScheme = to
		}
		if mandate != "" {
			mand = mandate
		}
		e.exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code, mandate_id, frequency, start_date, status,
			generated_through, generated_all) VALUES ($1, $1, 'x', $2, $3, $4, $5, $6, $7, 'weekly', $8, 'active', $9, true)`,
			id, kind, "INV-"+folio, folio, scheme, toScheme, mand, days[first].String(), days[first+15].String())
		for k := 0; k < 4; k++ {
			due := days[first+5*k]
			e.exec(`INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status, notified_at, present_after)
				VALUES ($1, $2, $3, $2, $4, 'due', $5::timestamptz - interval '1 day', $5)`,
				id, due.String(), k+1, fmt.Sprintf("%d.00", 500+100*k), due.String()+"T09:00:00+05:30")
			all = append(all, inst{id, kind, due.String()})
		}
	}
	for i := 0; i < 9; i++ {
		folio := fmt.Sprintf("S%02d", i)
		e.mandate(folio)
		addPlan("pl_sip"+folio, "sip", folio, "E1", "", "token_"+folio, i%5)
	}
	e.sim.FailToken("token_S00", "BAD_REQUEST_ERROR", "Payment failed due to insufficient balance")
	for i := 0; i < 3; i++ {
		folio := fmt.Sprintf("T%02d", i)
		e.purchase("BUY-"+folio, folio, "E1", "100000.00", "2026-07-31T10:00:00+05:30")
		if code := e.pay("BUY-"+folio, "100000.00", ist("2026-07-31T10:05:00+05:30")); code != 200 {
			t.Fatalf("payment: HTTP %d", code)
		}
		addPlan("pl_stp"+folio, "stp", folio, "E1", "E2", "", i)
		addPlan("pl_swp"+folio, "swp", folio, "E1", "", "", i+2)
	}

	var dbName string
	if err := e.d.pg.Pool.QueryRow(e.ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	dbURL := testkit.AppURL(t, withDB(testkit.Env(t, "FUNDFLOW_PG_URL"), dbName))
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
pipelines:
  allocate:
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
  instalments:
    gateway: {base_url: "`+e.simURL+`", key_id_env: FUNDFLOW_CRASH_RZP_KEY, key_secret_env: FUNDFLOW_CRASH_RZP_SECRET}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	chURL := testkit.Env(t, "FUNDFLOW_CH_URL")
	run := func(at time.Time, killAfter time.Duration) (killed bool) {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "instalments", "--clock", at.Format(time.RFC3339))
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+dbURL, "FUNDFLOW_CH_URL="+chURL,
			"FUNDFLOW_CRASH_RZP_KEY="+e.sim.KeyID, "FUNDFLOW_CRASH_RZP_SECRET="+e.sim.KeySecret)
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			t.Fatalf("run at %s: %v", at, err)
		}
		return killed
	}

	// The gateway delivers its webhooks all along, redelivering until
	// answered 2xx.
	ctx, stop := context.WithCancel(e.ctx)
	gatewayDone := make(chan struct{})
	go func() {
		defer close(gatewayDone)
		for ctx.Err() == nil {
			_ = e.sim.Settle(ctx)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(2026, 13))
	// A kill lands anywhere in a run: uniformly in the time the last
	// whole run took (process start included).
	took := time.Second
	kills, midWork := 0, 0
	killed := func(at time.Time) bool {
		calls := e.sim.Calls(gatewaysim.CreateOrder) + e.sim.Calls(gatewaysim.ListOrders)
		if !run(at, time.Duration(rng.Int64N(int64(took)))) {
			return false
		}
		kills++
		if e.sim.Calls(gatewaysim.CreateOrder)+e.sim.Calls(gatewaysim.ListOrders) > calls {
			midWork++ // it had begun presenting
		}
		return true
	}
	whole := func(at time.Time) {
		start := time.Now()
		run(at, 0)
		took = time.Since(start)
	}
	for _, d := range days {
		at := ist(d.String() + "T10:00:00+05:30")
		e.clock.Store(at.UnixNano()) // the gateway's clock: capture times
		// Up to two runs killed at a random point, then one to the end
		// (a busy machine must not keep the month from moving on).
		for k := 0; k < 2; k++ {
			if !killed(at) {
				break
			}
		}
		whole(at)
	}
	// More runs killed on the last day, settling what is in flight, until
	// there were 20 kills.
	last := ist(days[len(days)-1].String() + "T16:00:00+05:30")
	for kills < 20 {
		killed(last)
	}
	stop()
	<-gatewayDone
	if err := e.sim.Settle(e.ctx); err != nil {
		t.Fatal(err)
	}
	run(last, 0)
	t.Logf("%d business days, %d kills (%d after the run had begun presenting debits)", len(days), kills, midWork)

	// Every instalment is final: allotted, or (the failing mandate's)
	// failed three times and then dropped with its plan cancelled.
	sipPresented := 0
	for _, in := range all {
		st, reason, detail := e.instalment(in.plan, in.due)
		want := "allotted"
		if in.plan == "pl_sipS00" {
			want = "failed"
			if e.num(`SELECT seq FROM plan_instalments WHERE plan_id = $1 AND due_date = $2`, in.plan, in.due) == 4 {
				want = "dropped"
			}
		}
		if st != want {
			t.Errorf("%s %s: %s (%s %s), want %s", in.plan, in.due, st, reason, detail, want)
		}
		if in.kind == "sip" && st != "dropped" {
			sipPresented++
		}
		key := plans.InstalmentKey(in.kind, in.plan, in.due)
		if st == "allotted" {
			legs := 1
			if in.kind == "stp" {
				legs = 2
			}
			if n := e.num(`SELECT count(*) FROM ledger_transactions t JOIN orders o ON o.id = t.order_id WHERE o.request_id = $1`, key); n != legs {
				t.Errorf("%s: %d ledger transactions, want %d", key, n, legs)
			}
		}
		for _, step := range []string{"presented", st} {
			if st == "dropped" {
				break
			}
			if n := e.num(`SELECT count(*) FROM outbox WHERE event_id = $1`, plans.InstalmentEventID(plans.InstalmentTopic(in.kind, step), in.plan, mustDate(t, in.due))); n != 1 {
				t.Errorf("%s %s: %d %s events, want 1", in.plan, in.due, n, step)
			}
		}
	}
	if st := e.str(`SELECT status || ' ' || status_reason FROM plans WHERE id = 'pl_sipS00'`); st != "cancelled failed_debits" {
		t.Errorf("the failing SIP is %s, want cancelled failed_debits", st)
	}
	if n, calls := len(e.sim.Payments()), e.sim.Calls(gatewaysim.CreateRecurring); n != sipPresented || calls != sipPresented {
		t.Errorf("the gateway holds %d payments after %d debit calls; want one each for the %d SIP instalments presented", n, calls, sipPresented)
	}
	if n := e.num(`SELECT count(*) FROM order_requests WHERE id ~ '^(sip|stp|swp)-'`); n != len(all)-1 {
		t.Errorf("%d instalment order requests, want %d (one per instalment but the dropped one)", n, len(all)-1)
	}
	e.checkLedger()
}

func mustDate(t *testing.T, s string) fund.Date {
	t.Helper()
	d, err := fund.ParseISODate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
