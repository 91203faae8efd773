package postgres_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// BenchmarkNAVSink writes a synthetic NAV history (8 business days ×
// FUNDFLOW_BENCH_SCALE, about 14,000 NAVs a day, batches of
// FUNDFLOW_BENCH_BATCH) through NAVSink and, batch by batch in alternation,
// through a bare pgx CopyFrom of the same rows into a plain table of the same
// database, and reports both rates and their ratio. The first day (every
// scheme new: versions and audit rows) is written first, untimed: the rates
// are the steady state of a daily load.
func BenchmarkNAVSink(b *testing.B) {
	days := 1 + 8*benchkit.Scale(b)
	bs := benchkit.BatchSize(b)
	var sinkClock, copyClock benchkit.Clock
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pool, _ := testkit.PG(b)
		ctx := testkit.Ctx(b)
		g := benchkit.Generator(b, days)
		base := benchkit.PGCopy{Pool: pool, Table: "bench_navs_plain"}
		if err := base.Create(ctx); err != nil {
			b.Fatal(err)
		}
		sink := &postgres.NAVSink{Pool: pool}
		write := func(rows []fund.NAVLine, timed bool) {
			for _, batch := range benchkit.Batches(rows, bs) {
				copyRun := func() error { return base.Write(ctx, batch) }
				sinkRun := func() error { return sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: batch}) }
				if !timed {
					if err := copyRun(); err != nil {
						b.Fatal(err)
					}
					if err := sinkRun(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err := copyClock.Time(len(batch), copyRun); err != nil {
					b.Fatal(err)
				}
				if err := sinkClock.Time(len(batch), sinkRun); err != nil {
					b.Fatal(err)
				}
			}
		}
		write(benchkit.Day(b, g, 0), false)
		b.StartTimer()
		for d := 1; d < days; d++ {
			write(benchkit.Day(b, g, d), true)
		}
	}
	b.ReportMetric(sinkClock.PerSec(), "rows/s")
	b.ReportMetric(copyClock.PerSec(), "copy-rows/s")
	b.ReportMetric(sinkClock.PerSec()/copyClock.PerSec(), "ratio")
	b.ReportMetric(float64(bs), "batch")
}
