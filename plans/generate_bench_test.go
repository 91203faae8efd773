package plans_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
)

// BenchmarkInstalmentRun1M times the instalment run (Generate) over
// FUNDFLOW_BENCH_PLANS live plans (default 1,000,000), each with exactly
// one instalment due on one business day (Thursday 10 Dec 2026, generated
// on Monday 7 Dec with the default 3-day horizon): monthly, weekly and
// quarterly SIPs, some with a step-up, and STPs and SWPs. Against it, in
// the same run, a bare COPY of the same instalment rows into an empty
// plan_instalments. Reports instalments/s and ratio_vs_copy (run ÷ copy
// throughput). FUNDFLOW_BENCH_BATCH sets the plans per transaction
// (default 10,000), FUNDFLOW_BENCH_WORKERS the batches written at once
// (default 2); FUNDFLOW_BENCH_CPUPROFILE=FILE profiles the run. Also
// reported: ratio_vs_copy_all, against a bare COPY of the rows and of their
// outbox events (everything the run must write).
func BenchmarkInstalmentRun1M(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_PLANS", 1_000_000)
	batch := benchkit.EnvInt(b, "FUNDFLOW_BENCH_BATCH", 10_000)
	workers := benchkit.EnvInt(b, "FUNDFLOW_BENCH_WORKERS", 2)
	owner, _, app, _ := testkit.PGApp(b)
	ctx := context.Background()
	t0 := time.Now()
	seedBenchPlans(b, ctx, owner, n)
	b.Logf("setup: %d plans in %s", n, time.Since(t0).Round(time.Millisecond))

	svc := &plans.Service{
		Store: pgstore.Store{Pool: app},
		Now:   func() time.Time { return time.Date(2026, 12, 7, 9, 0, 0, 0, fund.IST()) },
	}
	b.ResetTimer()
	var run, bare, bareOutbox time.Duration
	var runRSS float64
	for range b.N {
		if prof := os.Getenv("FUNDFLOW_BENCH_CPUPROFILE"); prof != "" {
			f, err := os.Create(prof)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
		}
		checkpoint(b, ctx, owner)
		t0 := time.Now()
		res, err := svc.GenerateWith(ctx, plans.GenerateOptions{Batch: batch, Workers: workers})
		run = time.Since(t0)
		pprof.StopCPUProfile()
		runRSS = benchkit.PeakRSSMB() // before the baseline reads every row back
		if err != nil {
			b.Fatal(err)
		}
		if res.Due != n || res.Plans != n {
			b.Fatalf("run: %+v, want %d plans and %d due", res, n, n)
		}
		b.StopTimer()
		rows := readRows(b, ctx, owner, "plan_instalments", instalmentCols)
		events := readRows(b, ctx, owner, "outbox", outboxCols)
		if len(rows) != n || len(events) != n {
			b.Fatalf("%d instalment rows and %d events, want %d", len(rows), len(events), n)
		}
		if _, err := owner.Exec(ctx, `TRUNCATE plan_instalments, outbox`); err != nil {
			b.Fatal(err)
		}
		checkpoint(b, ctx, owner)
		b.StartTimer()
		t0 = time.Now()
		if _, err := app.CopyFrom(ctx, pgx.Identifier{"plan_instalments"}, instalmentCols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		bare = time.Since(t0)
		checkpoint(b, ctx, owner)
		t0 = time.Now()
		if _, err := app.CopyFrom(ctx, pgx.Identifier{"outbox"}, outboxCols, pgx.CopyFromRows(events)); err != nil {
			b.Fatal(err)
		}
		bareOutbox = time.Since(t0)
	}
	b.StopTimer()
	ratio := bare.Seconds() / run.Seconds()
	b.ReportMetric(float64(n)/run.Seconds(), "instalments/s")
	b.ReportMetric(float64(n)/bare.Seconds(), "copy_rows/s")
	b.ReportMetric(ratio, "ratio_vs_copy")
	// Against a bare COPY of everything the run must write: the instalments
	// and their notification events.
	b.ReportMetric((bare+bareOutbox).Seconds()/run.Seconds(), "ratio_vs_copy_all")
	b.ReportMetric(run.Seconds(), "run_s")
	b.ReportMetric(runRSS, "peak_rss_MB")
	b.Logf("run %s, bare copy %s (instalments) + %s (outbox), ratio %.3f", run.Round(time.Millisecond),
		bare.Round(time.Millisecond), bareOutbox.Round(time.Millisecond), ratio)
}

var (
	instalmentCols = []string{"plan_id", "due_date", "seq", "nominal_date", "merged_nominal", "amount", "status", "reason", "notified_at", "present_after"}
	outboxCols     = []string{"event_id", "topic", "key", "payload"}
)

func readRows(b *testing.B, ctx context.Context, pool *pgxpool.Pool, table string, cols []string) [][]any {
	rows, err := pool.Query(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table+` ORDER BY 1`)
	if err != nil {
		b.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// checkpoint starts a timed phase from a fresh checkpoint, so that no phase
// pays for the WAL of the one before (the run and the copies each write
// more than max_wal_size here) and each pays its own first-touch page
// images.
func checkpoint(b *testing.B, ctx context.Context, pool *pgxpool.Pool) {
	b.StopTimer()
	defer b.StartTimer()
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		b.Logf("no checkpoint between phases (%v): the timings share checkpoints", err)
	}
}

// seedBenchPlans COPYs n plans, one version each, with the watermark of
// the run of Wednesday 9 Dec 2026 (the day before their one due date).
func seedBenchPlans(b *testing.B, ctx context.Context, pool *pgxpool.Pool, n int) {
	investors := max(n/10, 1)
	folios := max(n/5, 1)
	copyN(b, ctx, pool, "investors", []string{"id"}, investors, func(i int) []any { return []any{fmt.Sprintf("inv_%07d", i)} })
	copyN(b, ctx, pool, "folios", []string{"folio_no", "investor_id"}, folios, func(i int) []any {
		return []any{fmt.Sprintf("F%07d", i), fmt.Sprintf("inv_%07d", i%investors)}
	})
	copyN(b, ctx, pool, "mandates", []string{"id", "gateway", "investor_id", "status", "max_amount"}, folios, func(i int) []any {
		return []any{fmt.Sprintf("token_%07d", i), "razorpay", fmt.Sprintf("inv_%07d", i%investors), "confirmed", decimal.NewFromInt(1_000_000)}
	})
	wm := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
	type shape struct {
		kind, freq string
		start      time.Time
		day, wd    any
		stepPct    any
	}
	ten := decimal.NewFromInt(10)
	shapes := []shape{ // 20 slots: 12 monthly SIPs (3 with a step-up), 2 weekly, 2 quarterly, 2 STPs, 2 SWPs
		{"sip", "monthly", time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC), 10, nil, ten},
		{"sip", "monthly", time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "weekly", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil, 4, nil},
		{"sip", "quarterly", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2025, 8, 9, 0, 0, 0, 0, time.UTC), 10, nil, ten},
		{"stp", "monthly", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2023, 12, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"swp", "monthly", time.Date(2025, 5, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), 10, nil, ten},
		{"sip", "weekly", time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC), nil, 4, nil},
		{"sip", "quarterly", time.Date(2025, 12, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"stp", "monthly", time.Date(2025, 10, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"swp", "monthly", time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
		{"sip", "monthly", time.Date(2025, 12, 10, 0, 0, 0, 0, time.UTC), 10, nil, nil},
	}
	copyN(b, ctx, pool, "plans", []string{"id", "client_id", "body_sha256", "kind", "investor_id", "folio_no", "scheme_code",
		"to_scheme_code", "mandate_id", "frequency", "start_date", "step_up_pct", "status", "generated_through"}, n, func(i int) []any {
		s := shapes[i%len(shapes)]
		f := i % folios
		var to, mandate any
		switch s.kind {
		case "sip":
			mandate = fmt.Sprintf("token_%07d", f)
		case "stp":
			to = "120503"
		}
		return []any{fmt.Sprintf("pl_%07d", i), fmt.Sprintf("c_%07d", i), "x", s.kind, fmt.Sprintf("inv_%07d", f%investors),
			fmt.Sprintf("F%07d", f), "119551", to, mandate, s.freq, s.start, s.stepPct, "active", wm}
	})
	copyN(b, ctx, pool, "plan_versions", []string{"plan_id", "version", "effective_from", "amount", "day_of_month", "weekday"}, n, func(i int) []any {
		s := shapes[i%len(shapes)]
		return []any{fmt.Sprintf("pl_%07d", i), 1, s.start, decimal.NewFromInt(int64(500 + 100*(i%50))), s.day, s.wd}
	})
	// A steady-state table is vacuumed: the run should not pay for the
	// setup's hint bits.
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE plans, plan_versions, plan_pauses, plan_instalments, outbox`); err != nil {
		b.Fatal(err)
	}
}

func copyN(b *testing.B, ctx context.Context, pool *pgxpool.Pool, table string, cols []string, n int, row func(int) []any) {
	b.Helper()
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil })); err != nil {
		b.Fatalf("copy %s: %v", table, err)
	}
}
