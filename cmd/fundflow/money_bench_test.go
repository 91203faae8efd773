package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// cpuTimes returns this process's CPU time and the machine's busy CPU time
// (all processes: Postgres included), from getrusage and /proc/stat.
func cpuTimes(b *testing.B) (self, machine time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	f, err := os.ReadFile("/proc/stat")
	if err != nil {
		return self, 0
	}
	var user, nice, sys, idle, iowait, irq, softirq uint64
	fmt.Sscanf(string(f), "cpu %d %d %d %d %d %d %d", &user, &nice, &sys, &idle, &iowait, &irq, &softirq)
	ticks := user + nice + sys + irq + softirq
	return self, time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

// BenchmarkWebhookToAllotted measures the money path's hot loop on this
// machine: N purchases are placed (untimed), then their captured-payment
// webhooks are sent, signed, over HTTP by C concurrent clients; with the
// NAV already published each 200 means the order is allotted (ledger
// transaction, postings, lot, holding, status, outbox and audit rows, one
// Postgres transaction). It reports sustained webhooks (= allotments) per
// second, p50/p99 latency, the raw baseline (a bare one-row INSERT + COMMIT
// per request at the same concurrency, measured in the same run) and the
// ratio, a bare Go HTTP handler answering 200 with no database at the same
// concurrency (bare-http-200/s), and the split of CPU between this process
// and the rest (Postgres).
//
// FUNDFLOW_BENCH_SCALE multiplies N (default 10,000 webhooks);
// FUNDFLOW_BENCH_CONC sets C (default 16); FUNDFLOW_BENCH_GROUP the
// webhooks per transaction (group commit, default 64; 1 = one each);
// FUNDFLOW_BENCH_AUDIT=0 turns the audit trail off; FUNDFLOW_BENCH_CPUPROFILE=FILE writes a CPU profile of
// the timed part.
func BenchmarkWebhookToAllotted(b *testing.B) {
	n := 10000 * benchEnvInt(b, "FUNDFLOW_BENCH_SCALE", 1)
	conc := benchEnvInt(b, "FUNDFLOW_BENCH_CONC", 16)
	d := moneyBenchDeps(b)
	l, err := moneyLedger(d)
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("FUNDFLOW_BENCH_AUDIT") == "0" {
		l.Audit = false
	}
	d.cfg.Pipelines.Payments.GroupCommit = benchEnvInt(b, "FUNDFLOW_BENCH_GROUP", 64)
	var tr *stmtTracer
	if os.Getenv("FUNDFLOW_BENCH_TRACE") != "" {
		// A pool of its own whose connections time every statement.
		tr = &stmtTracer{by: map[string]*stmtStat{}}
		cfg, err := pgxpool.ParseConfig(d.pg.Pool.Config().ConnString())
		if err != nil {
			b.Fatal(err)
		}
		cfg.ConnConfig.Tracer = tr
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error { pgxdecimal.Register(c.TypeMap()); return nil }
		tp, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer tp.Close()
		l.Store = pgstore.New(tp)
	}
	ctx := testkit.Ctx(b)
	pool := d.pg.Pool
	exec := func(q string, args ...any) {
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	const folios, schemes = 2000, 20
	for s := 0; s < schemes; s++ {
		code := fmt.Sprintf("BS%02d", s)
		exec(`INSERT INTO schemes (code, name, category, version, valid_from) VALUES ($1, $1, 'Equity Scheme - Large Cap Fund', 1, '2020-01-01')`, code)
		exec(`INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, '2026-08-20', $2, nav_source('bench', 'bench'), 1)`,
			code, fmt.Sprintf("%d.%04d", 10+s, 1234+s))
	}
	// Place the orders (untimed), in batches as the Kafka consumer would.
	bodies := make([][]byte, n)
	var batch []fund.OrderIntake
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("BO-%07d", i)
		folio := fmt.Sprintf("BF%05d", i%folios)
		amt := fmt.Sprintf("%d.%02d", 500+i%50000, i%100)
		raw := []byte(fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"I-%s","folio":%q,"scheme_code":"BS%02d","amount":%q,"placed_at":"2026-08-20T09:30:00+05:30"}`,
			id, folio, folio, i%schemes, amt))
		in, ok, err := fund.IntakeOf(raw, fund.Receipt{Source: "bench"}) // no receipt time: placed_at as sent
		if !ok || err != nil || in.Invalid != nil {
			b.Fatalf("order %s: %v %v", id, err, in.Invalid)
		}
		batch = append(batch, in)
		if len(batch) == 500 || i == n-1 {
			if _, err := l.PlaceOrders(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		bodies[i] = rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: paise(amt), At: ist("2026-08-20T10:00:00+05:30")}.Body()
	}

	// Raw baseline: one INSERT + COMMIT per request, same concurrency.
	exec(`CREATE TABLE bench_raw (id bigint PRIMARY KEY, body bytea NOT NULL)`)
	rawStart := time.Now()
	var wg sync.WaitGroup
	next := make(chan int, conc)
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO bench_raw (id, body) VALUES ($1, $2)`, i, bodies[i])
					return err
				}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	rawTPS := float64(n) / time.Since(rawStart).Seconds()

	// Raw baseline: a bare Go HTTP handler answering 200 (no database),
	// the same bodies from the same number of clients.
	bareSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	bareClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	bareStart := time.Now()
	next = make(chan int, conc)
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				resp, err := bareClient.Post(bareSrv.URL, "application/json", bytes.NewReader(bodies[i]))
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	bareTPS := float64(n) / time.Since(bareStart).Seconds()
	bareSrv.Close()

	h, err := moneyHandler(ctx, d, l, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	if f := os.Getenv("FUNDFLOW_BENCH_CPUPROFILE"); f != "" {
		pf, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	lat := make([]time.Duration, n)
	next = make(chan int, conc)
	selfCPU0, machCPU0 := cpuTimes(b)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := bodies[i]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/webhooks/razorpay", bytes.NewReader(body))
				req.Header.Set(webhook.HeaderSignature, webhook.Sign(body, []byte(testWebhookSecret)))
				req.Header.Set(webhook.HeaderEventID, "evt_"+strconv.Itoa(i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("webhook %d: HTTP %d", i, resp.StatusCode)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	selfCPU1, machCPU1 := cpuTimes(b)
	var allotted int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_transactions`).Scan(&allotted); err != nil {
		b.Fatal(err)
	}
	if allotted != n {
		b.Fatalf("%d of %d orders allotted", allotted, n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	tps := float64(n) / elapsed.Seconds()
	b.ReportMetric(tps, "allotments/s")
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99_ms") // the unit name
	b.ReportMetric(bareTPS, "bare-http-200/s")
	b.ReportMetric(rawTPS, "raw-insert-commit/s")
	b.ReportMetric(tps/rawTPS, "ratio")
	self, mach := selfCPU1-selfCPU0, machCPU1-machCPU0
	if mach > 0 {
		b.ReportMetric(float64(self)/float64(mach), "go-cpu-share")
		b.ReportMetric(mach.Seconds()/elapsed.Seconds(), "cores-busy")
	}
	b.ReportMetric(float64(conc), "clients")
	b.ReportMetric(float64(d.cfg.Pipelines.Payments.GroupCommit), "group")
	if pgCPU := pgBackendCPU(b, pool, l.Store.(pgstore.Store).Pool); pgCPU > 0 {
		b.ReportMetric(pgCPU.Seconds()/elapsed.Seconds(), "pg-cores")
		b.ReportMetric(self.Seconds()/elapsed.Seconds(), "go-cores")
	}
	if tr != nil {
		tr.report(b, n)
	}
}

// pgBackendCPU sums the CPU time of the Postgres backends serving the
// benchmark's pools (utime+stime from /proc), so that other processes on
// the machine do not count.
func pgBackendCPU(b *testing.B, pools ...*pgxpool.Pool) time.Duration {
	var total time.Duration
	seen := map[int]bool{}
	for _, p := range pools {
		rows, err := p.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			return 0
		}
		for rows.Next() {
			var pid int
			if rows.Scan(&pid) != nil || seen[pid] {
				continue
			}
			seen[pid] = true
			f, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			fields := strings.Fields(string(f[bytes.LastIndexByte(f, ')')+2:]))
			if len(fields) > 12 {
				u, _ := strconv.ParseInt(fields[11], 10, 64)
				s, _ := strconv.ParseInt(fields[12], 10, 64)
				total += time.Duration(u+s) * 10 * time.Millisecond
			}
		}
		rows.Close()
	}
	return total
}

type stmtStat struct {
	n   int
	dur time.Duration
}

// stmtTracer times every statement by its first words.
type stmtTracer struct {
	mu sync.Mutex
	by map[string]*stmtStat
}

type traceKey struct{}

type traceStart struct {
	sql string
	t   time.Time
}

func (s *stmtTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{d.SQL, time.Now()})
}

func (s *stmtTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	st, ok := ctx.Value(traceKey{}).(traceStart)
	if !ok {
		return
	}
	k := strings.Join(strings.Fields(st.sql), " ")
	if len(k) > 70 {
		k = k[:70]
	}
	s.mu.Lock()
	x := s.by[k]
	if x == nil {
		x = &stmtStat{}
		s.by[k] = x
	}
	x.n++
	x.dur += time.Since(st.t)
	s.mu.Unlock()
}

func (s *stmtTracer) report(b *testing.B, n int) {
	type row struct {
		k string
		v *stmtStat
	}
	var rs []row
	for k, v := range s.by {
		rs = append(rs, row{k, v})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].v.dur > rs[j].v.dur })
	for _, r := range rs {
		b.Logf("%8.3f ms/webhook %6.2f/webhook  %s", float64(r.v.dur.Microseconds())/1000/float64(n), float64(r.v.n)/float64(n), r.k)
	}
}

// moneyBenchDeps connects the benchmark's own databases with the money path's
// config (testDeps for a benchmark).
func moneyBenchDeps(b *testing.B) *deps {
	pool, _ := testkit.PG(b)
	ch, _ := testkit.CH(b)
	reg := prometheus.NewRegistry()
	return &deps{cfg: moneyConfig(b, ""), log: testkit.Logger(b), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}
}
