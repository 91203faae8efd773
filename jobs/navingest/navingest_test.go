package navingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// These tests moved from cmd/fundflow with the pipeline they test; the
// expected counts come from the files by an independent naive split
// (testkit.CountNAVFile), never from the parser.

// env is nav-ingest over a test's own databases (the application's role,
// as in production) and a folder of NAV files.
type env struct {
	d  navingest.Deps
	c  *config.NAVIngest
	pg *pgxpool.Pool
	ch clickhouse.Conn
}

func newEnv(t *testing.T, dir string, brokers []string) env {
	cfg, err := config.Parse("test.yaml", []byte(testkit.NAVIngestYAML(dir)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, pool, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	d := navingest.Deps{PG: &postgres.Store{Pool: pool}, CH: ch, Brokers: brokers, Log: testkit.Logger(t)}
	return env{d: d, c: cfg.Pipelines.NAVIngest, pg: pool, ch: ch}
}

// run is one nav-ingest run over the folder.
func (e env) run(t *testing.T) (pipelines.Stats, error) {
	t.Helper()
	ctx := testkit.Ctx(t)
	p, err := navingest.New(ctx, e.d, e.c)
	if err != nil {
		return pipelines.Stats{}, err
	}
	return p.Run(ctx)
}

func (e env) count(t *testing.T, q string) int {
	var n int
	if err := e.pg.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e env) chCount(t *testing.T, q string) int {
	var n uint64
	if err := e.ch.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}

// A real AMFI file moves through the file source, the typed stage and both
// sinks; every count is checked against the file itself.
func TestNAVIngestRealFilesEndToEnd(t *testing.T) {
	for _, name := range []string{"NAVAll_2019-06-21.txt", "NAVAll_2026-08-21_8col-plan-option.txt", "NAVAll_2017-04-13_8col-repurchase-sale.txt"} {
		t.Run(name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			fixture := testkit.Fixture(t, "amfi/navall/"+name)
			want := testkit.CountNAVFile(t, fixture)
			dir := t.TempDir()
			testkit.CopyFile(t, fixture, filepath.Join(dir, name))
			e := newEnv(t, dir, nil)

			p, err := navingest.New(ctx, e.d, e.c)
			if err != nil {
				t.Fatal(err)
			}
			st, err := p.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(st.In) != want.DataLines || int(st.Out) != want.Valid || int(st.Quarantined) != want.DataLines-want.Valid {
				t.Fatalf("run stats in=%d out=%d quarantined=%d; file has %d data lines, %d valid", st.In, st.Out, st.Quarantined, want.DataLines, want.Valid)
			}
			if got := e.count(t, `SELECT count(*) FROM navs`); got != len(want.Keys) {
				t.Errorf("navs = %d, want %d distinct (scheme, date)", got, len(want.Keys))
			}
			if got := e.count(t, `SELECT count(*) FROM nav_latest`); got != len(want.Schemes) {
				t.Errorf("nav_latest = %d, want %d schemes", got, len(want.Schemes))
			}
			if got := e.count(t, `SELECT count(*) FROM schemes`); got != len(want.Schemes) {
				t.Errorf("schemes = %d, want %d", got, len(want.Schemes))
			}
			if got := e.count(t, `SELECT count(*) FROM quarantine`); got != want.DataLines-want.Valid {
				t.Errorf("quarantine = %d, want %d", got, want.DataLines-want.Valid)
			}
			if got := e.chCount(t, `SELECT count() FROM nav_history FINAL`); got != len(want.Keys) {
				t.Errorf("clickhouse nav_history = %d, want %d", got, len(want.Keys))
			}
			if got := e.count(t, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 1 {
				t.Errorf("ingested_files done = %d", got)
			}
			if got := e.count(t, `SELECT count(*) FROM job_runs WHERE status = 'ok'`); got != 1 {
				t.Errorf("job_runs ok = %d", got)
			}

			// The same bytes again, under another name: nothing loads twice.
			testkit.CopyFile(t, fixture, filepath.Join(dir, "renamed-"+name))
			p, err = navingest.New(ctx, e.d, e.c)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := p.Run(ctx); err != nil || st.In != 0 {
				t.Fatalf("second run read %d records (err %v), want 0", st.In, err)
			}
			if got := e.count(t, `SELECT count(*) FROM navs`); got != len(want.Keys) {
				t.Errorf("navs after reload = %d, want %d", got, len(want.Keys))
			}
		})
	}
}

// An HTML error page saved as NAVAll.txt is rejected whole with an alert,
// never loaded as zero rows, and the run goes on to the next file.
func TestNAVIngestRejectsErrorPages(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	for _, n := range []string{"NAVAll_error_2025-09-14_nginx-404.html", "NAVAll_error_2025-09-16_document-moved.html"} {
		testkit.CopyFile(t, testkit.Fixture(t, "amfi/navall/"+n), filepath.Join(dir, n+".txt"))
	}
	e := newEnv(t, dir, nil)
	p, err := navingest.New(ctx, e.d, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, `SELECT count(*) FROM ingested_files WHERE status = 'rejected'`); got != 2 {
		t.Errorf("rejected files = %d, want 2", got)
	}
	if got := e.count(t, `SELECT count(*) FROM alerts WHERE kind = 'file_rejected'`); got != 2 {
		t.Errorf("alerts = %d, want 2", got)
	}
	var detail string
	if err := e.pg.QueryRow(ctx, `SELECT error FROM ingested_files ORDER BY name LIMIT 1`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(detail), "html") {
		t.Errorf("rejection reason %q does not say it was HTML", detail)
	}
	if got := e.count(t, `SELECT count(*) FROM navs`); got != 0 {
		t.Errorf("navs = %d", got)
	}
}

// nav_latest only moves forward, and a changed scheme attribute makes a new
// version instead of overwriting the old one.
func TestNAVLatestForwardOnlyAndSchemeVersions(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	head := "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\nOpen Ended Schemes(Debt Scheme - Banking and PSU Fund)\r\n \r\nExample Mutual Fund\r\n \r\n"
	write := func(name, rows string, mod time.Time) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(head+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, mod, mod)
	}
	run := func() {
		p, err := navingest.New(ctx, e.d, e.c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("a.txt", "100001;INF000A01011;-;Example Fund - Growth;10.5000;21-Aug-2026\r\n", t0)
	run()
	// An older NAV arrives later, with a renamed scheme: it is stored in
	// navs, but nav_latest keeps the newer date and the old row makes no version.
	write("b.txt", "100001;INF000A01011;-;Example Fund Renamed - Growth;10.4000;20-Aug-2026\r\n", t0.Add(time.Minute))
	run()
	var date time.Time
	var navStr string
	if err := e.pg.QueryRow(ctx, `SELECT nav_date, nav::text FROM nav_latest WHERE scheme_code = '100001'`).Scan(&date, &navStr); err != nil {
		t.Fatal(err)
	}
	if date.Format("2006-01-02") != "2026-08-21" || navStr != "10.50000000" {
		t.Fatalf("nav_latest = %s %s, want 2026-08-21 10.5", date.Format("2006-01-02"), navStr)
	}
	if got := e.count(t, `SELECT count(*) FROM navs`); got != 2 {
		t.Fatalf("navs = %d, want 2", got)
	}
	if got := e.count(t, `SELECT count(*) FROM scheme_versions`); got != 1 {
		t.Fatalf("versions = %d, want 1 (a stale row must not version the scheme)", got)
	}
	// A newer NAV with the new name: a second version; the first is closed.
	write("c.txt", "100001;INF000A01011;-;Example Fund Renamed - Growth;10.6000;24-Aug-2026\r\n", t0.Add(2*time.Minute))
	run()
	if got := e.count(t, `SELECT count(*) FROM scheme_versions`); got != 2 {
		t.Fatalf("versions = %d, want 2", got)
	}
	var name string
	var version int
	if err := e.pg.QueryRow(ctx, `SELECT name, version FROM schemes WHERE code = '100001'`).Scan(&name, &version); err != nil {
		t.Fatal(err)
	}
	if name != "Example Fund Renamed - Growth" || version != 2 {
		t.Fatalf("scheme = %q v%d", name, version)
	}
	if got := e.count(t, `SELECT count(*) FROM scheme_versions WHERE version = 1 AND valid_to = '2026-08-24'`); got != 1 {
		t.Fatalf("version 1 not closed on 2026-08-24")
	}
}

// With Kafka brokers in the environment, every validated NAV of a real AMFI
// file is published to nav.validated once, keyed by its scheme code; the
// expected keys come from the file itself (countNAVFile), not the parser.
//
// It runs at the test config's 1,000-row batches and at the default
// batch_size (a whole file a batch), on topics of 1 and 3 partitions: a
// partition's produce batch must stay under the broker's message.max.bytes
// however many rows a batch holds (review r36-2 N1: at 16,000 rows every
// real file failed with Message Size Too Large).
func TestNAVIngestPublishesValidatedNAVsToKafka(t *testing.T) {
	for _, c := range []struct {
		partitions   int32
		defaultBatch bool
	}{{3, false}, {1, true}, {3, true}} {
		t.Run(fmt.Sprintf("partitions=%d,default_batch=%v", c.partitions, c.defaultBatch), func(t *testing.T) {
			testNAVIngestPublishes(t, c.partitions, c.defaultBatch)
		})
	}
}

func testNAVIngestPublishes(t *testing.T, partitions int32, defaultBatch bool) {
	const name = "NAVAll_2026-08-21_8col-plan-option.txt"
	fixture := testkit.Fixture(t, "amfi/navall/"+name)
	want := testkit.CountNAVFile(t, fixture)
	brokers := testkit.Kafka(t, partitions, "nav.validated")
	dir := t.TempDir()
	testkit.CopyFile(t, fixture, filepath.Join(dir, name))
	e := newEnv(t, dir, brokers)
	if defaultBatch {
		cfg, err := config.Parse("test.yaml", []byte(strings.Replace(testkit.NAVIngestYAML(dir), "batch_size: 1000", "", 1)))
		if err != nil {
			t.Fatal(err)
		}
		// Over 2,000 rows a batch, one partition's produce batch fills
		// to the writer's 2,000-message cap (1.17 MB of real events).
		if e.c = cfg.Pipelines.NAVIngest; e.c.BatchSize <= 2000 {
			t.Fatalf("default batch_size %d: this case needs batches over 2,000 rows", e.c.BatchSize)
		}
	}

	st, err := e.run(t)
	if err != nil {
		t.Fatal(err)
	}
	msgs := testkit.ReadTopic(t, brokers, "nav.validated")
	if len(msgs) != want.Valid || int(st.Out) != want.Valid {
		t.Fatalf("%d events (run wrote %d), want one per valid row: %d", len(msgs), st.Out, want.Valid)
	}
	got := map[string]bool{}
	for _, m := range msgs {
		var ev kafka.NAVEvent
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatalf("offset %d: %v", m.Offset, err)
		}
		if string(m.Key) != ev.SchemeCode {
			t.Fatalf("key %q carries scheme %q", m.Key, ev.SchemeCode)
		}
		if ev.Source.File != name || ev.Source.Line < 2 {
			t.Fatalf("event lineage %+v", ev.Source)
		}
		got[ev.SchemeCode+"|"+ev.NAVDate] = true
	}
	wantKeys := map[string]bool{}
	for k := range want.Keys {
		wantKeys[testkit.NormaliseKey(k)] = true
	}
	testkit.AssertSameKeys(t, "kafka nav.validated", got, wantKeys)

	// The same bytes again load nothing, so nothing is published again.
	testkit.CopyFile(t, fixture, filepath.Join(dir, "again-"+name))
	if _, err := e.run(t); err != nil {
		t.Fatal(err)
	}
	if n := len(testkit.ReadTopic(t, brokers, "nav.validated")); n != want.Valid {
		t.Fatalf("%d events after a duplicate file, want %d", n, want.Valid)
	}
}

// Every run leaves one "run" row and every quarantined row one "quarantine"
// row in ClickHouse's ingest_events, matching the Postgres quarantine.
func TestNAVIngestWritesIngestEvents(t *testing.T) {
	const name = "NAVAll_2025-09-17_CR-CR-LF.txt"
	fixture := testkit.Fixture(t, "amfi/navall/"+name)
	want := testkit.CountNAVFile(t, fixture)
	dir := t.TempDir()
	testkit.CopyFile(t, fixture, filepath.Join(dir, name))
	e := newEnv(t, dir, nil)
	ctx := testkit.Ctx(t)
	if _, err := e.run(t); err != nil {
		t.Fatal(err)
	}
	var runID int64
	if err := e.pg.QueryRow(ctx, `SELECT id FROM job_runs`).Scan(&runID); err != nil {
		t.Fatal(err)
	}

	var runs, records uint64
	var reason string
	if err := e.ch.QueryRow(ctx, `SELECT count(), sum(records), any(reason) FROM ingest_events WHERE kind = 'run' AND run_id = ?`, uint64(runID)).
		Scan(&runs, &records, &reason); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || int(records) != want.Valid || reason != "ok" {
		t.Fatalf("run events: %d rows, %d records, %q; want 1, %d, ok", runs, records, reason, want.Valid)
	}

	pgQ := map[string]string{}
	rows, err := e.pg.Query(ctx, `SELECT source_sha256 || ':' || source_line, reason FROM quarantine`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, r string
		if err := rows.Scan(&k, &r); err != nil {
			t.Fatal(err)
		}
		pgQ[k] = r
	}
	chRows, err := e.ch.Query(ctx, `SELECT concat(sha256, ':', toString(line)), reason, file, run_id FROM ingest_events WHERE kind = 'quarantine'`)
	if err != nil {
		t.Fatal(err)
	}
	defer chRows.Close()
	n := 0
	for chRows.Next() {
		var k, r, file string
		var id uint64
		if err := chRows.Scan(&k, &r, &file, &id); err != nil {
			t.Fatal(err)
		}
		n++
		if pgQ[k] != r || file != name || id != uint64(runID) {
			t.Errorf("clickhouse quarantine event %s %s %s run %d; postgres says %q (run %d)", k, r, file, id, pgQ[k], runID)
		}
	}
	if n != want.DataLines-want.Valid || len(pgQ) != n {
		t.Fatalf("quarantine events = %d, postgres rows = %d, file has %d invalid rows", n, len(pgQ), want.DataLines-want.Valid)
	}
}
