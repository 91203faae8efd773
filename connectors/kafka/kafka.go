// Package kafka consumes Kafka topics as a pipelines.Source with kafka-go in
// a consumer group. Offsets are committed to Kafka only in Commit, which the
// engine calls after every sink durably wrote the batch (the Postgres
// transaction that used the messages has committed): a crash before that
// redelivers the batch, and the idempotent sinks make that harmless.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Message is one consumed record.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Time      time.Time
}

// Origin locates the message for quarantine: topic, partition and offset.
func (m Message) Origin() (pipelines.Position, []byte) {
	return pipelines.Position{Topic: m.Topic, Part: m.Partition, Offset: m.Offset}, m.Value
}

// IntakeOrigin locates an order that came in a message (OrderStage's
// output) for quarantine (pipelines.Isolating.Locate): the message's
// topic, partition and offset, and its bytes.
func IntakeOrigin(in fund.OrderIntake) (pipelines.Position, []byte) {
	return pipelines.Position(in.Pos), in.Raw
}

// Position is "kafka:<topic>/<partition>/<offset>".
func (m Message) Position() string {
	return fmt.Sprintf("kafka:%s/%d/%d", m.Topic, m.Partition, m.Offset)
}

// Config says what to consume.
type Config struct {
	Brokers []string
	Topic   string
	GroupID string
	// Batch is the most messages per batch (one Postgres transaction
	// downstream); default 500.
	Batch int
	// Linger is how long a batch waits for more messages after its first;
	// default 5 ms.
	Linger time.Duration
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed process) before giving its partitions to the others; default
	// 10 s (kafka-go's own 30 s stalls a restarted consumer that long).
	SessionTimeout time.Duration
	// ErrorLog receives the client's errors (it retries them itself).
	ErrorLog func(msg string, args ...any)
	// MaxWait is how long a fetch waits for data, and the client's read
	// deadline for the fetch's answer; default 100 ms. A consumer of many
	// partitions of a busy broker wants more: an answer later than this
	// is dropped and fetched again.
	MaxWait time.Duration
	// MaxBytes is the most one fetch of one partition returns; default 16 MB.
	MaxBytes int
}

// Source is a consumer-group reader as a pipelines.Source. A stream: Read
// blocks until a message arrives or ctx ends.
type Source struct {
	r      *kafkago.Reader
	batch  int
	linger time.Duration
	topic  string
}

// NewSource joins the consumer group. The pipeline that runs it closes it
// (pipelines.Source).
func NewSource(c Config) (*Source, error) {
	if len(c.Brokers) == 0 || c.Topic == "" || c.GroupID == "" {
		return nil, errors.New("kafka source: brokers, topic and group id are required")
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Linger <= 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 100 * time.Millisecond
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 16 << 20
	}
	var elog kafkago.Logger
	if c.ErrorLog != nil {
		elog = kafkago.LoggerFunc(func(msg string, args ...any) { c.ErrorLog(fmt.Sprintf(msg, args...)) })
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:  c.Brokers,
		Topic:    c.Topic,
		GroupID:  c.GroupID,
		MinBytes: 1,
		MaxBytes: c.MaxBytes,
		MaxWait:  c.MaxWait,
		// A restarted process rejoins quickly: the session of the one it
		// replaces ends after SessionTimeout, and the rebalance waits no
		// longer than that for members to rejoin.
		SessionTimeout:    c.SessionTimeout,
		RebalanceTimeout:  c.SessionTimeout,
		HeartbeatInterval: c.SessionTimeout / 10,
		ErrorLogger:       elog,
		// Commits happen only through CommitMessages, synchronously.
		CommitInterval: 0,
		StartOffset:    kafkago.FirstOffset,
	})
	return &Source{r: r, batch: c.Batch, linger: c.Linger, topic: c.Topic}, nil
}

// Close leaves the group (pipelines.Source: the engine calls it once the
// run ends).
func (s *Source) Close() error { return s.r.Close() }

type offset struct {
	T string `json:"t"`
	P int    `json:"p"`
	O int64  `json:"o"`
}

// Read returns the next messages: it waits for one, then takes what else
// arrives within the linger time, up to the batch size.
func (s *Source) Read(ctx context.Context) (pipelines.Batch[Message], error) {
	var b pipelines.Batch[Message]
	m, err := s.r.FetchMessage(ctx)
	if err != nil {
		return b, fetchErr(err)
	}
	b.Items = append(b.Items, convert(m))
	lctx, cancel := context.WithTimeout(ctx, s.linger)
	for len(b.Items) < s.batch {
		m, err := s.r.FetchMessage(lctx)
		if err != nil {
			break // the linger ended (or ctx): the batch is what we have
		}
		b.Items = append(b.Items, convert(m))
	}
	cancel()
	// The checkpoint is the highest offset per partition in the batch.
	last := map[int]offset{}
	for _, m := range b.Items {
		if o, ok := last[m.Partition]; !ok || m.Offset > o.O {
			last[m.Partition] = offset{m.Topic, m.Partition, m.Offset}
		}
	}
	offs := make([]offset, 0, len(last))
	for _, o := range last {
		offs = append(offs, o)
	}
	pos, _ := json.Marshal(offs)
	b.Through = pipelines.Checkpoint{Stream: "kafka/" + s.topic, Pos: pos}
	return b, nil
}

func fetchErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return pipelines.Transient(fmt.Errorf("kafka fetch: %w", err))
}

func convert(m kafkago.Message) Message {
	return Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Time: m.Time}
}

// Commit commits the batch's offsets to the group (synchronously).
func (s *Source) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	var offs []offset
	if err := json.Unmarshal(cp.Pos, &offs); err != nil {
		return fmt.Errorf("kafka checkpoint: %w", err)
	}
	msgs := make([]kafkago.Message, len(offs))
	for i, o := range offs {
		msgs[i] = kafkago.Message{Topic: o.T, Partition: o.P, Offset: o.O}
	}
	if err := s.r.CommitMessages(ctx, msgs...); err != nil {
		return pipelines.Transient(fmt.Errorf("kafka commit: %w", err))
	}
	return nil
}

// OrderStage returns the stage that types an orders.placed message: a
// request (valid, or refused by a rule and recorded under its id), or a
// *RejectError for a message without a usable order id (quarantined with its
// topic, partition and offset).
//
// The receipt time is the message's Kafka time stamp (when the bus took the
// order; a topic with message.timestamp.type=LogAppendTime makes it the
// broker's clock) when it lies at most maxLag before our clock now(), so a
// consumer that lags or restarts does not move orders past a cut-off;
// otherwise (a producer's time stamp from the past or the future) it is our
// clock. A client's placed_at counts only within maxSkew before the receipt
// time (fund.EffectiveTime).
func OrderStage(now func() time.Time, maxSkew, maxLag time.Duration) pipelines.Stage[Message, fund.OrderIntake] {
	if now == nil {
		now = time.Now
	}
	return func(_ context.Context, m Message) (fund.OrderIntake, error) {
		received, _ := fund.EffectiveTime(m.Time, now(), maxLag)
		in, ok, err := fund.IntakeOf(m.Value, fund.Receipt{Source: m.Position(), At: received, MaxSkew: maxSkew})
		in.Pos = fund.Origin{Topic: m.Topic, Part: m.Partition, Offset: m.Offset}
		if !ok {
			return in, pipelines.Reject("bad_order_message", "%s", fund.SafeText(err.Error()))
		}
		return in, nil
	}
}
