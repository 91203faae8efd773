package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Pools investing their contribution batches, by `fundflow pool nav` (a
// child process) killed with SIGKILL at random points and run again, at
// least 10 kills, then to the end: each pool's batch of ₹1,000.00 split
// 60/40 over schemes A and B is two purchase orders (600.00, 400.00),
// each placed and paid once; the cash debited once; one pool.invested
// event each; the journal balanced with the pools' rows equal to their
// accounts.
func TestPoolInvestCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	const n = 120 // a whole run takes several times the kill window
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
	// Each of n wallets: ₹5,000.00 deposited, ₹1,000.00 of it contributed
	// to its own pool (launch NAV 10.0000, folio F-<n> of INV-P, the model)
	// for Thu 20-Aug-2026, pending.
	db.Exec(`INSERT INTO investors (id) SELECT 'INV-' || g FROM generate_series(1, $1) g UNION ALL SELECT 'INV-P'`, n)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'W' || lpad(g::text, 3, '0'), 'INV-' || g, 4000 FROM generate_series(1, $1) g`, n)
	db.Exec(`INSERT INTO folios (folio_no, investor_id) SELECT 'F-' || substr(id, 2), 'INV-P' FROM wallets`)
	db.Exec(`INSERT INTO pools (id, name, launch_nav, folio_no, model_id) SELECT 'P' || substr(id, 2), 'pool ' || id, 10, 'F-' || substr(id, 2), 'pool-mod' FROM wallets`)
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

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(killAfter time.Duration) bool {
		// 21:00 IST: the purchases are placed after the schemes' cut-off.
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "error", "pool", "nav", "--day", "2026-08-20", "--clock", "2026-08-20T21:00:00+05:30")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil && killAfter == 0 {
			t.Fatalf("pool nav: %v", err)
		}
		return killed
	}
	rng := rand.New(rand.NewPCG(48, 49))
	// Progress: NAVs computed, orders placed, payments received, runs
	// finished: 1 + 2 + 2 + 1 a pool when all is done.
	done := 6 * n
	progress := func() int {
		return db.Num(`SELECT (SELECT count(*) FROM pool_navs) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM payments)
			+ (SELECT count(*) FROM pool_invest_runs WHERE status = 'placed')`)
	}
	// A process takes about a second to start on a loaded machine: the
	// window starts past that and grows while kills land before any work.
	kills, midWork := 0, 0
	window := 1000 * time.Millisecond
	for (kills < 10 || midWork < 3) && kills < 40 && progress() < done {
		before := progress()
		if !run(time.Duration(rng.Int64N(int64(window)))) {
			continue
		}
		kills++
		if progress() > before {
			midWork++
		} else {
			window += 300 * time.Millisecond
		}
	}
	t.Logf("%d kills, %d mid-work; progress %d of %d before the last run", kills, midWork, progress(), done)
	if midWork == 0 {
		t.Errorf("no kill landed in the work")
	}
	run(0)
	run(0) // again: nothing changes
	for what, c := range map[string]struct{ q, want string }{
		"NAVs":     {`SELECT count(*) || ' ' || min(nav) || ' ' || max(nav) FROM pool_navs`, "120 10.0000 10.0000"},
		"runs":     {`SELECT count(*) FILTER (WHERE status = 'placed' AND batch = 1000 AND invested = 1000) || ' ' || count(*) FROM pool_invest_runs`, "120 120"},
		"orders A": {`SELECT count(*) || ' ' || count(DISTINCT folio_no) || ' ' || min(amount) || ' ' || max(amount) FROM orders WHERE scheme_code = 'A'`, "120 120 600.00 600.00"},
		"orders B": {`SELECT count(*) || ' ' || count(DISTINCT folio_no) || ' ' || min(amount) || ' ' || max(amount) FROM orders WHERE scheme_code = 'B'`, "120 120 400.00 400.00"},
		"paid":     {`SELECT count(*) || ' ' || count(DISTINCT notes_order_id) || ' ' || sum(amount) FROM payments`, "240 240 120000.00"},
		"debits":   {`SELECT count(*) || ' ' || count(DISTINCT ref) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_invest'`, "120 120 120000.00"},
		"refunds":  {`SELECT count(*)::text FROM wallet_transactions WHERE kind = 'pool_invest_refund'`, "0"},
		"pools":    {`SELECT min(cash) || ' ' || max(cash) || ' ' || min(units) || ' ' || max(units) FROM pools`, "0.00 0.00 100.000 100.000"},
		"events":   {`SELECT count(*) || ' ' || count(DISTINCT event_id) FROM outbox WHERE topic = 'pool.invested'`, "120 120"},
		// What the wallets' cash held is owed: 120 × 4,000.00 in the
		// wallets; the 120,000.00 contributed went to the purchases.
		"wallet cash": {`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'wallet_cash:razorpay'`, "480000.00"},
	} {
		if got := db.Str(c.q); got != c.want {
			t.Errorf("%s: %s, want %s", what, got, c.want)
		}
	}
	for what, q := range map[string]string{
		"unbalanced": `SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`,
		"pool cash":  `SELECT count(*) FROM pools p WHERE p.cash <> -coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool:' || p.id), 0)`,
		"pool units": `SELECT count(*) FROM pools p WHERE p.units <> coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_issued:' || p.id), 0)`,
	} {
		if c := db.Num(q); c != 0 {
			t.Errorf("%s: %d wrong", what, c)
		}
	}
}
