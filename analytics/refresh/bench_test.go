package refresh_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkRefreshReturnsAndRisk: refreshing scheme_returns and
// scheme_risk for N schemes × 10 years of daily NAVs (business days), as a
// ratio against a bare SELECT of the same nav_history rows measured in the
// same run (and against the same rows without FINAL: ratio-plain). N is
// FUNDFLOW_BENCH_ANALYTICS_SCHEMES (default 40; the issue's
// whole universe, ~14,000 schemes and ~35 M rows, is
// FUNDFLOW_BENCH_ANALYTICS_SCHEMES=14000).
func BenchmarkRefreshReturnsAndRisk(b *testing.B) {
	schemes := benchkit.EnvInt(b, "FUNDFLOW_BENCH_ANALYTICS_SCHEMES", 40)
	asOf := fund.NewDate(2026, 8, 14)
	var refreshClock, selectClock, plainClock benchkit.Clock
	var refreshCPU float64 // this process's CPU seconds in the refresh (ClickHouse's not counted)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ch, _ := testkit.CH(b)
		pool, _ := testkit.PG(b)
		ctx := testkit.Ctx(b)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		cats := []string{"Equity Scheme - Large Cap Fund", "Equity Scheme - Flexi Cap Fund", "Debt Scheme - Gilt Fund", "Hybrid Scheme - Balanced Advantage"}
		rows := 0
		// one block of ~500k rows at a time: a block per scheme would make
		// thousands of parts, which ClickHouse throttles
		var batch driver.Batch
		for s := range schemes {
			if batch == nil {
				var err error
				if batch, err = ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`); err != nil {
					b.Fatal(err)
				}
			}
			nav := int64(100_0000 + rng.IntN(900_0000)) // 4 decimals
			for d := asOf.AddDays(-3652); !d.After(asOf); d = d.AddDays(1) {
				if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
					continue
				}
				nav = max(1, nav+nav*int64(rng.IntN(401)-195)/10000) // about ±2 % a day
				if err := batch.Append(benchCode(s), d.Time(), decimal.New(nav, -4), "AMC", cats[s%len(cats)], "bench", uint32(1), time.Now()); err != nil {
					b.Fatal(err)
				}
				rows++
			}
			if batch.Rows() >= 500_000 || s == schemes-1 {
				if err := batch.Send(); err != nil {
					b.Fatal(err)
				}
				batch = nil
			}
		}
		if err := ch.Exec(ctx, `OPTIMIZE TABLE nav_history FINAL`); err != nil {
			b.Fatal(err)
		}
		// phases on stderr: the full universe takes many minutes
		fmt.Fprintf(os.Stderr, "refresh bench: %d schemes, %d NAV rows generated and merged at %s\n", schemes, rows, time.Now().Format(time.TimeOnly))
		from := asOf.AddDays(-(5*366 + 40)) // the refresh's read
		b.StartTimer()
		var read int
		if err := selectClock.Time(0, func() error {
			r, err := ch.Query(ctx, `SELECT scheme_code, nav_date, nav, category FROM nav_history FINAL
				WHERE nav_date >= toDate(?) AND nav_date <= toDate(?) ORDER BY scheme_code, nav_date`, from.String(), asOf.String())
			if err != nil {
				return err
			}
			defer r.Close()
			var code, cat string
			var d time.Time
			var nav decimal.Decimal
			for r.Next() {
				if err := r.Scan(&code, &d, &nav, &cat); err != nil {
					return err
				}
				read++
			}
			return r.Err()
		}); err != nil {
			b.Fatal(err)
		}
		selectClock.Rows += int64(read)
		fmt.Fprintf(os.Stderr, "refresh bench: bare SELECT of %d rows in %s\n", read, selectClock.D)
		// a second baseline: the same rows without FINAL or ORDER BY (what
		// the refresh reads when no NAV is repeated), three columns
		plain := 0
		if err := plainClock.Time(0, func() error {
			r, err := ch.Query(ctx, `SELECT scheme_code, nav_date, nav FROM nav_history
				WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`, from.String(), asOf.String())
			if err != nil {
				return err
			}
			defer r.Close()
			var code string
			var d time.Time
			var nav decimal.Decimal
			for r.Next() {
				if err := r.Scan(&code, &d, &nav); err != nil {
					return err
				}
				plain++
			}
			return r.Err()
		}); err != nil {
			b.Fatal(err)
		}
		if plain != read {
			b.Fatalf("plain SELECT %d rows, FINAL %d", plain, read)
		}
		fmt.Fprintf(os.Stderr, "refresh bench: plain SELECT (no FINAL) in %s\n", plainClock.D)
		cpu0 := cpuSeconds(b)
		if err := refreshClock.Time(read, func() error {
			mc, err := refresh.Refresher{PG: pool, CH: ch, RiskFree: decimal.RequireFromString("0.065")}.ReturnsAndRisk(ctx, asOf)
			if err == nil && mc.RiskSchemes != schemes {
				b.Fatalf("risk for %d of %d schemes", mc.RiskSchemes, schemes)
			}
			return err
		}); err != nil {
			b.Fatal(err)
		}
		refreshCPU += cpuSeconds(b) - cpu0
		b.ReportMetric(float64(rows), "nav-rows")
	}
	b.ReportMetric(refreshClock.D.Seconds()/float64(b.N), "refresh-s")
	b.ReportMetric(selectClock.D.Seconds()/float64(b.N), "select-s")
	b.ReportMetric(refreshClock.D.Seconds()/selectClock.D.Seconds(), "ratio")
	b.ReportMetric(plainClock.D.Seconds()/float64(b.N), "select-plain-s")
	b.ReportMetric(refreshClock.D.Seconds()/plainClock.D.Seconds(), "ratio-plain")
	b.ReportMetric(benchkit.PeakRSSMB(), "peak-MB")
	// on a shared machine the wall clock is mostly waiting for a core: the
	// refresh's own CPU time says what it costs
	b.ReportMetric(refreshCPU/float64(b.N), "refresh-cpu-s")
}

// cpuSeconds is the user and system CPU time this process has used.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func benchCode(i int) string {
	return "B" + string(rune('0'+i/10000%10)) + string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}
