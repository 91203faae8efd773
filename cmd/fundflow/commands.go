package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func cmdLint(g globals, args []string, stdout io.Writer) error {
	path := g.config
	if len(args) > 0 {
		path = args[0]
	}
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			return &exitError{code: 2, err: err}
		}
		return &exitError{code: 2, err: fmt.Errorf("lint: %w", err)}
	}
	if o := cfg.Pipelines.Orders; o != nil && o.HTTP && o.InsecureNoAuth {
		fmt.Fprintf(stdout, "%s: warning: pipelines.orders.insecure_no_auth: POST /v1/orders accepts orders from anyone (local development only)\n", path)
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

func loadConfig(g globals) (*config.Config, error) {
	cfg, err := config.Load(g.config)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

// deps are the live connections a command needs.
type deps struct {
	cfg     *config.Config
	log     *slog.Logger
	pg      *postgres.Store
	ch      clickhouse.Conn
	metrics *pipelines.Metrics
	reg     *prometheus.Registry
	clock   func() time.Time // nil: time.Now; tests set it (receipt times of orders and webhooks)
}

// now is the process's clock: the receipt time of every order and webhook.
func (d *deps) now() time.Time {
	if d.clock != nil {
		return d.clock()
	}
	return time.Now()
}

// pgReady is readiness: Postgres answers within two seconds.
func (d *deps) pgReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.pg.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// loadAndConnect loads the config (--config) and connects to the services it
// names; the caller closes the deps.
func loadAndConnect(ctx context.Context, g globals, log *slog.Logger) (*deps, error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	return connect(ctx, cfg, log)
}

// loadAndConnectPG loads the config and connects to Postgres only, as the
// application's role: for the commands that read or write nothing else.
// The caller closes the pool.
func loadAndConnectPG(ctx context.Context, g globals) (*config.Config, *pgxpool.Pool, error) {
	cfg, err := loadConfig(g)
	if err != nil {
		return nil, nil, err
	}
	pool, err := postgres.Connect(ctx, os.Getenv(cfg.Services.PostgresURLEnv))
	return cfg, pool, err
}

func connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (*deps, error) {
	pool, err := postgres.Connect(ctx, os.Getenv(cfg.Services.PostgresURLEnv))
	if err != nil {
		return nil, err
	}
	ch, err := clickhouse.Connect(ctx, os.Getenv(cfg.Services.ClickHouseURLEnv))
	if err != nil {
		pool.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &deps{cfg: cfg, log: log, pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}, nil
}

// recorder records a job's runs in job_runs and the engine's run metrics.
func (d *deps) recorder() pipelines.Recorder {
	return pipelines.Recorder{Runs: d.pg, Metrics: d.metrics, Log: d.log}
}

func (d *deps) Close() {
	d.pg.Pool.Close()
	d.ch.Close()
}

func cmdMigrate(ctx context.Context, g globals, log *slog.Logger) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	err = migrate.Apply(ctx, cfg.Services, log)
	if errors.Is(err, migrate.ErrURLs) {
		return &exitError{code: 2, err: err}
	}
	return err
}

// warnIfPrivileged warns when the application's connection could switch
// the audit triggers off (migrate.WarnIfPrivileged).
func warnIfPrivileged(ctx context.Context, d *deps) {
	migrate.WarnIfPrivileged(ctx, d.pg.Pool, d.cfg.Services.PostgresURLEnv, d.log)
}

func cmdRun(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "folio-recon" {
		return cmdFolioRecon(ctx, g, log, args[1:], stdout) // takes --date
	}
	if len(args) != 1 {
		return usageErr("usage: fundflow run PIPELINE (one of: %s)", pipelineNames())
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	warnIfPrivileged(ctx, d)
	if args[0] == "nav-freshness" {
		return cmdFreshness(ctx, d, stdout) // prints its own report
	}
	if args[0] == "allocate" {
		return cmdAllocate(ctx, d, stdout) // its summary has the pass's counts
	}
	st, err := runPipeline(ctx, d, args[0])
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(summary(args[0], st))
}

type runSummary struct {
	Pipeline    string           `json:"pipeline"`
	Batches     int64            `json:"batches"`
	In          int64            `json:"in"`
	Out         int64            `json:"out"`
	Quarantined int64            `json:"quarantined"`
	Reasons     map[string]int64 `json:"reasons"`
}

func summary(name string, st pipelines.Stats) runSummary {
	return runSummary{name, st.Batches, st.In, st.Out, st.Quarantined, st.Reasons}
}

// runPipeline runs one pipeline once, holding its single-runner lock.
func runPipeline(ctx context.Context, d *deps, name string) (st pipelines.Stats, err error) {
	err = supervise.Single(ctx, d.pg, name, func(ctx context.Context) error {
		st, err = runUnlocked(ctx, d, name)
		return err
	})
	return st, err
}

// runUnlocked runs one pipeline once; the caller holds its lock.
func runUnlocked(ctx context.Context, d *deps, name string) (pipelines.Stats, error) {
	switch name {
	case "nav-ingest":
		p, err := navIngest(ctx, d)
		if err != nil {
			return pipelines.Stats{}, err
		}
		st, err := p.Run(ctx)
		if err == nil {
			allocateAfterNAVs(ctx, d)
		}
		return st, err
	case "outbox":
		return runOutbox(ctx, d)
	case "folio-recon":
		out, err := folioRecon(ctx, d, fund.Date{}) // the latest date
		return out.Stats(), err
	}
	return pipelines.Stats{}, usageErr("unknown pipeline %q (one of: %s)", name, pipelineNames())
}

func pipelineNames() string { return "nav-ingest, nav-freshness, allocate, outbox, folio-recon" }

func cmdServe(ctx context.Context, g globals, log *slog.Logger) error {
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	warnIfPrivileged(ctx, d)
	cfg := d.cfg
	if addr := cfg.Serve.MetricsAddr; addr != "" {
		srv := &http.Server{Addr: addr, Handler: promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "err", err)
			}
		}()
		defer srv.Shutdown(context.Background()) //nolint:errcheck
		log.Info("serving metrics", "addr", addr)
	}
	stopAPI, err := startAPI(ctx, d)
	if err != nil {
		return err
	}
	defer stopAPI()
	return serveWithMoney(ctx, d, serveSchedules)
}
