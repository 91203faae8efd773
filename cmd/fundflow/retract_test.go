package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// A file dated 2062 that an earlier version accepted froze nav_latest
// there: the correct 2026-12-02 file lands in navs but nav_latest only
// moves forward. `quarantine retract --sha256` takes the file's NAVs back
// out of both stores and rebuilds nav_latest from what remains.
func TestRetractMisdatedNAVsRepairsNAVLatest(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	e := newOpsEnv(t, qConfig(dir, "0.25"))
	const badSHA = "baadf00d"
	var bad []fund.NAVLine
	for i := 0; i < 5; i++ {
		bad = append(bad, fund.NAVLine{
			NAVRecord: fund.NAVRecord{SchemeCode: fmt.Sprint(100001 + i), SchemeName: "Fund", NAV: decimal.RequireFromString("10"), Date: fund.NewDate(2062, 12, 1)},
			From:      fund.Origin{File: "NAVAll_misdated.txt", SHA256: badSHA, Line: 7 + i},
		})
	}
	// What the sinks were given before the stage compared dates with the clock.
	b := pipelines.Batch[fund.NAVLine]{Items: bad}
	if err := (&postgres.NAVSink{Pool: e.d.pg.Pool}).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := (clickhouse.NAVHistory{Conn: e.d.ch}).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	good := qHead
	for i := 0; i < 5; i++ {
		good += fmt.Sprintf("%d;-;-;Fund;11.%d000;02-Dec-2026\r\n", 100001+i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "NAVAll_2026-12-02.txt"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runNAV(t, e.d); err != nil {
		t.Fatal(err)
	}
	if got := count(t, e.d, `SELECT count(*) FROM nav_latest WHERE nav_date = '2062-12-01'`); got != 5 {
		t.Fatalf("nav_latest at 2062 for %d schemes before the repair, want 5 (the freeze)", got)
	}

	out, _, err := e.cli(t, "quarantine", "retract", "--sha256", badSHA, "--by", "ops-anna")
	if err != nil {
		t.Fatal(err)
	}
	var sum navingest.Retracted
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if sum.Retracted != 5 || len(sum.NAVLatest) != 5 || sum.NAVLatest["100003"] != "2026-12-02" {
		t.Fatalf("summary %+v", sum)
	}
	if got := count(t, e.d, `SELECT count(*) FROM navs WHERE nav_date > '2026-12-31'`); got != 0 {
		t.Fatalf("navs keeps %d rows of 2062", got)
	}
	if got := count(t, e.d, `SELECT count(*) FROM nav_latest WHERE nav_date = '2026-12-02' AND source_file = 'NAVAll_2026-12-02.txt'`); got != 5 {
		t.Fatalf("nav_latest at 2026-12-02 for %d schemes after the repair, want 5", got)
	}
	var nav string
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT nav::text FROM nav_latest WHERE scheme_code = '100003'`).Scan(&nav); err != nil || !decimal.RequireFromString(nav).Equal(decimal.RequireFromString("11.2")) {
		t.Fatalf("nav_latest 100003 = %s (%v), want 11.2 from the correct file", nav, err)
	}
	if got := chCount(t, e.d, `SELECT count() FROM nav_history FINAL WHERE nav_date > toDate('2026-12-31')`); got != 0 {
		t.Fatalf("nav_history keeps %d rows of 2062", got)
	}
	if got := chCount(t, e.d, `SELECT count() FROM nav_history FINAL WHERE nav_date = toDate('2026-12-02')`); got != 5 {
		t.Fatalf("nav_history has %d rows of the correct file, want 5", got)
	}
	if got := count(t, e.d, `SELECT count(*) FROM audit_log WHERE entity = 'nav' AND action = 'retracted' AND actor = 'ops-anna'`); got != 5 {
		t.Fatalf("%d retractions in the audit trail, want 5", got)
	}
	// Again: nothing left to take back, and nothing else moves.
	out, _, err = e.cli(t, "quarantine", "retract", "--sha256", badSHA)
	if err != nil || !strings.Contains(out, `"retracted": 0`) {
		t.Fatalf("second retract: %v %s", err, out)
	}
	if _, _, err := e.cli(t, "quarantine", "retract", "--date", "2062-12-01"); !isExit(err, 2) {
		t.Fatalf("retract without a file or scheme: %v, want a usage error", err)
	}
}

// A row quarantined as duplicate_key_conflict is not published by a replay:
// Postgres would keep the first NAV and ClickHouse take the replayed one.
// It stays open with the stored NAV named, and both stores keep the first.
func TestReplayKeepsADuplicateConflictOut(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	e := newOpsEnv(t, qConfig(dir, "0.25"))
	body := qHead + "100001;-;-;Alpha Fund;10.0000;01-Dec-2026\r\n" +
		"100002;-;-;Beta Fund;20.0000;01-Dec-2026\r\n" +
		"100001;-;-;Alpha Fund;10.5000;01-Dec-2026\r\n"
	if err := os.WriteFile(filepath.Join(dir, "NAVAll_2026-12-01.txt"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runNAV(t, e.d); err != nil {
		t.Fatal(err)
	}
	if got := count(t, e.d, `SELECT count(*) FROM quarantine WHERE reason = 'duplicate_key_conflict' AND status = 'open'`); got != 1 {
		t.Fatalf("%d duplicate_key_conflict rows quarantined, want 1", got)
	}
	out, _, err := e.cli(t, "quarantine", "replay")
	if err != nil || !strings.Contains(out, `"published": 0`) {
		t.Fatalf("replay: %v %s", err, out)
	}
	var status, detail string
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT status, last_replay_detail FROM quarantine WHERE reason = 'duplicate_key_conflict'`).Scan(&status, &detail); err != nil {
		t.Fatal(err)
	}
	if status != "open" || !strings.Contains(detail, "navs has NAV 10") {
		t.Fatalf("after replay: %s %q", status, detail)
	}
	var pg string
	if err := e.d.pg.Pool.QueryRow(ctx, `SELECT nav::text FROM navs WHERE scheme_code = '100001'`).Scan(&pg); err != nil {
		t.Fatal(err)
	}
	var ch string
	if err := e.d.ch.QueryRow(ctx, `SELECT toString(nav) FROM nav_history FINAL WHERE scheme_code = '100001'`).Scan(&ch); err != nil {
		t.Fatal(err)
	}
	if !decimal.RequireFromString(pg).Equal(decimal.RequireFromString("10")) || !decimal.RequireFromString(ch).Equal(decimal.RequireFromString("10")) {
		t.Fatalf("postgres %s, clickhouse %s: both must keep the first NAV, 10", pg, ch)
	}
}
