package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/rta"
)

// BenchmarkFolioRecon runs folio-recon (file source, RTA parsers, COPY into
// staging, the reconciliation joins in Postgres, the report and the
// ClickHouse history) over feeds generated from a synthetic ledger with 1 %
// of its folios given a difference. Size: 5,000 × FUNDFLOW_BENCH_SCALE
// folios ≈ 10,000 × SCALE folio-scheme holdings and 50,000 × SCALE
// transactions; FUNDFLOW_BENCH_SCALE=100 is the full size (1 M holdings,
// 5 M transactions; generating that ledger takes several minutes, untimed).
//
// Baselines, measured in the same run on the same data:
//   - raw_copy: Postgres' own COPY … (FORMAT csv) of the same feed files
//     into plain tables of text columns (no parsing of ours, no key): the
//     floor of getting these bytes into the database;
//   - raw_join: the bare comparison — the ledger's units per folio and scheme
//     as of the date FULL JOIN the staged RTA holdings, and the ledger's
//     allotments FULL JOIN the RTA's transactions by order id — counted,
//     with no causes, duplicates, lifecycle or report.
//
// Reported: seconds of the load, the reconciliation and the report; the
// ratios load/raw_copy and recon/raw_join; rows per second; the Go heap's
// peak during the run (sampled) and the process's peak RSS (VmHWM, which
// includes the untimed generation).
func BenchmarkFolioRecon(b *testing.B) {
	scale := benchkit.Scale(b)
	folios := 5000 * scale
	ctx := testkit.Ctx(b)
	pool, _ := testkit.PG(b)
	ch, _ := testkit.CH(b)
	asOf := fund.NewDate(2026, 8, 21)
	dir := b.TempDir()
	reports := b.TempDir()
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
pipelines:
  folio-recon:
    source: {kind: file, path: %s, glob: "*_*_*"}
    report_dir: %s
    max_reject_rate: 0.5
`, dir, reports)))
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	d := &deps{cfg: cfg, log: testkit.Logger(b), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}

	t0 := time.Now()
	gst, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: folios, Seed: 1, End: asOf, Days: 730, Log: d.log})
	if err != nil {
		b.Fatal(err)
	}
	res, err := rtagen.Generate(ctx, pool, rtagen.Options{AsOf: asOf, Out: dir, Rate: 0.01, Seed: 2, Truth: filepath.Join(b.TempDir(), "truth.jsonl"), Log: d.log})
	if err != nil {
		b.Fatal(err)
	}
	genSecs := time.Since(t0).Seconds()
	b.Logf("generated %d folios, %d holdings, %d transactions, feeds %v in %.1fs", gst.Folios, gst.Holdings, gst.Transactions, res.Files, genSecs)

	rawCopy := copyBaseline(b, pool, res.Files)

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // sample the heap while folio-recon runs
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	var out recon.Outcome
	for i := 0; i < b.N; i++ {
		if out, err = folioRecon(ctx, d, asOf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()

	b.Logf("reconciliation steps: %+v", out.Recon.Steps)
	rawJoin := joinBaseline(b, pool, asOf)
	rows := float64(out.Load.Out)
	b.ReportMetric(float64(out.Recon.RTAHoldings), "rta_holdings")
	b.ReportMetric(float64(out.Recon.RTATransactions), "rta_transactions")
	b.ReportMetric(float64(out.Recon.Breaks), "breaks")
	b.ReportMetric(out.Load.Seconds, "load_s")
	b.ReportMetric(out.ReconSecs, "recon_s")
	b.ReportMetric(out.ReportSecs, "report_s")
	b.ReportMetric(rows/out.Load.Seconds, "load_rows/s")
	b.ReportMetric(rawCopy, "raw_copy_s")
	b.ReportMetric(out.Load.Seconds/rawCopy, "load/raw_copy")
	b.ReportMetric(rawJoin, "raw_join_s")
	b.ReportMetric(out.ReconSecs/rawJoin, "recon/raw_join")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak_heap_MB")
	b.ReportMetric(benchkit.PeakRSSMB(), "peak_rss_MB")
}

// copyBaseline loads the feed files with Postgres' own CSV COPY into plain
// tables of text columns and returns the seconds it took.
func copyBaseline(b *testing.B, pool *pgxpool.Pool, files []string) float64 {
	ctx := testkit.Ctx(b)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	var took time.Duration
	for i, path := range files {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		p, err := rta.NewParser(f) // only to learn the columns and the delimiter
		if err != nil {
			b.Fatal(err)
		}
		cols := make([]string, len(p.Layout().Columns))
		for j := range cols {
			cols[j] = fmt.Sprintf("c%d text", j)
		}
		table := fmt.Sprintf("bench_raw_feed_%d", i)
		if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" ("+strings.Join(cols, ", ")+")"); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := conn.Conn().PgConn().CopyFrom(ctx, f, fmt.Sprintf("COPY %s FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER '%c')", table, p.Delimiter())); err != nil {
			b.Fatalf("raw copy of %s: %v", path, err)
		}
		took += time.Since(t0)
		f.Close()
	}
	return took.Seconds()
}

// joinBaseline runs the bare comparison and returns the seconds it took.
func joinBaseline(b *testing.B, pool *pgxpool.Pool, asOf fund.Date) float64 {
	ctx := testkit.Ctx(b)
	t0 := time.Now()
	var h, t int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM (SELECT folio_no, scheme_code, sum(CASE WHEN kind IN ('purchase', 'switch_in') THEN units ELSE -units END) AS u
			                       FROM ledger_transactions WHERE nav_date <= $1 GROUP BY 1, 2) l
			 FULL JOIN (SELECT r.folio, m.scheme_code, r.units FROM rta_holding_rows r JOIN rta_schemes m USING (rta, product_code)
			            WHERE r.as_of = $1) h ON h.folio = l.folio_no AND h.scheme_code = l.scheme_code
			 WHERE h.units IS DISTINCT FROM l.u),
			(SELECT count(*) FROM (SELECT order_id, CASE WHEN kind IN ('purchase', 'switch_in') THEN units ELSE -units END AS u
			                       FROM ledger_transactions WHERE nav_date <= $1) l
			 FULL JOIN rta_txn_rows r ON r.user_ref = l.order_id WHERE r.units IS DISTINCT FROM l.u)`, asOf.Time()).Scan(&h, &t)
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(t0).Seconds()
}
