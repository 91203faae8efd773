package clickhouse_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// BenchmarkNAVHistory writes a synthetic NAV history (20 business days ×
// FUNDFLOW_BENCH_SCALE, about 14,000 NAVs a day, batches of
// FUNDFLOW_BENCH_BATCH) through the NAVHistory sink and, batch by batch in
// alternation, through a bare clickhouse-go batch insert of the same rows
// into a table of nav_history's shape, and reports both rates and their
// ratio.
func BenchmarkNAVHistory(b *testing.B) {
	days := 20 * benchkit.Scale(b)
	bs := benchkit.BatchSize(b)
	var sinkClock, rawClock benchkit.Clock
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		conn, _ := testkit.CH(b)
		ctx := testkit.Ctx(b)
		g := benchkit.Generator(b, days)
		raw := benchkit.CHInsert{Conn: conn, Table: "bench_nav_raw"}
		if err := raw.Create(ctx); err != nil {
			b.Fatal(err)
		}
		sink := clickhouse.NAVHistory{Conn: conn}
		b.StartTimer()
		for d := 0; d < days; d++ {
			for _, batch := range benchkit.Batches(benchkit.Day(b, g, d), bs) {
				if err := rawClock.Time(len(batch), func() error { return raw.Write(ctx, batch) }); err != nil {
					b.Fatal(err)
				}
				if err := sinkClock.Time(len(batch), func() error {
					return sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: batch})
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(sinkClock.PerSec(), "rows/s")
	b.ReportMetric(rawClock.PerSec(), "insert-rows/s")
	b.ReportMetric(sinkClock.PerSec()/rawClock.PerSec(), "ratio")
	b.ReportMetric(float64(bs), "batch")
}
