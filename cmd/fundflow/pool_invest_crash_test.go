package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Pools investing their contribution batches, by `fundflow pool nav` (a
// child process) killed with SIGKILL at random points and run again, at
// least 10 kills, then to the end: each pool's batch of ₹1,000.00 split
// 60/40 over schemes A and B is two purchase orders (600.00, 400.00),
// each placed and paid once; the cash debited once; one pool.invested
// event each; the journal balanced with the pools' rows equal to their
// accounts.
func TestPoolInvestCrashAndRestart(t *testing.T) {
	const n = 120 // a whole run takes several times the kill window
	db, _, runDay := poolInvestSetup(t, n)
	run := func(killAfter time.Duration) bool { return runDay("2026-08-20", killAfter) }
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
	k := killLoop{rng: rng, window: 1000 * time.Millisecond, grow: 300 * time.Millisecond}
	k.until(10, 3, 40, done, run, progress)
	t.Logf("%d kills, %d mid-work; progress %d of %d before the last run", k.Kills, k.MidWork, progress(), done)
	if k.MidWork == 0 {
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
