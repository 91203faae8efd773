package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
)

// benchSeedSQL writes $1 folios, each with two purchases (in two of 40
// schemes, on weekly NAV dates in 2023-2024) and, for every fourth folio, a
// redemption of half the first lot: about 2.25 ledger transactions, 2 lots
// and the orders behind them per folio. Set-based, so a million folios load
// in about a minute.
const benchSeedSQL = `
INSERT INTO schemes (code, name, amc, category, version, valid_from)
SELECT 'BS' || lpad(s::text, 2, '0'), 'Bench Scheme ' || s || ' - Direct Growth', 'Bench AMC', 'Equity Scheme', 1, '2020-01-01'
FROM generate_series(1, 40) s;

INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
SELECT 'BS' || lpad(s::text, 2, '0'), d, round(10 + s + (d - date '2023-01-01') / 365.0 * (s % 7), 4), nav_source('bench.txt', 'bench'), j
FROM generate_series(1, 40) s, generate_series(0, 104) j, LATERAL (SELECT date '2023-01-01' + 7 * j AS d) x;

INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, nav, source_file, source_sha256, source_line
FROM nav_lineage WHERE scheme_code LIKE 'BS%' ORDER BY scheme_code, nav_date DESC;

INSERT INTO investors (id, name, tax_country) SELECT 'BI' || i, 'Bench Investor ' || i, 'IN' FROM generate_series(1, $1) i;
INSERT INTO folios (folio_no, investor_id, amc) SELECT 'BF' || i, 'BI' || i, 'Bench AMC' FROM generate_series(1, $1) i;

CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
SELECT i, k, i::bigint * 3 + k AS id, 'BO' || i || '-' || k AS order_id, 'BF' || i AS folio, 'BI' || i AS investor,
       CASE k WHEN 2 THEN 'BS' || lpad((1 + (i * 7) % 40)::text, 2, '0') ELSE 'BS' || lpad((1 + i % 40)::text, 2, '0') END AS scheme,
       CASE k WHEN 1 THEN date '2023-01-01' + 7 * (i % 50) WHEN 2 THEN date '2023-01-01' + 7 * (50 + i % 30) ELSE date '2023-01-01' + 7 * 90 END AS nav_date,
       CASE WHEN k < 3 THEN (1000 + (i % 97) * 100)::numeric(18,2) END AS amount
FROM generate_series(1, $1) i, generate_series(1, 3) k
WHERE k < 3 OR i % 4 = 0;


CREATE TEMP TABLE bench_ltx ON COMMIT DROP AS
SELECT t.*, n.nav,
       CASE WHEN t.k < 3 THEN trunc(t.amount / n.nav, 3) END AS units
FROM bench_tx t JOIN navs n ON n.scheme_code = t.scheme AND n.nav_date = t.nav_date;

-- Redemptions: half of the first purchase's units, valued at the day's NAV.
UPDATE bench_ltx r SET units = trunc(p.units / 2, 3), amount = round(trunc(p.units / 2, 3) * r.nav, 2)
FROM bench_ltx p WHERE r.k = 3 AND p.i = r.i AND p.k = 1;

INSERT INTO order_requests (id, kind, body, body_sha256, source, status)
SELECT order_id, CASE WHEN k < 3 THEN 'purchase' ELSE 'redemption' END, '{}', '', 'bench', 'accepted' FROM bench_ltx;

INSERT INTO orders (id, request_id, kind, investor_id, folio_no, scheme_code, amount, units, placed_at, status, nav_date, ledger_tx_id)
SELECT order_id, order_id, CASE WHEN k < 3 THEN 'purchase' ELSE 'redemption' END, investor, folio, scheme,
       CASE WHEN k < 3 THEN amount END, CASE WHEN k = 3 THEN units END, nav_date, 'allotted', nav_date, id
FROM bench_ltx;

INSERT INTO ledger_transactions (id, order_id, kind, folio_no, scheme_code, nav_date, nav, units, amount, stamp_duty, exit_load, net_amount, posted_at)
SELECT id, order_id, CASE WHEN k < 3 THEN 'purchase' ELSE 'redemption' END, folio, scheme, nav_date, nav, units, amount, 0, 0, amount, nav_date
FROM bench_ltx;

INSERT INTO holding_lots (id, folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
SELECT p.id, p.folio, p.scheme, p.id, p.nav_date, p.nav, p.units, p.units - coalesce(r.units, 0), p.amount
FROM bench_ltx p LEFT JOIN bench_ltx r ON r.i = p.i AND r.k = 3 AND p.k = 1 WHERE p.k < 3;

INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
SELECT r.id, p.id, r.units, r.nav_date - p.nav_date, 0, 0 FROM bench_ltx r JOIN bench_ltx p ON p.i = r.i AND p.k = 1 WHERE r.k = 3;
`

func seedBench(b *testing.B, pool *pgxpool.Pool, folios int) {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	tx, err := pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for _, stmt := range splitSQL(benchSeedSQL) {
		var args []any
		if bytes.Contains([]byte(stmt), []byte("$1")) {
			args = []any{folios}
		}
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("seed: %v\n%s", err, stmt)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d folios in %s", folios, time.Since(t0).Round(time.Millisecond))
}

// splitSQL splits at semicolons that end a line.
func splitSQL(s string) []string {
	var out []string
	for _, part := range bytes.Split([]byte(s), []byte(";\n")) {
		if p := string(bytes.TrimSpace(part)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type loadResult struct {
	Requests int64          `json:"requests"`
	OK       int64          `json:"ok"`
	Errors   map[string]int `json:"errors"`
	RPS      float64        `json:"rps"`
	P50Ms    float64        `json:"p50_ms"`
	P99Ms    float64        `json:"p99_ms"`
	MaxMs    float64        `json:"max_ms"`
}

// BenchmarkPortfolioAPI measures portfolio reads per second and their
// latency through the real server: `fundflow serve` (built and run as a
// child process, API on, no rate limit) against Postgres holding
// 10,000 × FUNDFLOW_BENCH_SCALE folios (FUNDFLOW_BENCH_SCALE=100 is the
// 1,000,000-folio run), loaded by cmd/ffload in another process (16
// connections, random folios, 15 s after a 2 s warm-up). The raw baseline
// is the same read (readmodel.Store.Portfolio) called in-process with the
// same concurrency and duration, no HTTP, no JSON, no auth: api_vs_raw is
// the share of that the API delivers.
func BenchmarkPortfolioAPI(b *testing.B) {
	folios := 10000 * benchkit.Scale(b)
	pool, url := testkit.PG(b)
	_, chURL := testkit.CH(b)
	seedBench(b, pool, folios)
	load, addr, tok, stop := benchServe(b, url, chURL)
	defer stop()
	const conc, secs = 16, 15
	b.ResetTimer()
	out, err := exec.Command(load, "-url", "http://"+addr+"/v1/folios/BF{n}/portfolio", "-n", strconv.Itoa(folios), "-token", tok,
		"-c", strconv.Itoa(conc), "-d", fmt.Sprintf("%ds", secs), "-warmup", "2s").Output()
	if err != nil {
		b.Fatalf("ffload: %v", err)
	}
	b.StopTimer()
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("ffload output %s: %v", out, err)
	}
	if len(r.Errors) > 0 || r.OK == 0 {
		b.Fatalf("load run had errors: %s", out)
	}
	raw, rawP99 := rawPortfolioReads(b, pool, folios, conc, secs*time.Second)
	b.ReportMetric(float64(folios), "folios")
	b.ReportMetric(r.RPS, "reads/s")
	b.ReportMetric(r.P50Ms, "p50_ms")
	b.ReportMetric(r.P99Ms, "p99_ms")
	b.ReportMetric(raw, "raw_reads/s")
	b.ReportMetric(rawP99, "raw_p99_ms")
	b.ReportMetric(r.RPS/raw, "api_vs_raw")
	b.Logf("%d folios: API %.0f reads/s (p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d requests); raw in-process %.0f reads/s (p99 %.1f ms)",
		folios, r.RPS, r.P50Ms, r.P99Ms, r.MaxMs, r.Requests, raw, rawP99)
}

func waitHealthy(b *testing.B, url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("%s did not answer within 30 s", url)
}

// rawPortfolioReads is the baseline: conc goroutines calling the read model
// directly for d.
func rawPortfolioReads(b *testing.B, pool *pgxpool.Pool, folios, conc int, d time.Duration) (perSec, p99ms float64) {
	store := &readmodel.Store{PG: pool}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []time.Duration
			for ctx.Err() == nil {
				s := time.Now()
				if _, err := store.Portfolio(ctx, "BF"+strconv.Itoa(1+rng.IntN(folios)), nil); err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					break
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	el := time.Since(t0)
	slices.Sort(lat)
	if len(lat) == 0 {
		return 0, 0
	}
	return float64(len(lat)) / el.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
}

// benchServe builds fundflow and ffload, starts `fundflow serve` with the
// API on a free address over the given databases (no rate limit) and mints
// an ops token for it: the API benchmarks' common start. stop ends serve.
// benchSecret is the HS256 key of benchServe's tokens.
const benchSecret = "bench-secret-bench-secret-bench-secret"

func benchServe(b *testing.B, url, chURL string) (load, addr, tok string, stop func()) {
	b.Helper()
	dir := b.TempDir()
	bin := filepath.Join(dir, "fundflow")
	load = filepath.Join(dir, "ffload")
	for out, pkg := range map[string]string{bin: ".", load: "../ffload"} {
		if o, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", pkg, err, o)
		}
	}
	addr = freeAddr(b)
	cfg := filepath.Join(dir, "fundflow.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("serve:\n  api:\n    addr: %s\n    rate_per_second: -1\n", addr)), 0o644)
	secret := benchSecret
	srv := exec.Command(bin, "--config", cfg, "--log-level", "warn", "serve")
	srv.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+url, "FUNDFLOW_CH_URL="+chURL, "FUNDFLOW_JWT_SECRET="+secret, "FUNDFLOW_KAFKA_BROKERS=")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() { srv.Process.Signal(os.Interrupt); srv.Wait() } //nolint:errcheck
	waitHealthy(b, "http://"+addr+"/healthz")
	tok, err := api.Mint([]byte(secret), api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "bench",
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Role: api.RoleOps})
	if err != nil {
		b.Fatal(err)
	}
	return load, addr, tok, stop
}
