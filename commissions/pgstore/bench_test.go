package pgstore_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkTrailAccrualDay times one day's trail accrual (AccrueDay: the
// bands in force and each ARN's bucket from the rules, the carried NAVs, the
// rows in one INSERT ... SELECT that never leave the database, one journal
// entry per bucket, checkpoint and audit, in one transaction) for FUNDFLOW_BENCH_COMMISSION_HOLDINGS folio-scheme
// holdings (default 20,000; the size is 1,000,000) across
// FUNDFLOW_BENCH_COMMISSION_ARNS distributors (default 100; the issue's
// 5,000). Baseline, in the same run: a bare pgx COPY of the same day's rows
// into a plain table of the same columns (no key, no index). Reported:
// seconds and rows/s of each, and their ratio.
func BenchmarkTrailAccrualDay(b *testing.B) {
	holdings := benchkit.EnvInt(b, "FUNDFLOW_BENCH_COMMISSION_HOLDINGS", 20000)
	arns := benchkit.EnvInt(b, "FUNDFLOW_BENCH_COMMISSION_ARNS", 100)
	ctx := testkit.Ctx(b)
	pool, _ := testkit.PG(b)
	const schemes = 500
	folios := (holdings + 1) / 2 // two schemes a folio
	setup := []string{
		`INSERT INTO investors (id) VALUES ('I')`,
		fmt.Sprintf(`INSERT INTO folios (folio_no, investor_id, arn) SELECT 'F' || i, 'I', 'ARN-' || (i %% %d) FROM generate_series(0, %d) i`, arns, folios-1),
		fmt.Sprintf(`INSERT INTO holdings (folio_no, scheme_code, units)
			SELECT 'F' || (i / 2), 'S' || ((i / 2 + i %% 2 * 7) %% %d), round((random() * 10000)::numeric, 3) FROM generate_series(0, %d) i`, schemes, holdings-1),
		fmt.Sprintf(`INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
			SELECT 'S' || s, '2026-03-31'::date, round((10 + random() * 90)::numeric, 4), nav_source('b', 'b'), 1 FROM generate_series(0, %d) s`, schemes-1),
		fmt.Sprintf(`INSERT INTO brokerage_structures (scheme_code, plan, valid_from, trail_pct)
			SELECT 'S' || s, 'regular', '2026-01-01', 0.25 + (s %% 20) * 0.05 FROM generate_series(0, %d) s`, schemes-1),
		fmt.Sprintf(`INSERT INTO distributors (id, kind, valid_from) SELECT 'ARN-' || i, 'arn', '2020-01-01' FROM generate_series(0, %d) i`, arns-1),
		`CREATE TABLE bench_copy (LIKE trail_accruals INCLUDING DEFAULTS)`,
		`ANALYZE`,
	}
	for _, q := range setup {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatalf("%s: %v", q[:40], err)
		}
	}
	st := pgstore.Store{Pool: pool}
	svc := &commissions.Service{Store: st}
	var rows int
	var accrual, raw time.Duration
	start := fund.NewDate(2026, 4, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		day := start.AddDays(i) // NAV of 31-Mar carried: every day a full day of rows
		t0 := time.Now()
		res, err := svc.AccrueDay(ctx, day)
		if err != nil {
			b.Fatal(err)
		}
		accrual += time.Since(t0)
		rows += res.Rows
		b.StopTimer()
		// The baseline: the same rows, read back, COPYed bare.
		r, err := pool.Query(ctx, `SELECT * FROM trail_accruals WHERE day = $1`, day.Time())
		if err != nil {
			b.Fatal(err)
		}
		var vals [][]any
		for r.Next() {
			v, err := r.Values()
			if err != nil {
				b.Fatal(err)
			}
			vals = append(vals, v)
		}
		r.Close()
		cols := make([]string, len(r.FieldDescriptions()))
		for k, f := range r.FieldDescriptions() {
			cols[k] = f.Name
		}
		t1 := time.Now()
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, cols, pgx.CopyFromRows(vals)); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t1)
		b.StartTimer()
	}
	b.StopTimer()
	if rows != holdings*b.N {
		b.Fatalf("%d rows; want %d", rows, holdings*b.N)
	}
	b.ReportMetric(accrual.Seconds()/float64(b.N), "s/day")
	b.ReportMetric(float64(rows)/accrual.Seconds(), "rows/s")
	b.ReportMetric(raw.Seconds()/float64(b.N), "raw_copy_s/day")
	b.ReportMetric(float64(rows)/raw.Seconds(), "raw_copy_rows/s")
	b.ReportMetric(accrual.Seconds()/raw.Seconds(), "x_raw_copy")
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("holdings %d, distributors %d, load average %s", holdings, arns, la[:14])
	}
}
