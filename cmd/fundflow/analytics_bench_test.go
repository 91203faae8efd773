package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
)

// BenchmarkFolioRiskAPI: GET /v1/folios/{folio}/risk through `fundflow
// serve` under cmd/ffload (BenchmarkPortfolioAPI's seed: 10,000 ×
// FUNDFLOW_BENCH_SCALE folios, one or two schemes each, weekly NAVs to the
// end of 2024; as_of 2024-12-29, so every read values ~52 joint dates and
// computes the risk figures). serve takes the NAVs from its in-memory
// snapshot (query.Cached), the holdings from Postgres. Two in-process
// baselines with the same concurrency and duration: the bare handler
// (api.Server over a query.Cached with its NAVs loaded, no network: raw_*;
// api_vs_raw is the share of it the API delivers) and the same handler
// over the Postgres-backed query.Service the route used before (pg_*). The target is
// p99 < 50 ms.
func BenchmarkFolioRiskAPI(b *testing.B) {
	folios := 10000 * benchkit.Scale(b)
	pool, url := testkit.PG(b)
	ch, chURL := testkit.CH(b)
	seedBench(b, pool, folios)
	// the seed writes lots; the risk route reads the holdings they add up to
	if _, err := pool.Exec(context.Background(), `INSERT INTO holdings (folio_no, scheme_code, units, invested)
		SELECT folio_no, scheme_code, sum(units_remaining), sum(cost) FROM holding_lots WHERE folio_no LIKE 'BF%' GROUP BY 1, 2`); err != nil {
		b.Fatal(err)
	}
	load, addr, tok, stop := benchServe(b, url, chURL)
	defer stop()
	asOf := fund.NewDate(2024, 12, 29)
	const conc, secs = 16, 15
	b.ResetTimer()
	r := ffloadRun(b, load, "http://"+addr+"/v1/folios/BF{n}/risk?as_of="+asOf.String(), folios, tok, conc, secs)
	b.StopTimer()
	svc := query.Service{PG: pool, CH: ch}
	if fr, err := svc.Folio(context.Background(), "BF1", asOf); err != nil || fr.Risk == nil {
		b.Fatalf("BF1 has no risk figures (%v): the benchmark would measure the short path", err)
	}
	// the bare handler: api.Server over a query.Cached with its NAV
	// snapshot loaded, in-process, no network
	cached := &query.Cached{Service: svc}
	t0 := time.Now()
	navs, err := cached.LoadNAVs(context.Background())
	if err != nil || !navs.Covers(asOf.AddDays(-365)) {
		b.Fatalf("NAV snapshot from %v: %v", navs, err)
	}
	b.Logf("NAV snapshot: %d schemes, %d NAVs in %s", navs.Len(), navs.Rows, time.Since(t0))
	handler := func(a api.Analytics) func(ctx context.Context, rng *rand.Rand) error {
		return bareHandler(&readmodel.Store{PG: pool, CH: ch}, a, tok, func(rng *rand.Rand) string {
			return "/v1/folios/BF" + strconv.Itoa(1+rng.IntN(folios)) + "/risk?as_of=" + asOf.String()
		})
	}
	raw, rawP99 := rawReads(b, conc, secs*time.Second, handler(cached))
	// the route before: the same bare handler over the Postgres-backed
	// query.Service (the NAVs read per request)
	pgReads, pgP99 := rawReads(b, conc, secs*time.Second, handler(svc))
	reportLoad(b, r, raw, rawP99)
	b.ReportMetric(pgReads, "pg_reads/s")
	b.ReportMetric(pgP99, "pg_p99_ms")
	b.Logf("bare handler over the Postgres-backed query.Service: %.0f reads/s (p99 %.1f ms)", pgReads, pgP99)
}

// BenchmarkSchemeAnalyticsAPI: GET /v1/schemes/{code}/analytics through
// `fundflow serve` under cmd/ffload. The seed: 200 × FUNDFLOW_BENCH_SCALE
// schemes, six years of business-day NAVs each in nav_history, and one
// refresh of their returns, rolling returns and risk, so each read finds
// every model row (the AUM one excepted: no ledger). serve answers from its
// in-memory snapshot of the models (query.Cached), loaded at start. Two
// in-process baselines with the same concurrency and duration: the bare
// handler (api.Server over a loaded query.Cached, no network: raw_*), and
// the ClickHouse-backed query.Service.Scheme the route used before
// (ch_*). The target is p99 < 50 ms.
func BenchmarkSchemeAnalyticsAPI(b *testing.B) {
	schemes := 200 * benchkit.Scale(b)
	pool, url := testkit.PG(b)
	ch, chURL := testkit.CH(b)
	ctx := context.Background()
	asOf := fund.NewDate(2026, 8, 14)
	batch, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 20))
	cats := []string{"Equity Scheme - Large Cap Fund", "Debt Scheme - Gilt Fund", "Hybrid Scheme - Balanced Advantage"}
	for s := 1; s <= schemes; s++ {
		nav := int64(100_0000 + rng.IntN(900_0000))
		for d := asOf.AddDays(-6 * 365); !d.After(asOf); d = d.AddDays(1) {
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			nav = max(1, nav+nav*int64(rng.IntN(401)-195)/10000)
			if err := batch.Append("S"+strconv.Itoa(s), d.Time(), decimal.New(nav, -4), "AMC", cats[s%len(cats)], "bench", uint32(1), time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := batch.Send(); err != nil {
		b.Fatal(err)
	}
	mc, err := refresh.Refresher{PG: pool, CH: ch, RiskFree: decimal.RequireFromString("0.065")}.ReturnsAndRisk(ctx, asOf)
	if err != nil || mc.RiskSchemes != schemes {
		b.Fatalf("refresh: risk for %d of %d schemes: %v", mc.RiskSchemes, schemes, err)
	}
	svc := query.Service{PG: pool, CH: ch}
	if a, err := svc.Scheme(ctx, "S1"); err != nil || a == nil || a.Risk == nil || len(a.Returns) == 0 || len(a.Rolling) == 0 {
		b.Fatalf("S1 lacks a model (%v): the benchmark would measure the short path", err)
	}
	load, addr, tok, stop := benchServe(b, url, chURL)
	defer stop()
	const conc, secs = 16, 15
	b.ResetTimer()
	r := ffloadRun(b, load, "http://"+addr+"/v1/schemes/S{n}/analytics", schemes, tok, conc, secs)
	b.StopTimer()
	cached := &query.Cached{Service: svc}
	snap, err := cached.Load(ctx)
	if err != nil || snap.Len() != schemes {
		b.Fatalf("snapshot of %d schemes: %v", snap.Len(), err)
	}
	raw, rawP99 := rawReads(b, conc, secs*time.Second, bareHandler(&readmodel.Store{PG: pool, CH: ch}, cached, tok, func(rng *rand.Rand) string {
		return "/v1/schemes/S" + strconv.Itoa(1+rng.IntN(schemes)) + "/analytics"
	}))
	chReads, chP99 := rawReads(b, conc, secs*time.Second, func(ctx context.Context, rng *rand.Rand) error {
		_, err := svc.Scheme(ctx, "S"+strconv.Itoa(1+rng.IntN(schemes)))
		return err
	})
	reportLoad(b, r, raw, rawP99)
	b.ReportMetric(chReads, "ch_reads/s")
	b.ReportMetric(chP99, "ch_p99_ms")
	b.Logf("ClickHouse-backed query.Service.Scheme in-process: %.0f reads/s (p99 %.1f ms)", chReads, chP99)
}

// bareHandler is a read through api.Server's handler in-process (no
// network) answering the analytics routes with a: a GET of path(rng) with
// tok, an error unless 200.
func bareHandler(store *readmodel.Store, a api.Analytics, tok string, path func(rng *rand.Rand) string) func(ctx context.Context, rng *rand.Rand) error {
	h := api.New(api.Config{Auth: &api.Auth{HS256Secret: []byte(benchSecret)}, Analytics: a}, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return func(ctx context.Context, rng *rand.Rand) error {
		req := httptest.NewRequestWithContext(ctx, "GET", path(rng), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			return fmt.Errorf("in-process handler: %d %s", w.Code, w.Body)
		}
		return nil
	}
}

// ffloadRun runs cmd/ffload against url (its {n} in 1..n) with conc
// workers for secs seconds after a 2 s warm-up, and fails the benchmark on
// any error answer.
func ffloadRun(b *testing.B, load, url string, n int, tok string, conc, secs int) loadResult {
	b.Helper()
	out, err := exec.Command(load, "-url", url, "-n", strconv.Itoa(n), "-token", tok,
		"-c", strconv.Itoa(conc), "-d", fmt.Sprintf("%ds", secs), "-warmup", "2s").Output()
	if err != nil {
		b.Fatalf("ffload: %v", err)
	}
	var r loadResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("ffload output %s: %v", out, err)
	}
	if len(r.Errors) > 0 || r.OK == 0 {
		b.Fatalf("load run had errors: %s", out)
	}
	return r
}

// rawReads is an API benchmark's baseline: conc goroutines calling read
// in-process for d; reads a second and the p99 in ms.
func rawReads(b *testing.B, conc int, d time.Duration, read func(ctx context.Context, rng *rand.Rand) error) (perSec, p99ms float64) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			var mine []time.Duration
			for ctx.Err() == nil {
				s := time.Now()
				if err := read(ctx, rng); err != nil {
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
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		b.Fatal("no raw read finished")
	}
	slices.Sort(lat)
	return float64(len(lat)) / time.Since(t0).Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
}

// reportLoad reports an API benchmark's load run against its raw baseline.
func reportLoad(b *testing.B, r loadResult, raw, rawP99 float64) {
	b.ReportMetric(r.RPS, "reads/s")
	b.ReportMetric(r.P50Ms, "p50_ms")
	b.ReportMetric(r.P99Ms, "p99_ms")
	b.ReportMetric(raw, "raw_reads/s")
	b.ReportMetric(rawP99, "raw_p99_ms")
	b.ReportMetric(r.RPS/raw, "api_vs_raw")
	b.Logf("API %.0f reads/s (p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d requests); raw in-process %.0f reads/s (p99 %.1f ms)",
		r.RPS, r.P50Ms, r.P99Ms, r.MaxMs, r.Requests, raw, rawP99)
}
