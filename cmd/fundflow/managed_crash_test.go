package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
// process), killed with SIGKILL at random points and run again, at least
// 20 kills, then once to the end. Each deposit is invested exactly once:
// one run, one wallet debit, its orders placed once and allotted once;
// the money is conserved (Σ deposits = Σ wallet balances + Σ purchases,
// stamp duty inside the purchases); the ledger's invariants hold.
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
	rng := rand.New(rand.NewPCG(22, 28))
	progress := func() int {
		return db.Num(`SELECT (SELECT count(*) FROM wallet_transactions) + (SELECT count(*) FROM autoinvest_runs WHERE status = 'placed') + (SELECT count(*) FROM orders)`)
	}
	// Kill times are uniform in a window that grows after a kill that
	// found the process still starting (no progress), so kills land all
	// through the work.
	kills, midWork, finished := 0, 0, 0
	window := 300 * time.Millisecond
	for kills < 20 {
		before := progress()
		if !run(time.Duration(rng.Int64N(int64(window)))) {
			finished++
			continue
		}
		kills++
		if progress() > before {
			midWork++
		} else {
			window += 300 * time.Millisecond
		}
	}
	placed := db.Num(`SELECT count(*) FROM autoinvest_runs WHERE status = 'placed'`)
	t.Logf("%d kills, %d of them mid-work (%d runs finished first); %d of 40 runs placed before the last run", kills, midWork, finished, placed)
	if midWork == 0 {
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
}
