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

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// `fundflow pool` end to end in process: three funded wallets contribute
// ₹1,000.00 each before the cut-off, the day's NAV prices them at the
// launch NAV, and ₹1,000.00 is distributed (one member reinvesting); the
// figures are the ones worked by hand in pool/pool_test.go.
func TestPoolCommands(t *testing.T) {
	owner, _, app, appURL := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	// Three wallets of ₹5,000.00 each, deposited in balanced postings.
	db.Exec(`INSERT INTO investors (id) SELECT 'INV-' || g FROM generate_series(1, 3) g`)
	db.Exec(`INSERT INTO wallets (id, investor_id, balance) SELECT 'W' || g, 'INV-' || g, 5000 FROM generate_series(1, 3) g`)
	db.Exec(`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) SELECT id, 'deposit', 'dep-' || id, 5000 FROM wallets`)
	db.Exec(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT id, 0, 'wallet_cash:razorpay', 'INR', 5000 FROM wallet_transactions
		UNION ALL SELECT id, 1, 'wallet:' || wallet_id, 'INR', -5000 FROM wallet_transactions`)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("pipelines:\n  allocate:\n    holidays: ["+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FUNDFLOW_PG_URL", appURL)
	ch, chURL := testkit.CH(t)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	ff := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfgPath, "--log-level", "error", "pool"}, args...), &out, io.Discard)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := ff(args...)
		if err != nil {
			t.Fatalf("pool %v: %v\n%s", args, err, out)
		}
		return out
	}
	must("create", "P1", "--name", "Income", "--launch", "10.0000")
	for _, w := range []string{"W1", "W2", "W3"} {
		must("contribute", "--pool", "P1", "--wallet", w, "--request", "c-"+w, "--amount", "1000.00", "--clock", "2026-08-20T10:00:00+05:30")
	}
	var st struct {
		Pools []struct {
			NAV           string `json:"nav"`
			Contributions int    `json:"contributions"`
		} `json:"pools"`
	}
	if err := json.Unmarshal([]byte(must("nav", "--day", "2026-08-20")), &st); err != nil || len(st.Pools) != 1 || st.Pools[0].NAV != "10.0000" || st.Pools[0].Contributions != 3 {
		t.Fatalf("nav: %+v %v", st, err)
	}
	must("reinvest", "--pool", "P1", "--wallet", "W2")
	var d struct {
		Shares []struct {
			Wallet     string `json:"wallet_id"`
			Amount     string `json:"amount"`
			Reinvested string `json:"reinvested_units"`
		} `json:"shares"`
	}
	if err := json.Unmarshal([]byte(must("distribute", "--pool", "P1", "--record", "2026-08-20", "--amount", "1000.00")), &d); err != nil || len(d.Shares) != 3 {
		t.Fatalf("distribute: %+v %v", d, err)
	}
	// 333.34 + 333.33 + 333.33 = 1,000.00; W2's 333.33 at 6.6667 → 49.999 units.
	if d.Shares[0].Amount != "333.34" || d.Shares[1].Amount != "333.33" || d.Shares[1].Reinvested != "49.999" || d.Shares[2].Amount != "333.33" {
		t.Errorf("shares %+v", d.Shares)
	}
	if got := db.Str(`SELECT string_agg(id || '=' || balance, ',' ORDER BY id) FROM wallets`); got != "W1=4333.34,W2=4000.00,W3=4333.33" {
		t.Errorf("wallets %s", got)
	}
	var show struct {
		Pools []struct {
			Units string `json:"units"`
			Value string `json:"value"`
		} `json:"pools"`
	}
	// W2: 149.999 units × 10.0000 (the latest pool NAV, 20 Aug) = 1,499.99.
	if err := json.Unmarshal([]byte(must("show", "W2")), &show); err != nil || len(show.Pools) != 1 || show.Pools[0].Units != "149.999" || show.Pools[0].Value != "1499.99" {
		t.Errorf("show: %+v %v", show, err)
	}
	// Bad input: exit 2 naming the flag; a refused distribution: exit 1.
	// A folio is one pool's: PF1 holds F-X, so PF2 is refused it.
	db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-X', 'INV-1')`)
	must("create", "PF1", "--name", "Folio owner", "--folio", "F-X")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"contribute", "--pool", "P1", "--wallet", "W1", "--request", "x", "--amount", "10.001"}, 2},
		{[]string{"withdraw", "--pool", "P1", "--wallet", "W1", "--request", "x", "--units", "abc"}, 2},
		{[]string{"create", "P2", "--name", "x", "--launch", "-1"}, 2},
		{[]string{"distribute", "--pool", "P1", "--record", "2026-08-20", "--amount", "5.00"}, 1}, // another amount, same date
		{[]string{"create", "PF2", "--name", "x", "--folio", "F-X"}, 2},                           // PF1's folio
	} {
		_, err := ff(c.args...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != c.code {
			t.Errorf("%v: %v, want exit %d", c.args, err, c.code)
		}
	}
	must("create", "P0", "--name", "Empty")
	must("nav", "--day", "2026-08-20", "--pool", "P0")
	if _, err := ff("distribute", "--pool", "P0", "--record", "2026-08-20", "--amount", "1.00"); err == nil {
		t.Error("a distribution over zero units accepted")
	}

	// The facts for analysts, twice (the same rows): P1's NAV, three
	// contributions at 10.0000 (100.000 units each), two shares paid and
	// one reinvested (49.999 units at 6.6667); P0's NAV.
	for range 2 {
		must("facts", "--from", "2026-08-01", "--to", "2026-08-31")
	}
	rows, err := ch.Query(testkit.Ctx(t), `SELECT pool_id, kind, wallet_id, toString(nav), toString(units), toString(amount)
		FROM pool_facts FINAL ORDER BY pool_id, kind, wallet_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var p, k, w, n, u, a string
		if err := rows.Scan(&p, &k, &w, &n, &u, &a); err != nil {
			t.Fatal(err)
		}
		got = append(got, p+" "+k+" "+w+" "+n+" "+u+" "+a)
	}
	want := []string{
		"P0 nav  10.0000 0.000 0.00",
		"P1 contribution W1 10.0000 100.000 1000.00", "P1 contribution W2 10.0000 100.000 1000.00", "P1 contribution W3 10.0000 100.000 1000.00",
		"P1 distribution W1 6.6667 0.000 333.34", "P1 distribution W3 6.6667 0.000 333.33",
		"P1 nav  10.0000 0.000 0.00",
		"P1 reinvestment W2 6.6667 49.999 333.33",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pool_facts:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
