// Package outbox is the outbox job: it relays the undelivered rows of the
// Postgres outbox to Kafka (every topic) and to ClickHouse
// (transactions.completed as transaction facts, the systematic plans'
// instalment events as plan_instalments facts), one engine pipeline per
// relay.
package outbox

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	sinkkafka "github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// DefaultBatch is the rows per batch when the config does not say.
const DefaultBatch = 500

// Name is the job's name in job_runs and in its run metrics (each relay's
// pipeline reports its stages as outbox-<relay>).
const Name = "outbox"

// Job is the outbox job.
type Job struct {
	Pool       *pgxpool.Pool
	CH         clickhouse.Conn
	Brokers    []string // none: no Kafka relay (the outbox table is the bus)
	BrokersEnv string   // where Brokers came from, for the error when there are none
	Batch      int      // rows per batch; 0: DefaultBatch
	Facts      bool     // relay transactions.completed and the plans' events to ClickHouse
	Metrics    *pipelines.Metrics
	Runs       pipelines.RunLog // its runs in job_runs; nil: not recorded
	Log        *slog.Logger
}

// Relays are the relays the job runs: Kafka when there are brokers, facts
// when switched on.
func (j Job) Relays() []string {
	var rs []string
	if len(j.Brokers) > 0 {
		rs = append(rs, postgres.RelayKafka)
	}
	if j.Facts {
		rs = append(rs, postgres.RelayFacts)
	}
	return rs
}

// Pipeline is one relay's pipeline (postgres.RelayKafka or RelayFacts);
// follow keeps it running. Its run closes the Kafka writer (pipelines.Sink).
func (j Job) Pipeline(relay string, follow bool) (*pipelines.Pipeline[fund.OutboxEvent, fund.OutboxEvent], error) {
	batch := j.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	src := &postgres.OutboxSource{Pool: j.Pool, Relay: relay, Batch: batch, Follow: follow}
	var sinks []pipelines.Sink[fund.OutboxEvent]
	var stage pipelines.Stage[fund.OutboxEvent, fund.OutboxEvent]
	var quarantine pipelines.Quarantine
	switch relay {
	case postgres.RelayKafka:
		if len(j.Brokers) == 0 {
			return nil, fmt.Errorf("outbox: no Kafka brokers in %s: without Kafka the outbox table is the bus (read it with `fundflow outbox`)", j.BrokersEnv)
		}
		w := sinkkafka.NewWriter(sinkkafka.Config{Brokers: j.Brokers})
		w.Topic = "" // each event names its topic
		sinks = []pipelines.Sink[fund.OutboxEvent]{sinkkafka.EventSink{W: w}}
	case postgres.RelayFacts:
		// Each sink takes its topics from every batch.
		sinks = []pipelines.Sink[fund.OutboxEvent]{clickhouse.TransactionFacts{Conn: j.CH},
			clickhouse.PlanFacts{Conn: j.CH, Banks: postgres.PlanBanks{Pool: j.Pool}}}
		stage, quarantine = checkPlanEvent, postgres.Store{Pool: j.Pool}
	default:
		return nil, fmt.Errorf("outbox: unknown relay %q", relay)
	}
	p := &pipelines.Pipeline[fund.OutboxEvent, fund.OutboxEvent]{
		Name:   "outbox-" + relay,
		Source: src,
		Locate: postgres.OutboxOrigin,
		// The outbox rows are already the events; the facts relay checks
		// the plans' (written by another service) on the way.
		Stage:      stage,
		Quarantine: quarantine,
		Sinks:      sinks,
		Metrics:    j.Metrics,
		// A pass (not following) runs every few seconds in serve: an idle
		// one logs at DEBUG only.
		Periodic: !follow,
		Log:      j.Log,
	}
	return p, nil
}

// checkPlanEvent quarantines a plan event the facts cannot use (a payload
// that breaks the instalment event's contract), so one bad event never
// holds up the relay; every other event passes as it is.
func checkPlanEvent(_ context.Context, e fund.OutboxEvent) (fund.OutboxEvent, error) {
	if _, _, err := clickhouse.DecodePlanFact(e); err != nil {
		return e, pipelines.Reject("bad_plan_event", "%s %s: %v", e.Topic, e.EventID, err)
	}
	return e, nil
}

// Run relays what is undelivered, once, as one run of the job (a job_runs
// row and the run metrics).
func (j Job) Run(ctx context.Context) (pipelines.Stats, error) {
	return j.recorder().Run(ctx, Name, j.relay)
}

// Pass is Run for serve, which relays every few seconds: a pass is a
// job_runs row only when it relayed something or failed.
func (j Job) Pass(ctx context.Context) (pipelines.Stats, error) {
	return j.recorder().RunIfWork(ctx, Name, func(st pipelines.Stats) bool { return st.In > 0 }, j.relay)
}

func (j Job) recorder() pipelines.Recorder {
	return pipelines.Recorder{Runs: j.Runs, Metrics: j.Metrics, Log: j.Log}
}

// relay relays what is undelivered, relay by relay, and returns the
// batches and records of all of them (stopping at the first failure).
func (j Job) relay(ctx context.Context) (pipelines.Stats, error) {
	var total pipelines.Stats
	for _, r := range j.Relays() {
		p, err := j.Pipeline(r, false)
		if err != nil {
			return total, err
		}
		st, err := p.Run(ctx)
		total.Batches += st.Batches
		total.In += st.In
		total.Out += st.Out
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
