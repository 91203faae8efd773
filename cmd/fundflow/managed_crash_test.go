package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// Forty wallet deposits auto-invested by `fundflow run managed` (a child
// process), killed with SIGKILL once in the middle of a group (its debits
// committed, its orders being placed and paid), then at random points and
// run again, at least 20 kills, then once to the end. Each deposit is invested exactly once:
// one run, one wallet debit, its orders placed once and allotted once;
// the money is conserved (Σ deposits = Σ wallet balances + Σ purchases,
// stamp duty inside the purchases); the ledger's invariants hold.
//
// Then every wallet rebalanced under SIGKILL (see below).
func TestManagedAutoInvestCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	db := moneytest.DB{T: t, Ctx: ctx, Owner: owner, Read: app}
	clock := ist("2026-08-20T10:00:00+05:30")
	now := func() time.Time { return clock }
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	led := &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true, Now: now}
	ws := &wallet.Service{Store: walletpg.Store{Pool: app}, Audit: true, Now: now}
	ai := &wallet.AutoInvest{Wallet: ws, Store: walletpg.Store{Pool: app}, Ledger: led}
	for _, s := range []string{"A", "B", "C"} {
		db.Scheme(s, "Equity Scheme - Large Cap Fund")
		for d := -5; d <= 10; d++ {
			db.NAV(s, clock.AddDate(0, 0, d).Format("2006-01-02"), "10.0000")
		}
	}
	// 40/35/25 with minimums 1000 (₹1 steps), 1000 (₹1,000 steps), 5000.
	m := managed.Model{ID: "moderate", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{
			{Scheme: "A", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1.00")},
			{Scheme: "B", Weight: decimal.NewFromInt(35), Min: fund.MustAmount("1000.00"), Multiple: fund.MustAmount("1000.00")},
			{Scheme: "C", Weight: decimal.NewFromInt(25), Min: fund.MustAmount("5000.00"), Multiple: fund.MustAmount("1.00")},
		}}
	if err := ai.PutModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 10; j++ {
		w := fmt.Sprintf("W%02d", j)
		db.Exec(`INSERT INTO investors (id) VALUES ($1)`, "INV-"+w)
		if err := ws.Open(ctx, w, "INV-"+w); err != nil {
			t.Fatal(err)
		}
		if err := ai.SetTerms(ctx, wallet.Terms{WalletID: w, ModelID: "moderate", Folio: "F-" + w, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Deposit k to wallet k mod 10: ₹20,000.00 when k is even (A 8000, B
	// 7000, C 5000: all invested), ₹10,000.01 when odd (A 4000.00, B
	// 3000.00; 3000.01 stays: C below its minimum, A's paisa, B's 500).
	for k := 0; k < 40; k++ {
		paise := int64(2000000)
		if k%2 == 1 {
			paise = 1000001
		}
		body := moneytest.Payment{ID: fmt.Sprintf("pay_%02d", k), OrderID: fmt.Sprintf("wallet:W%02d", k%10), Status: "captured", Paise: paise, At: clock.Add(-time.Hour)}.Body()
		typ, p, err := webhook.ParseRazorpay(body, fmt.Sprintf("ev_%02d", k))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := led.Receive(ctx, ledger.InboxEvent{Source: "razorpay", EventID: fmt.Sprintf("ev_%02d", k), EventType: typ, Body: body, Payment: p}); err != nil {
			t.Fatal(err)
		}
	}

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(killAfter time.Duration) (killed bool) {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "managed", "--batch", "3", "--clock", clock.Format(time.RFC3339))
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			t.Fatalf("run managed: %v", err)
		}
		return killed
	}
	// First a kill in the middle of a group: `--batch 20` makes groups of
	// 20 deposits; the child is killed as soon as a group's debit has
	// committed (runs debited, wallets debited) and before its finish has,
	// while its orders are being placed and paid.
	debited := func() int { return db.Num(`SELECT count(*) FROM autoinvest_runs WHERE status = 'debited'`) }
	cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "managed", "--batch", "20", "--clock", clock.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
	if killed, err := runKillWhen(cmd, func() bool { return debited() >= 2 }); err != nil {
		t.Fatalf("run managed: %v", err)
	} else if !killed {
		t.Errorf("the run finished before a group was seen debited and not placed: no kill mid-group")
	}
	midGroup := debited()
	// What the kill left: each debited run's wallet debit committed with
	// it, nothing of a run twice.
	if n := db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'invest'`); n != db.Num(`SELECT count(*) FROM autoinvest_runs WHERE invested > 0`) {
		t.Errorf("after the mid-group kill: %d wallet debits for %d runs that invest", n, db.Num(`SELECT count(*) FROM autoinvest_runs WHERE invested > 0`))
	}
	t.Logf("killed mid-group: %d runs debited and not placed, %d orders placed", midGroup, db.Num(`SELECT count(*) FROM orders`))
	// Again, later in a group: its orders placed (PlaceOrders committed)
	// and its runs not finished. The next run resumes that group first.
	placedOfDebited := func() int {
		return db.Num(`SELECT count(*) FROM orders o JOIN autoinvest_runs r ON o.id LIKE 'AI-' || r.payment_id || '-%' WHERE r.status = 'debited'`)
	}
	cmd = exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "managed", "--batch", "20", "--clock", clock.Format(time.RFC3339))
	cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
	if killed, err := runKillWhen(cmd, func() bool { return placedOfDebited() > 0 }); err != nil {
		t.Fatalf("run managed: %v", err)
	} else if killed {
		t.Logf("killed mid-group after its orders: %d orders of %d runs not finished", placedOfDebited(), debited())
	} else {
		t.Logf("the second run finished before a group's orders were seen placed and its runs not finished")
	}

	rng := rand.New(rand.NewPCG(22, 28))
	progress := func() int {
		return db.Num(`SELECT (SELECT count(*) FROM wallet_transactions) + (SELECT count(*) FROM autoinvest_runs WHERE status = 'placed') + (SELECT count(*) FROM orders)`)
	}
	// Kill times are uniform in a window that grows after a kill that
	// found the process still starting (no progress), so kills land all
	// through the work.
	k := killLoop{rng: rng, window: 300 * time.Millisecond, grow: 300 * time.Millisecond}
	k.until(20, 0, 20, 0, run, progress)
	placed := db.Num(`SELECT count(*) FROM autoinvest_runs WHERE status = 'placed'`)
	t.Logf("%d kills, %d of them mid-work (%d runs finished first); %d of 40 runs placed before the last run", k.Kills, k.MidWork, k.Finished, placed)
	// Groups finish the work in a few transactions, so most random kills
	// now land while a child starts or after the work; the mid-group kill
	// above is the one that must land in it.
	if k.MidWork == 0 && midGroup == 0 {
		t.Errorf("no kill landed in the work")
	}
	run(0)
	runs := db.Num(`SELECT count(*) FROM autoinvest_runs WHERE status = 'placed'`)

	// Exactly once per deposit.
	if runs != 40 || db.Num(`SELECT count(*) FROM autoinvest_runs`) != 40 {
		t.Errorf("%d runs placed, want 40", runs)
	}
	if n := db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'invest'`); n != 40 {
		t.Errorf("%d wallet debits, want 40", n)
	}
	// 20 deposits × 3 orders + 20 × 2 = 100, each allotted once.
	if n := db.Num(`SELECT count(*) FROM orders WHERE status = 'allotted'`); n != 100 || db.Num(`SELECT count(*) FROM orders`) != 100 {
		t.Errorf("%d orders allotted (of %d), want 100", n, db.Num(`SELECT count(*) FROM orders`))
	}
	if n := db.Num(`SELECT count(*) FROM ledger_transactions`); n != 100 {
		t.Errorf("%d ledger transactions, want 100", n)
	}
	if n := db.Num(`SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'autoinvest.orders.placed'`); n != 40 {
		t.Errorf("%d autoinvest.orders.placed events, want 40", n)
	}
	if n := db.Num(`SELECT count(*) FROM payments WHERE gateway = 'wallet' AND match_status = 'matched'`); n != 100 {
		t.Errorf("%d wallet payments matched, want 100", n)
	}
	// Even wallets: 4 × 20,000.00 all invested → 0.00; odd: 4 × 3,000.01.
	for j := 0; j < 10; j++ {
		want := "0.00"
		if j%2 == 1 {
			want = "12000.04"
		}
		if got := db.Str(`SELECT balance::text FROM wallets WHERE id = $1`, fmt.Sprintf("W%02d", j)); got != want {
			t.Errorf("W%02d %s, want %s", j, got, want)
		}
	}
	// Σ deposits 20 × 20,000.00 + 20 × 10,000.01 = 600,000.20 = Σ wallets
	// 5 × 12,000.04 = 60,000.20 + Σ purchases (gross, stamp duty in them)
	// 540,000.00.
	if got := db.Str(`SELECT sum(amount)::text FROM ledger_transactions WHERE kind = 'purchase'`); got != "540000.00" {
		t.Errorf("purchases %s, want 540000.00", got)
	}
	if err := ledgergen.CheckService(ctx, app); err != nil {
		t.Error(err)
	}
	if n := db.Num(`SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`); n != 0 {
		t.Errorf("%d unbalanced wallet transactions", n)
	}

	// Then a rebalance of every wallet after A's NAV rises 20 % (10 to 12
	// from the next day) by `fundflow managed rebalance` (a child process
	// per wallet), killed with SIGKILL at random points and run again until
	// each wallet's run exits on its own: each wallet rebalanced once (one
	// run, fixed before anything is placed), each switch placed and
	// allotted once, the ledger's invariants hold, and the folios' value
	// is conserved but for exit loads and stamp duty, posted to their own
	// accounts.
	next := clock.Add(24 * time.Hour)
	db.Exec(`UPDATE navs SET nav = 12 WHERE scheme_code = 'A' AND nav_date >= $1`, next.Format("2006-01-02"))
	db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', $1, 12, 't', 't', 1), ('B', $1, 10, 't', 't', 1), ('C', $1, 10, 't', 't', 1)
		ON CONFLICT (scheme_code) DO UPDATE SET nav_date = excluded.nav_date, nav = excluded.nav`, next.Format("2006-01-02"))
	valueSQL := `SELECT sum(trunc(h.units * n.nav, 2))::text FROM holdings h JOIN nav_latest n USING (scheme_code)`
	before := db.Str(valueSQL)
	rebalance := func(w string, killAfter time.Duration) bool {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "managed", "rebalance", "--wallet", w, "--threshold", "3", "--clock", next.Format(time.RFC3339))
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			t.Fatalf("managed rebalance %s: %v", w, err)
		}
		return killed
	}
	rbProgress := func() int {
		return db.Num(`SELECT (SELECT count(*) FROM rebalance_runs) + (SELECT count(*) FROM rebalance_runs WHERE status = 'placed') + (SELECT count(*) FROM orders)`)
	}
	rb := killLoop{rng: rng, window: 300 * time.Millisecond, grow: 200 * time.Millisecond}
	for j := 0; j < 10; j++ {
		w := fmt.Sprintf("W%02d", j)
		run := func(after time.Duration) bool { return rebalance(w, after) }
		for tries := 0; tries < 6; tries++ {
			if !rb.once(run, rbProgress) {
				break // the run finished
			}
		}
		rebalance(w, 0) // to the end (a finished run again changes nothing)
	}
	t.Logf("rebalance: %d kills, %d of them mid-work", rb.Kills, rb.MidWork)
	if rb.Kills == 0 {
		t.Errorf("no kill during the rebalances")
	}
	if got := db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'placed') || ' ' || count(DISTINCT wallet_id) FROM rebalance_runs`); got != "10 10 10" {
		t.Errorf("rebalance runs (all, placed, wallets) %s, want 10 10 10", got)
	}
	// Each switch request of each run placed once: two legs an order, as
	// many switch-outs as requests.
	switches := db.Num(`SELECT coalesce(sum(jsonb_array_length(requests)), 0) FROM rebalance_runs`)
	if n := db.Num(`SELECT count(*) FROM rebalance_switches`); n != switches || switches == 0 {
		t.Errorf("%d rebalance switches recorded, %d requested", n, switches)
	}
	l2 := *led
	l2.Now = func() time.Time { return next }
	if _, err := l2.AllotPending(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if n := db.Num(`SELECT count(*) FROM ledger_transactions WHERE kind = 'switch_out'`); n != switches {
		t.Errorf("%d switch-outs allotted, want %d (one per switch)", n, switches)
	}
	if n := db.Num(`SELECT count(*) FROM ledger_transactions WHERE kind = 'switch_in'`); n != switches {
		t.Errorf("%d switch-ins allotted, want %d", n, switches)
	}
	// Value before = value after + exit loads + stamp duty of the
	// switches, each holding truncated to the paisa (so up to a paisa a
	// holding apart: 3 schemes × 10 folios).
	after := db.Str(valueSQL)
	fees := db.Str(`SELECT (sum(exit_load) + sum(stamp_duty))::text FROM ledger_transactions WHERE kind IN ('switch_out', 'switch_in')`)
	t.Logf("rebalance: %d switches; folios' value %s before, %s after; exit loads and stamp duty %s", switches, before, after, fees)
	diff := decimal.RequireFromString(before).Sub(decimal.RequireFromString(after)).Sub(decimal.RequireFromString(fees)).Abs()
	if diff.GreaterThan(decimal.RequireFromString("0.30")) {
		t.Errorf("value %s before, %s after, loads and duty %s: %s unaccounted", before, after, fees, diff)
	}
	if err := ledgergen.CheckService(ctx, app); err != nil {
		t.Error(err)
	}
	if n := db.Num(`SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`); n != 0 {
		t.Errorf("%d unbalanced wallet transactions after the rebalances", n)
	}
}

// runKillWhen runs cmd and SIGKILLs it as soon as cond holds (polled every
// 2 ms); killed false: it finished first.
func runKillWhen(cmd *exec.Cmd, cond func() bool) (killed bool, err error) {
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return false, fmt.Errorf("%w\n%s", err, tail(out.String(), 2000))
			}
			return false, nil
		case <-tick.C:
			if cond() {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				return true, nil
			}
		}
	}
}
