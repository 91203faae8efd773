package commission

import (
	"context"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// EventsName is the event commissions' pipeline name (job_runs, metrics).
const EventsName = "commission-events"

// EventsGroup is the Kafka consumer group of the event commissions.
const EventsGroup = "fundflow-commissions"

// EventDeps are what the event pipelines need.
type EventDeps struct {
	Store      pgstore.Store
	Quarantine pipelines.Quarantine
	Metrics    *pipelines.Metrics
	Runs       pipelines.RunLog
	Log        *slog.Logger
	OnResult   func(commissions.EventResult)
	// Batch is the outbox source's batch size (0: its default).
	Batch int
}

func (d EventDeps) sink() *commissions.EventSink {
	return &commissions.EventSink{Store: d.Store, OnResult: func(r commissions.EventResult) {
		if d.Log != nil && (r.Lines > 0 || r.Skipped > 0 || r.Unknown > 0) {
			d.Log.Info("event commissions", "lines", r.Lines, "skipped", r.Skipped, "published", r.Published, "unknown_tx", r.Unknown)
		}
		if d.OnResult != nil {
			d.OnResult(r)
		}
	}}
}

// OutboxPipeline computes event commissions from the outbox's
// transactions.completed rows (the bus without Kafka): a malformed payload
// is quarantined with its event id; each batch is one Postgres transaction
// and its rows are marked consumed after it (pgstore.EventSource).
func OutboxPipeline(d EventDeps, follow bool) *pipelines.Pipeline[fund.OutboxEvent, commissions.TxEvent] {
	return &pipelines.Pipeline[fund.OutboxEvent, commissions.TxEvent]{
		Name:   EventsName,
		Source: &pgstore.EventSource{Store: d.Store, Follow: follow, Batch: d.Batch},
		Locate: postgres.OutboxOrigin,
		Stage: func(_ context.Context, e fund.OutboxEvent) (commissions.TxEvent, error) {
			return commissions.DecodeTxEvent(e.Payload)
		},
		Sinks:      []pipelines.Sink[commissions.TxEvent]{d.sink()},
		Quarantine: d.Quarantine,
		Metrics:    d.Metrics,
		Runs:       d.Runs,
		Periodic:   follow,
		Log:        d.Log,
	}
}

// KafkaPipeline computes event commissions from the transactions.completed
// topic in the consumer group EventsGroup: offsets are committed after the
// batch's transaction (a redelivery after a crash writes nothing).
func KafkaPipeline(d EventDeps, brokers []string, batch int) (*pipelines.Pipeline[kafka.Message, commissions.TxEvent], error) {
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: fund.TopicTransactions, GroupID: EventsGroup, Batch: batch,
		Linger: 25 * time.Millisecond, // a batch is one transaction: wait a little for a fuller one
		ErrorLog: func(msg string, args ...any) {
			if d.Log != nil {
				d.Log.Warn("kafka consumer: "+msg, args...)
			}
		}})
	if err != nil {
		return nil, err
	}
	return &pipelines.Pipeline[kafka.Message, commissions.TxEvent]{
		Name:   EventsName,
		Source: src,
		Locate: kafka.Message.Origin,
		Stage: func(_ context.Context, m kafka.Message) (commissions.TxEvent, error) {
			return commissions.DecodeTxEvent(m.Value)
		},
		Sinks:      []pipelines.Sink[commissions.TxEvent]{d.sink()},
		Quarantine: d.Quarantine,
		Metrics:    d.Metrics,
		Log:        d.Log,
	}, nil
}
