package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
)

// roundTrips counts the statements a pool sends: a query, a batch (one
// round trip for all its statements) or a COPY each; BEGIN and COMMIT are
// queries.
type roundTrips struct {
	n     atomic.Int64
	mu    sync.Mutex
	spent map[string]time.Duration // by statement (a batch: by its statements), when FUNDFLOW_BENCH_TRACE is set
}

type traceKey struct{}

type traceStart struct {
	at  time.Time
	sql string
}

func (c *roundTrips) start(ctx context.Context, sql string) context.Context {
	c.n.Add(1)
	if c.spent == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, &traceStart{time.Now(), sql})
}

func (c *roundTrips) end(ctx context.Context) {
	if s, ok := ctx.Value(traceKey{}).(*traceStart); ok && c.spent != nil {
		k := strings.Join(strings.Fields(s.sql), " ")
		if len(k) > 90 {
			k = k[:90]
		}
		c.mu.Lock()
		c.spent[k] += time.Since(s.at)
		c.mu.Unlock()
	}
}

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return c.start(ctx, d.SQL)
}
func (c *roundTrips) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	c.end(ctx)
}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	sql := "batch"
	if d.Batch != nil && len(d.Batch.QueuedQueries) > 0 {
		sql = "batch: " + d.Batch.QueuedQueries[len(d.Batch.QueuedQueries)-1].SQL
	}
	return c.start(ctx, sql)
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	c.end(ctx)
}
func (c *roundTrips) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// allotBench is a database with a generated ledger and legs pending on a
// NAV that has just landed.
type allotBench struct {
	owner   *pgxpool.Pool
	app     *pgxpool.Pool
	trips   *roundTrips
	legs    int
	workers int // AllotWorkers of the pass
}

// newAllotBench generates the ledger's history (ledgergen: folios over
// schemes, several lots a holding, exit loads on every scheme), then
// writes legs pending legs straight into the tables (COPY): 90 %
// purchases paid and waiting for the NAV of 21-Aug-2026, 10 % redemptions
// of 20-80 % of a holding (across its lots); then that NAV lands.
func newAllotBench(b *testing.B, legs, folios, schemes int) *allotBench {
	b.Helper()
	ctx := testkit.Ctx(b)
	t0 := time.Now()
	owner, _, _, appURL := testkit.PGApp(b)
	end := fund.NewDate(2026, 8, 20)
	if _, err := ledgergen.Generate(ctx, owner, ledgergen.Options{Folios: folios, Schemes: schemes, AMCs: 10, SchemesPerFolio: 2,
		TxnsPerHolding: 3, End: end, Days: 600, Seed: 14, Log: testkit.Logger(b)}); err != nil {
		b.Fatal(err)
	}
	// Exit loads on every scheme; the history announced on the outbox, as
	// the service would have (an invariant of CheckService).
	for _, q := range []string{`INSERT INTO scheme_loads (scheme_code, valid_from, days_below, rate_pct) SELECT code, '2020-01-01', 365, 1.0000 FROM schemes`,
		`INSERT INTO outbox (event_id, topic, key, payload, published_at, facts_at)
		 SELECT 'transactions.completed:' || order_id, 'transactions.completed', folio_no, '{}', now(), now() FROM ledger_transactions`} {
		if _, err := owner.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	var codes []string
	for _, s := range ledgergen.Schemes(ledgergen.Options{Schemes: schemes, AMCs: 10, Seed: 14}) {
		codes = append(codes, s.Code)
	}
	type held struct {
		folio, scheme string
		units         decimal.Decimal
	}
	rows, err := owner.Query(ctx, `SELECT folio_no, scheme_code, units FROM holdings WHERE units > 1 ORDER BY 1, 2`)
	if err != nil {
		b.Fatal(err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (held, error) {
		var h held
		return h, r.Scan(&h.folio, &h.scheme, &h.units)
	})
	if err != nil || len(hs) == 0 {
		b.Fatalf("holdings: %d, %v", len(hs), err)
	}
	owners := map[string]string{}
	rows, err = owner.Query(ctx, `SELECT folio_no, investor_id FROM folios`)
	if err != nil {
		b.Fatal(err)
	}
	var fo, in string
	if _, err := pgx.ForEachRow(rows, []any{&fo, &in}, func() error { owners[fo] = in; return nil }); err != nil {
		b.Fatal(err)
	}
	day := end.AddDays(1)
	placed := day.Time().Add(4 * time.Hour) // 09:30 IST
	rng := rand.New(rand.NewPCG(14, 21))
	var reqs, orders, pays [][]any
	redeemed := map[[2]string]bool{}
	for i := 0; i < legs; i++ {
		id := fmt.Sprintf("BP-%07d", i)
		body := fmt.Sprintf(`{"order_id":%q}`, id)
		sum := sha256.Sum256([]byte(body))
		kind := "purchase"
		var folio, scheme string
		var amount, units *decimal.Decimal
		var payID, fundsAt any
		if h := hs[rng.IntN(len(hs))]; i%10 == 9 && !redeemed[[2]string{h.folio, h.scheme}] {
			redeemed[[2]string{h.folio, h.scheme}] = true // one redemption a holding: each one valid
			kind, folio, scheme = "redemption", h.folio, h.scheme
			u := h.units.Mul(decimal.New(int64(20+rng.IntN(61)), -2)).RoundDown(3)
			units = &u
		} else {
			f := rng.IntN(folios)
			folio, scheme = ledgergen.FolioNo("G", f), codes[rng.IntN(len(codes))]
			a := decimal.New(int64(50000+rng.IntN(5000000)), -2)
			amount, payID, fundsAt = &a, "pay_"+id, placed
			pays = append(pays, pgstore.Payments.Values(pgstore.PaymentRow{ID: "pay_" + id, Gateway: "razorpay", OrderID: id, NotesOrderID: id,
				Amount: a, Currency: "INR", Status: fund.PaymentCaptured, RealisedAt: placed, RealisedEventID: "evt_" + id,
				LastEventID: "evt_" + id, LastEventAt: placed, MatchStatus: "matched"}))
		}
		inv := owners[folio]
		reqs = append(reqs, pgstore.Requests.Values(pgstore.RequestRow{ID: id, Kind: kind, Body: body, BodySHA256: hex.EncodeToString(sum[:]),
			Source: "bench", Status: "accepted", ReceivedAt: placed}))
		orders = append(orders, []any{id, id, kind, inv, folio, scheme, amount, units, placed, fundsAt, "pending_nav", day.Time(),
			"standard", "benchmark", payID})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{pgstore.Requests.Name, pgstore.Requests.Columns, reqs},
		{"orders", []string{"id", "request_id", "kind", "investor_id", "folio_no", "scheme_code", "amount", "units", "placed_at", "funds_at",
			"status", "nav_date", "nav_rule", "nav_reason", "payment_id"}, orders},
		{pgstore.Payments.Name, pgstore.Payments.Columns, pays},
	} {
		if _, err := owner.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			b.Fatalf("%s: %v", c.table, err)
		}
	}
	// The NAV lands.
	if _, err := owner.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
		SELECT code, $1, round((10 + random() * 490)::numeric, 4), nav_source('bench', 'bench'), 1 FROM schemes`, day.Time()); err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d legs over %d folios and %d schemes in %v", legs, folios, schemes, time.Since(t0).Round(time.Millisecond))
	trips := &roundTrips{}
	if os.Getenv("FUNDFLOW_BENCH_TRACE") != "" {
		trips.spent = map[string]time.Duration{}
	}
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = trips
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error { pgxdecimal.Register(c.TypeMap()); return nil }
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	return &allotBench{owner: owner, app: app, trips: trips, legs: legs, workers: 1}
}

func (e *allotBench) svc() *ledger.Service {
	return &ledger.Service{Store: pgstore.New(e.app), Audit: os.Getenv("FUNDFLOW_BENCH_AUDIT") != "0", Calendar: fund.NewCalendar(), AllotWorkers: e.workers}
}

// written are the rows the pass wrote, as a bare COPY would write them:
// ledger transactions, postings, lots, consumptions, holdings and the
// legs' rows.
var written = []struct{ table, query string }{
	{"ledger_transactions", `SELECT t.* FROM ledger_transactions t WHERE t.order_id LIKE 'BP-%'`},
	{"ledger_postings", `SELECT p.* FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.tx_id WHERE t.order_id LIKE 'BP-%'`},
	{"holding_lots", `SELECT l.* FROM holding_lots l JOIN ledger_transactions t ON t.id = l.ledger_tx_id WHERE t.order_id LIKE 'BP-%'`},
	{"lot_consumptions", `SELECT c.* FROM lot_consumptions c JOIN ledger_transactions t ON t.id = c.ledger_tx_id WHERE t.order_id LIKE 'BP-%'`},
	{"holdings", `SELECT h.* FROM holdings h WHERE (h.folio_no, h.scheme_code) IN (SELECT folio_no, scheme_code FROM ledger_transactions WHERE order_id LIKE 'BP-%')`},
	{"orders", `SELECT o.* FROM orders o WHERE o.id LIKE 'BP-%'`},
}

// copyBaseline copies the rows the pass wrote into bare tables of the same
// columns (no index, constraint or trigger), one COPY each, and returns
// how many rows and how long the COPYs took.
func copyBaseline(b *testing.B, e *allotBench) (int64, time.Duration) {
	b.Helper()
	ctx := testkit.Ctx(b)
	var n int64
	var took time.Duration
	for _, w := range written {
		bare := "bare_" + w.table
		if _, err := e.owner.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS `+bare+` (LIKE `+w.table+`)`); err != nil {
			b.Fatal(err)
		}
		if _, err := e.owner.Exec(ctx, `ALTER TABLE `+bare+` SET LOGGED`); err != nil {
			b.Fatal(err)
		}
		rows, err := e.owner.Query(ctx, w.query)
		if err != nil {
			b.Fatal(err)
		}
		var cols []string
		for _, f := range rows.FieldDescriptions() {
			cols = append(cols, f.Name)
		}
		var data [][]any
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, v)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		c, err := e.owner.CopyFrom(ctx, pgx.Identifier{bare}, cols, pgx.CopyFromRows(data))
		took += time.Since(t0)
		if err != nil {
			b.Fatalf("copy %s: %v", bare, err)
		}
		n += c
	}
	return n, took
}

// cpuSplit is where the CPU of a timed part went: this process (getrusage)
// and the Postgres backends serving this test's database (utime+stime of
// /proc/<pid>/stat, as root), and the WAL the cluster wrote meanwhile
// (pg_current_wal_lsn: cluster-wide, so other users' writes count too).
type cpuSplit struct {
	self    time.Duration
	backend map[int]time.Duration
	lsn     string
}

func (e *allotBench) cpuNow(b *testing.B) cpuSplit {
	b.Helper()
	ctx := testkit.Ctx(b)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	c := cpuSplit{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), backend: map[int]time.Duration{}}
	rows, err := e.owner.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	for _, pid := range pids {
		f, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // not on this machine's /proc (or gone)
		}
		// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
		fs := strings.Fields(string(f[strings.LastIndexByte(string(f), ')')+1:]))
		if len(fs) < 13 {
			continue
		}
		var ut, st int64
		fmt.Sscan(fs[11], &ut)
		fmt.Sscan(fs[12], &st)
		c.backend[int(pid)] = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
	}
	if err := e.owner.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&c.lsn); err != nil {
		b.Fatal(err)
	}
	return c
}

// since returns this process's CPU, the backends' CPU and the WAL bytes
// from c0 to c.
func (c cpuSplit) since(b *testing.B, e *allotBench, c0 cpuSplit) (self, pg time.Duration, wal int64) {
	for pid, t := range c.backend {
		pg += t - c0.backend[pid]
	}
	if err := e.owner.QueryRow(testkit.Ctx(b), `SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint`, c.lsn, c0.lsn).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	return c.self - c0.self, pg, wal
}

// BenchmarkAllocatePass measures the allocate pass over N legs whose NAV has
// just landed, spread over N/10 folios and up to 500 schemes, 10 %
// redemptions across several lots (with exit loads): the set-based pass in
// batches of B, then, on a database of its own, the per-leg path over a
// sample of the same shape (the path before issue 14). It reports the
// set-based pass's allotments/s, the rows it wrote per second against a
// bare COPY of the same rows in the same run (ratio_vs_copy), and the
// round trips per allotment of both paths.
//
// FUNDFLOW_BENCH_LEGS sets N (default 20,000, about two minutes here with the setup; the full size is
// 1,000,000 over 100,000 folios), FUNDFLOW_BENCH_FOLIOS the folios
// (default N/10), FUNDFLOW_BENCH_ALLOT_BATCH sets B (default 1000),
// FUNDFLOW_BENCH_ALLOT_WORKERS the batches allotted at once (default 2, as
// serve's default),
// FUNDFLOW_BENCH_PERLEG_LEGS the per-leg sample (default 2,000);
// FUNDFLOW_BENCH_AUDIT=0 turns the audit trail off (its per-row hash-chain
// trigger was most of the pass's time before the chain was computed per
// batch); FUNDFLOW_BENCH_TRACE=1 logs the statements that took more than
// 2 % of the pass; FUNDFLOW_BENCH_CPUPROFILE=FILE writes a CPU profile of
// the pass alone. It also reports the pass's CPU split (this process
// against the Postgres backends) and the WAL bytes per allotment.
func BenchmarkAllocatePass(b *testing.B) {
	legs := benchkit.EnvInt(b, "FUNDFLOW_BENCH_LEGS", 20000)
	folios := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FOLIOS", max(legs/10, 10))
	batch := benchkit.EnvInt(b, "FUNDFLOW_BENCH_ALLOT_BATCH", 1000)
	workers := benchkit.EnvInt(b, "FUNDFLOW_BENCH_ALLOT_WORKERS", 2)
	sample := benchkit.EnvInt(b, "FUNDFLOW_BENCH_PERLEG_LEGS", 2000)
	schemes := min(500, max(folios/10, 10))
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newAllotBench(b, legs, folios, schemes)
		e.workers = workers
		ctx := testkit.Ctx(b)
		e.trips.n.Store(0)
		if _, err := e.app.Exec(ctx, `SELECT 1`); err != nil { // the pass's connection, so its backend is counted
			b.Fatal(err)
		}
		stopProfile := func() {}
		if f := os.Getenv("FUNDFLOW_BENCH_CPUPROFILE"); f != "" {
			pf, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(pf); err != nil {
				b.Fatal(err)
			}
			stopProfile = func() { pprof.StopCPUProfile(); pf.Close() }
		}
		c0 := e.cpuNow(b)
		b.StartTimer()
		t0 := time.Now()
		res, err := e.svc().AllotPending(ctx, batch)
		took := time.Since(t0)
		b.StopTimer()
		stopProfile()
		if err != nil {
			b.Fatal(err)
		}
		selfCPU, pgCPU, wal := e.cpuNow(b).since(b, e, c0)
		trips := e.trips.n.Load()
		e.trips.mu.Lock()
		spent := e.trips.spent
		e.trips.spent = nil
		e.trips.mu.Unlock()
		if err := ledgergen.CheckService(ctx, e.app); err != nil {
			b.Fatal(err)
		}
		rowsWritten, copyTook := copyBaseline(b, e)

		// Before: the per-leg path (batches of 100, its old default) over
		// a sample of the same shape.
		n := min(sample, legs)
		pe := newAllotBench(b, n, max(n/10, 10), schemes)
		pe.trips.n.Store(0)
		t1 := time.Now()
		pres, err := pe.svc().AllotPendingPerLeg(ctx, 100)
		ptook := time.Since(t1)
		if err != nil {
			b.Fatal(err)
		}
		ptrips := pe.trips.n.Load()
		b.Logf("set-based: %d legs over %d folios and %d schemes, batch %d: %+v in %v, %d round trips; it wrote %d rows, a bare COPY of them took %v",
			legs, folios, schemes, batch, res, took.Round(time.Millisecond), trips, rowsWritten, copyTook.Round(time.Millisecond))
		for k, d := range spent {
			if d > took/50 {
				b.Logf("set-based: %v in %s", d.Round(time.Millisecond), k)
			}
		}
		b.Logf("set-based CPU: this process %v, Postgres backends %v; WAL %d bytes (cluster-wide)", selfCPU.Round(time.Millisecond), pgCPU.Round(time.Millisecond), wal)
		b.Logf("per leg (before): %d legs, batch 100: %+v in %v, %d round trips", n, pres, ptook.Round(time.Millisecond), ptrips)
		b.ReportMetric(float64(res.Allotted)/took.Seconds(), "allotments/s")
		b.ReportMetric(took.Seconds(), "pass_s")
		b.ReportMetric(float64(workers), "workers")
		b.ReportMetric(copyTook.Seconds()/took.Seconds(), "ratio_vs_copy")
		b.ReportMetric(float64(trips)/float64(max(res.Allotted, 1)), "round_trips/allotment")
		b.ReportMetric(float64(selfCPU.Microseconds())/float64(max(res.Allotted, 1)), "go_cpu_us/allotment")
		b.ReportMetric(float64(pgCPU.Microseconds())/float64(max(res.Allotted, 1)), "pg_cpu_us/allotment")
		b.ReportMetric(float64(wal)/float64(max(res.Allotted, 1)), "wal_bytes/allotment")
		b.ReportMetric(float64(pres.Allotted)/ptook.Seconds(), "perleg_allotments/s")
		b.ReportMetric(float64(ptrips)/float64(max(pres.Allotted, 1)), "perleg_round_trips/allotment")
	}
}
