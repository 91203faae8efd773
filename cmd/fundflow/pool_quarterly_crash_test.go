package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The scheduled pool billing, `fundflow run managed-fees` on 1 Oct (a
// child process), killed with SIGKILL at random points and run again (the
// test asks for a kill inside the billing work, not a number of kills),
// then to the end twice: each pool's quarter billed and charged once,
// every accrual settled by its invoice, the journal balanced with each
// pool's cash and fee owed equal to their accounts, and the money
// conserved. 400 pools, each one member's 1,000.00 priced on 20 Aug at
// 10.0000; 36.5 % a year (1.00 a day on 1,000.00). By hand (as
// TestManagedFeesRunBillsPools): 21 Aug's NAV accrues 21 Aug (1.00) and
// the weekend on the value after, 1,000.00 − 1.18 = 998.82: 2.99764 → 2.99
// + GST 0.54 (owed 3.53, value after 996.47); 30 Sep's accrues 24 Aug..30
// Sep on 996.47: 38 × 0.99647 = 37.86586 → 37.86 + GST 6.8148 → 6.81. The
// quarter's invoice: 40.85 + GST 7.353 → 7.35 (the 0.54 + 6.81
// provisioned) = 48.20, cash 951.80, nothing owed. Σ contributions
// 400,000.00 = Σ cash 380,720.00 + fee income 16,340.00 + GST 2,940.00.
func TestPoolQuarterBillingCrashAndRestart(t *testing.T) {
	const n = 400
	db, command := poolFeesCmdEnv(t, n, "36.5")
	for _, d := range []string{"2026-08-20", "2026-08-21", "2026-09-30"} {
		if _, err := runOrKill(command("pool", "nav", "--day", d), 0); err != nil {
			t.Fatalf("pool nav %s: %v", d, err)
		}
	}
	if got := db.Str(`SELECT count(*) || ' ' || min(fee_accrued) || ' ' || max(fee_accrued) || ' ' || max(cash) FROM pools`); got != fmt.Sprint(n, " 48.20 48.20 1000.00") {
		t.Fatalf("before billing %s", got)
	}
	run := func(killAfter time.Duration) bool {
		for try := 0; ; try++ {
			killed, err := runOrKill(command("run", "managed-fees", "--clock", "2026-10-01T06:00:00+05:30"), killAfter)
			switch {
			case err != nil && killAfter == 0 && strings.Contains(err.Error(), "running elsewhere") && try < 50:
				time.Sleep(100 * time.Millisecond) // a killed run's lock, not yet let go by the server
				continue
			case err != nil && killAfter == 0:
				t.Fatalf("run managed-fees: %v", err)
			}
			return killed
		}
	}
	rng := rand.New(rand.NewPCG(36, 22))
	progress := func() int { return db.Num(`SELECT count(*) FROM pool_fee_invoices`) }
	k := killLoop{rng: rng, window: 300 * time.Millisecond, grow: 150 * time.Millisecond}
	k.until(10, 3, 40, n, run, progress)
	t.Logf("%d kills, %d mid-work; %d of %d pools billed before the last run", k.Kills, k.MidWork, progress(), n)
	// The evidence is a kill inside the work; how many kills land before
	// the work finishes depends on the machine's speed.
	if k.MidWork == 0 {
		t.Errorf("%d kills, none in the work", k.Kills)
	}
	run(0)
	run(0) // again: nothing changes
	for what, c := range map[string]struct{ q, want string }{
		"invoices": {`SELECT count(*) || ' ' || count(DISTINCT pool_id) || ' ' || min(total) || ' ' || max(total) || ' ' || min(status) || ' ' || max(status)
			|| ' ' || min(period_from) || '..' || max(period_to) FROM pool_fee_invoices`, fmt.Sprint(n, " ", n, " 48.20 48.20 charged charged 2026-07-01..2026-09-30")},
		"payments": {`SELECT count(*) || ' ' || count(DISTINCT ref) || ' ' || sum(amount) FROM wallet_transactions WHERE kind = 'pool_fee'`, fmt.Sprint(n, " ", n, " 19280.00")},
		"pools":    {`SELECT min(cash) || ' ' || max(cash) || ' ' || max(fee_accrued) FROM pools`, "951.80 951.80 0.00"},
		"events":   {`SELECT count(*) || ' ' || count(DISTINCT event_id) FROM outbox WHERE topic = 'fee.charged'`, fmt.Sprint(n, " ", n)},
		"money": {`SELECT (SELECT sum(cash) FROM pools)::text || ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'fee_income:managed')::numeric(18,2)::text
			|| ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'tax:gst')::numeric(18,2)::text
			|| ' ' || (SELECT coalesce(sum(amount), 0) FROM wallet_postings WHERE account = 'tax:gst_accrued')::numeric(18,2)::text`, "380720.00 16340.00 2940.00 0.00"},
	} {
		if got := db.Str(c.q); got != c.want {
			t.Errorf("%s: %s, want %s", what, got, c.want)
		}
	}
	if c := db.Num(`SELECT count(*) FROM pool_fee_accruals a WHERE a.fee > 0 AND a.invoice_id IS DISTINCT FROM 'PFEE-' || a.pool_id || '-2026-07-01-2026-09-30'`); c != 0 {
		t.Errorf("%d accruals not settled by their pool's invoice", c)
	}
	checkPoolAccounts(t, db)
}
