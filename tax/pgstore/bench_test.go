package pgstore_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/tax/pgstore"
)

// BenchmarkCapitalGainsFY computes every investor's capital-gains statement
// for FY 2025-26 (tax.Service.Each, streamed one investor at a time) over a
// `gen ledger` population of FUNDFLOW_BENCH_TAX_FOLIOS folios (default
// 2,000; the size is 1,000,000 folios, ≈ 5 M transactions), and in
// the same run a bare scan of every lot (holding_lots, each row's numerics
// read into decimals). Reports run_s, bare_s, ratio_vs_bare (run ÷ bare
// time), lots and statements per second, the peak RSS after the run and
// the largest Go heap seen during it (sampled every 256 statements: flat
// means it does not grow with the population), and setup_s. The setup
// COPYs only what capital gains reads (ledgergen.LotsOnly: no orders,
// payments, postings or holdings, three rows in four at this shape), so a
// population takes minutes, not an hour.
func BenchmarkCapitalGainsFY(b *testing.B) {
	folios := benchkit.EnvInt(b, "FUNDFLOW_BENCH_TAX_FOLIOS", 2000)
	ctx := context.Background()
	owner, _, app, _ := testkit.PGApp(b)
	t0 := time.Now()
	st, err := ledgergen.Generate(ctx, owner, ledgergen.Options{Folios: folios, End: fund.NewDate(2026, 3, 31), Days: 1100, Seed: 17, Log: testkit.Logger(b), LotsOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	setup := time.Since(t0)
	b.Logf("setup: %d folios, %d transactions, %d lots, %d consumptions in %s", st.Folios, st.Transactions, st.Lots, st.Consumptions, time.Since(t0).Round(time.Millisecond))
	svc := &tax.Service{Store: &pgstore.Store{Pool: app}}
	b.ResetTimer()
	var run, bare time.Duration
	var lots, statements, scanned int64
	var heapMax uint64
	var rss float64
	for range b.N {
		lots, statements, heapMax = 0, 0, 0
		t0 := time.Now()
		err := svc.Each(ctx, "", ftax.FY{Start: 2025}, func(s *tax.Statement) error {
			statements++
			for _, sg := range s.Schemes {
				lots += int64(len(sg.Lots))
			}
			if statements%256 == 1 {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				heapMax = max(heapMax, m.HeapInuse)
			}
			return nil
		})
		run = time.Since(t0)
		rss = benchkit.PeakRSSMB()
		if err != nil {
			b.Fatal(err)
		}

		var n atomic.Int64
		t0 = time.Now()
		rows, err := app.Query(ctx, `SELECT id, folio_no, scheme_code, nav_date, units, units_remaining, cost FROM holding_lots`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var folio, scheme string
			var d time.Time
			var u, rem, cost decimal.Decimal
			if err := rows.Scan(&id, &folio, &scheme, &d, &u, &rem, &cost); err != nil {
				b.Fatal(err)
			}
			n.Add(1)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		bare = time.Since(t0)
		scanned = n.Load()
	}
	if statements == 0 || lots == 0 {
		b.Fatalf("no transfers in FY 2025-26: %d statements", statements)
	}
	b.ReportMetric(setup.Seconds(), "setup_s")
	b.ReportMetric(run.Seconds(), "run_s")
	b.ReportMetric(bare.Seconds(), "bare_s")
	b.ReportMetric(run.Seconds()/bare.Seconds(), "ratio_vs_bare")
	b.ReportMetric(float64(lots)/run.Seconds(), "lot_gains/s")
	b.ReportMetric(float64(statements), "statements")
	b.ReportMetric(float64(lots), "lot_gains")
	b.ReportMetric(float64(scanned), "lots_scanned")
	b.ReportMetric(rss, "peak_rss_MB")
	b.ReportMetric(float64(heapMax)/(1<<20), "heap_max_MB")
}
