package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
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
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// syncBuf is a child's output, read by the test while the child writes it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The scale-out run: three `fundflow serve` processes share one Postgres,
// one ClickHouse and a Kafka cluster (orders.placed in 6 partitions, orders
// keyed by folio, one consumer group). Orders stream onto Kafka and their
// payment webhooks are spread round-robin over the three processes (the
// next one when a process does not answer, as a load balancer would). One
// process is killed with SIGKILL and restarted, then another. nav-ingest
// and nav-freshness are scheduled on all three every 5 s.
//
// In the end: every order is requested once and allotted once, at the
// right NAV, and the ledger's invariants hold; the consumer group committed
// every partition to its end (no offset lost across the rebalances, and,
// with every order requested once, none whose effect was repeated) and
// holds the three processes again, each with partitions; every
// transaction is in ClickHouse once; and each scheduled job's tick ran on
// one process only (job_runs: one row per (pipeline, tick)), the runs
// spread over the processes. Every wait is on progress (it fails when
// nothing moves for 60 s), never on a total.
func TestScaleOutThreeServes(t *testing.T) {
	bin := fundflowBinary(t)
	const parts, procs = 6, 3
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "orders.placed"),
		kfake.SeedTopics(1, "transactions.completed", "orders.status", fund.TopicPaymentStatus, "nav.validated"),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()
	m := newMoney(t) // the test's databases; the children share them
	var db, chDB string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if err := m.d.ch.QueryRow(m.ctx, `SELECT currentDatabase()`).Scan(&chDB); err != nil {
		t.Fatal(err)
	}
	dbURL := testkit.AppURL(t, withDB(testkit.Env(t, "FUNDFLOW_PG_URL"), db)) // the application's role, as in production
	chURL := withDB(testkit.Env(t, "FUNDFLOW_CH_URL"), chDB)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.scheme("E2", "Equity Scheme - Mid Cap Fund")
	m.nav("E1", "2026-08-20", "31.4159")
	// E2's NAV of 20-Aug lands after the first kill.

	navDir := t.TempDir() // nav-ingest's folder: empty, each tick a run that finds nothing
	holidays := testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")
	addrs := make([]string, procs)
	cfgs := make([]string, procs)
	for i := range addrs {
		addrs[i] = freePort(t)
		cfgs[i] = filepath.Join(t.TempDir(), fmt.Sprintf("fundflow-%d.yaml", i))
		if err := os.WriteFile(cfgs[i], []byte(`
services:
  kafka_brokers_env: FUNDFLOW_SCALE_KAFKA
pipelines:
  nav-ingest:
    schedule: "@every 5s"
    source: {kind: file, path: `+navDir+`, glob: "*.txt", stable_for: 0s}
    holidays: [`+holidays+`]
  nav-freshness:
    schedule: "@every 5s"
  payments:
    listen: `+addrs[i]+`
    secret_envs: [FUNDFLOW_SCALE_SECRET]
    max_event_age: 87600h # the test replays August 2026 and trusts its time stamps
  orders:
    batch_size: 25
    session_timeout: 1500ms
    max_clock_skew: 87600h
    max_consumer_lag: 87600h
  allocate:
    every: 200ms
    holidays: [`+holidays+`]
  outbox:
    every: 500ms
    batch_size: 50
    facts: true
`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmds := make([]*exec.Cmd, procs)
	var lives []string // every ended child's output, for the log scan and the diagnostics
	outs := make([]*syncBuf, procs)
	var livesMu sync.Mutex
	start := func(i int) {
		cmd := exec.Command(bin, "--config", cfgs[i], "--log-level", "info", "serve")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+dbURL, "FUNDFLOW_CH_URL="+chURL,
			"FUNDFLOW_SCALE_KAFKA="+joinBrokers(brokers), "FUNDFLOW_SCALE_SECRET="+testWebhookSecret)
		out := &syncBuf{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		cmds[i], outs[i] = cmd, out
	}
	kill := func(i int) {
		_ = cmds[i].Process.Signal(syscall.SIGKILL)
		_ = cmds[i].Wait()
		livesMu.Lock()
		lives = append(lives, fmt.Sprintf("--- serve %d (pid %d), killed:\n%s", i, cmds[i].Process.Pid, outs[i].String()))
		livesMu.Unlock()
	}
	for i := range cmds {
		start(i)
	}

	const n, folios = 900, 60
	rng := rand.New(rand.NewPCG(2026, 14))
	type order struct {
		id, folio, scheme, amount string
		body                      []byte
	}
	orders := make([]order, n)
	for i := range orders {
		scheme := "E1"
		if i%5 == 0 {
			scheme = "E2"
		}
		amount := fmt.Sprintf("%d.%02d", 100+rng.IntN(100000), rng.IntN(100))
		folio := fmt.Sprintf("SF%03d", i%folios)
		id := fmt.Sprintf("SO-%04d", i)
		orders[i] = order{id, folio, scheme, amount, []byte(fmt.Sprintf(
			`{"order_id":%q,"type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":%q,"amount":%q,"placed_at":"2026-08-20T10:00:00+05:30"}`,
			id, folio, folio, scheme, amount))}
	}

	ctx, stopSending := context.WithCancel(m.ctx)
	defer stopSending()
	var wg sync.WaitGroup
	var sent, resent atomic.Int64
	// The platform: orders onto Kafka keyed by folio, in chunks (some twice).
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: "orders.placed", Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: time.Millisecond}
		defer w.Close()
		for i := 0; i < n; i += 10 {
			var msgs []kafkago.Message
			for j := i; j < i+10 && j < n; j++ {
				msgs = append(msgs, kafkago.Message{Key: []byte(orders[j].folio), Value: orders[j].body})
				if j%7 == 0 {
					msgs = append(msgs, kafkago.Message{Key: []byte(orders[j].folio), Value: orders[j].body})
				}
			}
			for { // a failed write is sent again whole: orders are idempotent
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
			sent.Store(int64(min(i+10, n)))
			time.Sleep(250 * time.Millisecond) // orders stream through both kills
		}
	}()
	// The gateway: a webhook per order, round-robin over the three
	// processes, redelivered (to the next one) until answered 2xx; some
	// delivered twice anyway.
	var delivered [procs]atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	deliver := func(k int, id string, body []byte) {
		sig := webhook.Sign(body, []byte(testWebhookSecret))
		for try := 0; ctx.Err() == nil; try++ {
			p := (k + try) % procs
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addrs[p]+"/webhooks/razorpay", bytes.NewReader(body))
			req.Header.Set(webhook.HeaderSignature, sig)
			req.Header.Set(webhook.HeaderEventID, "evt_"+id)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					delivered[p].Add(1)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	const senders = 6
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += senders {
				for int64(i) >= sent.Load()+20 && ctx.Err() == nil { // payments trail the orders a little (some overtake)
					time.Sleep(5 * time.Millisecond)
				}
				o := orders[i]
				body := rzPayment{ID: "pay_" + o.id, OrderID: o.id, Status: "captured", Paise: paise(o.amount), At: ist("2026-08-20T11:00:00+05:30")}.Body()
				deliver(i, o.id, body)
				if i%9 == 0 {
					deliver(i+1, o.id, body)
				}
			}
		}(g)
	}

	allotted := func() int { return m.num(`SELECT count(*) FROM orders WHERE status = 'allotted'`) }
	// group is the orders group as the broker sees it: the members that
	// hold partitions, and who holds which.
	group := func() (holding int, desc string) {
		c := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
		resp, err := c.DescribeGroups(m.ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{"fundflow-orders"}})
		if err != nil || len(resp.Groups) == 0 {
			return 0, fmt.Sprintf("describe group: %v", err)
		}
		g := resp.Groups[0]
		desc = g.GroupState
		for _, mb := range g.Members {
			var ps []int
			for _, tp := range mb.MemberAssignments.Topics {
				ps = append(ps, tp.Partitions...)
			}
			if len(ps) > 0 {
				holding++
			}
			desc += fmt.Sprintf(" %s%v", mb.ClientHost, ps)
		}
		return holding, desc
	}
	diag := func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "orders by status: %s; order requests %d; orders written to Kafka %d of %d (chunks re-sent %d); webhooks answered by process %d/%d/%d\n",
			m.str(`SELECT coalesce(string_agg(status || ' ' || c, ', '), '') FROM (SELECT status, count(*)::text c FROM orders GROUP BY 1) x`),
			m.num(`SELECT count(*) FROM order_requests`), sent.Load(), n, resent.Load(), delivered[0].Load(), delivered[1].Load(), delivered[2].Load())
		fmt.Fprintf(&b, "orders.placed: committed %v, ends %v\n", committedOffsets(t, brokers, "fundflow-orders", "orders.placed", parts), highWatermarks(t, brokers, "orders.placed"))
		_, g := group()
		fmt.Fprintf(&b, "group fundflow-orders: %s\n", g)
		fmt.Fprintf(&b, "job_runs: %s\n", m.str(`SELECT coalesce(string_agg(x, '; '), '') FROM (SELECT pipeline || ' ' || status || ' pid ' || coalesce(pid::text, '?') || ': ' || count(*) x
			FROM job_runs GROUP BY pipeline, status, pid ORDER BY 1) y`))
		livesMu.Lock()
		for _, l := range lives {
			fmt.Fprintf(&b, "%s\n", tail(l, 1500))
		}
		livesMu.Unlock()
		for i, o := range outs {
			fmt.Fprintf(&b, "--- serve %d (pid %d), running:\n%s\n", i, cmds[i].Process.Pid, tail(o.String(), 2500))
		}
		return b.String()
	}
	// waitUntil waits for cond, failing with the diagnostics when what it
	// watches (progress) has not moved for 60 s.
	waitUntil := func(what string, cond func() bool, progress func() int) {
		t.Helper()
		last, moved := -1, time.Now()
		for !cond() {
			if p := progress(); p != last {
				last, moved = p, time.Now()
			}
			if time.Since(moved) > 60*time.Second {
				stopSending()
				t.Fatalf("waiting for %s: nothing moved for 60 s (at %d)\n%s", what, last, diag())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Kill one process once a quarter is allotted, restart it when its
	// group session has run out; then another once half is allotted.
	for k, victim := range []int{0, 1} {
		at := n / 4 * (k + 1)
		waitUntil(fmt.Sprintf("%d allotted before killing serve %d", at, victim), func() bool { return allotted() >= at }, allotted)
		kill(victim)
		t.Logf("killed serve %d at %d allotted, %d orders sent", victim, allotted(), sent.Load())
		if k == 0 {
			m.nav("E2", "2026-08-20", "12.3456")
		}
		time.Sleep(2 * time.Second) // its group session (1.5 s) runs out: the others take its partitions
		start(victim)
		t.Logf("restarted serve %d", victim)
	}
	waitUntil("every order allotted", func() bool { return allotted() >= n }, allotted)
	wg.Wait()
	hw := highWatermarks(t, brokers, "orders.placed")
	committed := func() int {
		s := 0
		for _, o := range committedOffsets(t, brokers, "fundflow-orders", "orders.placed", parts) {
			s += int(o)
		}
		return s
	}
	waitUntil("the group's offsets committed to the end of every partition", func() bool { return committedThrough(t, brokers, parts, hw) }, committed)
	facts := func() int { return chCount(t, m.d, `SELECT count() FROM transactions FINAL`) }
	waitUntil("every transaction in ClickHouse", func() bool { return facts() >= n }, facts)
	// The group has taken the restarted processes back: three members,
	// each holding partitions.
	members := func() int { h, _ := group(); return h }
	waitUntil("the three processes holding the orders partitions", func() bool { return members() == procs }, members)
	_, g := group()
	t.Logf("group fundflow-orders after the restarts: %s", g)
	// Two more ticks on the restarted processes.
	ticks := func() int { return m.num(`SELECT count(*) FROM job_runs WHERE tick IS NOT NULL`) }
	before := ticks()
	waitUntil("two more scheduled ticks", func() bool { return ticks() >= before+4 }, ticks)
	for i, cmd := range cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		livesMu.Lock()
		lives = append(lives, fmt.Sprintf("--- serve %d (pid %d), stopped:\n%s", i, cmd.Process.Pid, outs[i].String()))
		livesMu.Unlock()
	}
	t.Logf("webhooks answered by process: %d/%d/%d; order chunks re-sent after a failed write: %d",
		delivered[0].Load(), delivered[1].Load(), delivered[2].Load(), resent.Load())

	// Every order once, and its effects once.
	for q, want := range map[string]int{
		`SELECT count(*) FROM order_requests`:                                n,
		`SELECT count(*) FROM orders WHERE status = 'allotted'`:              n,
		`SELECT count(*) FROM ledger_transactions`:                           n,
		`SELECT count(DISTINCT order_id) FROM ledger_transactions`:           n,
		`SELECT count(*) FROM payments WHERE status = 'captured'`:            n,
		`SELECT count(*) FROM inbox`:                                         n,
		`SELECT count(*) FROM payment_breaks`:                                0,
		`SELECT count(*) FROM quarantine`:                                    0,
		`SELECT count(*) FROM outbox WHERE topic = 'transactions.completed'`: n,
	} {
		if got := m.num(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if c := facts(); c != n {
		t.Errorf("%d ClickHouse transactions, want %d", c, n)
	}
	byID := map[string]order{}
	for _, o := range orders {
		byID[o.id] = o
	}
	rows, err := m.d.pg.Pool.Query(m.ctx, `SELECT order_id, units::text, nav_date::text FROM ledger_transactions`)
	if err != nil {
		t.Fatal(err)
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

	// Each scheduled job: one run per tick, whichever process fired first.
	for _, pipeline := range []string{"nav-ingest", "nav-freshness"} {
		if bad := m.str(`SELECT coalesce(string_agg(tick::text || ' x' || c, ', '), '') FROM (
				SELECT tick, count(*) c FROM job_runs WHERE pipeline = $1 GROUP BY tick HAVING count(*) > 1 OR tick IS NULL) x`, pipeline); bad != "" {
			t.Errorf("%s: ticks run more than once (or runs without a tick): %s", pipeline, bad)
		}
		runs := m.num(`SELECT count(*) FROM job_runs WHERE pipeline = $1`, pipeline)
		pids := m.str(`SELECT string_agg(pid::text || ':' || c, ' ') FROM (SELECT pid, count(*) c FROM job_runs WHERE pipeline = $1 GROUP BY pid ORDER BY pid) x`, pipeline)
		statuses := m.str(`SELECT string_agg(status || ' ' || c, ', ') FROM (SELECT status, count(*) c FROM job_runs WHERE pipeline = $1 GROUP BY 1 ORDER BY 1) x`, pipeline)
		if errs := m.str(`SELECT coalesce(string_agg(DISTINCT left(coalesce(error, ''), 300), ' | '), '') FROM job_runs WHERE pipeline = $1 AND status <> 'ok'`, pipeline); errs != "" {
			t.Logf("%s: runs not ok: %s", pipeline, errs)
		}
		t.Logf("%s: %d ticks run (%s), by process pid: %s; ticks (pid, ms): %s", pipeline, runs, statuses, pids,
			m.str(`SELECT string_agg(to_char(tick AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' ' || pid || ' ' || round(extract(epoch FROM finished_at - started_at) * 1000), ', ' ORDER BY tick)
				FROM job_runs WHERE pipeline = $1`, pipeline))
		if runs < 4 || strings.Count(pids, ":") < 2 {
			t.Errorf("%s: %d runs on processes %s: want runs on several processes", pipeline, runs, pids)
		}
	}
	// What the processes that fired a tick another had run said.
	livesMu.Lock()
	all := strings.Join(lives, "\n")
	livesMu.Unlock()
	t.Logf("scheduled firings skipped: %d (of which the tick already run elsewhere: %d)", strings.Count(all, `msg="job skipped"`), strings.Count(all, "tick taken"))
	// One process relays at a time (the outbox's single-runner lock), and
	// Kafka is at-least-once (consumers dedupe by event_id): a message is
	// sent again only when a SIGKILL lands between a batch's publish and
	// its mark, so at most one batch of 50 per kill.
	var msgs int
	ids := map[string]bool{}
	for _, msg := range testkit.ReadTopic(t, brokers, "transactions.completed") {
		msgs++
		ids[string(msg.Value)] = true
	}
	t.Logf("transactions.completed on Kafka: %d messages, %d distinct (want %d distinct)", msgs, len(ids), n)
	// The lock itself: no two relay passes that sent something overlapped.
	if overlaps := m.num(`SELECT count(*) FROM job_runs a JOIN job_runs b ON a.id < b.id
		WHERE a.pipeline = 'outbox' AND b.pipeline = 'outbox' AND a.status = 'ok' AND b.status = 'ok'
		  AND a.started_at < b.finished_at AND b.started_at < a.finished_at`); overlaps != 0 {
		t.Errorf("outbox: %d pairs of relay passes ran at the same time, want none (one relay at a time)", overlaps)
	}
	if repeats, most := msgs-len(ids), 2*50; repeats > most {
		t.Errorf("transactions.completed: %d messages sent twice, want at most %d (one batch per kill)", repeats, most)
	}
	if len(ids) != n {
		t.Errorf("transactions.completed: %d distinct events on Kafka, want %d", len(ids), n)
	}
}
