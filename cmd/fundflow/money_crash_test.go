package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/internal/testkit"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A child `fundflow serve` takes orders from Kafka and payment webhooks over
// HTTP while it is killed with SIGKILL at random points, 20 times, and
// restarted (about a minute in all). The gateway side redelivers every webhook until it gets a 2xx
// (as Razorpay does); orders and webhooks are also sent twice on purpose.
// Halfway, the NAV some orders wait for lands. In the end every order is
// allotted exactly once, every payment is stored once, and the ledger's
// invariants hold. It runs with the set-based allocate pass's default batch
// and again with batches of one leg.
func TestMoneyPathCrashAndRestart(t *testing.T) {
	for _, batch := range []int{1000, 1} {
		t.Run(fmt.Sprintf("allocate batch %d", batch), func(t *testing.T) { moneyPathCrashAndRestart(t, batch) })
	}
}

func moneyPathCrashAndRestart(t *testing.T, batch int) {
	bin := fundflowBinary(t)
	// A cluster of its own that allows short group sessions, so that a
	// restarted consumer rejoins in about a second instead of waiting out
	// the killed one's 6-second session (the group logic is the same).
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "orders.placed"), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()
	m := newMoney(t) // the test's databases; the child uses them too
	pgURL := testkit.Env(t, "FUNDFLOW_PG_URL")
	var dbURL string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT current_database()`).Scan(&dbURL); err != nil {
		t.Fatal(err)
	}
	dbURL = testkit.AppURL(t, withDB(pgURL, dbURL)) // the child runs as the application's role, as in production
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.scheme("E2", "Equity Scheme - Mid Cap Fund")
	m.nav("E1", "2026-08-20", "31.4159")
	// E2's NAV of 20-Aug lands halfway through.

	addr := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
services:
  kafka_brokers_env: FUNDFLOW_CRASH_KAFKA
pipelines:
  payments:
    listen: `+addr+`
    secret_envs: [FUNDFLOW_CRASH_SECRET]
    max_event_age: 87600h # the test replays August 2026 and trusts its time stamps
  orders:
    batch_size: 25
    session_timeout: 1500ms
    max_clock_skew: 87600h
    max_consumer_lag: 87600h
  allocate:
    every: 200ms
    batch_size: `+fmt.Sprint(batch)+`
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	chURL := testkit.Env(t, "FUNDFLOW_CH_URL")
	var lastOut *bytes.Buffer
	start := func() *exec.Cmd {
		cmd, out := startChild(t, bin, []string{"FUNDFLOW_PG_URL=" + dbURL, "FUNDFLOW_CH_URL=" + chURL,
			"FUNDFLOW_CRASH_KAFKA=" + joinBrokers(brokers), "FUNDFLOW_CRASH_SECRET=" + testWebhookSecret},
			"--config", cfgPath, "--log-level", "warn", "serve")
		lastOut = out
		return cmd
	}

	const n = 600
	rng := rand.New(rand.NewPCG(2026, 5))
	type order struct {
		id, scheme, amount string
		body               []byte
	}
	orders := make([]order, n)
	for i := range orders {
		scheme := "E1"
		if i%5 == 0 {
			scheme = "E2"
		}
		amount := fmt.Sprintf("%d.%02d", 100+rng.IntN(100000), rng.IntN(100))
		folio := fmt.Sprintf("CF%03d", i%40)
		id := fmt.Sprintf("CR-%04d", i)
		orders[i] = order{id, scheme, amount, []byte(fmt.Sprintf(
			`{"order_id":%q,"type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":%q,"amount":%q,"placed_at":"2026-08-20T10:00:00+05:30"}`,
			id, folio, folio, scheme, amount))}
	}

	ctx, stopSending := context.WithCancel(m.ctx)
	defer stopSending()
	var wg sync.WaitGroup
	var sent atomic.Int64
	var resent atomic.Int64 // order chunks whose write failed and was sent again
	// The platform: orders onto Kafka in small chunks (some twice).
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: "orders.placed", Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: time.Millisecond}
		defer w.Close()
		for i := 0; i < n; i += 10 {
			var msgs []kafkago.Message
			for j := i; j < i+10 && j < n; j++ {
				msgs = append(msgs, kafkago.Message{Key: []byte(orders[j].id), Value: orders[j].body})
				if j%7 == 0 {
					msgs = append(msgs, kafkago.Message{Key: []byte(orders[j].id), Value: orders[j].body})
				}
			}
			// A failed write (some partitions may have taken their part) is
			// sent again whole: the orders are idempotent, and giving up
			// would leave the rest unsent and the test waiting for them.
			for {
				err := w.WriteMessages(ctx, msgs...)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				resent.Add(1)
				time.Sleep(100 * time.Millisecond)
			}
			sent.Store(int64(i + 10))
			time.Sleep(400 * time.Millisecond) // orders keep streaming through most of the kills
		}
	}()
	// The gateway: a webhook per order, redelivered until answered 2xx;
	// some delivered twice anyway.
	client := &http.Client{Timeout: 5 * time.Second}
	deliver := func(id string, body []byte) {
		sig := webhook.Sign(body, []byte(testWebhookSecret))
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/razorpay", bytes.NewReader(body))
			req.Header.Set(webhook.HeaderSignature, sig)
			req.Header.Set(webhook.HeaderEventID, "evt_"+id)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				for int64(i) >= sent.Load()+20 && ctx.Err() == nil { // payments trail the orders a little (some overtake)
					time.Sleep(5 * time.Millisecond)
				}
				o := orders[i]
				body := rzPayment{ID: "pay_" + o.id, OrderID: o.id, Status: "captured", Paise: paise(o.amount), At: ist("2026-08-20T11:00:00+05:30")}.Body()
				deliver(o.id, body)
				if i%9 == 0 {
					deliver(o.id, body)
				}
			}
		}(g)
	}

	kr := rand.New(rand.NewPCG(11, 2026))
	for kill := 1; kill <= 20; kill++ {
		cmd := start()
		// Alternately long enough for a restarted consumer to rejoin its
		// group (the dead one's session lasts 1.5 s) and be killed
		// mid-batch, and short (mid-webhook, mid-allocate, mid-rejoin).
		delay := time.Duration(150+kr.IntN(850)) * time.Millisecond
		if kill%2 == 0 {
			delay = time.Duration(1800+kr.IntN(1700)) * time.Millisecond
		}
		time.Sleep(delay)
		if kill == 10 {
			m.nav("E2", "2026-08-20", "12.3456")
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("kill %2d after %v: %d allotted", kill, delay, m.num(`SELECT count(*) FROM ledger_transactions`))
	}
	// The last run goes until everything is in.
	cmd := start()
	waitDone := make(chan struct{})
	go func() { wg.Wait(); close(waitDone) }()
	// It fails only when allotment stops moving: a fixed total deadline
	// failed once on a loaded machine (463 of 600, still going) while the
	// producer was still streaming orders.
	lastCount, lastMove := -1, time.Now()
	restarted := false
	for done := m.num(`SELECT count(*) FROM orders WHERE status = 'allotted'`); done < n; done = m.num(`SELECT count(*) FROM orders WHERE status = 'allotted'`) {
		if done != lastCount {
			lastCount, lastMove = done, time.Now()
		}
		// A full suite run once saw the Kafka consumer of the last run
		// stop moving after 20 kills (kafka-go's group member against
		// kfake, not reproduced alone or under CPU load). A supervisor
		// restarts such a process; so does the test, once, saying so.
		// Nothing is forgiven: orders lost (offsets committed past
		// them) stay lost after a restart and fail the test below, and
		// every exactly-once check after the loop still runs.
		if time.Since(lastMove) > 45*time.Second && !restarted {
			t.Logf("no allotment for 45 s at %d of %d (order requests %d, orders written to Kafka %d, chunks re-sent %d): restarting serve once",
				done, n, m.num(`SELECT count(*) FROM order_requests`), min(sent.Load(), int64(n)), resent.Load())
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = start()
			restarted, lastMove = true, time.Now()
		}
		if time.Since(lastMove) > 90*time.Second {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			// Which side stalled: the producer (orders not all written to
			// Kafka), the consumer (written, never placed) or the ledger.
			t.Fatalf("only %d of %d orders allotted and none for 90 s; statuses: %s; order requests %d; orders written to Kafka %d of %d (chunks re-sent %d)\nlast run's log:\n%s",
				m.num(`SELECT count(*) FROM orders WHERE status = 'allotted'`), n,
				m.str(`SELECT coalesce(string_agg(status || ' ' || c, ', '), '') FROM (SELECT status, count(*)::text c FROM orders GROUP BY 1) x`),
				m.num(`SELECT count(*) FROM order_requests`), min(sent.Load(), int64(n)), n, resent.Load(), tail(lastOut.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-waitDone
	t.Logf("%d order chunks were written to Kafka again after a failed write", resent.Load())
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	for q, want := range map[string]int{
		`SELECT count(*) FROM order_requests`:                                n,
		`SELECT count(*) FROM orders WHERE status = 'allotted'`:              n,
		`SELECT count(*) FROM ledger_transactions`:                           n,
		`SELECT count(DISTINCT order_id) FROM ledger_transactions`:           n,
		`SELECT count(*) FROM payments WHERE status = 'captured'`:            n,
		`SELECT count(*) FROM inbox`:                                         n,
		`SELECT count(*) FROM payment_breaks`:                                0,
		`SELECT count(*) FROM outbox WHERE topic = 'transactions.completed'`: n,
	} {
		if got := m.num(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	// Every allotment at the NAV of 20-Aug, with the arithmetic redone.
	rows, err := m.d.pg.Pool.Query(m.ctx, `SELECT order_id, units::text, nav_date::text FROM ledger_transactions`)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]order{}
	for _, o := range orders {
		byID[o.id] = o
	}
	for rows.Next() {
		var id, units, date string
		if err := rows.Scan(&id, &units, &date); err != nil {
			t.Fatal(err)
		}
		o := byID[id]
		nav := map[string]string{"E1": "31.4159", "E2": "12.3456"}[o.scheme]
		if _, want := expectPurchase(o.amount, nav, 3); !decEq(units, want) || date != "2026-08-20" {
			t.Errorf("%s: %s units on %s, want %s on 2026-08-20", id, units, date, want)
		}
	}
	rows.Close()
	m.checkLedger()
}

// withDB returns the Postgres URL u pointing at database db.
func withDB(u, db string) string {
	i := strings.Index(u, "://")
	j := strings.Index(u[i+3:], "/")
	rest := u[i+3+j:]
	q := ""
	if k := strings.Index(rest, "?"); k >= 0 {
		q = rest[k:]
	}
	return u[:i+3+j] + "/" + db + q
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
