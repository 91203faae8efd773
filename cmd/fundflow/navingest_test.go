package main

import (
	"context"
	"github.com/jackc/pgx/v5/pgxpool"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// expected counts a NAV file the simple way, independently of the parser:
// data lines are lines with the header's number of ';' fields and a numeric
// first field; a NAV is valid when the "Net Asset Value" field is a positive
// number and its date is at most 3 days after the file's business date, the
// date most valid rows carry. (The jump rule does not apply: each test
// database starts empty and the files used are years apart.)
type expected struct {
	dataLines, valid int
	keys             map[string]bool // distinct scheme|date among valid rows
	schemes          map[string]bool
}

func countNAVFile(t *testing.T, path string) expected {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n")
	header := strings.Split(lines[0], ";")
	navCol, dateCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "Net Asset Value":
			navCol = i
		case "Date":
			dateCol = i
		}
	}
	if navCol < 0 || dateCol < 0 {
		t.Fatalf("%s: header %q has no NAV/Date column", path, lines[0])
	}
	type row struct{ code, date string }
	var good []row
	perDate := map[string]int{}
	e := expected{keys: map[string]bool{}, schemes: map[string]bool{}}
	for _, l := range lines[1:] {
		f := strings.Split(l, ";")
		if len(f) != len(header) {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		e.dataLines++
		if v, err := strconv.ParseFloat(strings.TrimSpace(f[navCol]), 64); err == nil && v > 0 {
			good = append(good, row{f[0], f[dateCol]})
			perDate[f[dateCol]]++
		}
	}
	var business time.Time
	best := 0
	for d, n := range perDate {
		tm, err := time.Parse("02-Jan-2006", d)
		if err != nil {
			t.Fatalf("%s: date %q", path, d)
		}
		if n > best || (n == best && tm.After(business)) {
			business, best = tm, n
		}
	}
	for _, r := range good {
		tm, _ := time.Parse("02-Jan-2006", r.date)
		if tm.After(business.AddDate(0, 0, 3)) {
			continue // future_date
		}
		e.valid++
		e.keys[r.code+"|"+r.date] = true
		e.schemes[r.code] = true
	}
	return e
}

// testDeps connects a test's own databases like `fundflow` would.
func testDeps(t *testing.T, cfg *config.Config) *deps {
	d, _ := testDepsAndOwner(t, cfg)
	return d
}

// testDepsAndOwner is testDeps plus a pool on the same database as the
// schema's owner, for a test that changes the schema (the application's role
// cannot).
func testDepsAndOwner(t *testing.T, cfg *config.Config) (*deps, *pgxpool.Pool) {
	owner, _, pool, _ := testkit.PGApp(t) // the application's role, as in production
	ch, _ := testkit.CH(t)
	reg := prometheus.NewRegistry()
	return &deps{cfg: cfg, log: testkit.Logger(t), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}, owner
}

func navConfig(t *testing.T, dir string) *config.Config {
	cfg, err := config.Parse("test.yaml", []byte(`
pipelines:
  nav-ingest:
    source:
      kind: file
      path: `+dir+`
      glob: "*.txt"
      stable_for: 0s
    batch_size: 1000
    max_reject_rate: 0.5
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func copyFile(t *testing.T, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, d *deps, q string) int {
	var n int
	if err := d.pg.Pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func chCount(t *testing.T, d *deps, q string) int {
	var n uint64
	if err := d.ch.QueryRow(context.Background(), q).Scan(&n); err != nil {
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
			want := countNAVFile(t, fixture)
			dir := t.TempDir()
			copyFile(t, fixture, filepath.Join(dir, name))
			d := testDeps(t, navConfig(t, dir))

			p, err := navIngest(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			st, err := p.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(st.In) != want.dataLines || int(st.Out) != want.valid || int(st.Quarantined) != want.dataLines-want.valid {
				t.Fatalf("run stats in=%d out=%d quarantined=%d; file has %d data lines, %d valid", st.In, st.Out, st.Quarantined, want.dataLines, want.valid)
			}
			if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.keys) {
				t.Errorf("navs = %d, want %d distinct (scheme, date)", got, len(want.keys))
			}
			if got := count(t, d, `SELECT count(*) FROM nav_latest`); got != len(want.schemes) {
				t.Errorf("nav_latest = %d, want %d schemes", got, len(want.schemes))
			}
			if got := count(t, d, `SELECT count(*) FROM schemes`); got != len(want.schemes) {
				t.Errorf("schemes = %d, want %d", got, len(want.schemes))
			}
			if got := count(t, d, `SELECT count(*) FROM quarantine`); got != want.dataLines-want.valid {
				t.Errorf("quarantine = %d, want %d", got, want.dataLines-want.valid)
			}
			if got := chCount(t, d, `SELECT count() FROM nav_history FINAL`); got != len(want.keys) {
				t.Errorf("clickhouse nav_history = %d, want %d", got, len(want.keys))
			}
			if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 1 {
				t.Errorf("ingested_files done = %d", got)
			}
			if got := count(t, d, `SELECT count(*) FROM job_runs WHERE status = 'ok'`); got != 1 {
				t.Errorf("job_runs ok = %d", got)
			}

			// The same bytes again, under another name: nothing loads twice.
			copyFile(t, fixture, filepath.Join(dir, "renamed-"+name))
			p, err = navIngest(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := p.Run(ctx); err != nil || st.In != 0 {
				t.Fatalf("second run read %d records (err %v), want 0", st.In, err)
			}
			if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.keys) {
				t.Errorf("navs after reload = %d, want %d", got, len(want.keys))
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
		copyFile(t, testkit.Fixture(t, "amfi/navall/"+n), filepath.Join(dir, n+".txt"))
	}
	d := testDeps(t, navConfig(t, dir))
	p, err := navIngest(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'rejected'`); got != 2 {
		t.Errorf("rejected files = %d, want 2", got)
	}
	if got := count(t, d, `SELECT count(*) FROM alerts WHERE kind = 'file_rejected'`); got != 2 {
		t.Errorf("alerts = %d, want 2", got)
	}
	var detail string
	if err := d.pg.Pool.QueryRow(ctx, `SELECT error FROM ingested_files ORDER BY name LIMIT 1`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(detail), "html") {
		t.Errorf("rejection reason %q does not say it was HTML", detail)
	}
	if got := count(t, d, `SELECT count(*) FROM navs`); got != 0 {
		t.Errorf("navs = %d", got)
	}
}

// nav_latest only moves forward, and a changed scheme attribute makes a new
// version instead of overwriting the old one.
func TestNAVLatestForwardOnlyAndSchemeVersions(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	d := testDeps(t, navConfig(t, dir))
	head := "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\nOpen Ended Schemes(Debt Scheme - Banking and PSU Fund)\r\n \r\nExample Mutual Fund\r\n \r\n"
	write := func(name, rows string, mod time.Time) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(head+rows), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, mod, mod)
	}
	run := func() {
		p, err := navIngest(ctx, d)
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
	if err := d.pg.Pool.QueryRow(ctx, `SELECT nav_date, nav::text FROM nav_latest WHERE scheme_code = '100001'`).Scan(&date, &navStr); err != nil {
		t.Fatal(err)
	}
	if date.Format("2006-01-02") != "2026-08-21" || navStr != "10.50000000" {
		t.Fatalf("nav_latest = %s %s, want 2026-08-21 10.5", date.Format("2006-01-02"), navStr)
	}
	if got := count(t, d, `SELECT count(*) FROM navs`); got != 2 {
		t.Fatalf("navs = %d, want 2", got)
	}
	if got := count(t, d, `SELECT count(*) FROM scheme_versions`); got != 1 {
		t.Fatalf("versions = %d, want 1 (a stale row must not version the scheme)", got)
	}
	// A newer NAV with the new name: a second version; the first is closed.
	write("c.txt", "100001;INF000A01011;-;Example Fund Renamed - Growth;10.6000;24-Aug-2026\r\n", t0.Add(2*time.Minute))
	run()
	if got := count(t, d, `SELECT count(*) FROM scheme_versions`); got != 2 {
		t.Fatalf("versions = %d, want 2", got)
	}
	var name string
	var version int
	if err := d.pg.Pool.QueryRow(ctx, `SELECT name, version FROM schemes WHERE code = '100001'`).Scan(&name, &version); err != nil {
		t.Fatal(err)
	}
	if name != "Example Fund Renamed - Growth" || version != 2 {
		t.Fatalf("scheme = %q v%d", name, version)
	}
	if got := count(t, d, `SELECT count(*) FROM scheme_versions WHERE version = 1 AND valid_to = '2026-08-24'`); got != 1 {
		t.Fatalf("version 1 not closed on 2026-08-24")
	}
}
