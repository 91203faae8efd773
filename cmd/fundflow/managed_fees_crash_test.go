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

// A quarter's fee billing over 600 wallets by `fundflow managed fees bill`
// (a child process), killed with SIGKILL at random points and run again,
// at least 10 kills, then once to the end: each wallet billed once and
// charged once, the wallet journal balanced, and the money conserved
// (Σ deposits = Σ wallets + Σ fees + Σ GST).
func TestManagedFeeBillingCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	owner, _, app, appURL := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	db := moneytest.DB{T: t, Ctx: ctx, Owner: owner, Read: app}
	// 600, not 60: on a quiet machine 60 wallets were billed before the
	// first kill could land; and chunks of 4 wallets (150 transactions),
	// since set-based billing does the 600 in a moment.
	const n = 600
	// Each wallet: ₹1,00,000.00 deposited (balanced postings), 1 % a year
	// from 1-Apr and 1.25 % from 16-May-2026, one valuation carried over
	// the quarter.
	db.Exec(`INSERT INTO investors (id) SELECT 'INV-B' || g FROM generate_series(1, $1) g`, n)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'B' || lpad(g::text, 3, '0'), 'INV-B' || g, 100000 FROM generate_series(1, $1) g`, n)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) SELECT id, 'deposit', 'dep-' || id, 100000 FROM wallets`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', 100000 FROM wallet_transactions
		UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', -100000 FROM wallet_transactions`)
	db.Exec(`INSERT INTO fee_terms (wallet_id, valid_from, aum_rate_pct) SELECT id, d::date, r FROM wallets
		CROSS JOIN (VALUES ('2026-04-01', 1.0), ('2026-05-16', 1.25)) v(d, r)`)
	db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) SELECT id, '2026-04-01', 100000, 0, 100000 FROM wallets`)

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(killAfter time.Duration) bool {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "managed", "fees", "bill", "--from", "2026-04-01", "--to", "2026-06-30", "--batch", "4")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_CH_URL="+testkit.Env(t, "FUNDFLOW_CH_URL"))
		killed, err := runOrKill(cmd, killAfter)
		if err != nil {
			t.Fatalf("fees bill: %v", err)
		}
		return killed
	}
	rng := rand.New(rand.NewPCG(22, 40))
	progress := func() int { return db.Num(`SELECT count(*) FROM fee_invoices`) }
	// The window starts past a loaded machine's process start and grows
	// after each kill that found no progress, so kills land in the work.
	k := killLoop{rng: rng, window: 500 * time.Millisecond, grow: 200 * time.Millisecond}
	k.until(10, 1, 30, n, run, progress)
	t.Logf("%d kills, %d mid-work; %d of %d invoices before the last run", k.Kills, k.MidWork, progress(), n)
	if k.MidWork == 0 {
		t.Errorf("no kill landed in the work")
	}
	run(0)
	// Each wallet: 100000 × (45 × 1 + 46 × 1.25) / 36500 = 280.8219… →
	// 280.82; GST 50.5476 → 50.55; total 331.37, charged once.
	if got := db.Str(`SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'charged') || ' ' || min(total) || ' ' || max(total) FROM fee_invoices`); got != "600 600 331.37 331.37" {
		t.Errorf("invoices %s, want 600 charged at 331.37", got)
	}
	if got := db.Str(`SELECT count(*) || ' ' || count(DISTINCT ref) FROM wallet_transactions WHERE kind = 'fee'`); got != "600 600" {
		t.Errorf("fee payments %s, want one per invoice", got)
	}
	if got := db.Str(`SELECT min(balance) || ' ' || max(balance) FROM wallets`); got != "99668.63 99668.63" {
		t.Errorf("balances %s, want 100000.00 − 331.37 = 99668.63", got)
	}
	if n := db.Num(`SELECT count(DISTINCT event_id) FROM outbox WHERE topic = 'fee.charged'`); n != 600 {
		t.Errorf("%d fee.charged events, want 600", n)
	}
	// Σ deposits 60,000,000.00 = Σ wallets 600 × 99,668.63 (59,801,178.00)
	// + fees 600 × 280.82 (168,492.00) + GST 600 × 50.55 (30,330.00).
	if got := db.Str(`SELECT (SELECT sum(balance) FROM wallets)::text || ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'fee_income:managed')::numeric(18,2)::text
		|| ' ' || (SELECT -sum(amount) FROM wallet_postings WHERE account = 'tax:gst')::numeric(18,2)::text`); got != "59801178.00 168492.00 30330.00" {
		t.Errorf("wallets, fees, GST %s, want 59801178.00 168492.00 30330.00 (sum 60000000.00)", got)
	}
	if n := db.Num(`SELECT count(*) FROM (SELECT tx_id FROM wallet_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0) x`); n != 0 {
		t.Errorf("%d unbalanced wallet transactions", n)
	}
	if n := db.Num(`SELECT count(*) FROM wallets w WHERE w.balance <> -(SELECT sum(amount) FROM wallet_postings WHERE account = 'wallet:' || w.id)`); n != 0 {
		t.Errorf("%d wallets whose balance is not their account's", n)
	}
}
