package refresh_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/navgen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkRefreshReturnsAndRisk: refreshing scheme_returns and
// scheme_risk for N schemes × 10 years of daily NAVs (business days), as a
// ratio against a bare SELECT of the same nav_history rows measured in the
// same run (and against the same rows without FINAL: ratio-plain). N is
// FUNDFLOW_BENCH_ANALYTICS_SCHEMES (default 40). The whole universe from
// the real file is BenchmarkRefreshUniverse.
func BenchmarkRefreshReturnsAndRisk(b *testing.B) {
	schemes := benchkit.EnvInt(b, "FUNDFLOW_BENCH_ANALYTICS_SCHEMES", 40)
	asOf := fund.NewDate(2026, 8, 14)
	var m refreshMeasure
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
				if batch, err = ch.PrepareBatch(ctx, navHistoryInsert); err != nil {
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
		b.StartTimer()
		m.measure(b, ch, pool, asOf, schemes)
		b.ReportMetric(float64(rows), "nav-rows")
	}
	m.report(b)
}

// UniverseTemplate is the largest real NAVAll file (15,834 schemes):
// BenchmarkRefreshUniverse is 10 years of its NAVs.
const UniverseTemplate = "amfi/navall/NAVAll_2019-06-21.txt"

// BenchmarkRefreshUniverse is the measure: 10 years of business-day
// NAVs for every scheme of the largest real file (`gen nav-history`'s
// walk, internal/navgen, no N.A. rows), the refresh of returns, rolling
// returns and risk as of its date, against a bare SELECT of the same rows
// in the same run. The load (minutes) is done once into the ClickHouse
// database FUNDFLOW_BENCH_ANALYTICS_DB when set (kept, not dropped: a
// rerun finds the rows and only measures); unset, a fresh database.
// FUNDFLOW_BENCH_CPUPROFILE=FILE writes a CPU profile of the refresh alone.
func BenchmarkRefreshUniverse(b *testing.B) {
	b.StopTimer()
	days := benchkit.EnvInt(b, "FUNDFLOW_BENCH_ANALYTICS_DAYS", 2609) // 10 years of weekdays
	var ch driver.Conn
	if name := os.Getenv("FUNDFLOW_BENCH_ANALYTICS_DB"); name != "" {
		ch, _ = testkit.KeptCH(b, name)
	} else {
		ch, _ = testkit.CH(b)
	}
	pool, _ := testkit.PG(b)
	ctx := testkit.Ctx(b)
	f, err := os.Open(testkit.Fixture(b, UniverseTemplate))
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := navgen.LoadTemplate(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	g, err := navgen.New(tmpl, navgen.Options{Days: days, Seed: 42, NAEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	asOf := g.Days()[days-1]
	var have uint64
	if err := ch.QueryRow(ctx, `SELECT count() FROM nav_history`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == 0 {
		t0 := time.Now()
		rows, err := loadNAVs(ctx, ch, g)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "refresh bench: %d NAV rows of %d days generated from %s and loaded in %s\n", rows, days, UniverseTemplate, time.Since(t0).Round(time.Second))
		t0 = time.Now()
		if err := ch.Exec(ctx, `OPTIMIZE TABLE nav_history FINAL`); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "refresh bench: merged in %s\n", time.Since(t0).Round(time.Second))
		have = uint64(rows)
	} else {
		fmt.Fprintf(os.Stderr, "refresh bench: reusing %d NAV rows already in the kept database\n", have)
	}
	var schemes uint64
	if err := ch.QueryRow(ctx, `SELECT uniqExact(scheme_code) FROM nav_history`).Scan(&schemes); err != nil {
		b.Fatal(err)
	}
	var m refreshMeasure
	m.profile = os.Getenv("FUNDFLOW_BENCH_CPUPROFILE")
	for i := 0; i < b.N; i++ {
		b.StartTimer()
		m.measure(b, ch, pool, asOf, 0)
		b.StopTimer()
	}
	b.ReportMetric(float64(have), "nav-rows")
	b.ReportMetric(float64(schemes), "schemes")
	m.report(b)
	snapshotLoad(b, ch)
}

// snapshotLoad times the API's in-memory snapshot of the models
// (query.Service.Snapshot, what serve loads at start and after each
// refresh) over the refreshed universe, against a bare read of the same
// four model tables in the same run (every row, no FINAL, no latest-as_of
// filter, rows drained unscanned).
func snapshotLoad(b *testing.B, ch driver.Conn) {
	ctx := testkit.Ctx(b)
	var bare, load benchkit.Clock
	if err := bare.Time(0, func() error {
		for _, t := range []string{"scheme_risk", "scheme_returns", "scheme_rolling_returns", "aum_daily"} {
			r, err := ch.Query(ctx, `SELECT * FROM `+t)
			if err != nil {
				return err
			}
			for r.Next() {
			}
			if err := r.Err(); err != nil {
				return err
			}
			r.Close()
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var snap *query.Snapshot
	if err := load.Time(0, func() error {
		var err error
		snap, err = query.Service{CH: ch}.Snapshot(ctx)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "refresh bench: models snapshot of %d schemes loaded in %s; the bare read of the tables %s\n", snap.Len(), load.D, bare.D)
	b.ReportMetric(load.D.Seconds(), "snapshot-s")
	b.ReportMetric(bare.D.Seconds(), "snapshot-bare-s")
	b.ReportMetric(float64(snap.Len()), "snapshot-schemes")
}

const navHistoryInsert = `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`

// loadNAVs inserts every day of g into nav_history, about 500k rows a
// block (a block per day would make thousands of parts).
func loadNAVs(ctx context.Context, ch driver.Conn, g *navgen.Generator) (int, error) {
	rows := 0
	now := time.Now().UTC().Truncate(time.Second)
	var batch driver.Batch
	for i, d := range g.Days() {
		if batch == nil {
			var err error
			if batch, err = ch.PrepareBatch(ctx, navHistoryInsert); err != nil {
				return rows, err
			}
		}
		var appendErr error
		line := uint32(0)
		sha := fmt.Sprintf("%064x", i+1)
		if err := g.Records(i, func(r fund.NAVRecord) {
			line++
			if appendErr == nil {
				appendErr = batch.Append(r.SchemeCode, r.Date.Time(), r.NAV, r.AMC, r.Category, sha, line, now)
			}
		}); err != nil {
			return rows, err
		}
		if appendErr != nil {
			return rows, appendErr
		}
		rows += int(line)
		if batch.Rows() >= 500_000 || i == len(g.Days())-1 {
			if err := batch.Send(); err != nil {
				return rows, err
			}
			batch = nil
		}
		if i%250 == 0 {
			fmt.Fprintf(os.Stderr, "refresh bench: day %d of %d (%s), %d rows\n", i+1, len(g.Days()), d, rows)
		}
	}
	return rows, nil
}

// refreshMeasure times the refresh against the bare SELECTs of the same
// rows, in the same run.
type refreshMeasure struct {
	refreshClock, selectClock, plainClock benchkit.Clock
	refreshCPU                            float64 // this process's CPU seconds in the refresh (ClickHouse's not counted)
	runs                                  int
	profile                               string // a CPU profile of the refresh, when set
}

// measure times, in turn, the bare SELECT … FINAL, the plain SELECT and the
// refresh of nav_history as of asOf; wantSchemes > 0 checks the refresh
// wrote risk for that many.
func (m *refreshMeasure) measure(b *testing.B, ch driver.Conn, pool *pgxpool.Pool, asOf fund.Date, wantSchemes int) {
	ctx := testkit.Ctx(b)
	m.runs++
	from := asOf.AddDays(-(5*366 + 40)) // the refresh's read
	var read int
	if err := m.selectClock.Time(0, func() error {
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
	m.selectClock.Rows += int64(read)
	fmt.Fprintf(os.Stderr, "refresh bench: bare SELECT of %d rows in %s\n", read, m.selectClock.D)
	// a second baseline: the same rows without FINAL or ORDER BY (what
	// the refresh reads when no NAV is repeated), three columns
	plain := 0
	if err := m.plainClock.Time(0, func() error {
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
	fmt.Fprintf(os.Stderr, "refresh bench: plain SELECT (no FINAL) in %s\n", m.plainClock.D)
	if m.profile != "" {
		pf, err := os.Create(m.profile)
		if err != nil {
			b.Fatal(err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuSeconds(b)
	var mc refresh.ModelCounts
	t0 := m.refreshClock.D
	if err := m.refreshClock.Time(read, func() error {
		var err error
		// the refresh's queries in system.query_log (ClickHouse's side)
		qctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
		mc, err = refresh.Refresher{PG: pool, CH: ch, RiskFree: decimal.RequireFromString("0.065")}.ReturnsAndRisk(qctx, asOf)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	m.refreshCPU += cpuSeconds(b) - cpu0
	if wantSchemes > 0 && mc.RiskSchemes != wantSchemes {
		b.Fatalf("risk for %d of %d schemes", mc.RiskSchemes, wantSchemes)
	}
	fmt.Fprintf(os.Stderr, "refresh bench: refresh in %s (%d returns, %d rolling, risk for %d schemes; read done at %s, figures at %s, written at %s)\n",
		m.refreshClock.D-t0, mc.Returns, mc.Rolling, mc.RiskSchemes, mc.ReadDone.Round(time.Millisecond), mc.ComputeDone.Round(time.Millisecond), mc.WriteDone.Round(time.Millisecond))
}

func (m *refreshMeasure) report(b *testing.B) {
	n := float64(m.runs)
	b.ReportMetric(m.refreshClock.D.Seconds()/n, "refresh-s")
	b.ReportMetric(m.selectClock.D.Seconds()/n, "select-s")
	b.ReportMetric(m.refreshClock.D.Seconds()/m.selectClock.D.Seconds(), "ratio")
	b.ReportMetric(m.plainClock.D.Seconds()/n, "select-plain-s")
	b.ReportMetric(m.refreshClock.D.Seconds()/m.plainClock.D.Seconds(), "ratio-plain")
	b.ReportMetric(benchkit.PeakRSSMB(), "peak-MB")
	// on a shared machine the wall clock is mostly waiting for a core: the
	// refresh's own CPU time says what it costs
	b.ReportMetric(m.refreshCPU/n, "refresh-cpu-s")
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
