// Package fraudeval runs the fraud rules on the engine: one consumer
// pipeline per topic (investors.changed, orders.status, payments.status),
// keyed by investor so one investor's events stay in order. The windows
// are in memory (fraud/pgstore), shared by the three pipelines of the one
// process that holds the evaluation lock: an investor's account takeover
// spans two topics and a mule's bank account spans investors, so no
// partition owns all of a window. A batch's alerts and their holds commit
// in one transaction before its offsets; the windows are snapshotted every
// few seconds with their positions, and Kafka offsets are committed no
// further than the last snapshot, so a start replays from it.
package fraudeval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Group is the consumer group of the evaluation.
const Group = "fundflow-fraud"

// Holder places holds (*ledger.Service): in the evaluation's own
// transaction (PlaceHoldIn, with the alert), or on its own for alerts a
// run without a ledger left unheld (PlaceHold).
type Holder interface {
	PlaceHold(ctx context.Context, req ledger.HoldRequest) (ledger.Hold, bool, error)
	PlaceHoldIn(ctx context.Context, db ledger.Tx, req ledger.HoldRequest) (ledger.Hold, bool, error)
}

// holdRequest is the ledger hold of a fraud alert.
func holdRequest(d pgstore.DueHold) ledger.HoldRequest {
	return ledger.HoldRequest{OrderID: d.OrderID, Source: "fraud", Reason: ledger.ReasonUnderReview,
		Detail: "rule " + d.RuleID, CaseRef: d.AlertID, By: "fraud"}
}

// NewSink is the evaluation's sink: hold alerts hold their legs in the
// transaction that raises them when d.Ledger is set.
func NewSink(d Deps, rs *fraud.RuleSet) *Sink {
	st := &pgstore.Store{Pool: d.PG.Pool, Lateness: d.Lateness}
	if d.Ledger != nil {
		st.Hold = func(ctx context.Context, tx pgx.Tx, h pgstore.DueHold) (int64, error) {
			hold, _, err := d.Ledger.PlaceHoldIn(ctx, ledgerpg.TxOf(tx), holdRequest(h))
			if err != nil && pgstore.IsPermanent(err) {
				d.Log.Warn("fraud hold refused by the ledger", "alert", h.AlertID, "order", h.OrderID, "err", err)
			}
			return hold.ID, err
		}
	}
	return &Sink{Store: st, Rules: rs, Ledger: d.Ledger, Metrics: NewMetrics(d.Registry), Log: d.Log}
}

// Deps are what the evaluation needs.
type Deps struct {
	PG       *postgres.Store
	Brokers  []string
	Metrics  *pipelines.Metrics
	Registry prometheus.Registerer // nil: no fraud metrics
	Ledger   Holder                // nil: hold alerts are raised, their legs not held
	Lateness time.Duration         // window expiry's margin (config.FraudLatenessOf); 0: the default
	Log      *slog.Logger
}

// Metrics are the evaluation's per-rule metrics (ops/metrics.txt).
type Metrics struct {
	Alerts  *prometheus.CounterVec   // fundflow_fraud_alerts_total{rule,action}
	Events  *prometheus.CounterVec   // fundflow_fraud_events_total{topic,result}
	Latency *prometheus.HistogramVec // fundflow_fraud_event_to_alert_seconds{rule}
	Holds   *prometheus.CounterVec   // fundflow_fraud_holds_total{outcome}
	// fundflow_fraud_snapshot_bytes_total{kind}: the windows' bytes the
	// snapshots wrote (full or delta), most of the evaluation's writes
	SnapshotBytes *prometheus.CounterVec
	// fundflow_fraud_windows: the windows in memory; flat once the stream
	// is longer than the longest rule's window (pgstore's expiry)
	Windows prometheus.Gauge
	// fundflow_fraud_windows_expired_total: windows dropped by expiry
	WindowsExpired prometheus.Counter
	// fundflow_fraud_events_late_total: events that arrived more than
	// pgstore.Lateness behind their partition's newest (below the floor
	// expiry drops windows against: a window they belonged in may be gone)
	EventsLate prometheus.Counter
}

// NewMetrics makes and registers them (reg nil: made, not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fundflow_fraud_alerts_total",
			Help: "Fraud alerts raised, by rule and action (each once: a replayed event raises none)."}, []string{"rule", "action"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fundflow_fraud_events_total",
			Help: "Events the fraud evaluation read, by topic and result (applied, skipped: applied before, ignored: no rule reads it)."}, []string{"topic", "result"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fundflow_fraud_event_to_alert_seconds",
			Help:    "From the triggering event's Kafka time stamp to its alert's commit, by rule.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"rule"}),
		Holds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fundflow_fraud_holds_total",
			Help: "Legs held by fraud alerts (placed), or refused by the ledger (refused: allotted or ended already)."}, []string{"outcome"}),
		SnapshotBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fundflow_fraud_snapshot_bytes_total",
			Help: "Bytes of windows the evaluation's snapshots wrote to Postgres, by kind (full, delta)."}, []string{"kind"}),
		Windows: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fundflow_fraud_windows",
			Help: "The rules' windows the evaluation holds in memory (one per rule and scope key with entries)."}),
		WindowsExpired: prometheus.NewCounter(prometheus.CounterOpts{Name: "fundflow_fraud_windows_expired_total",
			Help: "Windows dropped because no event still to come could keep an entry of them."}),
		EventsLate: prometheus.NewCounter(prometheus.CounterOpts{Name: "fundflow_fraud_events_late_total",
			Help: "Events whose time was more than the expiry's lateness behind their partition's newest event (expiry assumed none)."}),
	}
	if reg != nil {
		reg.MustRegister(m.Alerts, m.Events, m.Latency, m.Holds, m.SnapshotBytes, m.Windows, m.WindowsExpired, m.EventsLate)
	}
	return m
}

// Stage types a message (fraud.Decode); a malformed one is quarantined
// with its topic, partition and offset, and moves nothing.
func Stage() pipelines.Stage[kafka.Message, pgstore.Positioned] {
	return func(_ context.Context, m kafka.Message) (pgstore.Positioned, error) {
		p := pgstore.Positioned{Stream: m.Topic, Part: m.Partition, Off: m.Offset, Seen: m.Time}
		ev, err := fraud.Decode(m.Topic, m.Value, m.Position())
		switch {
		case errors.Is(err, fraud.ErrIgnored):
			p.Ignored = true
		case err != nil:
			return p, pipelines.Reject("fraud_event_invalid", "%s", err)
		default:
			p.Event = ev
		}
		return p, nil
	}
}

// Sink evaluates a batch (pgstore.Apply), then holds the legs of the hold
// alerts. Idempotent on redelivery: Apply skips applied positions.
type Sink struct {
	Store   *pgstore.Store
	Rules   *fraud.RuleSet
	Ledger  Holder
	Metrics *Metrics
	Log     *slog.Logger
	Now     func() time.Time
	observe func(pgstore.Result)  // DrainOutbox's tally
	counted pgstore.SnapshotStats // what the metrics have of the snapshots
	expired int64                 // what the metrics have of the expired windows
	late    int64                 // and of the late events
}

func (s *Sink) Write(ctx context.Context, b pipelines.Batch[pgstore.Positioned]) error {
	res, err := s.Store.Apply(ctx, s.Rules, b.Items)
	if err != nil {
		return fmt.Errorf("fraud evaluation: %w", err)
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if m := s.Metrics; m != nil {
		ignored := 0
		topic := ""
		for _, p := range b.Items {
			topic = p.Stream
			if p.Ignored {
				ignored++
			}
		}
		m.Events.WithLabelValues(topic, "applied").Add(float64(res.Applied))
		m.Events.WithLabelValues(topic, "skipped").Add(float64(res.Skipped))
		m.Events.WithLabelValues(topic, "ignored").Add(float64(ignored))
		m.Holds.WithLabelValues("placed").Add(float64(res.HoldsPlaced))
		m.Holds.WithLabelValues("refused").Add(float64(res.HoldsRefused))
		for i, f := range res.Raised {
			m.Alerts.WithLabelValues(f.RuleID, string(f.Action)).Inc()
			if seen := res.RaisedSeen[i]; !seen.IsZero() {
				m.Latency.WithLabelValues(f.RuleID).Observe(now.Sub(seen).Seconds())
			}
		}
	}
	if s.observe != nil {
		s.observe(res)
	}
	for _, f := range res.Raised {
		s.Log.Info("fraud alert raised", "alert", f.AlertID(), "rule", f.RuleID, "investor", f.Investor, "action", f.Action, "order", f.OrderID)
	}
	return nil
}

// PlaceHolds holds every hold alert's leg not yet held: at start, what a
// run without a ledger (or before holds joined the alert's transaction)
// left.
func (s *Sink) PlaceHolds(ctx context.Context) error {
	if s.Ledger == nil {
		return nil
	}
	_, err := s.Store.PlaceDueHolds(ctx, func(ctx context.Context, d pgstore.DueHold) (int64, error) {
		h, _, err := s.Ledger.PlaceHold(ctx, holdRequest(d))
		if s.Metrics != nil {
			switch {
			case err == nil:
				s.Metrics.Holds.WithLabelValues("placed").Inc()
			case pgstore.IsPermanent(err):
				s.Metrics.Holds.WithLabelValues("refused").Inc()
				s.Log.Warn("fraud hold refused by the ledger", "alert", d.AlertID, "order", d.OrderID, "err", err)
			}
		}
		return h.ID, err
	})
	return err
}

// Topics are the topics the evaluation reads, the investors' first.
func Topics(c *config.Fraud) []string {
	return []string{c.InvestorsTopic, fund.TopicOrderStatus, fraud.TopicPayments}
}

// Pipelines builds one consumer pipeline per topic, all into one sink.
func Pipelines(d Deps, c *config.Fraud, rs *fraud.RuleSet) ([]*pipelines.Pipeline[kafka.Message, pgstore.Positioned], *Sink, error) {
	if len(d.Brokers) == 0 {
		return nil, nil, errors.New("fraud evaluation: no Kafka brokers (it reads investors.changed, orders.status and payments.status)")
	}
	sink := NewSink(d, rs)
	var ps []*pipelines.Pipeline[kafka.Message, pgstore.Positioned]
	for _, topic := range Topics(c) {
		src, err := kafka.NewSource(kafka.Config{Brokers: d.Brokers, Topic: topic, GroupID: Group, Batch: c.BatchSize, SessionTimeout: c.SessionTimeout,
			// a batch is evaluated at once: wait a little for a fuller one
			Linger: 25 * time.Millisecond,
			// twelve partitions fetched at once from one broker: an answer
			// may take longer than the default 100 ms deadline, and a
			// dropped answer is fetched again; 1 MB is thousands of events
			MaxWait: time.Second, MaxBytes: 1 << 20,
			ErrorLog: func(msg string, args ...any) { d.Log.Warn("kafka consumer: "+msg, args...) }})
		if err != nil {
			for _, p := range ps {
				p.Close()
			}
			return nil, nil, err
		}
		ps = append(ps, &pipelines.Pipeline[kafka.Message, pgstore.Positioned]{
			Name:       "fraud-eval/" + topic,
			Source:     &clampedSource{Source: src, store: sink.Store},
			Locate:     kafka.Message.Origin,
			Stage:      Stage(),
			Sinks:      []pipelines.Sink[pgstore.Positioned]{sink},
			Quarantine: d.PG,
			Metrics:    d.Metrics,
			Log:        d.Log,
		})
	}
	return ps, sink, nil
}

// Serve runs the evaluation until ctx ends: on Kafka when brokers are
// configured, else on the outbox table (the bus without Kafka). It holds
// the evaluation lock (one process evaluates: the windows are in its
// memory; a second waits for the first to end), loads the last snapshot,
// and snapshots every c.SnapshotInterval or c.SnapshotEvents events and
// when it stops.
func Serve(ctx context.Context, d Deps, c *config.Fraud, rs *fraud.RuleSet) error {
	if len(d.Brokers) == 0 {
		return ServeOutbox(ctx, d, c, rs, time.Second)
	}
	// the lock before joining the group: a waiting process takes no partitions
	release, lost, err := (&pgstore.Store{Pool: d.PG.Pool}).Exclusive(ctx, true)
	if err != nil {
		return err
	}
	defer release()
	ps, sink, err := Pipelines(d, c, rs)
	if err != nil {
		return err
	}
	if err := sink.Store.Load(ctx); err != nil {
		for _, p := range ps {
			p.Close()
		}
		return err
	}
	if err := sink.PlaceHolds(ctx); err != nil {
		d.Log.Warn("fraud holds left by the last run not placed yet", "err", err)
	}
	g, gctx := supervise.NewGroup(ctx, "fraud evaluation", d.Log)
	defer g.Stop()
	for _, p := range ps {
		g.Go(p.Name, func() error {
			_, err := p.Run(gctx)
			return err
		})
	}
	g.Go("fraud snapshots", func() error { return sink.snapshots(gctx, c, lost) })
	err = g.Wait()
	// the pipelines have stopped: what they applied is kept for the next start
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := sink.Store.Snapshot(fctx); serr != nil {
		d.Log.Warn("fraud: the last snapshot failed; the next start replays from the one before", "err", serr)
	}
	return err
}

// snapshots writes the windows every interval or every n events until ctx
// ends, or fails when the evaluation lock is lost.
func (s *Sink) snapshots(ctx context.Context, c *config.Fraud, lost <-chan struct{}) error {
	every, n := c.SnapshotInterval, c.SnapshotEvents
	if every <= 0 {
		every = 2 * time.Second
	}
	if n <= 0 {
		n = 200_000
	}
	tick := time.NewTicker(min(every, 50*time.Millisecond))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lost:
			return errors.New("fraud evaluation: the connection holding the evaluation lock failed; stopping so that one evaluation runs at a time")
		case <-tick.C:
		}
		if time.Since(last) < every && s.Store.Pending() < n {
			continue
		}
		last = time.Now()
		err := s.Store.Snapshot(ctx)
		s.countSnapshot()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// the windows stay due; the stream goes on (a start replays more)
			s.Log.Warn("fraud snapshot failed; retried at the next", "err", err)
		}
	}
}

// countSnapshot adds what the snapshots wrote since the last count to the
// metrics.
func (s *Sink) countSnapshot() {
	st := s.Store.Stats()
	if m := s.Metrics; m != nil {
		full := st.Full > s.counted.Full
		kind := "delta"
		if full {
			kind = "full"
		}
		m.SnapshotBytes.WithLabelValues(kind).Add(float64(st.Bytes - s.counted.Bytes))
		live, expired := s.Store.Windows()
		m.Windows.Set(float64(live))
		m.WindowsExpired.Add(float64(expired - s.expired))
		s.expired = expired
		late := s.Store.Late()
		m.EventsLate.Add(float64(late - s.late))
		s.late = late
	}
	s.counted = st
}

// clampedSource commits a topic's offsets no further than the last
// snapshot's positions: a start replays from the snapshot, so the group
// must not have moved past it. (Positions at or below the snapshot's are
// skipped by the evaluation, so committing less is harmless.)
type clampedSource struct {
	*kafka.Source
	store *pgstore.Store
	// what was committed: the snapshot moves every second or two, so most
	// batches have nothing new to commit and skip the round trip
	committed map[int]int64
}

// kafkaOffset is connectors/kafka's checkpoint entry (TestClampedCommit
// reads a real one).
type kafkaOffset struct {
	T string `json:"t"`
	P int    `json:"p"`
	O int64  `json:"o"`
}

func (c *clampedSource) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	cp, ok, err := clamp(cp, c.store.Durable)
	if err != nil || !ok {
		return err
	}
	var offs []kafkaOffset
	if err := json.Unmarshal(cp.Pos, &offs); err != nil {
		return err
	}
	if !slices.ContainsFunc(offs, func(o kafkaOffset) bool { at, ok := c.committed[o.P]; return !ok || at != o.O }) {
		return nil
	}
	if err := c.Source.Commit(ctx, cp); err != nil {
		return err
	}
	if c.committed == nil {
		c.committed = map[int]int64{}
	}
	for _, o := range offs {
		c.committed[o.P] = o.O
	}
	return nil
}

// clamp lowers each partition's offset in cp to durable's (dropping those
// with none); ok false: nothing to commit.
func clamp(cp pipelines.Checkpoint, durable func(stream string, part int) int64) (pipelines.Checkpoint, bool, error) {
	var offs []kafkaOffset
	if err := json.Unmarshal(cp.Pos, &offs); err != nil {
		return cp, false, fmt.Errorf("kafka checkpoint: %w", err)
	}
	out := offs[:0]
	for _, o := range offs {
		if d := durable(o.T, o.P); d >= 0 {
			o.O = min(o.O, d)
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return cp, false, nil
	}
	pos, err := json.Marshal(out)
	if err != nil {
		return cp, false, err
	}
	return pipelines.Checkpoint{Stream: cp.Stream, Pos: pos}, true, nil
}

// ServeOutbox evaluates the fraud topics' rows of the outbox table in id
// order, a batch at a time, each batch snapshotted (the outbox id is the
// position, so a restart resumes where the last snapshot left), polling
// every idle. It holds the evaluation lock, as Serve.
func ServeOutbox(ctx context.Context, d Deps, c *config.Fraud, rs *fraud.RuleSet, idle time.Duration) error {
	sink := NewSink(d, rs)
	release, lost, err := sink.Store.Exclusive(ctx, true)
	if err != nil {
		return err
	}
	defer release()
	if err := sink.PlaceHolds(ctx); err != nil {
		d.Log.Warn("fraud holds left by the last run not placed yet", "err", err)
	}
	for {
		n, err := sink.OutboxPass(ctx, c.BatchSize)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.Log.Error("fraud evaluation of the outbox", "err", err)
			n = 0 // retried after the pause
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lost:
			return errors.New("fraud evaluation: the connection holding the evaluation lock failed")
		case <-time.After(idle):
		}
	}
}

// OutboxPass evaluates the next batch of the outbox; it returns how many
// rows it moved past.
func (s *Sink) OutboxPass(ctx context.Context, limit int) (int, error) {
	evs, bad, err := s.Store.OutboxBatch(ctx, limit)
	if err != nil {
		return 0, err
	}
	for _, b := range bad {
		s.Log.Warn("fraud evaluation skips a malformed outbox event", "event", b)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	if err := s.Write(ctx, pipelines.Batch[pgstore.Positioned]{Items: evs}); err != nil {
		return 0, err
	}
	// the next batch is read after the position in Postgres: move it now
	return len(evs), s.Store.Snapshot(ctx)
}

// Drained is what DrainOutbox did.
type Drained struct {
	Rows         int      `json:"rows"`          // outbox rows moved past
	Raised       []string `json:"raised"`        // alert ids, in order
	HoldsPlaced  int      `json:"holds_placed"`  // with their alerts
	HoldsRefused int      `json:"holds_refused"` // the leg had ended
}

// DrainOutbox evaluates the fraud topics' outbox rows up to the newest and
// returns (fundflow fraud run --once): the same passes ServeOutbox makes.
func DrainOutbox(ctx context.Context, d Deps, c *config.Fraud, rs *fraud.RuleSet) (Drained, error) {
	sink := NewSink(d, rs)
	release, _, err := sink.Store.Exclusive(ctx, false)
	if err != nil {
		return Drained{}, err
	}
	defer release()
	if err := sink.PlaceHolds(ctx); err != nil {
		return Drained{}, err
	}
	sum := Drained{Raised: []string{}}
	sink.observe = func(res pgstore.Result) {
		for _, f := range res.Raised {
			sum.Raised = append(sum.Raised, f.AlertID())
		}
		sum.HoldsPlaced += res.HoldsPlaced
		sum.HoldsRefused += res.HoldsRefused
	}
	for {
		n, err := sink.OutboxPass(ctx, c.BatchSize)
		if err != nil {
			return sum, err
		}
		if n == 0 {
			return sum, nil
		}
		sum.Rows += n
	}
}
