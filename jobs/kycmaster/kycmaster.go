// Package kycmaster is the investor master's Kafka topic (issue 23): the
// onboarding service's bulk loads and backfills as messages, each an
// investor record in the JSON of POST /v1/investors (a new investor), or a
// JSON merge patch of it with its investor_id (one on file), keyed by the
// investor id. Every message goes through investors.Service like the API
// (validated whole, sealed, versioned, audited, investors.changed). A
// message that is not JSON, names no investor, or breaks the record's
// rules is quarantined with its topic, partition and offset and the reason
// (the fields and what is wrong with them), and the consumer goes on:
// poison never stops the flow. Offsets are committed after the batch's
// records are stored; a redelivered record is Unchanged.
package kycmaster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/pipelines"
)

// Name is the pipeline's name (quarantine, metrics).
const Name = "investor-master"

// Record is one message read as an investor record or patch.
type Record struct {
	InvestorID string
	Body       []byte
	Msg        kafka.Message
}

// MaxMessage is the largest record accepted (a record with many accounts
// and nominees is a few KiB).
const MaxMessage = 256 << 10

// Stage reads a message: a JSON object with a non-empty investor_id equal
// to the message key when there is one.
func Stage(_ context.Context, m kafka.Message) (Record, error) {
	if len(m.Value) > MaxMessage {
		return Record{}, pipelines.Reject("too_large", "%d bytes, at most %d", len(m.Value), MaxMessage)
	}
	var head struct {
		InvestorID *string `json:"investor_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(m.Value))
	if err := dec.Decode(&head); err != nil {
		return Record{}, pipelines.Reject("bad_json", "not a JSON object: %v", err)
	}
	if dec.More() {
		return Record{}, pipelines.Reject("bad_json", "more than one JSON value")
	}
	switch {
	case head.InvestorID == nil || *head.InvestorID == "":
		return Record{}, pipelines.Reject("missing_field", "investor_id is missing or empty")
	case len(m.Key) > 0 && string(m.Key) != *head.InvestorID:
		return Record{}, pipelines.Reject("key_mismatch", "message key %q is not investor_id %q", m.Key, *head.InvestorID)
	}
	return Record{InvestorID: *head.InvestorID, Body: m.Value, Msg: m}, nil
}

// Locate is where a record came from, for quarantine.
func Locate(r Record) (pipelines.Position, []byte) { return r.Msg.Origin() }

// Sink stores records through the investor master, in order.
type Sink struct {
	Service *investors.Service
	By      string // recorded as who made the change; default "onboarding-kafka"
}

// Name labels the sink's metrics.
func (Sink) Name() string { return "postgres-investors" }

// Write stores each record: patched when on file, created when new (a
// create racing another of the same investor is a conflict: quarantined,
// and replayed from there as a patch). A
// record the rules refuse is a permanent error naming its fields (the
// Isolating wrapper quarantines it and stores the rest).
func (s Sink) Write(ctx context.Context, b pipelines.Batch[Record]) error {
	by := s.By
	if by == "" {
		by = "onboarding-kafka"
	}
	for _, r := range b.Items {
		// On file: the message is a merge patch; new: the whole record.
		_, _, err := s.Service.Patch(ctx, r.InvestorID, r.Body, by, investors.ChannelKafka)
		var ie *investors.Error
		if errors.As(err, &ie) && ie.Kind == investors.NotFound {
			_, _, err = s.Service.Create(ctx, r.Body, by, investors.ChannelKafka)
		}
		if err != nil {
			return fmt.Errorf("investor %s (%s): %w", r.InvestorID, r.Msg.Position(), err)
		}
	}
	return nil
}

// Pipeline is the topic's consumer: Stage, then the investor master behind
// an Isolating sink (reason invalid_investor), quarantine in Postgres.
func Pipeline(src pipelines.Source[kafka.Message], svc *investors.Service, q pipelines.Quarantine, m *pipelines.Metrics, log *slog.Logger) *pipelines.Pipeline[kafka.Message, Record] {
	return &pipelines.Pipeline[kafka.Message, Record]{
		Name:   Name,
		Source: src,
		Stage:  Stage,
		Sinks: []pipelines.Sink[Record]{pipelines.Isolating[Record]{Sink: Sink{Service: svc}, Locate: Locate, Quarantine: q,
			Pipeline: Name, Reason: "invalid_investor", Log: log}},
		Quarantine: q,
		Metrics:    m,
		Log:        log,
	}
}
