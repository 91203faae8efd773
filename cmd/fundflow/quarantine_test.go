package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/jobs/replay"
)

const qHead = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\n" +
	"Open Ended Schemes(Equity Scheme - Large Cap Fund)\r\n \r\nExample Mutual Fund\r\n \r\n"

func qConfig(dir, other string) string {
	return `  nav-ingest:
    source:
      kind: file
      path: ` + dir + `
      glob: "*.txt"
    max_reject_rate: 0.9
    jump_thresholds:
      other: "` + other + `"
`
}

// lineOf returns the 1-based line of the first line of data starting with prefix.
func lineOf(t *testing.T, data, prefix string) int {
	for i, l := range strings.Split(data, "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line starting %q", prefix)
	return 0
}

// Quarantined NAV rows can be listed, shown, replayed through today's rules
// (a raised threshold lets a held row through) and, after review, accepted
// with who and when recorded; rows that still fail stay open with why.
func TestQuarantineListShowReplayAccept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := newOpsEnv(t, qConfig(dir, "0.25"))
	day1 := qHead + "100001;INF000A01011;-;Alpha Fund - Growth;100.0000;20-Aug-2026\r\n" +
		"100002;INF000A01029;-;Beta Fund - Growth;50.0000;20-Aug-2026\r\n" +
		"100003;INF000A01037;-;Gamma Fund - Growth;10.0000;20-Aug-2026\r\n" +
		"100004;INF000A01045;-;Delta Fund - Growth;20.0000;20-Aug-2026\r\n"
	day2 := qHead + "100001;INF000A01011;-;Alpha Fund - Growth;200.0000;21-Aug-2026\r\n" + // +100%: held
		"100002;INF000A01029;-;Beta Fund - Growth;N.A.;21-Aug-2026\r\n" + // no NAV
		"100003;INF000A01037;-;Gamma Fund - Growth;14.0000;21-Aug-2026\r\n" + // +40%: held
		"100004;INF000A01045;-;Delta Fund - Growth;20.1000;21-Aug-2026\r\n"
	t0 := time.Now().Add(-time.Hour)
	for i, f := range []string{day1, day2} {
		p := filepath.Join(dir, fmt.Sprintf("NAVAll_%d.txt", i+1))
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute))
	}
	if _, stderr, err := e.cli(t, "run", "nav-ingest"); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	idOf := func(code string) int64 {
		var id int64
		if err := e.d.pg.Pool.QueryRow(ctx, `SELECT id FROM quarantine WHERE raw LIKE $1`, []byte(code+";%")).Scan(&id); err != nil {
			t.Fatalf("quarantine row of %s: %v", code, err)
		}
		return id
	}
	alpha, beta, gamma := idOf("100001"), idOf("100002"), idOf("100003")

	// list: a table of the three open rows; filters narrow it.
	out, _, err := e.cli(t, "quarantine", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "(3 rows)") || strings.Count(out, "nav_jump") != 2 ||
		strings.Count(out, "nav_not_available") != 1 || !strings.Contains(out, fmt.Sprintf("NAVAll_2.txt:%d", lineOf(t, day2, "100002;"))) {
		t.Fatalf("list:\n%s", out)
	}
	if out, _, _ := e.cli(t, "quarantine", "list", "--reason", "nav_jump", "--limit", "1"); !strings.Contains(out, "(1 rows)") {
		t.Fatalf("filtered list:\n%s", out)
	}

	// show: where it came from, why, and the raw bytes.
	sum := sha256.Sum256([]byte(day2))
	out, _, err = e.cli(t, "quarantine", "show", fmt.Sprint(beta))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAVAll_2.txt", hex.EncodeToString(sum[:]), fmt.Sprintf("line:        %d", lineOf(t, day2, "100002;")),
		"nav_not_available", `"100002;INF000A01029;-;Beta Fund - Growth;N.A.;21-Aug-2026"`, `"Example Mutual Fund"`, `"Equity Scheme - Large Cap Fund"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := e.cli(t, "quarantine", "show", "999999"); !isExit(err, 2) {
		t.Errorf("show of a missing id: %v", err)
	}

	replay := func(args ...string) replay.Summary {
		t.Helper()
		out, stderr, err := e.cli(t, append([]string{"quarantine", "replay"}, args...)...)
		if err != nil {
			t.Fatalf("replay %v: %v\n%s", args, err, stderr)
		}
		var s replay.Summary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		return s
	}
	// Nothing changed: everything still fails, for the same reasons.
	s := replay()
	if s.Considered != 3 || s.Published != 0 || s.StillOpen["nav_jump"] != 2 || s.StillOpen["nav_not_available"] != 1 {
		t.Fatalf("replay: %+v", s)
	}
	if n := count(t, e.d, `SELECT count(*) FROM quarantine WHERE status = 'open' AND last_replay_detail LIKE 'nav_jump:%'`); n != 2 {
		t.Fatalf("%d rows record why the replay left them", n)
	}

	// The operator raises the equity threshold to 50%: Gamma's 40% passes
	// now and is published through every sink; Alpha's 100% still does not.
	os.WriteFile(e.cfgPath, []byte("services:\n  postgres_url_env: FF_OPS_TEST_PG_URL\n  clickhouse_url_env: FF_OPS_TEST_CH_URL\npipelines:\n"+qConfig(dir, "0.50")), 0o644)
	s = replay("--reason", "nav_jump")
	if s.Considered != 2 || s.Published != 1 || len(s.IDs) != 1 || s.IDs[0] != gamma || s.StillOpen["nav_jump"] != 1 || s.MarkedAs != "replayed" {
		t.Fatalf("replay after the threshold change: %+v", s)
	}
	assertNAV(t, e, "100003", "2026-08-21", "14.00000000")

	// Accepting is for reviewed jumps only.
	if _, _, err := e.cli(t, "quarantine", "replay", "--accept", "--id", fmt.Sprint(beta)); !isExit(err, 2) {
		t.Fatalf("accepting an N.A. row: %v", err)
	}
	if _, _, err := e.cli(t, "quarantine", "replay", "--accept"); !isExit(err, 2) {
		t.Fatalf("accepting without ids: %v", err)
	}
	s = replay("--accept", "--id", fmt.Sprint(alpha), "--by", "alice")
	if s.Published != 1 || s.IDs[0] != alpha || s.MarkedAs != "accepted" {
		t.Fatalf("accept: %+v", s)
	}
	assertNAV(t, e, "100001", "2026-08-21", "200.00000000")
	// resolved_at is the database's clock: its age is measured there too.
	var by string
	var age time.Duration
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT resolved_by, now() - resolved_at FROM quarantine WHERE id = $1 AND status = 'accepted'`, alpha).Scan(&by, &age); err != nil || by != "alice" || age > time.Minute || age < 0 {
		t.Fatalf("accepted row: by %q %v ago (%v)", by, age, err)
	}
	// A second accept of the same row publishes nothing: it is not open.
	if s = replay("--accept", "--id", fmt.Sprint(alpha)); s.Considered != 0 || s.Published != 0 {
		t.Fatalf("second accept: %+v", s)
	}
	if out, _, _ := e.cli(t, "quarantine", "list"); !strings.Contains(out, "(1 rows)") || !strings.Contains(out, "nav_not_available") {
		t.Fatalf("open after all:\n%s", out)
	}
	if out, _, _ := e.cli(t, "quarantine", "list", "--status", "all"); !strings.Contains(out, "(3 rows)") || !strings.Contains(out, "accepted") {
		t.Fatalf("all:\n%s", out)
	}
}

// assertNAV checks a NAV in navs, nav_latest and ClickHouse's nav_history.
func assertNAV(t *testing.T, e opsEnv, code, date, want string) {
	t.Helper()
	ctx := context.Background()
	var got, latest, latestDate string
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT nav::text FROM navs WHERE scheme_code = $1 AND nav_date = $2`, code, date).Scan(&got); err != nil || got != want {
		t.Fatalf("navs %s %s = %q (%v), want %s", code, date, got, err, want)
	}
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT nav::text, nav_date::text FROM nav_latest WHERE scheme_code = $1`, code).Scan(&latest, &latestDate); err != nil || latest != want || latestDate != date {
		t.Fatalf("nav_latest %s = %s %s (%v)", code, latest, latestDate, err)
	}
	var chNAV string
	if err := e.d.ch.QueryRow(ctx, `SELECT toString(nav) FROM nav_history FINAL WHERE scheme_code = ? AND nav_date = toDate(?)`, code, date).Scan(&chNAV); err != nil || !strings.HasPrefix(chNAV, strings.TrimRight(strings.TrimRight(want, "0"), ".")) {
		t.Fatalf("nav_history %s %s = %q (%v)", code, date, chNAV, err)
	}
}

func isExit(err error, code int) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.code == code
}
