// Package money assembles the money path from its config: the ledger
// (Postgres state, allotment rules, holiday calendar, audit trail), the
// HTTP intake (payment webhooks and /v1/orders, each an engine pipeline),
// the Kafka orders consumer, and serve's supervision of them with the
// allocate passes and the outbox relays (jobs/allocate, jobs/outbox).
package money

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/apiserve"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/ledger/rules"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Deps are the connections and process services the money path runs on.
type Deps struct {
	PG         *postgres.Store
	CH         clickhouse.Conn
	Brokers    []string // Kafka; none: no orders consumer, and the outbox table is the bus
	BrokersEnv string   // the variable Brokers came from, named in the outbox job's messages
	Metrics    *pipelines.Metrics
	Registry   prometheus.Registerer       // fundflow_webhook_deliveries_total
	Ready      func(context.Context) error // /readyz: nil when Postgres answers
	Now        func() time.Time            // receipt time of every order and webhook
	Log        *slog.Logger
}

func (d Deps) recorder() pipelines.Recorder {
	return pipelines.Recorder{Runs: d.PG, Metrics: d.Metrics, Log: d.Log}
}

// Config is the money path's part of the config.
type Config struct {
	Payments *config.Payments
	Orders   *config.Orders
	Allocate *config.Allocate
	Outbox   *config.Outbox
	API      config.API // its failed-authentication limit guards /v1/orders too
	// Webhooks are more receivers on the payment webhooks' listener, by
	// path: the bank account validations (issue 23).
	Webhooks map[string]http.Handler
}

// ErrNotConfigured is the ledger asked for without a pipelines.allocate
// section: the operator's to fix.
var ErrNotConfigured = errors.New("the money path is not configured: add a pipelines.allocate section (with its holidays) to the config")

// Ledger assembles the money path's ledger: Postgres state, the allotment
// rules, the holiday calendar of pipelines.allocate and the audit trail.
func Ledger(d Deps, a *config.Allocate) (*ledger.Service, error) {
	if a == nil {
		return nil, ErrNotConfigured
	}
	cal, err := holidays.Calendar(a.Holidays...)
	if err != nil {
		return nil, err
	}
	l := &ledger.Service{Store: pgstore.New(d.PG.Pool), Rules: rules.Rules{}, Calendar: cal, Now: d.Now, AllotWorkers: a.Workers}
	l.Audit = a.Audit == nil || *a.Audit
	// Mandates' bank account numbers are sealed with the PII key; without
	// one only their masked form is kept.
	if os.Getenv(pii.KeyEnv) != "" {
		s, err := pii.FromEnv(os.Getenv, pii.KeyEnv)
		if err != nil {
			return nil, err
		}
		l.Sealer = s
	}
	return l, nil
}

// Allocate assembles the allocate job from pipelines.allocate.
func Allocate(d Deps, a *config.Allocate) (allocate.Job, error) {
	l, err := Ledger(d, a)
	if err != nil {
		return allocate.Job{}, err
	}
	return allocate.Job{Ledger: l, Batch: a.BatchSize, Log: d.Log, Recorder: d.recorder()}, nil
}

// Outbox assembles the outbox job from pipelines.outbox (nil: defaults)
// and the Kafka brokers.
func Outbox(d Deps, o *config.Outbox) outbox.Job {
	j := outbox.Job{Pool: d.PG.Pool, CH: d.CH, Brokers: d.Brokers, BrokersEnv: d.BrokersEnv,
		Facts: true, Metrics: d.Metrics, Runs: d.PG, Log: d.Log}
	if o != nil {
		j.Batch, j.Facts = o.BatchSize, o.Facts == nil || *o.Facts
	}
	return j
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
func intakePipeline[T, R any](d Deps, name, sink string, max int, locate func(T) (pipelines.Position, []byte),
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
		Metrics: d.Metrics,
		Log:     d.Log,
	}, in
}

// PaymentsPipeline stores verified webhook deliveries through the ledger:
// ReceiveMany per batch (groupCommit events at most).
func PaymentsPipeline(d Deps, groupCommit int, l *ledger.Service) (*pipelines.Pipeline[*webhookCall, *webhookCall], *pipelines.Intake[ledger.InboxEvent, ledger.Receipt]) {
	return intakePipeline(d, "payments", "postgres-webhooks", groupCommit,
		func(ev ledger.InboxEvent) (pipelines.Position, []byte) {
			return pipelines.Position{Event: ev.EventID}, ev.Body
		},
		l.ReceiveMany, l.Receive)
}

// OrdersHTTPPipeline places order requests posted to /v1/orders through
// the ledger: PlaceOrders per batch (batch requests at most).
func OrdersHTTPPipeline(d Deps, batch int, l *ledger.Service) (*pipelines.Pipeline[*orderCall, *orderCall], *pipelines.Intake[fund.OrderIntake, ledger.Placed]) {
	return intakePipeline(d, "orders-http", "postgres-orders", batch,
		func(in fund.OrderIntake) (pipelines.Position, []byte) {
			return pipelines.Position{Event: in.Req.ID}, in.Raw
		},
		l.PlaceOrders, l.Place)
}

// WebhookStore is the webhook receiver's Store: the payments pipeline.
type WebhookStore struct {
	In *pipelines.Intake[ledger.InboxEvent, ledger.Receipt]
}

func (s WebhookStore) Receive(ctx context.Context, d webhook.Delivery) (bool, string, error) {
	c, err := s.In.Submit(ctx, ledger.InboxEvent{Source: d.Source, EventID: d.EventID, EventType: d.EventType, Body: d.Body, Payment: d.Payment, Mandate: d.Mandate, Problem: d.Problem})
	if err == nil {
		err = c.Err
	}
	if err != nil {
		return false, "", err
	}
	return c.Out.Duplicate, c.Out.Status, nil
}

// OrderPlacer is the order handler's Placer: the orders-http pipeline.
type OrderPlacer struct {
	In *pipelines.Intake[fund.OrderIntake, ledger.Placed]
}

func (p OrderPlacer) Place(ctx context.Context, in fund.OrderIntake) (string, any, error) {
	c, err := p.In.Submit(ctx, in)
	if err == nil {
		err = c.Err
	}
	if err != nil {
		return "", nil, err
	}
	return c.Out.Outcome, c.Out, nil
}

// RunIntake runs an intake pipeline until ctx ends. Its run ends only
// with ctx (a batch that fails is answered, not fatal), so an error here
// is one of wiring.
func RunIntake[T any](ctx context.Context, d Deps, p *pipelines.Pipeline[T, T]) {
	if _, err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		d.Log.Error("intake pipeline stopped", "pipeline", p.Name, "err", err)
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

// Handler is the money path's HTTP surface: POST /webhooks/razorpay
// and, when configured, POST /v1/orders, each fed to its engine pipeline
// (payments, orders-http), which runs until ctx ends.
func Handler(ctx context.Context, d Deps, c Config, l *ledger.Service, stats *webhook.Stats) (http.Handler, error) {
	p := c.Payments
	secrets, err := webhookSecrets(p.SecretEnvs)
	if err != nil {
		return nil, err
	}
	payments, in := PaymentsPipeline(d, p.GroupCommit, l)
	start := []func(){func() { RunIntake(ctx, d, payments) }} // once the handler is whole
	mux := http.NewServeMux()
	mux.Handle("/webhooks/razorpay", &webhook.Receiver{Secrets: secrets, Store: WebhookStore{in}, MaxBody: p.MaxBodySize, Log: d.Log, Stats: stats,
		Now: d.Now, MaxEventAge: p.MaxEventAge})
	if o := c.Orders; o != nil && o.HTTP {
		tok := ""
		switch {
		case o.HTTPTokenEnv != "":
			if tok = os.Getenv(o.HTTPTokenEnv); tok == "" {
				return nil, fmt.Errorf("orders: %s (the /v1/orders bearer token) is not set", o.HTTPTokenEnv)
			}
		case o.InsecureNoAuth:
			d.Log.Warn("pipelines.orders.insecure_no_auth is set: POST /v1/orders accepts orders from anyone who can reach " + p.Listen + "; for local development only")
		default:
			// config validation refuses this; a Config built in code must not open it either
			return nil, errors.New("orders: /v1/orders without a token needs pipelines.orders.insecure_no_auth")
		}
		orders, in := OrdersHTTPPipeline(d, o.BatchSize, l)
		start = append(start, func() { RunIntake(ctx, d, orders) })
		mux.Handle("/v1/orders", &orderhttp.Handler{Placer: OrderPlacer{in}, Token: tok, Log: d.Log,
			Now: d.Now, MaxSkew: o.MaxClockSkew, Failed: apiserve.FailedAuthLimit(c.API, d.Now)})
	}
	for path, h := range c.Webhooks {
		mux.Handle(path, h)
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
func readyz(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if err := d.Ready(r.Context()); err != nil {
			d.Log.Warn("not ready", "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "not ready: postgres is unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}
}

// OrdersPipeline consumes orders.placed in a consumer group: each batch is
// placed in one Postgres transaction, and its offsets are committed after it.
// The run closes the consumer (pipelines.Source).
func OrdersPipeline(d Deps, o *config.Orders, l *ledger.Service) (*pipelines.Pipeline[kafka.Message, fund.OrderIntake], error) {
	src, err := kafka.NewSource(kafka.Config{Brokers: d.Brokers, Topic: o.Topic, GroupID: o.Group, Batch: o.BatchSize,
		SessionTimeout: o.SessionTimeout, ErrorLog: func(msg string, args ...any) { d.Log.Warn("kafka consumer: "+msg, args...) }})
	if err != nil {
		return nil, err
	}
	p := &pipelines.Pipeline[kafka.Message, fund.OrderIntake]{
		Name:   "orders",
		Source: src,
		Stage:  kafka.OrderStage(d.Now, o.MaxClockSkew, o.MaxConsumerLag),
		// A message the database refuses for good is quarantined with its
		// topic, partition and offset, and the consumer moves past it.
		Sinks: []pipelines.Sink[fund.OrderIntake]{pipelines.Isolating[fund.OrderIntake]{
			Sink: ledger.OrderSink{Service: l}, Locate: kafka.IntakeOrigin, Quarantine: d.PG, Pipeline: "orders", Reason: "not_storable", Log: d.Log}},
		Quarantine: d.PG,
		Metrics:    d.Metrics,
		Log:        d.Log,
	}
	return p, nil
}

// Serve runs the money path until ctx ends: the HTTP receiver, the
// orders consumer (when Kafka is configured), allocate passes and the
// outbox relays. It returns when all of them stopped.
func Serve(ctx context.Context, d Deps, c Config) error {
	if c.Payments == nil && c.Orders == nil && c.Allocate == nil && c.Outbox == nil {
		return nil
	}
	l, err := Ledger(d, c.Allocate)
	if err != nil {
		return err
	}
	g, ctx := supervise.NewGroup(ctx, "money path", d.Log)
	defer g.Stop()
	if c.Payments != nil {
		stats := &webhook.Stats{}
		RegisterWebhookStats(d.Registry, stats)
		h, err := Handler(ctx, d, c, l, stats)
		if err != nil {
			return err
		}
		srv := &http.Server{Addr: c.Payments.Listen, Handler: h, ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
		g.Go("http", func() error {
			d.Log.Info("serving payment webhooks", "addr", c.Payments.Listen)
			return supervise.HTTP(ctx, srv)
		})
	}
	if c.Orders != nil && len(d.Brokers) > 0 {
		p, err := OrdersPipeline(d, c.Orders, l)
		if err != nil {
			return err
		}
		g.Go("orders", func() error {
			_, err := p.Run(ctx)
			return err
		})
	}
	if a := c.Allocate; a != nil && a.Every > 0 {
		j := allocate.Job{Ledger: l, Batch: a.BatchSize, Log: d.Log, Recorder: d.recorder()}
		g.Go("allocate", func() error { return j.Serve(ctx, a.Every) })
	}
	if o := c.Outbox; o != nil && o.Every > 0 {
		g.Go("outbox", func() error {
			// One relay at a time across processes (the lock `fundflow run
			// outbox` takes too): two relaying the same undelivered rows
			// would each publish them (the scale-out run saw 10-28 % of
			// Kafka messages twice before this lock).
			return supervise.Every(ctx, outbox.Name, o.Every, d.Metrics, d.Log, func(ctx context.Context) error {
				return supervise.Single(ctx, d.PG, outbox.Name, func(ctx context.Context) error { _, err := Outbox(d, o).Pass(ctx); return err })
			})
		})
	}
	return g.Wait()
}

// RegisterWebhookStats exposes the receiver's answers on /metrics as
// fundflow_webhook_deliveries_total{outcome}.
func RegisterWebhookStats(reg prometheus.Registerer, s *webhook.Stats) {
	for outcome, c := range map[string]*atomic.Int64{
		"stored": &s.Stored, "duplicate": &s.Duplicate, "failed": &s.Failed,
		"unauthorized": &s.Unauthorized, "too_large": &s.TooLarge, "unavailable": &s.Unavailable,
	} {
		c := c
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "fundflow_webhook_deliveries_total",
			Help:        "Payment webhook deliveries by how they were answered.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(c.Load()) }))
	}
}
