package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	pkgsftp "github.com/pkg/sftp"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/recon"
)

// TestFolioReconEndToEnd drives folio-recon as operations would: a
// generated ledger, the RTAs' files (with differences injected, one bad row
// and an HTML page among them) uploaded to the real sshd, `fundflow run
// folio-recon --date D` twice. Every injected difference is a break of the
// right type and cause and nothing else is; the bad row is quarantined with
// its file and line; the HTML page is rejected; the report and the
// ClickHouse history agree with the breaks; the next day the same books keep
// the breaks' first-seen date and a difference that went away is resolved.
func TestFolioReconEndToEnd(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv, cl := sftpSetup(t)
	pool, pgURL := testkit.PG(t)
	ch, chURL := testkit.CH(t)
	// As in production: the generator bulk-loads as the schema owner, the
	// reconciliation runs as the application's role.
	t.Setenv("FUNDFLOW_PG_URL", testkit.AppURL(t, pgURL))
	t.Setenv("FUNDFLOW_PG_MIGRATE_URL", pgURL)
	t.Setenv("FUNDFLOW_CH_URL", chURL)
	reports := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
pipelines:
  folio-recon:
    source:
      kind: sftp
      path: `+srv.Dir+`
      stable_for: 0s
      archive: true
    report_dir: `+reports+`
    max_reject_rate: 0.5
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gen := func(args ...string) error { // `fundflow gen ...`, its JSON in buf
		return run(ctx, append([]string{"--config", cfgPath, "--log-level", "warn", "gen"}, args...), &buf, io.Discard)
	}
	day1, day2 := fund.NewDate(2026, 8, 21), fund.NewDate(2026, 8, 24)

	if err := gen("ledger", "--folios", "800", "--end", "2026-08-14", "--days", "300", "--seed", "4", "--check"); err != nil {
		t.Fatal(err)
	}

	// Day 1: generated feeds with differences, uploaded over SFTP.
	genRTA := func(day fund.Date, extra func(name string, data []byte) []byte) rtagen.Result {
		t.Helper()
		out := t.TempDir()
		buf.Reset()
		if err := gen("rta", "--as-of", day.String(), "--out", out, "--inject-rate", "0.1", "--seed", "9"); err != nil {
			t.Fatal(err)
		}
		var res rtagen.Result
		if err := json.Unmarshal(buf.Bytes(), &res); err != nil {
			t.Fatalf("gen rta output %q: %v", buf.String(), err)
		}
		for _, f := range res.Files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if extra != nil {
				data = extra(filepath.Base(f), data)
			}
			upload(t, cl, filepath.Join(srv.Dir, filepath.Base(f)), data)
		}
		return res
	}
	var badLine int
	res1 := genRTA(day1, func(name string, data []byte) []byte {
		if strings.HasPrefix(name, "CAMS_WBR2_") {
			// One more row with a transaction type CAMS does not have: quarantined.
			lines := strings.Split(strings.TrimRight(string(data), "\r\n"), "\r\n")
			bad := strings.Replace(lines[1], ",P,", ",ZZ,", 1)
			bad = strings.Replace(bad, ",R,", ",ZZ,", 1)
			badLine = len(lines) + 1
			return []byte(string(data) + bad + "\r\n")
		}
		return data
	})
	upload(t, cl, filepath.Join(srv.Dir, "KFIN_MFSD203_maintenance.txt"), []byte("<html><body>Service unavailable</body></html>\n"))
	truth := readTruthFile(t, res1.Truth)

	runRecon := func(day fund.Date) recon.Outcome {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"--config", cfgPath, "--log-level", "warn", "run", "folio-recon", "--date", day.String()}, &out, &errOut); err != nil {
			t.Fatalf("run folio-recon: %v\n%s", err, errOut.String())
		}
		var o recon.Outcome
		if err := json.Unmarshal(out.Bytes(), &o); err != nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
		return o
	}
	o1 := runRecon(day1)

	want := expectedKeys(truth)
	got := breakKeys(t, ctx, pool, "status <> 'resolved'")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("day 1: %d breaks, want %d\n got %s\nwant %s", len(got), len(want), strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if o1.Load.Quarantined != 1 || o1.Load.Reasons["unknown_trxn_type"] != 1 || o1.Recon.Breaks != int64(len(want)) || o1.Summary.Open+o1.Summary.Explained != len(want) {
		t.Fatalf("day 1 outcome: %+v", o1)
	}
	var qFile string
	var qLine int
	if err := pool.QueryRow(ctx, `SELECT source_file, source_line FROM quarantine WHERE pipeline = 'folio-recon' AND reason = 'unknown_trxn_type'`).Scan(&qFile, &qLine); err != nil ||
		!strings.HasPrefix(qFile, "CAMS_WBR2_") || qLine != badLine {
		t.Fatalf("quarantined at %s:%d (%v), want CAMS_WBR2_…:%d", qFile, qLine, err, badLine)
	}
	var rejected int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ingested_files WHERE pipeline = 'folio-recon' AND status = 'rejected' AND name = 'KFIN_MFSD203_maintenance.txt'`).Scan(&rejected); err != nil || rejected != 1 {
		t.Fatalf("the HTML page was not rejected: %d %v", rejected, err)
	}
	// The report: one CSV row per break, the summary's counts by type are the truth's.
	byType := map[string]int{}
	for _, k := range want {
		byType[strings.Fields(k)[1]]++
	}
	if csvRows := reportLines(t, o1.Summary.CSV) - 1; csvRows != len(want) || !sameCounts(o1.Summary.ByType, byType) {
		t.Fatalf("report: %d csv rows, by type %v; want %d, %v", csvRows, o1.Summary.ByType, len(want), byType)
	}
	if txt, err := os.ReadFile(o1.SummaryTxt); err != nil || !strings.Contains(string(txt), "largest unit differences") {
		t.Fatalf("text summary: %v\n%s", err, txt)
	}
	if svg, err := os.ReadFile(o1.Summary.Chart); err != nil || !strings.Contains(string(svg), `<g class="bar" data-type="units_mismatch"`) {
		t.Fatalf("chart %s: %v\n%s", o1.Summary.Chart, err, svg)
	}
	var chRows uint64
	if err := ch.QueryRow(ctx, `SELECT count() FROM recon_breaks_history FINAL WHERE recon_date = toDate('2026-08-21')`).Scan(&chRows); err != nil || chRows != uint64(len(want)) {
		t.Fatalf("ClickHouse history: %d rows (%v), want %d", chRows, err, len(want))
	}
	// Loaded files were archived on the server; the rejected page was set
	// aside into rejected/, so no later run reads it again (issue 16).
	if left := remoteFiles(t, cl, srv.Dir); len(left) != 0 {
		t.Fatalf("files left in the inbox: %v", left)
	}
	if aside := remoteFiles(t, cl, filepath.Join(srv.Dir, "rejected")); strings.Join(aside, ",") != "KFIN_MFSD203_maintenance.txt" {
		t.Fatalf("files set aside: %v", aside)
	}

	// Day 2: the same books (no allotment since the 14th), without one extra folio.
	var gone string
	for _, tr := range truth {
		if tr.Injection == rtagen.ExtraFolio {
			gone = tr.Folio
			break
		}
	}
	if gone == "" {
		t.Fatal("no extra_folio injection to take back on day 2")
	}
	genRTA(day2, func(name string, data []byte) []byte {
		var keep []string
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if !strings.Contains(l, gone) {
				keep = append(keep, l)
			}
		}
		return []byte(strings.Join(keep, ""))
	})
	o2 := runRecon(day2)
	if o2.Recon.NewBreaks != 0 || o2.Recon.Resolved != 1 || o2.Recon.Breaks != int64(len(want)-1) || o2.Summary.Resolved != 1 {
		t.Fatalf("day 2: %+v", o2.Recon)
	}
	var firsts []string
	rows, err := pool.Query(ctx, `SELECT DISTINCT status || ' ' || first_seen || ' ' || last_seen || ' ' || coalesce(resolved_on::text, '-') FROM recon_breaks ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		firsts = append(firsts, s)
	}
	rows.Close()
	wantLives := []string{"open 2026-08-21 2026-08-24 -", "resolved 2026-08-21 2026-08-21 2026-08-24"}
	if hasExplained(truth) {
		wantLives = append([]string{"explained 2026-08-21 2026-08-24 -"}, wantLives...)
	}
	if strings.Join(firsts, "|") != strings.Join(wantLives, "|") {
		t.Fatalf("day 2 lifecycle: %v, want %v", firsts, wantLives)
	}
}

func readTruthFile(t *testing.T, path string) []rtagen.Truth {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rtagen.Truth
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var tr rtagen.Truth
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	if len(out) == 0 {
		t.Fatal("no injections in the truth file")
	}
	return out
}

func hasExplained(truth []rtagen.Truth) bool {
	for _, tr := range truth {
		for _, e := range tr.Expect {
			if e.Cause == fund.CauseAfterCutoff || e.Cause == fund.CausePendingNAV {
				return true
			}
		}
	}
	return false
}

func expectedKeys(truth []rtagen.Truth) []string {
	var out []string
	for _, tr := range truth {
		for _, e := range tr.Expect {
			out = append(out, strings.Join([]string{e.Scope, e.Type, e.RTA, e.Folio, e.Subject, e.Cause}, " "))
		}
	}
	sort.Strings(out)
	return out
}

// breakKeys reads breaks as "scope type rta folio subject cause", sorted.
func breakKeys(t *testing.T, ctx context.Context, pool *pgxpool.Pool, where string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT concat_ws(' ', scope, type, rta, folio,
		CASE WHEN scope = 'holding' THEN coalesce(nullif(scheme_code, ''), product_code) ELSE coalesce(nullif(order_id, ''), rta_txn_no) END, cause)
		FROM recon_breaks WHERE `+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func reportLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func remoteFiles(t *testing.T, cl *pkgsftp.Client, dir string) []string {
	t.Helper()
	fis, err := cl.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fi := range fis {
		if fi.Mode().IsRegular() {
			out = append(out, fi.Name())
		}
	}
	return out
}
