package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
)

// Pools sweeping back the purchases the ledger cancelled after they were
// paid, by `fundflow pool nav` killed with SIGKILL at random points (at
// least 10 kills, 3 of them after some work) and run again, then to the
// end twice: the 300 pools' batches of the 20th are invested (A 600.00, B
// 400.00, paid), then every B order is cancelled through the ledger
// (refund due, nothing posted). The 21st's runs bring each 400.00 back
// once: 300 pool_invest_refund entries of 400.00, each pool's cash
// 400.00, its NAV row of the 21st from purchases 600.00 (A, not allotted)
// and cash 400.00 = 10.0000, one pool.invest.swept each, no refund due
// left open; the wallets' cash held 300 × 4,000.00 + 300 × 400.00 =
// 1,320,000.00.
func TestPoolSweepCrashAndRestart(t *testing.T) {
	const n = 300 // a whole sweep run takes several times the kill window
	db, app, run := poolInvestSetup(t, n)
	run("2026-08-20", 0)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	at := moneytest.IST("2026-08-21T10:00:00+05:30")
	led := &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true, Now: func() time.Time { return at }}
	var cancels []fund.OrderIntake
	for i := 1; i <= n; i++ {
		body := fmt.Sprintf(`{"order_id":"X-%03d","type":"cancel","target_order_id":"PI-P%03d-2026-08-20-B","placed_at":"2026-08-21T04:30:00Z"}`, i, i)
		in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "test", At: at, MaxSkew: time.Hour})
		if !ok {
			t.Fatal(err)
		}
		cancels = append(cancels, in)
	}
	if _, err := led.PlaceOrders(testkit.Ctx(t), cancels); err != nil {
		t.Fatal(err)
	}
	if got := db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'cancelled') FROM orders WHERE scheme_code = 'B'`); got != "300 300" {
		t.Fatalf("B orders cancelled: %s", got)
	}

	rng := rand.New(rand.NewPCG(50, 51))
	done := 2 * n // a NAV row and a sweep a pool
	progress := func() int {
		return db.Num(`SELECT (SELECT count(*) FROM pool_navs WHERE nav_date = '2026-08-21')
			+ (SELECT count(*) FROM wallet_transactions WHERE kind = 'pool_invest_refund')`)
	}
	// At least 10 kills even when the work ends first: on a quiet machine
	// the sweep is done in a few runs, and the kills after it land in
	// reruns, which must change nothing.
	k := killLoop{rng: rng, window: 700 * time.Millisecond, grow: 200 * time.Millisecond}
	next := func(after time.Duration) bool { return run("2026-08-21", after) }
	for k.Kills < 40 && (k.Kills < 10 || (k.MidWork < 3 && progress() < done)) {
		k.once(next, progress)
	}
	t.Logf("%d kills, %d mid-work; progress %d of %d before the last run", k.Kills, k.MidWork, progress(), done)
	if k.MidWork == 0 {
		t.Errorf("no kill landed in the work")
	}
	run("2026-08-21", 0)
	run("2026-08-21", 0) // again: nothing changes
	for what, c := range map[string]struct{ q, want string }{
		"refunds": {`SELECT count(*) || ' ' || count(DISTINCT ref) || ' ' || min(amount) || ' ' || max(amount) FROM wallet_transactions
			WHERE kind = 'pool_invest_refund' AND ref LIKE 'PI-P%-2026-08-20-B'`, "300 300 400.00 400.00"},
		"legs":  {`SELECT count(*) FILTER (WHERE refunded) || ' ' || count(*) FILTER (WHERE refunded AND scheme_code = 'B') FROM pool_invest_legs`, "300 300"},
		"pools": {`SELECT min(cash) || ' ' || max(cash) FROM pools`, "400.00 400.00"},
		"NAVs": {`SELECT count(*) || ' ' || min(nav) || ' ' || max(nav) || ' ' || min(investing) || ' ' || max(investing) || ' ' || min(cash) || ' ' || max(cash)
			FROM pool_navs WHERE nav_date = '2026-08-21'`, "300 10.0000 10.0000 600.00 600.00 400.00 400.00"},
		"events": {`SELECT count(*) || ' ' || count(DISTINCT event_id) FROM outbox WHERE topic = 'pool.invest.swept'`, "300 300"},
		"open refunds due": {`SELECT (SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL) || ' ' ||
			(SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND resolved_at IS NULL)`, "0 0"},
		"wallet cash": {`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`, "1320000.00"},
	} {
		if got := db.Str(c.q); got != c.want {
			t.Errorf("%s: %s, want %s", what, got, c.want)
		}
	}
	for what, q := range map[string]string{
		"unbalanced": `SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`,
		"pool cash":  `SELECT count(*) FROM pools p WHERE p.cash <> -coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool:' || p.id), 0)`,
	} {
		if c := db.Num(q); c != 0 {
			t.Errorf("%s: %d wrong", what, c)
		}
	}
}

// poolInvestSetup is TestPoolInvestCrashAndRestart's setup (which can
// call it once merged): n pools (P001…), each with one member wallet (W001…,
// ₹4,000.00 left after a ₹1,000.00 contribution pending for Thu
// 20-Aug-2026), launch NAV 10.0000, investing in model pool-mod (A 60 %,
// B 40 %, minimums 100.00, multiples 1.00) into folio F-<n> of INV-P. run
// is `fundflow pool nav --day day` at 21:00 IST that day (a child
// process), killed after killAfter (0: to the end).
func poolInvestSetup(t *testing.T, n int) (moneytest.DB, *pgxpool.Pool, func(day string, killAfter time.Duration) bool) {
	t.Helper()
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	db.Scheme("A", "Equity Scheme - Large Cap Fund")
	db.Scheme("B", "Equity Scheme - Large Cap Fund")
	m := managed.Model{ID: "pool-mod", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1),
		Schemes: []managed.Target{
			{Scheme: "A", Weight: decimal.NewFromInt(60), Min: fund.MustAmount("100.00"), Multiple: fund.MustAmount("1.00")},
			{Scheme: "B", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("100.00"), Multiple: fund.MustAmount("1.00")},
		}}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`INSERT INTO managed_models (id, version, profile, effective, body) VALUES ('pool-mod', 1, 'moderate', '2020-01-01', $1)`, string(body))
	seedPools(db, n, "pool-mod")

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return db, app, func(day string, killAfter time.Duration) bool {
		// 21:00 IST: the purchases are placed after the schemes' cut-off.
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "error", "pool", "nav", "--day", day, "--clock", day+"T21:00:00+05:30")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil && killAfter == 0 {
			t.Fatalf("pool nav: %v", err)
		}
		return killed
	}
}
