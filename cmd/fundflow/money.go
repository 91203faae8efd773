package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/money"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
	sinkkafka "github.com/fundflow/fundflow/sinks/kafka"
)

// kafkaBrokers returns the configured brokers (none: no Kafka; the outbox
// table is the bus).
func kafkaBrokers(d *deps) []string {
	return sinkkafka.ParseBrokers(os.Getenv(d.cfg.Services.KafkaBrokersEnv))
}

// moneyDeps and moneyConfig map the process and its config to the money
// path (jobs/money).
func (d *deps) moneyDeps() money.Deps {
	return money.Deps{PG: d.pg, CH: d.ch, Brokers: kafkaBrokers(d), BrokersEnv: d.cfg.Services.KafkaBrokersEnv,
		Metrics: d.metrics, Registry: d.reg, Ready: d.pgReady, Now: d.now, Log: d.log}
}

func (d *deps) moneyConfig() money.Config {
	p := d.cfg.Pipelines
	return money.Config{Payments: p.Payments, Orders: p.Orders, Allocate: p.Allocate, Outbox: p.Outbox, API: d.cfg.Serve.API, Webhooks: kycWebhooks(d)}
}

// moneyUsage makes a missing money-path section a usage error (exit 2).
func moneyUsage(err error) error {
	if errors.Is(err, money.ErrNotConfigured) {
		return &exitError{code: 2, err: err}
	}
	return err
}

// moneyLedger is the money path's ledger from the config.
func moneyLedger(d *deps) (*ledger.Service, error) {
	l, err := money.Ledger(d.moneyDeps(), d.cfg.Pipelines.Allocate)
	return l, moneyUsage(err)
}

// outboxJob is the outbox job from pipelines.outbox.
func outboxJob(d *deps) outbox.Job {
	return money.Outbox(d.moneyDeps(), d.cfg.Pipelines.Outbox)
}

// allocateJob is the allocate job from pipelines.allocate.
func allocateJob(d *deps) (allocate.Job, error) {
	j, err := money.Allocate(d.moneyDeps(), d.cfg.Pipelines.Allocate)
	return j, moneyUsage(err)
}

// cmdAllocate is `fundflow run allocate`: one pass under the job's
// single-runner lock, printed as a run summary with the pass's own counts.
func cmdAllocate(ctx context.Context, d *deps, stdout io.Writer) error {
	j, err := allocateJob(d)
	if err != nil {
		return err
	}
	var st allocate.Stats
	if err := supervise.Single(ctx, d.pg, allocate.Name, func(ctx context.Context) (err error) { st, err = j.Run(ctx); return err }); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(struct {
		runSummary
		allocate.Stats
	}{summary("allocate", st.Run()), st})
}

// runOutbox is `fundflow run outbox`: relays what is undelivered, once.
func runOutbox(ctx context.Context, d *deps) (pipelines.Stats, error) {
	return outboxJob(d).Run(ctx)
}

// allocateAfterNAVs allots the orders that were waiting for the NAVs a
// nav-ingest run just committed. Its failure does not fail the NAV load:
// the next allocate pass picks the orders up.
func allocateAfterNAVs(ctx context.Context, d *deps) {
	if d.cfg.Pipelines.Allocate == nil {
		return
	}
	j, err := allocateJob(d)
	if err != nil {
		d.log.Warn("allocate after nav-ingest failed; the next allocate pass retries", "err", err)
		return
	}
	j.AfterNAVs(ctx)
}

// serveWithMoney runs the scheduled pipelines (sched) and the money path side
// by side until ctx ends or one of them fails.
func serveWithMoney(ctx context.Context, d *deps, sched func(context.Context, *deps) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	moneyErr := make(chan error, 1)
	go func() {
		err := moneyUsage(money.Serve(ctx, d.moneyDeps(), d.moneyConfig()))
		if err != nil {
			cancel()
		}
		moneyErr <- err
	}()
	err := sched(ctx, d)
	cancel()
	if merr := <-moneyErr; merr != nil && !errors.Is(merr, context.Canceled) {
		return merr
	}
	return err
}
