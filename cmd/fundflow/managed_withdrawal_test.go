package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// `fundflow managed withdrawal cancel`: W1 holds ₹1,000.00; r0 (₹100.00)
// was paid, r1 (₹400.00) parked by a fraud restriction. Cancelling r1 puts
// 400.00 back (500.00 + 400.00 = 900.00) once; again prints the same and
// moves nothing; r0 exits 1, an unknown request or another wallet's 2.
func TestManagedWithdrawalCancel(t *testing.T) {
	owner, _, app, appURL := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	db := moneytest.DB{T: t, Ctx: ctx, Owner: owner, Read: app}
	db.Exec(`INSERT INTO investors (id) VALUES ('INV-1'), ('INV-2')`)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) VALUES ('W1', 'INV-1', 1000), ('W2', 'INV-2', 0)`)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) VALUES ('W1', 'deposit', 'dep-1', 1000)`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', 1000 FROM wallet_transactions
		UNION ALL SELECT id, 1, 'wallet:W1', 'INR', -1000 FROM wallet_transactions`)
	svc := &wallet.Service{Store: walletpg.Store{Pool: app}, Audit: true}
	if _, err := svc.Withdraw(ctx, "W1", "r0", fund.MustAmount("100.00")); err != nil {
		t.Fatal(err)
	}
	if err := (&ledger.Service{Store: lpg.New(app)}).SetRestriction(ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldFraud,
		Reason: ledger.ReasonUnderReview, BlocksRedemption: true, By: "fraud-rules"}); err != nil {
		t.Fatal(err)
	}
	if out, err := svc.Withdraw(ctx, "W1", "r1", fund.MustAmount("400.00")); err != nil || out.Status != wallet.WithdrawalPending {
		t.Fatalf("parked: %+v %v", out, err)
	}
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FUNDFLOW_PG_URL", appURL)
	_, chURL := testkit.CH(t)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	ff := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfgPath, "--log-level", "error", "managed", "withdrawal", "cancel"}, args...), &out, io.Discard)
		return out.String(), err
	}
	var first string
	for i := range 2 {
		out, err := ff("--wallet", "W1", "--request", "r1")
		var v map[string]string
		if err != nil || json.Unmarshal([]byte(out), &v) != nil || v["status"] != "cancelled" || v["amount"] != "400.00" || v["balance"] != "900.00" {
			t.Fatalf("cancel %d: %v %s", i, err, out)
		}
		if i == 1 && out != first {
			t.Errorf("replay printed %s, first %s", out, first)
		}
		first = out
	}
	if got := db.Str(`SELECT balance::numeric(18,2)::text FROM wallets WHERE id = 'W1'`); got != "900.00" {
		t.Errorf("W1 %s, want 900.00", got)
	}
	if n := db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'withdrawal_cancel'`); n != 1 {
		t.Errorf("%d cancel entries, want 1", n)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--wallet", "W1", "--request", "r0"}, 1},   // paid
		{[]string{"--wallet", "W1", "--request", "nope"}, 2}, // never asked
		{[]string{"--wallet", "W2", "--request", "r1"}, 2},   // another wallet's
	} {
		_, err := ff(c.args...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != c.code || !strings.Contains(err.Error(), "--request") {
			t.Errorf("%v: %v, want exit %d naming --request", c.args, err, c.code)
		}
	}
	if got := db.Str(`SELECT balance::numeric(18,2)::text FROM wallets WHERE id = 'W1'`); got != "900.00" {
		t.Errorf("W1 %s after refusals, want 900.00", got)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"managed", "withdrawal", "cancel", "--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "parked") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}
