// Package kafka publishes events for the rest of the platform to Kafka with
// kafka-go: a synchronous Writer that waits for every in-sync replica
// (RequiredAcks all), so a sink's Write returns only once Kafka has the batch.
//
// Kafka has no ON CONFLICT: a batch written again after a crash or a retry is
// published again. Delivery is therefore at-least-once, and every event
// carries a deterministic id (the same NAV always gets the same id) so that
// consumers dedupe on it and are idempotent.
package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Config says where and how to publish.
type Config struct {
	Brokers []string // host:port of bootstrap brokers
	Topic   string   // e.g. nav.validated
	// BatchSize is the most messages per produce request per partition;
	// default 1000.
	BatchSize int
	// BatchTimeout is how long a partial batch waits for more messages.
	// kafka-go's own default (1 s) would add a second to every synchronous
	// Write whose messages do not fill whole batches; default 5 ms.
	BatchTimeout time.Duration
	// WriteTimeout bounds one produce request; default 10 s.
	WriteTimeout time.Duration
}

// maxBatchBytes keeps each partition's batch below a default broker's
// message.max.bytes (1,048,588 bytes) with room for the batch headers.
const maxBatchBytes = 1_000_000

// NewWriter returns a synchronous writer to c.Topic that partitions by key
// (the same key always lands on the same partition, so a consumer sees one
// scheme's NAVs in order) and waits for all in-sync replicas.
func NewWriter(c Config) *kafkago.Writer {
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = 5 * time.Millisecond
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        c.Topic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		Async:        false,
		BatchSize:    c.BatchSize,
		// A produce request's batch to a partition stays under the
		// broker's default message.max.bytes (1,048,588): a real
		// nav.validated event is ~590 bytes, so 2,000 of them to one
		// partition (1.17 MB) were refused as Message Size Too Large
		// however many messages BatchSize allowed.
		BatchBytes:   maxBatchBytes,
		BatchTimeout: c.BatchTimeout,
		WriteTimeout: c.WriteTimeout,
		MaxAttempts:  3, // the engine retries a failed Write with its own backoff
	}
}

// ParseBrokers splits a comma-separated broker list, dropping blanks.
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// NAVSink publishes every validated NAV as one nav.validated event, keyed by
// scheme code.
type NAVSink struct{ W *kafkago.Writer }

// Name labels the sink's metrics.
func (NAVSink) Name() string { return "kafka" }

// Close closes the writer: the sink owns it, and the pipeline that runs the
// sink closes it when the run ends (pipelines.Sink).
func (s NAVSink) Close() error { return s.W.Close() }

// Write publishes a batch and returns when Kafka acknowledged all of it. A
// batch written again publishes its events again, with the same ids.
func (s NAVSink) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	msgs := make([]kafkago.Message, len(b.Items))
	for i, n := range b.Items {
		msgs[i] = NAVMessage(n)
	}
	if err := s.W.WriteMessages(ctx, msgs...); err != nil {
		return classify(fmt.Errorf("kafka: publish %d NAV events to %s: %w", len(msgs), s.W.Topic, summarise(err)))
	}
	return nil
}

// NAVEvent is the value of a nav.validated message. Decimals are strings, so
// no consumer ever sees a NAV through a float.
type NAVEvent struct {
	EventID string `json:"event_id"`
	NAVFact
	Source EventSource `json:"source"`
}

// NAVFact is what AMFI published: the part of the event its id is derived
// from.
type NAVFact struct {
	SchemeCode   string  `json:"scheme_code"`
	NAVDate      string  `json:"nav_date"` // YYYY-MM-DD
	NAV          string  `json:"nav"`
	Repurchase   *string `json:"repurchase,omitempty"`
	Sale         *string `json:"sale,omitempty"`
	SchemeName   string  `json:"scheme_name"`
	ISINGrowth   string  `json:"isin_growth,omitempty"`
	ISINReinvest string  `json:"isin_reinvest,omitempty"`
	Plan         string  `json:"plan,omitempty"`
	Option       string  `json:"option,omitempty"`
	Category     string  `json:"category"`
	SchemeType   string  `json:"scheme_type"`
	AMC          string  `json:"amc"`
}

// EventSource is the lineage of an event: the file and line it came from.
type EventSource struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Line   int    `json:"line"`
}

// NAVMessage builds the message of one NAV: its value is the JSON of a
// NAVEvent.
//
// The event id is scheme code, NAV date and the SHA-256 of the fact's JSON.
// Lineage is left out of the hash on purpose: the same NAV republished in a
// later file is the same event (consumers drop it), while a corrected NAV for
// the same day is a new one.
func NAVMessage(n fund.NAVLine) kafkago.Message {
	fact := NAVFact{
		SchemeCode: n.SchemeCode, NAVDate: n.Date.String(), NAV: n.NAV.String(),
		SchemeName: n.SchemeName, ISINGrowth: n.ISINGrowth, ISINReinvest: n.ISINReinvest, Plan: n.Plan, Option: n.Option,
		Category: n.Category, SchemeType: n.SchemeType, AMC: n.AMC,
	}
	if n.Repurchase.Valid {
		s := n.Repurchase.Decimal.String()
		fact.Repurchase = &s
	}
	if n.Sale.Valid {
		s := n.Sale.Decimal.String()
		fact.Sale = &s
	}
	factJSON := appendFact(make([]byte, 0, 512), &fact)
	sum := sha256.Sum256(factJSON)
	id := n.SchemeCode + ":" + fact.NAVDate + ":" + hex.EncodeToString(sum[:16])
	value := appendEvent(make([]byte, 0, len(factJSON)+160), id, factJSON, EventSource{File: n.From.File, SHA256: n.From.SHA256, Line: n.From.Line})
	return kafkago.Message{
		Key:   []byte(n.SchemeCode),
		Value: value,
		Headers: []kafkago.Header{
			{Key: "event_id", Value: []byte(id)},
			{Key: "event_type", Value: []byte("nav.validated/v1")},
			{Key: "content_type", Value: []byte("application/json")},
		},
	}
}

// classify marks what a retry can cure: lost connections, timeouts and the
// errors Kafka itself calls retriable (leader moved, not enough replicas).
// summarise keeps a failed write's message short: kafka-go's WriteErrors
// prints one error per message, 14,000 copies of the same text for a NAV
// file. The one it names is the first a retry cannot cure, if any. The
// errors stay reachable through errors.As.
func summarise(err error) error {
	var we kafkago.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	// The first error a retry cannot cure, if any: that one decides.
	var first error
	for _, e := range we {
		if e != nil && (first == nil || transient(first) && !transient(e)) {
			first = e
		}
	}
	return writeErrors{we: we, first: first}
}

type writeErrors struct {
	we    kafkago.WriteErrors
	first error
}

func (e writeErrors) Error() string {
	return fmt.Sprintf("%d of %d messages not written: %v", e.we.Count(), len(e.we), e.first)
}

func (e writeErrors) Unwrap() error { return e.we }

func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var we kafkago.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil && !transient(e) {
				return err
			}
		}
		return pipelines.Transient(err)
	}
	if transient(err) {
		return pipelines.Transient(err)
	}
	return err
}

func transient(err error) bool {
	var ke kafkago.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}
