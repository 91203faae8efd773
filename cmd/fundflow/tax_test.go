package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
)

// `check gains` prints fund/tax's answer for the case file (the example's
// numbers are computed by hand in fund/tax's TestCheckCaseFile); a bad case
// is exit 2 with one line naming the field; --help runs nothing.
func TestCheckGains(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "gains", "--case", "../../fund/tax/testdata/grandfathered.json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Lots []struct{ Term, CostUsed, Gain, RateSection string } `json:"lots"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	raw := out.String()
	for _, w := range []string{`"term": "long"`, `"cost_used": "15000.00"`, `"sale_value": "17950.00"`, `"gain": "2950.00"`, `"rate_section": "112A"`, `"rate_section": "111A"`} {
		if !strings.Contains(raw, w) {
			t.Errorf("missing %s in\n%s", w, raw)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"1","cost":"1.005"}],"sale":{"date":"2025-01-01","units":"1","nav":"1"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--case", bad}, "lots[0].cost"},
		{[]string{"--case", "/nonexistent/case.json"}, "case.json"},
	} {
		out.Reset()
		err := run(context.Background(), append([]string{"check", "gains"}, c.args...), &out, &out)
		if !isExit(err, 2) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want exit 2 with a one-line message naming %s", c.args, err, c.want)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"check", "gains", "--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "Why is my gain this?") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}

// `fundflow tax gains` prints the API's statement: for every investor one
// JSON line (only INV-1 transferred in FY 2024-25 in the sample ledger: its
// gain 499.75, computed by hand in api's TestCapitalGainsRoute), the CSV,
// and Schedule 112A's header; an unknown investor is exit 2.
func TestTaxGainsCommand(t *testing.T) {
	cfg := sampleLedgerConfig(t)
	gains := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfg, "--log-level", "warn", "tax", "gains", "--fy", "2024-25"}, args...), &out, io.Discard)
		return out.String(), err
	}
	out, err := gains()
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 1 || !strings.Contains(lines[0], `"investor_id":"INV-1"`) || !strings.Contains(lines[0], `"gain":"499.75"`) {
		t.Fatalf("all investors: %v\n%s", err, out)
	}
	out, err = gains("--investor", "INV-1", "--format", "csv")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], "INV-1,2024-25,F-1,100001,") || !strings.HasSuffix(lines[1], ",499.75") {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	out, err = gains("--format", "schedule112a")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "Share/Unit acquired(1a),") { // no equity LTCG in the year: the header only
		t.Fatalf("112A: %v\n%s", err, out)
	}
	if _, err := gains("--investor", "NOBODY"); !isExit(err, 2) {
		t.Errorf("unknown investor: %v", err)
	}
	var o bytes.Buffer
	if err := run(context.Background(), []string{"tax", "gains", "--fy", "2024-26"}, &o, &o); !isExit(err, 2) || !strings.Contains(err.Error(), "--fy") {
		t.Errorf("bad fy: %v", err)
	}
}

// `tax idcw declare`, `tax idcw run` (twice: the second credits nothing)
// and `tax tds` on the sample ledger: INV-1's F-1 holds 999.950 + 399.980 =
// 1399.930 units of 100001 on 28-Mar-2024; ₹1.00 a unit pays 1399.93,
// under FY 2023-24's ₹5,000: no TDS.
func TestTaxIDCWCommands(t *testing.T) {
	cfg := sampleLedgerConfig(t)
	holidays := filepath.Join(t.TempDir(), "h.csv")
	os.WriteFile(holidays, []byte("25-Mar-2024\n29-Mar-2024\n"), 0o644)
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfg, "--log-level", "warn", "tax"}, args...), &out, io.Discard)
		return out.String(), err
	}
	out, err := cmd("idcw", "declare", "--scheme", "100001", "--record-date", "2024-03-28", "--ex-date", "2024-03-29", "--per-unit", "1.00",
		"--option", "payout", "--holidays", holidays)
	if err != nil || !strings.Contains(out, `"id": "100001-2024-03-28"`) || !strings.Contains(out, `"nav_date": "2024-04-01"`) || !strings.Contains(out, `"created": true`) {
		t.Fatalf("declare: %v\n%s", err, out) // 29-Mar-2024 is a holiday: the next business day is Monday 1-Apr
	}
	for i, want := range []string{`"credited": 1`, `"already_credited": 1`} {
		if out, err := cmd("idcw", "run", "100001-2024-03-28"); err != nil || !strings.Contains(out, want) {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
	}
	out, err = cmd("tds", "--investor", "INV-1", "--fy", "2023-24")
	if err != nil || !strings.Contains(out, `"gross": "1399.93"`) || !strings.Contains(out, `"tds": "0.00"`) || !strings.Contains(out, `"section": "194K"`) {
		t.Fatalf("tds: %v\n%s", err, out)
	}
	if _, err := cmd("idcw", "run", "nope"); !isExit(err, 2) {
		t.Errorf("unknown declaration: %v", err)
	}
	if _, err := cmd("idcw", "declare", "--scheme", "100001", "--record-date", "2024-03-28", "--ex-date", "2024-03-27", "--per-unit", "1", "--option", "payout"); !isExit(err, 2) {
		t.Errorf("ex-date before the record date: %v", err)
	}
}

// `tax merge` on the sample ledger: 100001 into 100002 on 31-Dec-2024 at their NAVs that day, 15.0000 / 55.0000.
// F-1 holds 499.950 (999.950 − 500.000) + 399.980 = 899.930 units: 899.930 × 15/55 = 245.435|45… → 245.435
// (499.950 × 15/55 = 136.350 exactly, 399.980 × 15/55 = 109.085|45…); residue 13498.95 − 245.435 × 55 =
// 13498.95 − 13498.925 = 0.025 → 0.03 half up. Again: nothing left to merge. Another merger of 100001: exit 2; a
// date with no NAV and no --nav-from: exit 2.
func TestTaxMergeCommand(t *testing.T) {
	cfg := sampleLedgerConfig(t)
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfg, "--log-level", "warn", "tax", "merge"}, args...), &out, io.Discard)
		return out.String(), err
	}
	out, err := cmd("--from", "100001", "--to", "100002", "--date", "2024-12-31")
	if err != nil || !strings.Contains(out, `"merged": 1`) || !strings.Contains(out, `"declared": true`) || !strings.Contains(out, `"nav_from": "15.0000"`) {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	out, err = cmd("--from", "100001", "--to", "100002", "--date", "2024-12-31")
	if err != nil || !strings.Contains(out, `"folios": 0`) || !strings.Contains(out, `"declared": false`) {
		t.Fatalf("again: %v\n%s", err, out)
	}
	if _, err := cmd("--from", "100001", "--to", "100003", "--date", "2024-12-31", "--nav-from", "1", "--nav-to", "1"); !isExit(err, 2) {
		t.Errorf("a second merger of 100001: %v", err)
	}
	if _, err := cmd("--from", "100002", "--to", "100001", "--date", "2024-12-30"); !isExit(err, 2) {
		t.Errorf("no NAV on the date: %v", err)
	}
	var units, residue string
	p, err := pgxpool.New(testkit.Ctx(t), os.Getenv("TAX_TEST_PG_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.QueryRow(testkit.Ctx(t), `SELECT units_to::numeric(24,3)::text, residue::text FROM merger_folios WHERE folio_no = 'F-1'`).Scan(&units, &residue); err != nil ||
		units != "245.435" || residue != "0.03" {
		t.Errorf("F-1: %s %s %v", units, residue, err)
	}
}

// `tax scheme-type`: INV-1's 500.000 units of 100001 (an equity flexi cap) redeemed on 10-Jun-2024, bought on
// 10-Jan-2024, are short-term equity (111A); with 100001 "other" from 1-Apr-2024 the same gain is short-term at
// slab; a row from after the sale changes nothing. The same row again is fine; another type on the date is exit 2.
func TestTaxSchemeTypeCommand(t *testing.T) {
	cfg := sampleLedgerConfig(t)
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfg, "--log-level", "warn", "tax"}, args...), &out, io.Discard)
		return out.String(), err
	}
	if out, err := cmd("gains", "--fy", "2024-25", "--investor", "INV-1"); err != nil || !strings.Contains(out, `"rate_section": "111A"`) {
		t.Fatalf("before: %v\n%s", err, out)
	}
	for i, want := range []string{`"created": true`, `"created": false`} {
		if out, err := cmd("scheme-type", "--scheme", "100001", "--from", "2024-04-01", "--type", "other", "--reason", "test: an index fund"); err != nil || !strings.Contains(out, want) {
			t.Fatalf("set %d: %v\n%s", i+1, err, out)
		}
	}
	if _, err := cmd("scheme-type", "--scheme", "100001", "--from", "2024-07-01", "--type", "equity", "--reason", "after the sale"); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("gains", "--fy", "2024-25", "--investor", "INV-1"); err != nil || !strings.Contains(out, `"rate_section": "slab"`) || !strings.Contains(out, `"gain": "499.75"`) {
		t.Fatalf("after: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name string
		args []string
		says string // the error names what is wrong
	}{
		{"another type on the same date", []string{"--scheme", "100001", "--from", "2024-04-01", "--type", "debt", "--reason", "test: an index fund"}, "100001"},
		{"an unknown scheme code", []string{"--scheme", "999999", "--from", "2024-04-01", "--type", "debt", "--reason", "a typo"}, "--scheme 999999: no scheme has this code"},
		{"an empty scheme code", []string{"--scheme", "", "--from", "2024-04-01", "--type", "debt", "--reason", "x"}, "scheme"},
		{"a blank reason", []string{"--scheme", "100001", "--from", "2024-05-01", "--type", "debt", "--reason", " "}, "--reason"},
	} {
		if _, err := cmd(append([]string{"scheme-type"}, c.args...)...); !isExit(err, 2) || !strings.Contains(fmt.Sprint(err), c.says) {
			t.Errorf("%s: %v, want exit 2 saying %q", c.name, err, c.says)
		}
	}
	// nothing was stored for the unknown code
	p, err := pgxpool.New(testkit.Ctx(t), os.Getenv("TAX_TEST_PG_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var n int
	if err := p.QueryRow(testkit.Ctx(t), `SELECT count(*) FROM scheme_tax_types WHERE scheme_code = '999999'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows for the unknown code: %d %v", n, err)
	}
}

// sampleLedgerConfig loads the sample ledger (ledgerfix.Sample) into a
// fresh database and returns a config file naming it.
func sampleLedgerConfig(t *testing.T) string {
	t.Helper()
	pool, url := testkit.PG(t)
	sealer, _ := pii.New(bytes.Repeat([]byte{4}, 32))
	if _, err := ledgerfix.Load(testkit.Ctx(t), pool, ledgerfix.Sample(sealer)); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	os.WriteFile(cfg, []byte("services:\n  postgres_url_env: TAX_TEST_PG_URL\n"), 0o644)
	t.Setenv("TAX_TEST_PG_URL", url)
	return cfg
}
