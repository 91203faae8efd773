package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Exits left closing by a crash (review r34-2 H1): W1 (₹1,000.00) and W2
// (₹500.00) closing since 09:00 under X1 and X2. `managed exit --cancel`
// at 09:10 is refused (exit 1: younger than 30 minutes, review r35 M2);
// at 10:00 it opens W2 again (again: exit 2; its request unknown: exit 2);
// `run managed` at 10:00 finishes W1's exit, older than 30 minutes: the
// 1,000.00 paid out as exit:X1, W1 closed; cancelling it then exits 1.
func TestManagedExitResumedOrCancelled(t *testing.T) {
	owner, _, app, appURL := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	db := moneytest.DB{T: t, Ctx: ctx, Owner: owner, Read: app}
	db.Exec(`INSERT INTO investors (id) VALUES ('INV-1'), ('INV-2')`)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance, status) VALUES ('W1', 'INV-1', 1000, 'closing'), ('W2', 'INV-2', 500, 'closing')`)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) VALUES ('W1', 'deposit', 'dep-1', 1000), ('W2', 'deposit', 'dep-2', 500)`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', amount FROM wallet_transactions
		UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', -amount FROM wallet_transactions`)
	db.Exec(`INSERT INTO wallet_exits (wallet_id, request_id, day, started_at) VALUES
		('W1', 'X1', '2026-08-20', '2026-08-20T09:00:00+05:30'), ('W2', 'X2', '2026-08-20', '2026-08-20T09:00:00+05:30')`)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FUNDFLOW_PG_URL", appURL)
	_, chURL := testkit.CH(t)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	const clock = "2026-08-20T10:00:00+05:30"
	ff := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfgPath, "--log-level", "error"}, args...), &out, io.Discard)
		return out.String(), err
	}
	// Ten minutes after its start it may still be running: exit 1, W2 closing.
	if _, err := ff("managed", "exit", "--wallet", "W2", "--request", "X2", "--cancel", "--clock", "2026-08-20T09:10:00+05:30"); !isExit(err, 1) {
		t.Errorf("cancel a 10-minute-old exit: %v, want exit 1", err)
	}
	if got := db.Str(`SELECT status FROM wallets WHERE id = 'W2'`); got != "closing" {
		t.Errorf("W2 %s after the refused cancel", got)
	}
	out, err := ff("managed", "exit", "--wallet", "W2", "--request", "X2", "--cancel", "--clock", clock)
	if err != nil || out != "{\n  \"request_id\": \"X2\",\n  \"status\": \"reopened\",\n  \"wallet_id\": \"W2\"\n}\n" {
		t.Fatalf("cancel: %q %v", out, err)
	}
	for _, req := range []string{"X2", "X9"} {
		if _, err := ff("managed", "exit", "--wallet", "W2", "--request", req, "--cancel", "--clock", clock); !isExit(err, 2) {
			t.Errorf("cancel %s of an open wallet: %v, want exit 2", req, err)
		}
	}
	if got := db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W2'`); got != "open 500.00" {
		t.Errorf("W2 %s", got)
	}
	out, err = ff("run", "managed", "--clock", clock)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Exits map[string]int `json:"exits_resumed"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Exits["exits_finished"] != 1 || st.Exits["exits_reopened"] != 0 || st.Exits["exits_left_closing"] != 0 {
		t.Fatalf("run managed: %s %v", out, err)
	}
	if got := db.Str(`SELECT w.status || ' ' || w.balance || ' ' || d.request_id || ' ' || d.amount || ' ' || d.status FROM wallets w JOIN wallet_withdrawals d ON d.wallet_id = w.id`); got != "closed 0.00 exit:X1 1000.00 paid" {
		t.Errorf("W1 %s", got)
	}
	if _, err := ff("managed", "exit", "--wallet", "W1", "--request", "X1", "--cancel", "--clock", clock); !isExit(err, 1) {
		t.Errorf("cancel a finished exit: %v, want exit 1", err)
	}
}
