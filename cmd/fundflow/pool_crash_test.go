package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The daily pool NAV over 300 pools by `fundflow pool nav` (a child
// process), killed with SIGKILL at random points and run again, at least
// 10 kills, then once to the end: each pool priced once, each contribution
// priced once at the launch NAV, and the journal balanced with the pools'
// and wallets' rows equal to their accounts.
func TestPoolNAVCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	const n = 300
	seedPools(db, n, "")

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(killAfter time.Duration) bool {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "pool", "nav", "--day", "2026-08-20")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			t.Fatalf("pool nav: %v", err)
		}
		return killed
	}
	rng := rand.New(rand.NewPCG(46, 47))
	progress := func() int { return db.Num(`SELECT count(*) FROM pool_navs`) }
	k := killLoop{rng: rng, window: 500 * time.Millisecond, grow: 200 * time.Millisecond}
	k.until(10, 1, 30, n, run, progress)
	t.Logf("%d kills, %d mid-work; %d of %d pools priced before the last run", k.Kills, k.MidWork, progress(), n)
	if k.MidWork == 0 {
		t.Errorf("no kill landed in the work")
	}
	run(0)
	run(0) // again: nothing changes
	// Each pool: no units, so the launch NAV; 1,000.00 / 10 = 100.000 units.
	if got := db.Str(`SELECT count(*) || ' ' || min(nav) || ' ' || max(nav) FROM pool_navs`); got != "300 10.0000 10.0000" {
		t.Errorf("NAVs %s", got)
	}
	if got := db.Str(`SELECT count(*) FILTER (WHERE status = 'priced' AND units = 100) || ' ' || count(*) FROM pool_requests`); got != "300 300" {
		t.Errorf("requests priced %s", got)
	}
	if got := db.Str(`SELECT count(*) || ' ' || count(DISTINCT ref) FROM wallet_transactions WHERE kind = 'pool_priced'`); got != "300 300" {
		t.Errorf("pricing entries %s, want one per request", got)
	}
	if got := db.Str(`SELECT min(cash) || ' ' || max(cash) || ' ' || min(units) || ' ' || max(units) FROM pools`); got != "1000.00 1000.00 100.000 100.000" {
		t.Errorf("pools %s", got)
	}
	if got := db.Str(`SELECT min(balance) || ' ' || max(balance) FROM wallets`); got != "4000.00 4000.00" {
		t.Errorf("wallets %s", got)
	}
	if n := db.Num(`SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'pool.priced'`); n != 300 {
		t.Errorf("%d pool.priced events", n)
	}
	for what, q := range map[string]string{
		"unbalanced":   `SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`,
		"pool cash":    `SELECT count(*) FROM pools p WHERE p.cash <> -coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool:' || p.id), 0)`,
		"pool units":   `SELECT count(*) FROM pools p WHERE p.units <> coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_issued:' || p.id), 0)`,
		"member units": `SELECT count(*) FROM pool_members m WHERE m.units <> -coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_units:' || m.pool_id || ':' || m.wallet_id), 0)`,
		"pending":      `SELECT count(*) FROM pools p WHERE coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_pending:' || p.id), 0) <> 0`,
	} {
		if c := db.Num(q); c != 0 {
			t.Errorf("%s: %d wrong", what, c)
		}
	}
}

// seedPools gives each of n wallets ₹5,000.00 deposited and ₹1,000.00 of
// it contributed to its own pool (launch NAV 10.0000) for Thu
// 20-Aug-2026, pending. With a model each pool invests its cash into its
// own folio F-<n> of investor INV-P.
func seedPools(db moneytest.DB, n int, model string) {
	db.Exec(`INSERT INTO investors (id) SELECT 'INV-' || g FROM generate_series(1, $1) g`, n)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'W' || lpad(g::text, 3, '0'), 'INV-' || g, 4000 FROM generate_series(1, $1) g`, n)
	if model == "" {
		db.Exec(`INSERT INTO pools (id, name, launch_nav) SELECT 'P' || substr(id, 2), 'pool ' || id, 10 FROM wallets`)
	} else {
		db.Exec(`INSERT INTO investors (id) VALUES ('INV-P')`)
		db.Exec(`INSERT INTO folios (folio_no, investor_id) SELECT 'F-' || substr(id, 2), 'INV-P' FROM wallets`)
		db.Exec(`INSERT INTO pools (id, name, launch_nav, folio_no, model_id) SELECT 'P' || substr(id, 2), 'pool ' || id, 10, 'F-' || substr(id, 2), $1 FROM wallets`, model)
	}
	db.Exec(`INSERT INTO pool_members (pool_id, wallet_id) SELECT 'P' || substr(id, 2), id FROM wallets`)
	db.Exec(`INSERT INTO pool_requests (id, pool_id, wallet_id, kind, amount, received_at, nav_date)
		SELECT 'c-' || id, 'P' || substr(id, 2), id, 'contribution', 1000, '2026-08-20T10:00:00+05:30', '2026-08-20' FROM wallets`)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount)
		SELECT id, 'deposit', 'dep-' || id, 5000 FROM wallets UNION ALL SELECT id, 'pool_contribution', 'c-' || id, 1000 FROM wallets`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', 5000 FROM wallet_transactions WHERE kind = 'deposit'
		UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', -5000 FROM wallet_transactions WHERE kind = 'deposit'
		UNION ALL SELECT id, 0, 'wallet:' || wallet_id, 'INR', 1000 FROM wallet_transactions WHERE kind = 'pool_contribution'
		UNION ALL SELECT id, 1, 'pool_pending:P' || substr(wallet_id, 2), 'INR', -1000 FROM wallet_transactions WHERE kind = 'pool_contribution'`)
}
