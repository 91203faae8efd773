package wallet_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// BenchmarkAutoInvest: N deposits of ₹20,000.00 arriving at once (their
// webhooks received in groups of 64, the payments pipeline's default
// group_commit; then `run managed`'s credit and invest passes), each split
// into 3 purchases (40/35/25), against the plain purchase path in the same
// run and database: 3N purchase orders placed (PlaceOrders, in batches of
// 100) and paid by their captured webhooks (groups of 64). Reported:
// orders/s of each and their ratio, each phase's seconds, and the
// statements, round trips and commits each deposit (each plain order)
// cost, counted on the pool. N = FUNDFLOW_BENCH_AUTOINVEST (default 100).
// The wallets and terms are set up by SQL: at 100,000 their one-by-one
// opening would take longer than the run.
func BenchmarkAutoInvest(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_AUTOINVEST", 100)
	for i := 0; i < b.N; i++ {
		e, ai, cnt := benchEnv(b)
		e.db.Exec(`INSERT INTO investors (id) SELECT 'INV-W' || lpad(k::text, 5, '0') FROM generate_series(0, $1 - 1) k`, n)
		e.db.Exec(`INSERT INTO wallets (id, investor_id) SELECT 'W' || lpad(k::text, 5, '0'), 'INV-W' || lpad(k::text, 5, '0') FROM generate_series(0, $1 - 1) k`, n)
		e.db.Exec(`INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no) SELECT 'W' || lpad(k::text, 5, '0'), 'moderate', 'F-W' || lpad(k::text, 5, '0') FROM generate_series(0, $1 - 1) k`, n)
		e.db.Exec(`ANALYZE`)
		var evs []ledger.InboxEvent
		flush := func() {
			if len(evs) == 0 {
				return
			}
			if _, err := e.ledger.ReceiveMany(e.ctx, evs); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
		receive := func(id, notes string, paise int64) {
			body := moneytest.Payment{ID: id, OrderID: notes, Status: "captured", Paise: paise, At: clock.Add(-time.Minute)}.Body()
			typ, p, err := webhook.ParseRazorpay(body, "ev_"+id)
			if err != nil {
				b.Fatal(err)
			}
			evs = append(evs, ledger.InboxEvent{Source: "razorpay", EventID: "ev_" + id, EventType: typ, Body: body, Payment: p})
			if len(evs) == 64 {
				flush()
			}
		}
		b.ResetTimer()
		// Auto-invest: the deposits' webhooks, then the passes.
		start := time.Now()
		for k := 0; k < n; k++ {
			receive(fmt.Sprintf("pay_%05d", k), fmt.Sprintf("wallet:W%05d", k), 2000000)
		}
		flush()
		arrived := time.Now()
		cnt.dump(b, "arrive")
		c0 := cnt.snap()
		if _, err := e.wallet.CreditDeposits(e.ctx, n); err != nil {
			b.Fatal(err)
		}
		credited := time.Now()
		res, err := ai.Invest(e.ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		c1 := cnt.snap()
		cnt.dump(b, "autoinvest")
		auto := time.Since(start)
		if res.Orders != 3*n {
			b.Fatalf("%d orders, want %d", res.Orders, 3*n)
		}
		b.ReportMetric(arrived.Sub(start).Seconds(), "arrive_s")
		b.ReportMetric(credited.Sub(arrived).Seconds(), "credit_s")
		b.ReportMetric(time.Since(credited).Seconds(), "invest_s")
		b.ReportMetric(float64(c1.stmts-c0.stmts)/float64(n), "stmts/deposit")
		b.ReportMetric(float64(c1.trips-c0.trips)/float64(n), "trips/deposit")
		b.ReportMetric(float64(c1.commits-c0.commits)/float64(n), "commits/deposit")
		// The plain path: the same number of purchases, placed and paid.
		start = time.Now()
		amounts := []string{"8000.00", "7000.00", "5000.00"}
		for k0 := 0; k0 < 3*n; k0 += 100 {
			var ins []fund.OrderIntake
			for k := k0; k < min(k0+100, 3*n); k++ {
				body := fmt.Sprintf(`{"order_id":"P-%06d","type":"purchase","investor_id":"INV-W%05d","folio":"F-W%05d","scheme_code":%q,"amount":%q,"placed_at":%q,"payment_ref":"order_P-%06d"}`,
					k, k/3, k/3, string(rune('A'+k%3)), amounts[k%3], clock.Format(time.RFC3339), k)
				in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "bench", At: clock, MaxSkew: time.Hour})
				if !ok {
					b.Fatal(err)
				}
				ins = append(ins, in)
			}
			if _, err := e.ledger.PlaceOrders(e.ctx, ins); err != nil {
				b.Fatal(err)
			}
		}
		for k := 0; k < 3*n; k++ {
			receive(fmt.Sprintf("pay_P%06d", k), fmt.Sprintf("P-%06d", k), moneytest.Paise(amounts[k%3]))
		}
		flush()
		plain := time.Since(start)
		c3 := cnt.snap()
		cnt.dump(b, "plain")
		b.StopTimer()
		if got := e.db.Num(`SELECT count(*) FROM orders WHERE status = 'allotted'`); got != 6*n {
			b.Fatalf("%d allotted, want %d", got, 6*n)
		}
		b.ReportMetric(float64(c3.stmts-c1.stmts)/float64(3*n), "plain_stmts/order")
		b.ReportMetric(float64(c3.commits-c1.commits)/float64(3*n), "plain_commits/order")
		b.ReportMetric(float64(3*n)/auto.Seconds(), "autoinvest_orders/s")
		b.ReportMetric(float64(3*n)/plain.Seconds(), "plain_orders/s")
		b.ReportMetric(plain.Seconds()/auto.Seconds(), "ratio_vs_plain")
		b.ReportMetric(loadAvg(), "load1")
	}
}

// benchEnv is autoEnv on a pool that counts what it sends: statements,
// round trips (a batch is one) and commits.
func benchEnv(b *testing.B) (*env, *wallet.AutoInvest, *counter) {
	owner, _, _, appURL := testkit.PGApp(b)
	cnt := &counter{}
	if path := os.Getenv("FUNDFLOW_BENCH_SQLTALLY"); path != "" {
		cnt.tally, cnt.path = map[string]*tallied{}, path
	}
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		pgxdecimal.Register(c.TypeMap())
		return nil
	}
	cfg.ConnConfig.Tracer = cnt
	ctx := testkit.Ctx(b)
	app, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	cal, err := holidays.Calendar(testkit.Fixture(b, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return clock }
	e := &env{t: b, ctx: ctx, db: moneytest.DB{T: b, Ctx: ctx, Owner: owner, Read: app},
		ledger: &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true, Now: now},
		wallet: &wallet.Service{Store: pgstore.Store{Pool: app}, Audit: true, Now: now}}
	for _, s := range []string{"A", "B", "C"} {
		e.db.Scheme(s, "Equity Scheme - Large Cap Fund")
		for d := -5; d <= 10; d++ {
			e.db.NAV(s, clock.AddDate(0, 0, d).Format("2006-01-02"), "10.0000")
		}
	}
	ai := &wallet.AutoInvest{Wallet: e.wallet, Store: pgstore.Store{Pool: app}, Ledger: e.ledger, MaxSkew: time.Hour}
	if err := ai.PutModel(e.ctx, moderate()); err != nil {
		b.Fatal(err)
	}
	return e, ai, cnt
}

// counter is a pgx tracer counting statements, round trips and commits.
type counter struct {
	stmts, trips, commits atomic.Int64
	mu                    sync.Mutex
	// FUNDFLOW_BENCH_SQLTALLY=file: statements by their SQL's start, with
	// their time, written to file.<phase> by dump.
	tally map[string]*tallied
	path  string
}

// dump writes the tally since the last dump to path.<phase>, the
// statements that took longest first, and starts it again.
func (c *counter) dump(b *testing.B, phase string) {
	if c.tally == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type kv struct {
		sql string
		t   *tallied
	}
	var all []kv
	var total time.Duration
	for k, v := range c.tally {
		all = append(all, kv{k, v})
		total += v.took
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.t.took - a.t.took) })
	var out strings.Builder
	fmt.Fprintf(&out, "%8.3fs in statements\n", total.Seconds())
	for _, x := range all {
		fmt.Fprintf(&out, "%7d %8.3fs %s\n", x.t.n, x.t.took.Seconds(), x.sql)
	}
	if err := os.WriteFile(c.path+"."+phase, []byte(out.String()), 0o644); err != nil {
		b.Error(err)
	}
	clear(c.tally)
}

type tallied struct {
	n    int
	took time.Duration
}

type startKey struct{}

type started struct {
	sql string
	at  time.Time
}

func (c *counter) note(sql string, took time.Duration) {
	if c.tally == nil {
		return
	}
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 90 {
		sql = sql[:90]
	}
	c.mu.Lock()
	t := c.tally[sql]
	if t == nil {
		t = &tallied{}
		c.tally[sql] = t
	}
	t.n++
	t.took += took
	c.mu.Unlock()
}

type counts struct{ stmts, trips, commits int64 }

func (c *counter) snap() counts { return counts{c.stmts.Load(), c.trips.Load(), c.commits.Load()} }

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.stmts.Add(1)
	c.trips.Add(1)
	if strings.EqualFold(strings.TrimSpace(d.SQL), "commit") {
		c.commits.Add(1)
	}
	if c.tally == nil {
		return ctx
	}
	return context.WithValue(ctx, startKey{}, started{d.SQL, time.Now()})
}

func (c *counter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if s, ok := ctx.Value(startKey{}).(started); ok {
		c.note(s.sql, time.Since(s.at))
	}
}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.trips.Add(1)
	if c.tally == nil {
		return ctx
	}
	return context.WithValue(ctx, startKey{}, started{"(batch)", time.Now()})
}

// TraceBatchQuery counts a batch's statements; the batch's time is
// tallied whole, under "(batch)".
func (c *counter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.stmts.Add(1)
	c.note(d.SQL, 0)
}

func (c *counter) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	if s, ok := ctx.Value(startKey{}).(started); ok {
		c.note(s.sql, time.Since(s.at))
	}
}

func loadAvg() float64 {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var f float64
	_, _ = fmt.Sscan(string(s), &f)
	return f
}
