package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

// The whole nav-ingest pipeline (file source, AMFI parser, validation,
// Postgres and ClickHouse sinks, quarantine and run bookkeeping) against
// the raw cost of writing the same rows: a bare pgx CopyFrom into a plain
// table and a bare clickhouse-go batch insert, measured in the same run
// (half before the pipeline, half after, so both see the same machine).
// Reported: the pipeline's rows/s (rows written), each baseline's rows/s,
// the ratio to each, and the ratio to both baselines one after the other
// (the raw cost of putting the rows in both stores). Kafka is not
// configured. Batches: FUNDFLOW_BENCH_BATCH rows (default 2000).

func benchDeps(tb testing.TB, dir string, batch int) *deps {
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
pipelines:
  nav-ingest:
    source:
      kind: file
      path: %s
      glob: "*.txt"
    batch_size: %d
    max_reject_rate: 0.5
`, dir, batch)))
	if err != nil {
		tb.Fatal(err)
	}
	pool, _ := testkit.PG(tb)
	ch, _ := testkit.CH(tb)
	reg := prometheus.NewRegistry()
	return &deps{cfg: cfg, log: testkit.Logger(tb), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}
}

// baselines writes the same rows raw, in the pipeline's batches.
type baselines struct {
	pg      benchkit.PGCopy
	ch      benchkit.CHInsert
	pgClock benchkit.Clock
	chClock benchkit.Clock
	batch   int
}

func newBaselines(tb testing.TB, d *deps, batch int) *baselines {
	ctx := testkit.Ctx(tb)
	b := &baselines{pg: benchkit.PGCopy{Pool: d.pg.Pool, Table: "bench_navs_plain"}, ch: benchkit.CHInsert{Conn: d.ch, Table: "bench_nav_raw"}, batch: batch}
	if err := b.pg.Create(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := b.ch.Create(ctx); err != nil {
		tb.Fatal(err)
	}
	return b
}

func (b *baselines) write(tb testing.TB, rows []fund.NAVLine) {
	ctx := testkit.Ctx(tb)
	for _, batch := range benchkit.Batches(rows, b.batch) {
		if err := b.pgClock.Time(len(batch), func() error { return b.pg.Write(ctx, batch) }); err != nil {
			tb.Fatal(err)
		}
		if err := b.chClock.Time(len(batch), func() error { return b.ch.Write(ctx, batch) }); err != nil {
			tb.Fatal(err)
		}
	}
}

func (b *baselines) report(tb *testing.B, rows int64, took time.Duration) {
	perSec := float64(rows) / took.Seconds()
	both := float64(b.pgClock.Rows) / (b.pgClock.D + b.chClock.D).Seconds()
	tb.ReportMetric(perSec, "rows/s")
	tb.ReportMetric(b.pgClock.PerSec(), "copy-rows/s")
	tb.ReportMetric(b.chClock.PerSec(), "chinsert-rows/s")
	tb.ReportMetric(perSec/b.pgClock.PerSec(), "ratio-copy")
	tb.ReportMetric(perSec/b.chClock.PerSec(), "ratio-chinsert")
	tb.ReportMetric(perSec/both, "ratio-both")
	tb.ReportMetric(float64(rows), "rows")
	tb.ReportMetric(benchkit.PeakRSSMB(), "peak-RSS-MB")
}

// validRows reads a NAV file the way the pipeline does (decoder and a fresh
// validator) and returns the rows it would write.
func validRows(tb testing.TB, path string) []fund.NAVLine {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	next, err := nav.Decode(f, fund.Origin{File: filepath.Base(path), SHA256: strings.Repeat("0", 64)})
	if err != nil {
		tb.Fatal(err)
	}
	v := nav.NewValidator(nil, nav.DefaultThresholds)
	var out []fund.NAVLine
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		if l, err := v.Stage(testkit.Ctx(tb), it); err == nil {
			out = append(out, l)
		}
	}
}

func runNAVIngest(tb testing.TB, d *deps) (pipelines.Stats, time.Duration) {
	ctx := testkit.Ctx(tb)
	t0 := time.Now()
	p, err := navIngest(ctx, d)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := p.Run(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return st, time.Since(t0)
}

// BenchmarkNAVIngestLargestFixture loads the largest real NAVAll file.
func BenchmarkNAVIngestLargestFixture(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(b, benchkit.Template)), "NAVAll_20*.txt"))
	largest, size := "", int64(0)
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() > size {
			largest, size = f, st.Size()
		}
	}
	batch := benchkit.BatchSize(b)
	rows := validRows(b, largest)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		data, err := os.ReadFile(largest)
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(largest)), data, 0o644)
		d := benchDeps(b, dir, batch)
		base := newBaselines(b, d, batch)
		base.write(b, rows)
		b.StartTimer()
		st, took := runNAVIngest(b, d)
		b.StopTimer()
		base.write(b, rows)
		if int(st.Out) != len(rows) {
			b.Fatalf("pipeline wrote %d rows, the file has %d valid", st.Out, len(rows))
		}
		base.report(b, st.Out, took)
	}
	b.Logf("%s: %d valid rows", filepath.Base(largest), len(rows))
}

// BenchmarkNAVIngestHistory loads a synthetic multi-year history: 60 ×
// FUNDFLOW_BENCH_SCALE daily NAVAll files generated from the real fixture
// (about 14,300 rows each, stale rows of wound-up schemes included, as in
// AMFI's files). FUNDFLOW_BENCH_SCALE=12 is 720 business days, 10.3 M rows.
func BenchmarkNAVIngestHistory(b *testing.B) {
	days := 60 * benchkit.Scale(b)
	batch := benchkit.BatchSize(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if _, err := benchkit.Generator(b, days).WriteNAVAllDir(dir, nil); err != nil {
			b.Fatal(err)
		}
		d := benchDeps(b, dir, batch)
		base := newBaselines(b, d, batch)
		// The baselines write the same rows, regenerated day by day (the
		// generator is deterministic), half before and half after the run.
		g := benchkit.Generator(b, days)
		half := days / 2
		for day := 0; day < half; day++ {
			base.write(b, benchkit.Day(b, g, day))
		}
		b.StartTimer()
		st, took := runNAVIngest(b, d)
		b.StopTimer()
		for day := half; day < days; day++ {
			base.write(b, benchkit.Day(b, g, day))
		}
		if st.Out != base.pgClock.Rows {
			b.Fatalf("pipeline wrote %d rows, the baselines %d", st.Out, base.pgClock.Rows)
		}
		base.report(b, st.Out, took)
		b.Logf("%d files, %d rows in, %d written, %d quarantined in %s", days, st.In, st.Out, st.Quarantined, took.Round(time.Millisecond))
	}
}
