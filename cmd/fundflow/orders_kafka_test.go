package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// waitFor polls cond until it holds; the test fails (instead of hanging)
// if it does not within a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func produce(t *testing.T, brokers []string, topic string, msgs ...kafkago.Message) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(testkit.Ctx(t), msgs...); err != nil {
		t.Fatal(err)
	}
}

// committedOffsets returns the group's committed offset per partition.
func committedOffsets(t *testing.T, brokers []string, group, topic string, parts int) map[int]int64 {
	t.Helper()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	ps := make([]int, parts)
	for i := range ps {
		ps[i] = i
	}
	resp, err := c.OffsetFetch(testkit.Ctx(t), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// committedThrough reports whether the orders group committed every
// partition of orders.placed up to its high watermark hw.
func committedThrough(t *testing.T, brokers []string, parts int, hw map[int]int64) bool {
	co := committedOffsets(t, brokers, "fundflow-orders", "orders.placed", parts)
	for p, h := range hw {
		if co[p] != h {
			return false
		}
	}
	return true
}

func highWatermarks(t *testing.T, brokers []string, topic string) map[int]int64 {
	t.Helper()
	conn, err := kafkago.DialContext(testkit.Ctx(t), "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, p := range parts {
		pc, err := kafkago.DialLeader(testkit.Ctx(t), "tcp", net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port)), topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[p.ID] = last
	}
	return out
}

// Orders from Kafka: each batch is placed in one Postgres transaction and
// only then are its offsets committed; a message without an order id is
// quarantined with its topic, partition and offset; a duplicate message is
// one order. Then the outbox relays deliver every event to Kafka and every
// transaction to ClickHouse, once.
func TestOrdersFromKafkaAndOutboxRelays(t *testing.T) {
	const parts = 4
	brokers := testkit.Kafka(t, parts, "orders.placed", "transactions.completed", "orders.status", fund.TopicPaymentStatus)
	t.Setenv("FUNDFLOW_TEST_KAFKA", joinBrokers(brokers))
	m := newMoney(t)
	m.d.cfg.Services.KafkaBrokersEnv = "FUNDFLOW_TEST_KAFKA"
	m.d.cfg.Pipelines.Orders.BatchSize = 7
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.nav("E1", "2026-08-20", "20.0000")

	const n = 60
	var msgs []kafkago.Message
	for i := 0; i < n; i++ {
		folio := fmt.Sprintf("KF%02d", i%9)
		msgs = append(msgs, kafkago.Message{Key: []byte(folio), Value: []byte(fmt.Sprintf(
			`{"order_id":"K-%d","type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":"E1","amount":"1000.00","placed_at":"2026-08-20T10:00:00+05:30"}`, i, folio, folio))})
	}
	msgs = append(msgs, msgs[3]) // redelivered by the producer
	msgs = append(msgs, kafkago.Message{Key: []byte("x"), Value: []byte(`{"type":"purchase"}`)})
	produce(t, brokers, "orders.placed", msgs...)

	run := func() (cancel func(), done chan error) {
		p, err := ordersPipeline(m.d, m.l, brokers)
		if err != nil {
			t.Fatal(err)
		}
		ctx, c := context.WithCancel(m.ctx)
		done = make(chan error, 1)
		go func() {
			_, err := p.Run(ctx)
			done <- err
		}()
		return c, done
	}
	stop, done := run()
	waitFor(t, "every order placed", func() bool { return m.num(`SELECT count(*) FROM order_requests`) == n })
	waitFor(t, "the bad message quarantined", func() bool { return m.num(`SELECT count(*) FROM quarantine`) == 1 })
	hw := highWatermarks(t, brokers, "orders.placed")
	waitFor(t, "offsets committed", func() bool { return committedThrough(t, brokers, parts, hw) })
	stop()
	<-done
	var topic string
	var part int
	var off int64
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT topic, partition, "offset" FROM quarantine`).Scan(&topic, &part, &off); err != nil {
		t.Fatal(err)
	}
	if topic != "orders.placed" || off != hw[part]-1 {
		t.Errorf("quarantined at %s/%d/%d; the bad message was the last on its partition (%d)", topic, part, off, hw[part]-1)
	}

	for i := 0; i < n; i++ {
		if code := m.pay(fmt.Sprintf("K-%d", i), "1000.00", ist("2026-08-20T11:00:00+05:30")); code != 200 {
			t.Fatalf("pay K-%d: HTTP %d", i, code)
		}
	}
	if got := m.num(`SELECT count(*) FROM ledger_transactions`); got != n {
		t.Fatalf("%d ledger transactions, want %d", got, n)
	}

	// The relays: Kafka (every event) and ClickHouse (transactions).
	st, err := runOutbox(m.ctx, m.d)
	if err != nil {
		t.Fatal(err)
	}
	events := m.num(`SELECT count(*) FROM outbox`)
	if st.Out != int64(events+n) {
		t.Errorf("relayed %d, want %d events to Kafka and %d transactions to ClickHouse", st.Out, events, n)
	}
	got := map[string]int{}
	// Order and transaction events are keyed by folio, payment events by
	// investor (so the fraud evaluation sees an investor's in order).
	for _, tp := range []string{"transactions.completed", "orders.status", fund.TopicPaymentStatus} {
		for _, msg := range testkit.ReadTopic(t, brokers, tp) {
			var ev struct {
				EventID  string `json:"event_id"`
				Folio    string `json:"folio"`
				Investor string `json:"investor_id"`
			}
			if err := json.Unmarshal(msg.Value, &ev); err != nil {
				t.Fatal(err)
			}
			key, by := ev.Folio, "folio"
			if tp == fund.TopicPaymentStatus {
				key, by = ev.Investor, "investor"
			}
			if string(msg.Key) != key || key == "" {
				t.Errorf("event %s keyed %q, want its %s %q", ev.EventID, msg.Key, by, key)
			}
			got[ev.EventID]++
		}
	}
	if len(got) != events {
		t.Errorf("%d distinct events on Kafka, want %d", len(got), events)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("event %s published %d times", id, c)
		}
	}
	if c := chCount(t, m.d, `SELECT count() FROM transactions FINAL`); c != n {
		t.Errorf("%d ClickHouse transactions, want %d", c, n)
	}
	// Nothing is relayed twice.
	if st, err := runOutbox(m.ctx, m.d); err != nil || st.Out != 0 {
		t.Errorf("second relay: %+v %v", st, err)
	}
	rows, err := postgres.ReadOutbox(m.ctx, m.d.pg.Pool, 0, "transactions.completed", 1000)
	if err != nil || len(rows) != n {
		t.Errorf("ReadOutbox: %d rows, %v", len(rows), err)
	}
	m.checkLedger()
}

func joinBrokers(b []string) string {
	s := ""
	for i, x := range b {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

// Poison in the middle of good messages (issue 11, item 5): messages that
// can never be stored are recorded as rejected under their id (or
// quarantined with topic/partition/offset when they have no id), every
// good message lands, and the consumer commits past all of them.
func TestKafkaPoisonOrdersDoNotHoldUpTheConsumer(t *testing.T) {
	const parts = 2
	brokers := testkit.Kafka(t, parts, "orders.placed")
	m := newMoney(t)
	m.d.cfg.Pipelines.Orders.BatchSize = 5
	m.scheme("E1", "Equity Scheme - Large Cap Fund")

	poison := map[string]string{ // order id -> its reason
		"PX-amount":  "out_of_range",
		"PX-nul":     "bad_encoding",
		"PX-latin1":  "bad_encoding",
		"PX-nulnote": "bad_json",
	}
	bodies := []string{
		`{"order_id":"PX-amount","type":"purchase","investor_id":"INV-KP","folio":"KP","scheme_code":"E1","amount":"10000000000000000.00","placed_at":"2026-08-20T10:00:00+05:30"}`,
		`{"order_id":"PX-nul","type":"purchase","investor_id":"INV-KP","folio":"KP","scheme_code":"E1","amount":"5.00","payment_ref":"\u0000","placed_at":"2026-08-20T10:00:00+05:30"}`,
		"{\"order_id\":\"PX-latin1\",\"type\":\"purchase\",\"investor_id\":\"INV-KP\",\"folio\":\"KP\",\"scheme_code\":\"E1\",\"amount\":\"5.00\",\"payment_ref\":\"\xe9\",\"placed_at\":\"2026-08-20T10:00:00+05:30\"}",
		`{"order_id":"PX-nulnote","type":"purchase","note":"\u0000"}`,
		"{\"type\":\"purchase\",\"folio\":\"\x00\xff\"}", // no id: quarantined
	}
	const good = 40
	var msgs []kafkago.Message
	for i := 0; i < good; i++ {
		folio := fmt.Sprintf("KG%02d", i%5)
		msgs = append(msgs, kafkago.Message{Key: []byte(folio), Value: []byte(fmt.Sprintf(
			`{"order_id":"KG-%d","type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":"E1","amount":"1000.00","placed_at":"2026-08-20T10:00:00+05:30"}`, i, folio, folio))})
		if i%8 == 3 { // poison in the middle of good messages, on every partition
			b := bodies[(i/8)%len(bodies)]
			msgs = append(msgs, kafkago.Message{Key: []byte(fmt.Sprintf("KG%02d", i%5)), Value: []byte(b)})
		}
	}
	produce(t, brokers, "orders.placed", msgs...)

	p, err := ordersPipeline(m.d, m.l, brokers)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(m.ctx)
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx)
		done <- err
	}()
	hw := highWatermarks(t, brokers, "orders.placed")
	waitFor(t, "offsets committed past every message", func() bool {
		select {
		case err := <-done:
			t.Fatalf("the consumer stopped: %v", err)
		default:
		}
		return committedThrough(t, brokers, parts, hw)
	})
	stop()
	<-done

	if got := m.num(`SELECT count(*) FROM orders WHERE id LIKE 'KG-%' AND status = 'awaiting_payment'`); got != good {
		t.Errorf("%d good orders placed, want %d", got, good)
	}
	for id, reason := range poison {
		if got := m.str(`SELECT status || ' ' || reason FROM order_requests WHERE id = $1`, id); got != "rejected "+reason {
			t.Errorf("%s: %q, want rejected %s", id, got, reason)
		}
	}
	var topic string
	var part int
	var off int64
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT topic, partition, "offset" FROM quarantine WHERE pipeline = 'orders'`).Scan(&topic, &part, &off); err != nil {
		t.Fatalf("the message without an id is not quarantined: %v", err)
	}
	if topic != "orders.placed" || off < 0 || off >= hw[part] {
		t.Errorf("quarantined at %s/%d/%d", topic, part, off)
	}
}
