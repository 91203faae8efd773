package opsmetrics

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Collector defaults: a scrape reads Postgres at most every MaxAge, and
// gives each of its five queries Timeout before it answers with what it
// had (so at most 5 s, half Prometheus's default scrape timeout).
const (
	DefaultMaxAge  = 15 * time.Second
	DefaultTimeout = time.Second
)

// Collector exposes the state operators watch in Postgres as gauges:
//
//	fundflow_outbox_lag_seconds{relay}      age of the oldest event the relay has not sent (0 when none)
//	fundflow_outbox_pending_events{relay}   events the relay has not sent
//	fundflow_alerts_open{kind}              alerts not resolved
//	fundflow_quarantine_rows{source}        quarantined rows still open (not replayed, accepted or dismissed), by pipeline
//	fundflow_recon_breaks_open{type}        recon breaks open (not explained or resolved)
//	fundflow_payment_breaks_open{kind}      payment breaks not resolved, by reason (refunds due among them)
//
// A scrape reads Postgres at most every MaxAge (the answer is cached in
// between) under a Timeout, and never fails: a query that errs or times
// out leaves its gauges at their last values and counts one in
// fundflow_metrics_collect_errors_total{collector}. A label value seen
// once stays, at 0, when its rows are gone, so a cleared break reads 0,
// not "no data".
type Collector struct {
	Pool    *pgxpool.Pool
	Relays  []string      // the outbox relays this deployment runs (outbox.Job.Relays); none: no outbox series
	MaxAge  time.Duration // 0: DefaultMaxAge
	Timeout time.Duration // 0: DefaultTimeout
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now (tests move it to expire the cache)

	mu      sync.Mutex
	readAt  time.Time
	values  map[string]map[string]float64 // metric name → label value → value
	errs    *prometheus.CounterVec
	initErr sync.Once
}

type gaugeDef struct {
	name, label, help string
	collector         string // which query fills it (the errors counter's label)
}

var gauges = []gaugeDef{
	{"fundflow_outbox_lag_seconds", "relay", "Age in seconds of the oldest outbox event the relay has not sent yet; 0 when it is caught up.", "outbox"},
	{"fundflow_outbox_pending_events", "relay", "Outbox events the relay has not sent yet.", "outbox"},
	{"fundflow_alerts_open", "kind", "Open (unresolved) rows of the alerts table by kind.", "alerts"},
	{"fundflow_quarantine_rows", "source", "Quarantined rows still open (not replayed, accepted or dismissed) by the pipeline that quarantined them.", "quarantine"},
	{"fundflow_recon_breaks_open", "type", "Open recon breaks (not explained or resolved) by type.", "recon_breaks"},
	{"fundflow_payment_breaks_open", "kind", "Unresolved payment breaks (a payment that cannot realise its order: refunds due) by reason.", "payment_breaks"},
}

var descs = func() map[string]*prometheus.Desc {
	m := map[string]*prometheus.Desc{}
	for _, g := range gauges {
		m[g.name] = prometheus.NewDesc(g.name, g.help, []string{g.label}, nil)
	}
	return m
}()

func (c *Collector) init() {
	c.initErr.Do(func() {
		c.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fundflow_metrics_collect_errors_total",
			Help: "Refreshes of a DB-state collector that failed or timed out (its gauges kept their last values).",
		}, []string{"collector"})
		c.values = map[string]map[string]float64{}
		for _, g := range gauges {
			c.values[g.name] = map[string]float64{}
			c.errs.WithLabelValues(g.collector) // 0 from the start
		}
	})
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.init()
	for _, d := range descs {
		ch <- d
	}
	c.errs.Describe(ch)
}

// Collect implements prometheus.Collector: the cached values, refreshed
// first when older than MaxAge.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if c.readAt.IsZero() || now.Sub(c.readAt) >= maxAge {
		c.refresh()
		c.readAt = now
	}
	for _, g := range gauges {
		vs := c.values[g.name]
		keys := make([]string, 0, len(vs))
		for k := range vs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ch <- prometheus.MustNewConstMetric(descs[g.name], prometheus.GaugeValue, vs[k], k)
		}
	}
	c.errs.Collect(ch)
}

func (c *Collector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// refresh runs every query, each under its own Timeout (a locked table
// holds up its own gauges, not the others'); each that fails keeps its
// gauges and counts an error.
func (c *Collector) refresh() {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	type read struct {
		collector string
		run       func(context.Context) (map[string]map[string]float64, error)
	}
	for _, r := range []read{
		{"outbox", c.outbox},
		{"alerts", c.counts("fundflow_alerts_open", `SELECT kind, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY kind`)},
		{"quarantine", c.counts("fundflow_quarantine_rows", `SELECT pipeline, count(*) FROM quarantine WHERE status = 'open' GROUP BY pipeline`)},
		{"recon_breaks", c.counts("fundflow_recon_breaks_open", `SELECT type, count(*) FROM recon_breaks WHERE status = 'open' GROUP BY type`)},
		{"payment_breaks", c.counts("fundflow_payment_breaks_open", `SELECT reason, count(*) FROM payment_breaks WHERE resolved_at IS NULL GROUP BY reason`)},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		got, err := r.run(ctx)
		if err == nil {
			err = ctx.Err() // a query cut short by the timeout
		}
		cancel()
		if err != nil {
			c.errs.WithLabelValues(r.collector).Inc()
			c.log().Warn("metrics: reading Postgres state failed; the gauges keep their last values", "collector", r.collector, "err", err)
			continue
		}
		for name, vs := range got {
			old := c.values[name]
			for k := range old {
				old[k] = 0 // seen before, gone now
			}
			for k, v := range vs {
				old[k] = v
			}
		}
	}
}

func (c *Collector) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// counts is a query of (label, count) rows into the gauge name.
func (c *Collector) counts(name, q string) func(context.Context) (map[string]map[string]float64, error) {
	return func(ctx context.Context) (map[string]map[string]float64, error) {
		rows, err := c.Pool.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		vs := map[string]float64{}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return nil, err
			}
			vs[k] = float64(n)
		}
		return map[string]map[string]float64{name: vs}, rows.Err()
	}
}

// outboxPending are the rows each relay has still to send, spelled as the
// relay reads them (sinks/postgres OutboxSource) and as the predicates of
// their partial indexes, so each count reads an index of pending rows only,
// never the whole outbox. The facts relay's rows are two such sets.
var outboxPending = map[string][]string{
	postgres.RelayKafka: {`published_at IS NULL`},
	postgres.RelayFacts: {
		`facts_at IS NULL AND topic = '` + fund.TopicTransactions + `'`,
		`facts_at IS NULL AND (topic LIKE 'sip.%' OR topic LIKE 'stp.%' OR topic LIKE 'swp.%')`,
	},
}

// outbox reads each configured relay's pending events and the age of its
// oldest (by Postgres's clock, the one that stamped created_at).
func (c *Collector) outbox(ctx context.Context) (map[string]map[string]float64, error) {
	pending, lag := map[string]float64{}, map[string]float64{}
	for _, relay := range c.Relays {
		preds, ok := outboxPending[relay]
		if !ok {
			continue
		}
		for _, where := range preds {
			var n int64
			var age float64
			if err := c.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 FROM outbox WHERE `+where).Scan(&n, &age); err != nil {
				return nil, err
			}
			pending[relay] += float64(n)
			lag[relay] = max(lag[relay], age, 0)
		}
	}
	return map[string]map[string]float64{"fundflow_outbox_pending_events": pending, "fundflow_outbox_lag_seconds": lag}, nil
}
