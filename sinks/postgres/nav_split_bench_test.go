package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkNAVStatementCPU splits the Postgres backend's CPU of a NAV load
// by statement (issue 15): FUNDFLOW_BENCH_NAV_DAYS generated days (default
// 30) in batches of FUNDFLOW_BENCH_BATCH, each statement on one connection
// whose backend's /proc CPU is read before and after it. The statements:
// the COPY into a table shaped as navs is (its key and checks), an UPDATE
// of a copy of nav_latest shaped as NAVSink's (which takes the new values
// from nav_lineage by key; here they are given), and the COPY into a candidate shape of navs: an
// integer scheme key in place of the code ("intkey"; the file became an id,
// nav_sources, after this measured it). Reported in backend CPU-seconds per
// million rows after the first day (whose rows create nav_latest's).
func BenchmarkNAVStatementCPU(b *testing.B) {
	days := benchkit.EnvInt(b, "FUNDFLOW_BENCH_NAV_DAYS", 30)
	bs := benchkit.BatchSize(b)
	for range b.N {
		_, url := testkit.PG(b)
		ctx := testkit.Ctx(b)
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 1 // one backend: its CPU is the statements'
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		var pid int
		if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `
CREATE TABLE b_navs (LIKE navs INCLUDING ALL);
CREATE TABLE b_latest (LIKE nav_latest INCLUDING ALL) WITH (fillfactor = 70);
CREATE TABLE b_intkey (scheme_id int NOT NULL, nav_date date NOT NULL, nav numeric(18,8) NOT NULL CHECK (nav > 0),
    repurchase numeric(18,8), sale numeric(18,8), file_id int NOT NULL, source_line int NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scheme_id, nav_date))`); err != nil {
			b.Fatal(err)
		}
		cpu := map[string]time.Duration{}
		timed := true
		measure := func(name string, f func() error) {
			c0, _ := benchkit.ProcCPU(pid)
			if err := f(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			if c1, ok := benchkit.ProcCPU(pid); ok && timed {
				cpu[name] += c1 - c0
			}
		}
		copyRows := func(table string, cols []string, rows []fund.NAVLine, values func(*fund.NAVLine) []any) func() error {
			return func() error {
				i := 0
				_, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
					if i == len(rows) {
						return nil, nil
					}
					i++
					return values(&rows[i-1]), nil
				}))
				return err
			}
		}
		ids := map[string]int32{} // the integer scheme keys
		seen := map[string]bool{} // a key a stale row repeats goes once (the sink's ON CONFLICT path, not measured)
		g := benchkit.Generator(b, days)
		measured := 0
		for d := range days {
			var day []fund.NAVLine
			for _, n := range benchkit.Day(b, g, d) {
				if k := n.SchemeCode + "|" + n.Date.String(); !seen[k] {
					seen[k] = true
					day = append(day, n)
				}
				if _, ok := ids[n.SchemeCode]; !ok {
					ids[n.SchemeCode] = int32(len(ids) + 1)
				}
			}
			timed = d > 0
			if timed {
				measured += len(day)
			}
			file := int32(d + 1)
			for _, batch := range benchkit.Batches(day, bs) {
				measure("copy navs", copyRows("b_navs", []string{"scheme_code", "nav_date", "nav", "repurchase", "sale", "source_id", "source_line"}, batch,
					func(n *fund.NAVLine) []any {
						return []any{n.SchemeCode, n.Date.Time(), n.NAV, n.Repurchase, n.Sale, file, int32(n.From.Line)}
					}))
				measure("copy intkey", copyRows("b_intkey", []string{"scheme_id", "nav_date", "nav", "repurchase", "sale", "file_id", "source_line"}, batch,
					func(n *fund.NAVLine) []any {
						return []any{ids[n.SchemeCode], n.Date.Time(), n.NAV, n.Repurchase, n.Sale, file, int32(n.From.Line)}
					}))
				codes, dates, navs, lines := make([]string, len(batch)), make([]time.Time, len(batch)), make([]string, len(batch)), make([]int32, len(batch))
				for i, n := range batch {
					codes[i], dates[i], navs[i], lines[i] = n.SchemeCode, n.Date.Time(), n.NAV.String(), int32(n.From.Line)
				}
				args := []any{codes, dates, navs, batch[0].From.File, batch[0].From.SHA256, lines}
				if d == 0 {
					measure("latest insert", func() error {
						_, err := pool.Exec(ctx, `INSERT INTO b_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
							SELECT u.scheme_code, u.nav_date, u.nav, $4::text, $5::text, u.source_line
							FROM unnest($1::text[], $2::date[], $3::numeric[], $6::int[]) AS u(scheme_code, nav_date, nav, source_line)
							ON CONFLICT (scheme_code) DO NOTHING`, args...)
						return err
					})
					continue
				}
				measure("latest update", func() error {
					_, err := pool.Exec(ctx, `UPDATE b_latest l SET nav_date = u.nav_date, nav = u.nav, source_file = $4::text,
						    source_sha256 = $5::text, source_line = u.source_line, updated_at = now()
						FROM unnest($1::text[], $2::date[], $3::numeric[], $6::int[])
						    AS u(scheme_code, nav_date, nav, source_line)
						WHERE l.scheme_code = u.scheme_code AND u.nav_date > l.nav_date`, args...)
					return err
				})
			}
		}
		perM := func(d time.Duration) float64 { return d.Seconds() * 1e6 / float64(measured) }
		for _, m := range [][2]string{{"copy navs", "navs-copy"}, {"latest update", "latest-update"}, {"copy intkey", "intkey-copy"}} {
			b.ReportMetric(perM(cpu[m[0]]), m[1]+"-cpu-s/Mrows")
		}
		b.Logf("%d rows after the first day, batches of %d; backend CPU: COPY navs %s, nav_latest UPDATE %s; candidate: COPY with an integer scheme key %s",
			measured, bs, cpu["copy navs"].Round(10*time.Millisecond), cpu["latest update"].Round(10*time.Millisecond),
			cpu["copy intkey"].Round(10*time.Millisecond))
	}
}
