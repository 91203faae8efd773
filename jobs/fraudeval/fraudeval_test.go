package fraudeval_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// holder records the holds asked for, as the ledger would (idempotent per
// leg).
type holder struct {
	mu    sync.Mutex
	holds map[string]ledger.HoldRequest
}

func (h *holder) PlaceHold(_ context.Context, req ledger.HoldRequest) (ledger.Hold, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, dup := h.holds[req.OrderID]
	h.holds[req.OrderID] = req
	return ledger.Hold{ID: int64(len(h.holds)), OrderID: req.OrderID}, !dup, nil
}

// PlaceHoldIn records it as PlaceHold does (the generated stream's legs
// are not in the ledger: the transaction is not used).
func (h *holder) PlaceHoldIn(ctx context.Context, _ ledger.Tx, req ledger.HoldRequest) (ledger.Hold, bool, error) {
	return h.PlaceHold(ctx, req)
}

func produce(t *testing.T, brokers []string, msgs []gen.Message) {
	t.Helper()
	by := map[string][]kafkago.Message{}
	for _, m := range msgs {
		by[m.Topic] = append(by[m.Topic], kafkago.Message{Key: []byte(m.Key), Value: m.Value, Time: time.Now()})
	}
	for topic, ms := range by {
		w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond}
		if err := w.WriteMessages(testkit.Ctx(t), ms...); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
}

// highWater is the last offset per topic/partition of what is on the topics.
func highWater(t testing.TB, brokers []string, topics []string) map[[2]any]int64 {
	hw := map[[2]any]int64{}
	for _, topic := range topics {
		for _, m := range testkit.ReadTopic(t, brokers, topic) {
			k := [2]any{topic, m.Partition}
			hw[k] = max(hw[k], m.Offset)
		}
	}
	return hw
}

// waitApplied waits until the evaluation's positions reach hw.
func waitApplied(t testing.TB, ctx context.Context, pg *postgres.Store, hw map[[2]any]int64, errc <-chan error, holds bool) {
	t.Helper()
	for {
		done := true
		for k, off := range hw {
			var got int64 = -1
			pg.Pool.QueryRow(ctx, `SELECT last_off FROM fraud_positions WHERE stream = $1 AND part = $2`, k[0], k[1]).Scan(&got) //nolint:errcheck
			if got < off {
				done = false
			}
		}
		// a hold is placed just after its alert's commit: wait for it too
		due := 0
		if holds {
			pg.Pool.QueryRow(ctx, `SELECT count(*) FROM fraud_alerts WHERE action = 'hold' AND hold_id IS NULL AND order_id <> ''`).Scan(&due) //nolint:errcheck
		}
		if done && due == 0 {
			return
		}
		select {
		case err := <-errc:
			t.Fatalf("the evaluation stopped: %v", err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// truthIDs are the ids of the alerts of s's truth, sorted.
func truthIDs(s *gen.Stream) []string {
	var ids []string
	for _, tr := range s.Truth {
		ids = append(ids, tr.AlertID)
	}
	slices.Sort(ids)
	return ids
}

// liveSetup is a live test's context, its own database, the evaluation's
// config (batches of 50) and its topics on a kfake cluster of two
// partitions a topic.
func liveSetup(t *testing.T) (context.Context, *pgxpool.Pool, *postgres.Store, *config.Fraud, []string, []string) {
	t.Helper()
	pool, _ := testkit.PG(t)
	c := &config.Fraud{InvestorsTopic: "investors.changed", BatchSize: 50}
	topics := fraudeval.Topics(c)
	return testkit.Ctx(t), pool, &postgres.Store{Pool: pool}, c, topics, testkit.Kafka(t, 2, topics...)
}

func alertIDs(t testing.TB, ctx context.Context, pg *postgres.Store) []string {
	rows, err := pg.Pool.Query(ctx, `SELECT id FROM fraud_alerts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id) //nolint:errcheck
		ids = append(ids, id)
	}
	return ids
}

// The live evaluation over Kafka (three topics, two partitions each, one
// consumer pipeline per topic) raises exactly the generator's truth, as
// the backtest does; stopped half way and started again it raises nothing
// twice and forgets no window; every hold alert's leg is held once.
func TestLiveEqualsTruthAcrossARestart(t *testing.T) {
	ctx, pool, pg, c, topics, brokers := liveSetup(t)
	s, err := gen.Generate(gen.Options{Seed: 11, Investors: 60, Days: 40, Plant: 2})
	if err != nil {
		t.Fatal(err)
	}
	half := len(s.Messages) / 2
	h := &holder{holds: map[string]ledger.HoldRequest{}}
	reg := prometheus.NewRegistry()
	start := func() (context.CancelFunc, <-chan error) {
		rctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		d := fraudeval.Deps{PG: pg, Brokers: brokers, Metrics: pipelines.NewMetrics(prometheus.NewRegistry()), Registry: prometheus.NewRegistry(), Ledger: h, Log: testkit.Logger(t)}
		if reg != nil {
			d.Registry, reg = reg, nil
		}
		go func() { errc <- fraudeval.Serve(rctx, d, c, fraud.Shipped()) }()
		return cancel, errc
	}
	produce(t, brokers, s.Messages[:half])
	stop, errc := start()
	waitApplied(t, ctx, pg, highWater(t, brokers, topics), errc, true)
	stop()
	<-errc
	produce(t, brokers, s.Messages[half:])
	stop, errc = start()
	waitApplied(t, ctx, pg, highWater(t, brokers, topics), errc, true)
	stop()
	<-errc

	var want []string
	holds := 0
	for _, tr := range s.Truth {
		want = append(want, tr.AlertID)
		if tr.RuleID == "ato-redemption" || tr.RuleID == "round-trip" {
			holds++
		}
	}
	slices.Sort(want)
	if got := alertIDs(t, ctx, pg); !slices.Equal(got, want) {
		t.Errorf("alerts %v\nwant %v", got, want)
	}
	// 2 plants x (ato + round trip) = 4 legs held, each once, as fraud under_review
	if len(h.holds) != holds || holds != 4 {
		t.Errorf("%d legs held, want %d (=4)", len(h.holds), holds)
	}
	for _, r := range h.holds {
		if r.Source != "fraud" || r.Reason != "under_review" || r.CaseRef == "" {
			t.Errorf("hold %+v", r)
		}
	}
	var unheld int
	pool.QueryRow(ctx, `SELECT count(*) FROM fraud_alerts WHERE action = 'hold' AND (hold_id IS NULL OR hold_error <> '')`).Scan(&unheld) //nolint:errcheck
	if unheld != 0 {
		t.Errorf("%d hold alerts without a hold", unheld)
	}
}

// Without Kafka, serve evaluates the outbox table (ServeOutbox): the
// generated stream written there in two halves, serve stopped after the
// first and started again, raises exactly the generator's truth; while it
// runs, `fraud run --once` (DrainOutbox) is refused, since the windows are
// in the running one's memory.
func TestServeOutboxEqualsTruthAcrossARestart(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	pg := &postgres.Store{Pool: pool}
	c := &config.Fraud{InvestorsTopic: "investors.changed", BatchSize: 40}
	s, err := gen.Generate(gen.Options{Seed: 12, Investors: 40, Days: 40, Plant: 1})
	if err != nil {
		t.Fatal(err)
	}
	write := func(from, to int) {
		for i, m := range s.Messages[from:to] {
			if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`,
				fmt.Sprintf("gen-%d", from+i), m.Topic, m.Key, string(m.Value)); err != nil {
				t.Fatal(err)
			}
		}
	}
	serveUntilDone := func() {
		// The newest row the evaluation reads, taken before it starts: its
		// alerts go to the outbox too, on a topic it does not read, and a
		// position never passes them (it moves with the rows it reads).
		var last int64
		if err := pool.QueryRow(ctx, `SELECT max(id) FROM outbox WHERE topic IN ($1, $2, $3)`,
			fund.TopicOrderStatus, fraud.TopicInvestorsChanged, fraud.TopicPayments).Scan(&last); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			errc <- fraudeval.Serve(rctx, fraudeval.Deps{PG: pg, Log: testkit.Logger(t)}, c, fraud.Shipped())
		}()
		waitApplied(t, ctx, pg, map[[2]any]int64{{"outbox", 0}: last}, errc, false)
		if _, err := fraudeval.DrainOutbox(ctx, fraudeval.Deps{PG: pg, Log: testkit.Logger(t)}, c, fraud.Shipped()); err == nil {
			t.Error("fraud run --once ran beside serve's evaluation")
		}
		cancel()
		<-errc
	}
	half := len(s.Messages) / 2
	write(0, half)
	serveUntilDone()
	write(half, len(s.Messages))
	serveUntilDone()
	want := truthIDs(s)
	if got := alertIDs(t, ctx, pg); !slices.Equal(got, want) || len(want) != 6 {
		t.Errorf("alerts %v\nwant %v (1 plant x 6 patterns)", got, want)
	}
}
