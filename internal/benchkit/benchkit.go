// Package benchkit is what fundflow's NAV benchmarks share: the rows (a
// synthetic history generated from the real AMFI fixture), the raw
// baselines every result is divided by (a bare pgx CopyFrom into a plain
// table, a bare clickhouse-go batch insert), the size knob and peak memory.
//
// Sizes: FUNDFLOW_BENCH_SCALE multiplies the default sizes (default 1, a
// few minutes for all of `make bench`); FUNDFLOW_BENCH_BATCH sets the rows
// per batch (default 2000, nav-ingest's default batch_size until session
// 36; it is 16000 now).
package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/navgen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Template is the real NAVAll file the synthetic history is generated from.
const Template = "amfi/navall/NAVAll_2026-08-18_last-6col.txt"

// Scale returns FUNDFLOW_BENCH_SCALE (default 1).
func Scale(tb testing.TB) int { return envInt(tb, "FUNDFLOW_BENCH_SCALE", 1) }

// BatchSize returns FUNDFLOW_BENCH_BATCH (default 2000).
func BatchSize(tb testing.TB) int { return envInt(tb, "FUNDFLOW_BENCH_BATCH", 2000) }

// EnvInt returns the positive integer in variable name (default def): a
// benchmark's size knob.
func EnvInt(tb testing.TB, name string, def int) int { return envInt(tb, name, def) }

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// Generator returns a generator of days business days of history ending at
// the template's date, with no N.A. rows (every generated row is a NAV).
func Generator(tb testing.TB, days int) *navgen.Generator {
	tb.Helper()
	f, err := os.Open(testkit.Fixture(tb, Template))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	t, err := navgen.LoadTemplate(f)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := navgen.New(t, navgen.Options{Days: days, Seed: 42, NAEvery: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// Day returns the NAVs of day index i of g (call in ascending order) with
// a lineage as if read from that day's file.
func Day(tb testing.TB, g *navgen.Generator, i int) []fund.NAVLine {
	d := g.Days()[i]
	src := fund.Origin{File: navgen.NAVAllName(d), SHA256: fmt.Sprintf("%064x", i+1)}
	var out []fund.NAVLine
	if err := g.Records(i, func(r fund.NAVRecord) {
		src.Line++
		out = append(out, fund.NAVLine{NAVRecord: r, From: src})
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Batches cuts rows into batches of n.
func Batches(rows []fund.NAVLine, n int) [][]fund.NAVLine {
	var out [][]fund.NAVLine
	for len(rows) > 0 {
		k := min(n, len(rows))
		out = append(out, rows[:k])
		rows = rows[k:]
	}
	return out
}

// PGCopy is the Postgres baseline: a bare pgx CopyFrom of NAV rows as they
// are parsed (the file's name and SHA-256 on every row, as navs held them
// before migration 069 and a plain tool would write them) into a plain
// table, with no key, no index and nothing else: each call one COPY,
// committed on its own.
type PGCopy struct {
	Pool  *pgxpool.Pool
	Table string
}

var pgColumns = []string{"scheme_code", "nav_date", "nav", "repurchase", "sale", "source_file", "source_sha256", "source_line"}

// Create makes the plain table.
func (c PGCopy) Create(ctx context.Context) error {
	_, err := c.Pool.Exec(ctx, `CREATE TABLE `+c.Table+` (scheme_code text, nav_date date, nav numeric(18,8),
		repurchase numeric(18,8), sale numeric(18,8), source_file text, source_sha256 text, source_line integer)`)
	return err
}

// Write copies rows.
func (c PGCopy) Write(ctx context.Context, rows []fund.NAVLine) error {
	i := 0
	_, err := c.Pool.CopyFrom(ctx, pgx.Identifier{c.Table}, pgColumns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(rows) {
			return nil, nil
		}
		n := &rows[i]
		i++
		return []any{n.SchemeCode, n.Date.Time(), n.NAV, n.Repurchase, n.Sale, n.From.File, n.From.SHA256, n.From.Line}, nil
	}))
	return err
}

// CHInsert is the ClickHouse baseline: a bare clickhouse-go batch insert
// (PrepareBatch, Append, Send) of the nav_history columns into a table of
// the same shape as nav_history.
type CHInsert struct {
	Conn  driver.Conn
	Table string
}

// Create makes the table, like nav_history.
func (c CHInsert) Create(ctx context.Context) error {
	return c.Conn.Exec(ctx, `CREATE TABLE `+c.Table+` (scheme_code String, nav_date Date, nav Decimal(18, 8), amc String,
		category String, source_sha256 String, source_line UInt32, loaded_at DateTime)
		ENGINE = ReplacingMergeTree(loaded_at) ORDER BY (scheme_code, nav_date)`)
}

// Write inserts rows as one block.
func (c CHInsert) Write(ctx context.Context, rows []fund.NAVLine) error {
	b, err := c.Conn.PrepareBatch(ctx, `INSERT INTO `+c.Table+` (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i := range rows {
		n := &rows[i]
		if err := b.Append(n.SchemeCode, n.Date.Time(), n.NAV, n.AMC, n.Category, n.From.SHA256, uint32(n.From.Line), now); err != nil {
			return err
		}
	}
	return b.Send()
}

// Clock adds up the time spent in the calls it times, so two contenders
// timed in alternation share whatever else the machine is doing.
type Clock struct {
	D    time.Duration
	Rows int64
}

// Time runs f, adding its duration and rows.
func (c *Clock) Time(rows int, f func() error) error {
	t0 := time.Now()
	err := f()
	c.D += time.Since(t0)
	c.Rows += int64(rows)
	return err
}

// PerSec is rows per second.
func (c *Clock) PerSec() float64 {
	if c.D <= 0 {
		return 0
	}
	return float64(c.Rows) / c.D.Seconds()
}

// Median is the middle of v (the mean of the middle two for an even
// count; 0 for none). v is left as it was. A NaN sorts first: a caller
// whose values can be NaN (a rate over no time) checks them first.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// PeakRSSMB returns this process's peak resident memory (VmHWM) in MB, or 0
// where /proc is not available.
func PeakRSSMB() float64 { return ProcStatusMB(0, "VmHWM") }

// ProcStatusMB is a memory field of /proc/PID/status (VmRSS, VmHWM) of
// process pid (0: this one) in MB, or 0 where it cannot be read.
func ProcStatusMB(pid int, field string) float64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// ProcCPU is a process's user and system CPU time so far, from /proc (a
// Postgres backend's, by its pid), false where it cannot be read.
func ProcCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: fields
	// count from after its closing one (utime, stime are fields 14, 15).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond, true // USER_HZ is 100 on Linux
}
