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

// The pools' fee billing by `fundflow pool fees bill` (a child process)
// over 400 pools, killed with SIGKILL at random points and run again
// (the test asks for a kill inside the billing work, not a number of
// kills, which depends on the machine's speed), then to the end twice:
// each pool billed and charged once, every accrual settled by its invoice, the journal balanced with each
// pool's cash and fee accrued equal to their accounts, and the money
// conserved (Σ contributions = Σ pool cash + Σ fee income + Σ GST).
func TestPoolFeeBillingCrashAndRestart(t *testing.T) {
	const n = 400
	db, command := poolFeesCmdEnv(t, n, "7.3")
	// 20 Aug prices the contributions at the launch NAV (100.000 units,
	// cash 1,000.00, AUM 0 before them: no fee); Fri 21 Aug accrues 21 Aug
	// on 1,000.00: 0.20 (+ GST 0.04 in the NAV), and the weekend on the value
	// after, 999.76: 2 × 0.199952; the row 0.599904 → 0.59, GST 0.1062 →
	// 0.11: 0.70 owed.
	for _, d := range []string{"2026-08-20", "2026-08-21"} {
		if _, err := runOrKill(command("pool", "nav", "--day", d), 0); err != nil {
			t.Fatalf("pool nav %s: %v", d, err)
		}
	}
	if got := db.Str(`SELECT count(*) || ' ' || min(fee_accrued) || ' ' || max(fee_accrued) FROM pools`); got != "400 0.70 0.70" {
		t.Fatalf("accrued before billing %s", got)
	}
	run := func(killAfter time.Duration) bool {
		killed, err := runOrKill(command("pool", "fees", "bill", "--from", "2026-08-20", "--to", "2026-08-21"), killAfter)
		if err != nil {
			t.Fatalf("pool fees bill: %v", err)
		}
		return killed
	}
	rng := rand.New(rand.NewPCG(22, 58))
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
	// Each pool: 0.59 + GST 0.1062 → 0.11 = 0.70, once; cash 999.30.
	if got := db.Str(`SELECT count(*) || ' ' || min(total) || ' ' || max(total) || ' ' || count(DISTINCT pool_id) FROM pool_fee_invoices`); got != "400 0.70 0.70 400" {
		t.Errorf("invoices %s, want 400 of 0.70, one a pool", got)
	}
	if got := db.Str(`SELECT count(*) || ' ' || count(DISTINCT ref) FROM wallet_transactions WHERE kind = 'pool_fee'`); got != "400 400" {
		t.Errorf("fee payments %s, want one per invoice", got)
	}
	if got := db.Str(`SELECT min(cash) || ' ' || max(cash) || ' ' || max(fee_accrued) FROM pools`); got != "999.30 999.30 0.00" {
		t.Errorf("pools %s, want cash 999.30, nothing accrued", got)
	}
	if n := db.Num(`SELECT count(*) FROM pool_fee_accruals a WHERE a.fee > 0 AND (a.invoice_id IS NULL OR a.invoice_id <> 'PFEE-' || a.pool_id || '-2026-08-20-2026-08-21')`); n != 0 {
		t.Errorf("%d accruals not settled by their pool's invoice", n)
	}
	if n := db.Num(`SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'fee.charged'`); n != 400 {
		t.Errorf("%d fee.charged events, want 400", n)
	}
	// Σ contributions 400,000.00 = Σ cash 400 × 999.30 (399,720.00) + fee
	// income 400 × 0.59 (236.00) + GST 400 × 0.11 (44.00).
	if got := db.Str(`SELECT (SELECT sum(cash) FROM pools)::text || ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'fee_income:managed')::numeric(18,2)::text
		|| ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'tax:gst')::numeric(18,2)::text`); got != "399720.00 236.00 44.00" {
		t.Errorf("cash, fee income, GST %s, want 399720.00 236.00 44.00 (sum 400000.00)", got)
	}
	checkPoolAccounts(t, db)
}

// poolFeesCmdEnv is the pool fee crash tests' database: n pools seeded
// (seedPools: each one member's 1,000.00 pending for 20 Aug) with an AUM
// fee of rate % a year from 20 Aug; command runs fundflow on it (a child
// process, the 2026 holidays).
func poolFeesCmdEnv(t *testing.T, n int, rate string) (moneytest.DB, func(args ...string) *exec.Cmd) {
	t.Helper()
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	seedPools(db, n, "")
	db.Exec(`INSERT INTO pool_fee_terms (pool_id, valid_from, aum_rate_pct) SELECT id, '2026-08-20', $1::numeric FROM pools`, rate)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return db, func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"--config", cfgPath, "--log-level", "warn"}, args...)...)
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		return cmd
	}
}

// checkPoolAccounts: every wallet transaction balances per asset, and
// each pool's cash, fee owed and units equal their accounts, none
// negative.
func checkPoolAccounts(t *testing.T, db moneytest.DB) {
	t.Helper()
	for what, q := range map[string]string{
		"unbalanced":  `SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`,
		"pool cash":   `SELECT count(*) FROM pools p WHERE p.cash <> -coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool:' || p.id), 0)`,
		"fee accrued": `SELECT count(*) FROM pools p WHERE p.fee_accrued <> coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_fee_accrued:' || p.id), 0)`,
		"pool units":  `SELECT count(*) FROM pools p WHERE p.units <> coalesce((SELECT sum(amount) FROM wallet_postings WHERE account = 'pool_issued:' || p.id), 0)`,
		"negative":    `SELECT count(*) FROM pools WHERE cash < 0 OR fee_accrued < 0`,
	} {
		if c := db.Num(q); c != 0 {
			t.Errorf("%s: %d wrong", what, c)
		}
	}
}
