package query_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkNAVSnapshot: loading the folio risk's NAV snapshot
// (query.Service.NAVSnapshot) over every scheme of the real NAVAll
// template (benchkit.Template, ~14,000 schemes) with
// FUNDFLOW_BENCH_NAV_SNAPSHOT_DAYS weekdays of NAVs (default 290, more
// than the snapshot's year and 31 days), against a bare read of the same
// rows (the columns scanned as pgstore reads NAVs) in the same run; and
// the heap the snapshot keeps.
func BenchmarkNAVSnapshot(b *testing.B) {
	days := benchkit.EnvInt(b, "FUNDFLOW_BENCH_NAV_SNAPSHOT_DAYS", 290)
	pool, _ := testkit.PG(b)
	ctx := testkit.Ctx(b)
	g := benchkit.Generator(b, days)
	// each (scheme, date) once: a scheme whose NAV stopped repeats its date
	// in every later file
	last := map[string]fund.Date{}
	var rows [][]any
	sources := map[string]int32{} // file → its nav_sources id
	for i := range g.Days() {
		for _, n := range benchkit.Day(b, g, i) {
			if d, ok := last[n.SchemeCode]; ok && !n.Date.After(d) {
				continue
			}
			last[n.SchemeCode] = n.Date
			src, ok := sources[n.From.File]
			if !ok {
				if err := pool.QueryRow(ctx, `SELECT nav_source($1, $2)`, n.From.File, n.From.SHA256).Scan(&src); err != nil {
					b.Fatal(err)
				}
				sources[n.From.File] = src
			}
			rows = append(rows, []any{n.SchemeCode, n.Date.Time(), n.NAV, src, n.From.Line})
		}
	}
	t0 := time.Now()
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"navs"}, []string{"scheme_code", "nav_date", "nav", "source_id", "source_line"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "nav snapshot bench: %d NAVs of %d schemes, %d days, copied in %s\n", len(rows), len(last), days, time.Since(t0).Round(time.Second))
	rows = nil
	svc := query.Service{PG: pool}
	var load, bare benchkit.Clock
	var snap *query.NAVSnapshot
	var heap float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		read := 0
		if err := bare.Time(0, func() error {
			r, err := pool.Query(ctx, `SELECT scheme_code, nav_date, nav, loaded_at FROM navs WHERE nav_date >= $1 ORDER BY scheme_code, nav_date`,
				g.Days()[days-1].AddDays(-(365 + query.NAVWindowSlackDays)).Time())
			if err != nil {
				return err
			}
			defer r.Close()
			var code string
			var d, at time.Time
			var nav decimal.Decimal
			for r.Next() {
				if err := r.Scan(&code, &d, &nav, &at); err != nil {
					return err
				}
				read++
			}
			return r.Err()
		}); err != nil {
			b.Fatal(err)
		}
		snap = nil
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if err := load.Time(0, func() error {
			var err error
			snap, err = svc.NAVSnapshot(ctx)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		heap = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / (1 << 20)
		if snap.Rows != read {
			b.Fatalf("snapshot of %d NAVs, the bare read %d", snap.Rows, read)
		}
	}
	b.StopTimer()
	fmt.Fprintf(os.Stderr, "nav snapshot bench: %d NAVs of %d schemes from %s in %s; the bare read %s; %.0f MB kept\n",
		snap.Rows, snap.Len(), snap.From, load.D/time.Duration(b.N), bare.D/time.Duration(b.N), heap)
	b.ReportMetric(load.D.Seconds()/float64(b.N), "snapshot-s")
	b.ReportMetric(bare.D.Seconds()/float64(b.N), "bare-s")
	b.ReportMetric(load.D.Seconds()/bare.D.Seconds(), "ratio")
	b.ReportMetric(float64(snap.Rows), "navs")
	b.ReportMetric(float64(snap.Len()), "schemes")
	b.ReportMetric(heap, "heap-MB")
}
