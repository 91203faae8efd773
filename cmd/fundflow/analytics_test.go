package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
)

// check risk prints exactly issue 20's keys (plus the recovery date and the
// methods), figures as 8-decimal strings; the values are TestComputeByHand's
// series and arithmetic: returns +10 %, −10 %, +10 %.
func TestCheckRisk(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "navs.csv")
	os.WriteFile(good, []byte("date,nav\n2024-01-01,100\n2024-01-02,110\n2024-01-03,99\n2024-01-04,108.9\n"), 0o644)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "risk", "--navs", good, "--risk-free", "0"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cagr", "cvar_95", "cvar_99", "drawdown_peak", "drawdown_recovery", "drawdown_trough", "max_drawdown",
		"methods", "sharpe", "sortino", "var_95", "var_99", "volatility"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	for k, v := range map[string]any{
		"volatility":   "1.83303028", // sqrt(1/75 × 252) = sqrt(3.36)
		"sharpe":       "4.58257569", // sqrt(21)
		"sortino":      "9.16515139", // sqrt(84)
		"max_drawdown": "0.10000000", "drawdown_peak": "2024-01-02", "drawdown_trough": "2024-01-03",
		"drawdown_recovery": nil, "var_95": "0.10000000", "cvar_99": "0.10000000",
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}

	// an effective-dated risk-free series: 0 until 01-02, 0.252 a year from 01-03 (0.001 a day):
	// fund/risk's TestComputeRatesByHand: Sharpe (0.098/3) × sqrt(18900) = 4.49092418,
	// Sortino (0.098/0.101) × sqrt(84) = 8.89291917
	rates := filepath.Join(dir, "rates.csv")
	os.WriteFile(rates, []byte("# test\neffective_from,annual_rate\n2023-12-01,0\n2024-01-03,0.252\n"), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"check", "risk", "--navs", good, "--risk-free-file", rates}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got = nil
	json.Unmarshal(out.Bytes(), &got)
	if got["sharpe"] != "4.49092418" || got["sortino"] != "8.89291917" || got["volatility"] != "1.83303028" {
		t.Errorf("with the series: %s", out.Bytes())
	}
	pct := filepath.Join(dir, "pct.csv")
	os.WriteFile(pct, []byte("effective_from,annual_rate\n2023-12-01,6.5\n"), 0o644)
	late := filepath.Join(dir, "late.csv")
	os.WriteFile(late, []byte("effective_from,annual_rate\n2024-01-03,0.065\n"), 0o644)

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("2024-01-01,100\n2024-01-01,101\n"), 0o644)
	short := filepath.Join(dir, "short.csv")
	os.WriteFile(short, []byte("2024-01-01,100\n2024-01-02,101\n"), 0o644)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"check", "risk", "--navs", bad}, "line 2: date 2024-01-01 does not follow"},
		{[]string{"check", "risk", "--navs", short}, "too few NAVs"},
		{[]string{"check", "risk", "--navs", good, "--risk-free", "6.5%"}, "--risk-free"},
		{[]string{"check", "risk", "--navs", good, "--risk-free-file", pct}, "line 2: annual_rate \"6.5\""},
		{[]string{"check", "risk", "--navs", good, "--risk-free-file", late}, "no risk-free rate in force on 2024-01-02"},
	} {
		err := run(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: %v, want exit 2 saying %q", c.args, err, c.msg)
		}
	}
}

// `gen ledger` copies rows behind the ledger service (no outbox), yet its
// transactions reach the ClickHouse facts: `ch check` over its dates finds
// nothing missing; after a day of facts is lost, `ch check` exits 1 naming
// the keys and `ch resync` brings them back (twice: the same facts).
func TestGenLedgerReachesTheFacts(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, pgURL := testkit.PG(t)
	ch, chURL := testkit.CH(t)
	t.Setenv("FUNDFLOW_PG_URL", testkit.AppURL(t, pgURL))
	t.Setenv("FUNDFLOW_PG_MIGRATE_URL", pgURL)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	os.WriteFile(cfgPath, []byte("pipelines: {}\n"), 0o644)
	cli := func(out *bytes.Buffer, args ...string) error {
		out.Reset()
		return run(ctx, append([]string{"--config", cfgPath, "--log-level", "warn"}, args...), out, io.Discard)
	}
	var out bytes.Buffer
	if err := cli(&out, "gen", "ledger", "--folios", "12", "--end", "2026-08-14", "--days", "60", "--seed", "2"); err != nil {
		t.Fatal(err)
	}
	var ledger, facts uint64
	pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions`).Scan(&ledger)
	ch.QueryRow(ctx, `SELECT count() FROM transactions FINAL`).Scan(&facts)
	if ledger == 0 || facts != ledger {
		t.Fatalf("ledger %d transactions, facts %d", ledger, facts)
	}
	if err := cli(&out, "ch", "check", "--from", "2026-06-01", "--to", "2026-08-14"); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}

	var day time.Time
	pool.QueryRow(ctx, `SELECT min(nav_date) FROM ledger_transactions`).Scan(&day)
	d := day.Format("2006-01-02")
	if err := ch.Exec(ctx, `ALTER TABLE transactions DELETE WHERE nav_date = toDate(?)`, d); err != nil {
		t.Fatal(err)
	}
	for {
		var pending uint64
		ch.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&pending)
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	err := cli(&out, "ch", "check", "--from", d, "--to", d)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out.String(), `"date": "`+d+`"`) {
		t.Fatalf("after losing %s: %v\n%s", d, err, out.String())
	}
	for range 2 {
		if err := cli(&out, "ch", "resync", "--from", d, "--to", d); err != nil {
			t.Fatal(err)
		}
		if err := cli(&out, "ch", "check", "--from", "2026-06-01", "--to", "2026-08-14"); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
	}
	ch.QueryRow(ctx, `SELECT count() FROM transactions FINAL`).Scan(&facts)
	if facts != ledger {
		t.Fatalf("after resync: facts %d, ledger %d", facts, ledger)
	}
}
