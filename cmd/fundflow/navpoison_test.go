package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/transforms/nav"
)

const poisonHeader = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date"

// poisonFile is a generated NAV file: its lines, the keys (code|YYYY-MM-DD)
// and NAVs of its good rows, and the reasons its bad rows must be
// quarantined for. The expectations are written down as the lines are,
// never read back from the code under test.
type poisonFile struct {
	name    string
	lines   []string
	good    map[string]string // key -> NAV
	reasons map[string]int
}

func newPoisonFile(name string) *poisonFile {
	return &poisonFile{name: name, lines: []string{poisonHeader, "", "Open Ended Schemes(Equity Scheme - Large Cap Fund)", "", "Good Mutual Fund", ""},
		good: map[string]string{}, reasons: map[string]int{}}
}

// row adds a good row.
func (f *poisonFile) row(code int, navText string, d time.Time) {
	f.lines = append(f.lines, fmt.Sprintf("%d;-;-;Scheme %d Growth;%s;%s", code, code, navText, d.Format("02-Jan-2006")))
	f.good[fmt.Sprintf("%d|%s", code, d.Format("2006-01-02"))] = navText
}

// bad adds a line that must be quarantined for reason ("" = nothing at all,
// an identical repeat).
func (f *poisonFile) bad(line, reason string) {
	f.lines = append(f.lines, line)
	if reason != "" {
		f.reasons[reason]++
	}
}

func (f *poisonFile) write(t *testing.T, dir string, mod time.Time) {
	path := filepath.Join(dir, f.name)
	if err := os.WriteFile(path, []byte(strings.Join(f.lines, "\r\n")+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// goodFile is 30 schemes on one day.
func goodFile(name string, d time.Time, base int) *poisonFile {
	f := newPoisonFile(name)
	for i := 0; i < 30; i++ {
		f.row(base+i, fmt.Sprintf("%d.%04d", 10+i, d.Day()), d)
	}
	return f
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// The poison classes of issue 11, each in the middle of a file of good
// rows, in the middle of a folder of good files.
var poisonClasses = []struct {
	name   string
	poison func(f *poisonFile) // adds the bad lines; f already has 10 good rows and gets 10 more after
	whole  func(f *poisonFile) // or: replaces the middle file
}{
	{name: "NAV too large for numeric(18,8)", poison: func(f *poisonFile) {
		f.bad("300001;-;-;Overflow Fund;99999999999999999999.1234;10-Nov-2026", nav.ReasonNAVOutOfRange)
		f.bad("300002;-;-;Overflow Fund;10000000000;10-Nov-2026", nav.ReasonNAVOutOfRange)
	}},
	{name: "1 MB line", poison: func(f *poisonFile) {
		f.bad("300003;-;-;"+strings.Repeat("Long Name ", 100<<10)+";10;10-Nov-2026", "line_too_long")
	}},
	{name: "NUL byte in a scheme name", poison: func(f *poisonFile) {
		f.bad("300004;-;-;Bad\x00Fund;10;10-Nov-2026", nav.ReasonBadEncoding)
	}},
	{name: "Latin-1 byte in a scheme name", poison: func(f *poisonFile) {
		f.bad("300005;-;-;Caf\xe9 Fund;10;10-Nov-2026", nav.ReasonBadEncoding)
	}},
	{name: "NUL and Latin-1 in AMC lines", poison: func(f *poisonFile) {
		f.bad("M\xfcller Mutual Fund", "")
		f.bad("300006;-;-;Under Latin-1;10;10-Nov-2026", nav.ReasonBadEncoding)
		f.bad("300007;-;-;Under Latin-1;10;10-Nov-2026", nav.ReasonBadEncoding)
		f.bad("Nul\x00 Mutual Fund", "")
		f.bad("300008;-;-;Under NUL;10;10-Nov-2026", nav.ReasonBadEncoding)
		f.bad("Good Mutual Fund", "")
	}},
	{name: "same scheme and date twice", poison: func(f *poisonFile) {
		// 200005 and 200006 are among the 10 good rows before.
		f.bad("200005;-;-;Scheme 200005 Growth;99.5000;10-Nov-2026", nav.ReasonDuplicateConflict)
		f.bad("200006;-;-;Scheme 200006 Growth;16.0010;10-Nov-2026", "") // the same value again: a no-op
	}},
	{name: "dates ClickHouse cannot hold", poison: func(f *poisonFile) {
		f.bad("300009;-;-;Old Fund;10;01-Dec-1899", nav.ReasonDateOutOfRange)
		f.bad("300010;-;-;Old Fund;10;01-Jan-1969", nav.ReasonDateOutOfRange)
		f.bad("300011;-;-;Far Fund;10;01-Jan-2150", "future_date")
	}},
	{name: "a whole file dated 2062", whole: func(f *poisonFile) {
		for i := 0; i < 20; i++ {
			f.bad(fmt.Sprintf("%d;-;-;Scheme %d Growth;%d.5;01-Dec-2062", 200000+i, 200000+i, 10+i), "future_date")
		}
	}},
}

// Good, bad, good: for every poison class, everything good lands in
// Postgres and ClickHouse (the same keys and NAVs in each, counted from the
// generated input), everything bad is quarantined with its reason, every
// file is done, and `check nav` predicts each file's quarantine.
func TestNAVIngestPoisonInTheMiddle(t *testing.T) {
	for _, pc := range poisonClasses {
		t.Run(pc.name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			dir := t.TempDir()
			d := testDeps(t, navConfig(t, dir))

			first := goodFile("f1.txt", day("2026-11-09"), 100000)
			middle := newPoisonFile("f2.txt")
			if pc.whole != nil {
				pc.whole(middle)
			} else {
				for i := 0; i < 20; i++ {
					if i == 10 {
						pc.poison(middle)
					}
					middle.row(200000+i, fmt.Sprintf("%d.%04d", 10+i, 10), day("2026-11-10"))
				}
			}
			last := goodFile("f3.txt", day("2026-11-11"), 100000)
			files := []*poisonFile{first, middle, last}
			want := map[string]string{}
			wantReasons := map[string]int{}
			t0 := time.Now().Add(-time.Hour)
			for i, f := range files {
				f.write(t, dir, t0.Add(time.Duration(i)*time.Minute))
				for k, v := range f.good {
					want[k] = v
				}
				for r, n := range f.reasons {
					wantReasons[r] += n
				}
			}

			st, err := runNAV(t, d)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if st.FailedUnits != 0 {
				t.Fatalf("stats %+v", st)
			}
			assertNAVStores(t, d, want)
			if got := quarantineReasons(t, d, ""); !maps.Equal(got, wantReasons) {
				t.Errorf("quarantine %v, want %v", got, wantReasons)
			}
			if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 3 {
				t.Errorf("%d files done, want 3", got)
			}
			// check nav says beforehand what the run quarantined, file by file.
			for _, f := range files {
				rep, err := navingest.CheckFile(ctx, filepath.Join(dir, f.name), navingest.Validator(nil, d.cfg.Pipelines.NAVIngest))
				if err != nil {
					t.Fatalf("check nav %s: %v", f.name, err)
				}
				got := map[string]int{}
				for r, n := range rep.Reasons {
					got[r] = n
				}
				if run := quarantineReasons(t, d, f.name); !maps.Equal(got, run) || !maps.Equal(got, f.reasons) || rep.Rows != len(f.good) {
					t.Errorf("check nav %s: %d rows, reasons %v; the run quarantined %v; the file has %d good rows and %v", f.name, rep.Rows, got, run, len(f.good), f.reasons)
				}
			}
			// Nothing is loaded twice, and the run after is clean.
			if st, err := runNAV(t, d); err != nil || st.In != 0 {
				t.Fatalf("second run: %+v %v", st, err)
			}
		})
	}
}

// assertNAVStores checks that navs and nav_history FINAL hold exactly the
// wanted keys with the wanted NAVs, and nav_latest each scheme's newest.
func assertNAVStores(t *testing.T, d *deps, want map[string]string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	pg := map[string]string{}
	rows, err := d.pg.Pool.Query(ctx, `SELECT scheme_code || '|' || nav_date::text, nav::text FROM navs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		pg[k] = v
	}
	ch := map[string]string{}
	crows, err := d.ch.Query(ctx, `SELECT concat(scheme_code, '|', toString(nav_date)), toString(nav) FROM nav_history FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	for crows.Next() {
		var k, v string
		if err := crows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		ch[k] = v
	}
	for name, got := range map[string]map[string]string{"postgres navs": pg, "clickhouse nav_history": ch} {
		if len(got) != len(want) {
			t.Errorf("%s has %d keys, want %d", name, len(got), len(want))
		}
		for k, v := range want {
			g, ok := got[k]
			if !ok || !decimal.RequireFromString(g).Equal(decimal.RequireFromString(v)) {
				t.Errorf("%s %s = %q (present %v), want %s", name, k, g, ok, v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s has %s, which is not a good row of the input", name, k)
			}
		}
	}
	newest := map[string]string{}
	for k := range want {
		code, date, _ := strings.Cut(k, "|")
		if date > newest[code] {
			newest[code] = date
		}
	}
	latest := map[string]string{}
	lrows, err := d.pg.Pool.Query(ctx, `SELECT scheme_code, nav_date::text FROM nav_latest`)
	if err != nil {
		t.Fatal(err)
	}
	for lrows.Next() {
		var c, dt string
		if err := lrows.Scan(&c, &dt); err != nil {
			t.Fatal(err)
		}
		latest[c] = dt
	}
	if !maps.Equal(latest, newest) {
		t.Errorf("nav_latest %d schemes, want %d (each at its newest good date)", len(latest), len(newest))
	}
}

func quarantineReasons(t *testing.T, d *deps, file string) map[string]int {
	t.Helper()
	rows, err := d.pg.Pool.Query(testkit.Ctx(t), `SELECT reason, count(*) FROM quarantine WHERE $1 = '' OR source_file = $1 GROUP BY reason`, file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			t.Fatal(err)
		}
		out[r] = n
	}
	return out
}

// A store refusing a batch for a reason the stage does not know (here a
// constraint added to navs for the test), in two files of five: each is
// marked failed with the error and an alert, the run says which file and
// lines (the first real error, not the cancellations around it), the files
// between and after them load, and the next run skips the failed ones and
// succeeds.
func TestNAVIngestFailsOnlyThePoisonFile(t *testing.T) {
	ctx := testkit.Ctx(t)
	dir := t.TempDir()
	d, owner := testDepsAndOwner(t, navConfig(t, dir))
	if _, err := owner.Exec(ctx, `ALTER TABLE navs ADD CONSTRAINT test_poison CHECK (scheme_code <> '277777')`); err != nil {
		t.Fatal(err)
	}
	var files []*poisonFile
	poisoned := map[string]bool{"f2.txt": true, "f4.txt": true}
	for i, date := range []string{"2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"} {
		f := goodFile(fmt.Sprintf("f%d.txt", i+1), day(date), 100000)
		if poisoned[f.name] {
			f.row(277777, "10", day(date))
		}
		files = append(files, f)
	}
	t0 := time.Now().Add(-time.Hour)
	want := map[string]string{}
	for i, f := range files {
		f.write(t, dir, t0.Add(time.Duration(i)*time.Minute))
		if !poisoned[f.name] {
			for k, v := range f.good {
				want[k] = v
			}
		}
	}
	st, err := runNAV(t, d)
	if !errors.Is(err, pipelines.ErrUnitFailed) || !strings.Contains(err.Error(), "2 unit(s)") ||
		!strings.Contains(err.Error(), "f2.txt lines 7-37") || !strings.Contains(err.Error(), "test_poison") || errors.Is(err, context.Canceled) {
		t.Fatalf("run error %v: want the failed files, the first one's lines and the cause", err)
	}
	if st.FailedUnits != 2 {
		t.Fatalf("stats %+v", st)
	}
	for name := range poisoned {
		var status, detail string
		if err := d.pg.Pool.QueryRow(ctx, `SELECT status, coalesce(error, '') FROM ingested_files WHERE name = $1`, name).Scan(&status, &detail); err != nil {
			t.Fatal(err)
		}
		if status != "failed" || !strings.Contains(detail, "test_poison") || !strings.Contains(detail, name+" lines 7-37") {
			t.Fatalf("%s is %s: %q", name, status, detail)
		}
		if got := count(t, d, `SELECT count(*) FROM alerts WHERE kind = 'file_failed' AND subject = 'nav-ingest/`+name+`' AND resolved_at IS NULL`); got != 1 {
			t.Fatalf("%d file_failed alerts for %s", got, name)
		}
	}
	if got := count(t, d, `SELECT count(*) FROM job_runs WHERE status = 'failed' AND error LIKE '%f2.txt lines 7-37%test_poison%'`); got != 1 {
		t.Fatalf("%d job_runs name the failed file", got)
	}
	if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 3 {
		t.Fatalf("%d files done, want 3", got)
	}
	// A failed file's batch reached ClickHouse while Postgres refused it
	// (they are written at once); it is taken back, so both stores hold the
	// good files' rows and nothing else.
	assertNAVStores(t, d, want)
	if st, err := runNAV(t, d); err != nil || st.In != 0 {
		t.Fatalf("next run: %+v %v (the failed files must be skipped)", st, err)
	}
}

// The stage's bounds are the columns' own types: read back from both
// databases, so a migration that changes a column cannot leave the stage
// behind.
func TestNAVLimitsMatchTheColumns(t *testing.T) {
	ctx := testkit.Ctx(t)
	d := testDeps(t, navConfig(t, t.TempDir()))
	rows, err := d.pg.Pool.Query(ctx, `SELECT table_name || '.' || column_name, numeric_precision, numeric_scale FROM information_schema.columns
		WHERE (table_name, column_name) IN (('navs', 'nav'), ('navs', 'repurchase'), ('navs', 'sale'), ('nav_latest', 'nav')) ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for rows.Next() {
		var col string
		var p, s int
		if err := rows.Scan(&col, &p, &s); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, col)
		if p != nav.NAVPrecision || s != nav.MaxNAVDecimals {
			t.Errorf("postgres %s is numeric(%d,%d), the stage checks numeric(%d,%d)", col, p, s, nav.NAVPrecision, nav.MaxNAVDecimals)
		}
	}
	sort.Strings(seen)
	if len(seen) != 4 {
		t.Fatalf("columns found: %v", seen)
	}
	var typ string
	if err := d.ch.QueryRow(ctx, `SELECT type FROM system.columns WHERE database = currentDatabase() AND table = 'nav_history' AND name = 'nav'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Decimal(%d, %d)", nav.NAVPrecision, nav.MaxNAVDecimals); typ != want {
		t.Errorf("clickhouse nav_history.nav is %s, the stage checks %s", typ, want)
	}
	if nav.MinNAVDate.Before(clickhouse.MinDate) {
		t.Errorf("the stage accepts dates from %s, ClickHouse's Date from %s", nav.MinNAVDate, clickhouse.MinDate)
	}
}
