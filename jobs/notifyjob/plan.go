// Package notifyjob runs the notifications pipeline (package notify) on
// the engine: the planner is a pipelines.Pipeline that reads the platform's
// events (one consumer per Kafka topic when Kafka is configured, else the
// outbox table) and writes each event's notifications and dead letters in
// one Postgres transaction, after which the engine commits the offsets (or
// marks the outbox rows notified); the sender sends what is due; the
// receipt poll asks the SMS gateway about messages whose receipt never came.
package notifyjob

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Names of the job's parts in job_runs, the job metrics and the locks.
const (
	Name     = "notify"          // the sender (one process at a time: its lock)
	PlanName = "notify-plan"     // the planner
	DLRName  = "notify-receipts" // the receipt poll
	Group    = "fundflow-notify" // the planner's Kafka consumer group
)

// DefaultBatch is the events per planning batch when none is given.
const DefaultBatch = 500

// Plan is the planning stage: an event becomes its plan. An event that
// cannot be delivered (unknown investor, malformed payload, template
// error, no address) becomes a plan with a dead letter, written like any
// other, so the flow goes on; only a failure worth retrying (the database)
// fails the batch.
func Plan(p notify.Planner) pipelines.Stage[fund.OutboxEvent, notify.Plan] {
	return func(ctx context.Context, e fund.OutboxEvent) (notify.Plan, error) {
		if _, ok := notify.SpecOf(e.Topic); !ok {
			return notify.Plan{EventID: e.EventID}, nil // not an event investors hear about
		}
		rows, dl, err := p.Plan(ctx, e)
		if err != nil {
			return notify.Plan{}, err
		}
		return notify.Plan{EventID: e.EventID, Rows: rows, Dead: dl}, nil
	}
}

// Event reads a Kafka message as the event the outbox relay published
// (sinks/kafka.EventSink: the topic is the event type, the value the
// payload, whose event_id names it). A message without a readable event id
// keeps its position as its id, so its dead letter says where it was.
func Event(_ context.Context, m kafka.Message) (fund.OutboxEvent, error) {
	e := fund.OutboxEvent{EventID: m.Position(), Topic: m.Topic, Key: string(m.Key), Payload: m.Value, CreatedAt: m.Time}
	var head struct {
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(m.Value, &head) == nil && head.EventID != "" {
		e.EventID = head.EventID
	}
	return e, nil
}

// Sink writes a batch's plans in one transaction (pgstore.WritePlans,
// idempotent on redelivery).
type Sink struct{ Store pgstore.Store }

func (s Sink) Write(ctx context.Context, b pipelines.Batch[notify.Plan]) error {
	if err := s.Store.WritePlans(ctx, b.Items); err != nil {
		return fmt.Errorf("notify plan: %w", err)
	}
	return nil
}

// Planner assembles the planner's pipelines.
type Planner struct {
	PG      *postgres.Store
	Planner notify.Planner
	Brokers []string // none: the outbox table is the bus
	Group   string   // Kafka consumer groups' prefix; "": Group
	Batch   int      // events per batch; 0: DefaultBatch
	Metrics *pipelines.Metrics
	Log     *slog.Logger
}

func (p Planner) batch() int {
	if p.Batch <= 0 {
		return DefaultBatch
	}
	return p.Batch
}

func (p Planner) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

// Outbox is the planner over the outbox table: it plans the rows not yet
// notified, oldest first, and marks them notified after their plans are
// written. follow false: it ends when none is left.
func (p Planner) Outbox(follow bool) *pipelines.Pipeline[fund.OutboxEvent, notify.Plan] {
	return &pipelines.Pipeline[fund.OutboxEvent, notify.Plan]{
		Name:       PlanName,
		Source:     &postgres.OutboxSource{Pool: p.PG.Pool, Relay: postgres.RelayNotify, Batch: p.batch(), Follow: follow},
		Locate:     postgres.OutboxOrigin,
		Stage:      Plan(p.Planner),
		Sinks:      []pipelines.Sink[notify.Plan]{Sink{Store: pgstore.Store{Pool: p.PG.Pool}}},
		Quarantine: p.PG,
		Metrics:    p.Metrics,
		Periodic:   !follow,
		Log:        p.Log,
	}
}

// Topics are the Kafka topics the planner reads: every event type with a
// notification.
func Topics() []string { return notify.SpecTypes() }

// Kafka is the planner over Kafka: one consumer pipeline per topic, each
// in a group of its own (Group/<topic>: a member joining one topic's group
// does not stop the others' consumption for a rebalance), each batch's
// plans written before its offsets are committed.
func (p Planner) Kafka() ([]*pipelines.Pipeline[kafka.Message, notify.Plan], error) {
	var ps []*pipelines.Pipeline[kafka.Message, notify.Plan]
	for _, topic := range Topics() {
		group := p.Group
		if group == "" {
			group = Group
		}
		group += "/" + topic
		src, err := kafka.NewSource(kafka.Config{Brokers: p.Brokers, Topic: topic, GroupID: group, Batch: p.batch(),
			// a batch is one transaction: wait a little for a fuller one
			Linger:   25 * time.Millisecond,
			ErrorLog: func(msg string, args ...any) { p.log().Warn("kafka consumer: "+msg, args...) }})
		if err != nil {
			for _, q := range ps {
				q.Close()
			}
			return nil, err
		}
		ps = append(ps, &pipelines.Pipeline[kafka.Message, notify.Plan]{
			Name:       PlanName + "/" + topic,
			Source:     src,
			Locate:     kafka.Message.Origin,
			Stage:      pipelines.Then(Event, Plan(p.Planner)),
			Sinks:      []pipelines.Sink[notify.Plan]{Sink{Store: pgstore.Store{Pool: p.PG.Pool}}},
			Quarantine: p.PG,
			Metrics:    p.Metrics,
			Log:        p.Log,
		})
	}
	return ps, nil
}
