package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/connectors/orderhttp"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/ledger/rules"
	"github.com/fundflow/fundflow/pipelines"
	sinkkafka "github.com/fundflow/fundflow/sinks/kafka"
)

// moneyLedger assembles the money path's ledger: Postgres state, the
// allotment rules, the holiday calendar of pipelines.allocate and the audit
// trail.
func moneyLedger(d *deps) (*ledger.Service, error) {
	a := d.cfg.Pipelines.Allocate
	if a == nil {
		return nil, usageErr("the money path is not configured: add a pipelines.allocate section (with its holidays) to the config")
	}
	cal, err := holidays.Calendar(a.Holidays...)
	if err != nil {
		return nil, err
	}
	l := &ledger.Service{Store: pgstore.New(d.pg.Pool), Rules: rules.Rules{}, Calendar: cal, Now: d.now}
	l.Audit = a.Audit == nil || *a.Audit
	return l, nil
}

// The HTTP paths run on the engine: a handler Submits its request to an
// Intake and is answered once the batch holding it is committed (group
// commit: up to the configured batch, gathered for intakeLinger after the
// first). intakeWriters batches are written at once, so while one commits
// the next are built; intakeRetry retries a batch's transient failure
// (a deadlock between batches, a restarting database) well inside the
// callers' timeouts (webhook 4 s, orders 5 s): a batch that still fails
// is answered 503, and the gateway or client sends it again.
const (
	intakeLinger  = 2 * time.Millisecond
	intakeWriters = 4
)

var intakeRetry = pipelines.Retry{Attempts: 3, Base: 50 * time.Millisecond, Max: 500 * time.Millisecond}

type (
	webhookCall = pipelines.Call[ledger.InboxEvent, ledger.Receipt]
	orderCall   = pipelines.Call[fund.OrderIntake, ledger.Placed]
)

// intakePipeline is the engine pipeline of one HTTP path: its Intake, and
// a sink that writes a batch with many (one transaction) and, when that
// fails for good, each request with one, so a request that cannot be
// written fails alone. Like the Kafka orders pipeline it is one run for as
// long as serve runs, not one per request: no job_runs row (a stream has no
// end to record), its batches counted in the engine's metrics under name.
func intakePipeline[T, R any](d *deps, name, sink string, max int, locate func(T) (pipelines.Position, []byte),
	many func(context.Context, []T) ([]R, error), one func(context.Context, T) (R, error)) (*pipelines.Pipeline[*pipelines.Call[T, R], *pipelines.Call[T, R]], *pipelines.Intake[T, R]) {
	in := pipelines.NewIntake[T, R](name, max, intakeLinger)
	return &pipelines.Pipeline[*pipelines.Call[T, R], *pipelines.Call[T, R]]{
		Name:    name,
		Source:  in,
		Locate:  func(c *pipelines.Call[T, R]) (pipelines.Position, []byte) { return locate(c.In) },
		Sinks:   []pipelines.Sink[*pipelines.Call[T, R]]{pipelines.CallSink[T, R]{Label: sink, Many: many, One: one}},
		Retry:   intakeRetry,
		Writers: intakeWriters,
		Buffer:  -1, // no batch waits formed: each is gathered as late as it can be, with what arrived while the writers were busy
		Metrics: d.metrics,
		Log:     d.log,
	}, in
}

// paymentsPipeline stores verified webhook deliveries through the ledger:
// ReceiveMany per batch (pipelines.payments.group_commit events at most).
func paymentsPipeline(d *deps, l *ledger.Service) (*pipelines.Pipeline[*webhookCall, *webhookCall], *pipelines.Intake[ledger.InboxEvent, ledger.Receipt]) {
	return intakePipeline(d, "payments", "postgres-webhooks", d.cfg.Pipelines.Payments.GroupCommit,
		func(ev ledger.InboxEvent) (pipelines.Position, []byte) {
			return pipelines.Position{Event: ev.EventID}, ev.Body
		},
		l.ReceiveMany, l.Receive)
}

// ordersHTTPPipeline places order requests posted to /v1/orders through
// the ledger: PlaceOrders per batch (pipelines.orders.batch_size at most).
func ordersHTTPPipeline(d *deps, l *ledger.Service) (*pipelines.Pipeline[*orderCall, *orderCall], *pipelines.Intake[fund.OrderIntake, ledger.Placed]) {
	return intakePipeline(d, "orders-http", "postgres-orders", d.cfg.Pipelines.Orders.BatchSize,
		func(in fund.OrderIntake) (pipelines.Position, []byte) {
			return pipelines.Position{Event: in.Req.ID}, in.Raw
		},
		l.PlaceOrders, l.Place)
}

// webhookStore is the webhook receiver's Store: the payments pipeline.
type webhookStore struct {
	in *pipelines.Intake[ledger.InboxEvent, ledger.Receipt]
}

func (s webhookStore) Receive(ctx context.Context, d webhook.Delivery) (bool, string, error) {
	c, err := s.in.Submit(ctx, ledger.InboxEvent{Source: d.Source, EventID: d.EventID, EventType: d.EventType, Body: d.Body, Payment: d.Payment, Problem: d.Problem})
	if err == nil {
		err = c.Err
	}
	if err != nil {
		return false, "", err
	}
	return c.Out.Duplicate, c.Out.Status, nil
}

// orderPlacer is the order handler's Placer: the orders-http pipeline.
type orderPlacer struct {
	in *pipelines.Intake[fund.OrderIntake, ledger.Placed]
}

func (p orderPlacer) Place(ctx context.Context, in fund.OrderIntake) (string, any, error) {
	c, err := p.in.Submit(ctx, in)
	if err == nil {
		err = c.Err
	}
	if err != nil {
		return "", nil, err
	}
	return c.Out.Outcome, c.Out, nil
}

// runIntake runs an intake pipeline until ctx ends. Its run ends only
// with ctx (a batch that fails is answered, not fatal), so an error here
// is one of wiring.
func runIntake[T any](ctx context.Context, d *deps, p *pipelines.Pipeline[T, T]) {
	if _, err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Error("intake pipeline stopped", "pipeline", p.Name, "err", err)
	}
}

// webhookSecrets reads the configured webhook secrets from the environment;
// at least one must be set.
func webhookSecrets(envs []string) ([][]byte, error) {
	var out [][]byte
	for _, e := range envs {
		if v := os.Getenv(e); v != "" {
			out = append(out, []byte(v))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("payments: no webhook secret: set %s", strings.Join(envs, " or "))
	}
	return out, nil
}

// moneyHandler is the money path's HTTP surface: POST /webhooks/razorpay
// and, when configured, POST /v1/orders, each fed to its engine pipeline
// (payments, orders-http), which runs until ctx ends.
func moneyHandler(ctx context.Context, d *deps, l *ledger.Service, stats *webhook.Stats) (http.Handler, error) {
	p := d.cfg.Pipelines.Payments
	secrets, err := webhookSecrets(p.SecretEnvs)
	if err != nil {
		return nil, err
	}
	payments, in := paymentsPipeline(d, l)
	start := []func(){func() { runIntake(ctx, d, payments) }} // once the handler is whole
	mux := http.NewServeMux()
	mux.Handle("/webhooks/razorpay", &webhook.Receiver{Secrets: secrets, Store: webhookStore{in}, MaxBody: p.MaxBodySize, Log: d.log, Stats: stats,
		Now: d.now, MaxEventAge: p.MaxEventAge})
	if o := d.cfg.Pipelines.Orders; o != nil && o.HTTP {
		tok := ""
		switch {
		case o.HTTPTokenEnv != "":
			if tok = os.Getenv(o.HTTPTokenEnv); tok == "" {
				return nil, fmt.Errorf("orders: %s (the /v1/orders bearer token) is not set", o.HTTPTokenEnv)
			}
		case o.InsecureNoAuth:
			d.log.Warn("pipelines.orders.insecure_no_auth is set: POST /v1/orders accepts orders from anyone who can reach " + p.Listen + "; for local development only")
		default:
			// config validation refuses this; a Config built in code must not open it either
			return nil, errors.New("orders: /v1/orders without a token needs pipelines.orders.insecure_no_auth")
		}
		orders, in := ordersHTTPPipeline(d, l)
		start = append(start, func() { runIntake(ctx, d, orders) })
		mux.Handle("/v1/orders", &orderhttp.Handler{Placer: orderPlacer{in}, Token: tok, Log: d.log,
			Now: d.now, MaxSkew: o.MaxClockSkew, Failed: failedAuthLimit(d.cfg.Serve.API, d.now)})
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", readyz(d))
	for _, run := range start {
		go run()
	}
	return mux, nil
}

// readyz is the money listener's readiness: 200 when Postgres answers,
// else 503 with Retry-After (/healthz stays liveness: the process answers).
func readyz(d *deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := d.pgReady(r.Context()); err != nil {
			d.log.Warn("not ready", "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "not ready: postgres is unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}
}

// kafkaBrokers returns the configured brokers (none: no Kafka; the outbox
// table is the bus).
func kafkaBrokers(d *deps) []string {
	return sinkkafka.ParseBrokers(os.Getenv(d.cfg.Services.KafkaBrokersEnv))
}

// ordersPipeline consumes orders.placed in a consumer group: each batch is
// placed in one Postgres transaction, and its offsets are committed after it.
// The run closes the consumer (pipelines.Source).
func ordersPipeline(d *deps, l *ledger.Service, brokers []string) (*pipelines.Pipeline[kafka.Message, fund.OrderIntake], error) {
	o := d.cfg.Pipelines.Orders
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: o.Topic, GroupID: o.Group, Batch: o.BatchSize,
		SessionTimeout: o.SessionTimeout, ErrorLog: func(msg string, args ...any) { d.log.Warn("kafka consumer: "+msg, args...) }})
	if err != nil {
		return nil, err
	}
	p := &pipelines.Pipeline[kafka.Message, fund.OrderIntake]{
		Name:   "orders",
		Source: src,
		Stage:  kafka.OrderStage(d.now, o.MaxClockSkew, o.MaxConsumerLag),
		// A message the database refuses for good is quarantined with its
		// topic, partition and offset, and the consumer moves past it.
		Sinks: []pipelines.Sink[fund.OrderIntake]{pipelines.Isolating[fund.OrderIntake]{
			Sink: ledger.OrderSink{Service: l}, Locate: kafka.IntakeOrigin, Quarantine: d.pg, Pipeline: "orders", Reason: "not_storable", Log: d.log}},
		Quarantine: d.pg,
		Metrics:    d.metrics,
		Log:        d.log,
	}
	return p, nil
}

// outboxJob assembles the outbox job from pipelines.outbox and the Kafka
// brokers of the environment.
func outboxJob(d *deps) outbox.Job {
	j := outbox.Job{Pool: d.pg.Pool, CH: d.ch, Brokers: kafkaBrokers(d), BrokersEnv: d.cfg.Services.KafkaBrokersEnv,
		Facts: true, Metrics: d.metrics, Runs: d.pg, Log: d.log}
	if o := d.cfg.Pipelines.Outbox; o != nil {
		j.Batch, j.Facts = o.BatchSize, o.Facts == nil || *o.Facts
	}
	return j
}

// outboxPipeline is one relay of the outbox job.
func outboxPipeline(d *deps, relay string, follow bool) (*pipelines.Pipeline[fund.OutboxEvent, fund.OutboxEvent], error) {
	return outboxJob(d).Pipeline(relay, follow)
}

// allocateJob assembles the allocate job from pipelines.allocate.
func allocateJob(d *deps) (allocate.Job, error) {
	l, err := moneyLedger(d)
	if err != nil {
		return allocate.Job{}, err
	}
	return allocate.Job{Ledger: l, Batch: d.cfg.Pipelines.Allocate.BatchSize, Log: d.log, Recorder: d.recorder()}, nil
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

// serveMoney runs the money path until ctx ends: the HTTP receiver, the
// orders consumer (when Kafka is configured), allocate passes and the
// outbox relays. It returns when all of them stopped.
func serveMoney(ctx context.Context, d *deps) error {
	cfg := d.cfg.Pipelines
	if cfg.Payments == nil && cfg.Orders == nil && cfg.Allocate == nil && cfg.Outbox == nil {
		return nil
	}
	l, err := moneyLedger(d)
	if err != nil {
		return err
	}
	g, ctx := supervise.NewGroup(ctx, "money path", d.log)
	defer g.Stop()
	if cfg.Payments != nil {
		stats := &webhook.Stats{}
		registerWebhookStats(d, stats)
		h, err := moneyHandler(ctx, d, l, stats)
		if err != nil {
			return err
		}
		srv := &http.Server{Addr: cfg.Payments.Listen, Handler: h, ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		g.Go("http", func() error {
			d.log.Info("serving payment webhooks", "addr", cfg.Payments.Listen)
			return supervise.HTTP(ctx, srv)
		})
	}
	if brokers := kafkaBrokers(d); cfg.Orders != nil && len(brokers) > 0 {
		p, err := ordersPipeline(d, l, brokers)
		if err != nil {
			return err
		}
		g.Go("orders", func() error {
			_, err := p.Run(ctx)
			return err
		})
	}
	if a := cfg.Allocate; a != nil && a.Every > 0 {
		j := allocate.Job{Ledger: l, Batch: a.BatchSize, Log: d.log, Recorder: d.recorder()}
		g.Go("allocate", func() error { return j.Serve(ctx, a.Every) })
	}
	if o := cfg.Outbox; o != nil && o.Every > 0 {
		g.Go("outbox", func() error {
			return supervise.Every(ctx, o.Every, d.log, func(ctx context.Context) error { _, err := outboxJob(d).Pass(ctx); return err })
		})
	}
	return g.Wait()
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
		err := serveMoney(ctx, d)
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

// registerWebhookStats exposes the receiver's answers on /metrics as
// fundflow_webhook_deliveries_total{outcome}.
func registerWebhookStats(d *deps, s *webhook.Stats) {
	for outcome, c := range map[string]*atomic.Int64{
		"stored": &s.Stored, "duplicate": &s.Duplicate, "failed": &s.Failed,
		"unauthorized": &s.Unauthorized, "too_large": &s.TooLarge, "unavailable": &s.Unavailable,
	} {
		c := c
		d.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "fundflow_webhook_deliveries_total",
			Help:        "Payment webhook deliveries by how they were answered.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(c.Load()) }))
	}
}
