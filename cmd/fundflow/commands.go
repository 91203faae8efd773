package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/alecthomas/kong"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

type lintCmd struct {
	File   string `arg:"" optional:"" help:"The config file (default: --config)."`
	Schema bool   `help:"Print the config's JSON Schema (fundflow.schema.json, for editors) instead, and check nothing."`
}

func (c lintCmd) Run(a *app) error {
	if c.Schema {
		_, err := a.stdout.Write(config.SchemaJSON())
		return err
	}
	path := c.File
	if path == "" {
		path = a.g.Config
	}
	cfg, warnings, err := lintConfig(path)
	if err != nil {
		return err
	}
	// The file is valid wherever it is used; the variables it names are
	// this environment's. Unset ones are warnings here (a config repo's CI
	// has no secrets) and failures in doctor, which serve's host runs.
	for _, f := range envFindings(envRefs(cfg), os.Getenv) {
		if f.Status != statusOK {
			warnings = append(warnings, f.Detail+" in this environment, and serve will not start without it: "+f.Fix+" (`fundflow doctor` checks it with the services)")
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(a.stdout, "%s: warning: %s\n", path, w)
	}
	fmt.Fprintf(a.stdout, "%s: ok\n", path)
	return nil
}

// lintConfig loads and checks the config at path (lint, and doctor before
// its checks): a bad file is an exit-2 error; warnings are for a config
// that runs but should not in production.
func lintConfig(path string) (*config.Config, []string, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			return nil, nil, &exitError{code: 2, err: err}
		}
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("lint: %w", err)}
	}
	if err := lintFraudRules(path, cfg); err != nil {
		return nil, nil, err
	}
	if _, err := notifyTemplates(path, cfg); err != nil {
		return nil, nil, &exitError{code: 2, err: err}
	}
	var warnings []string
	if o := cfg.Pipelines.Orders; o != nil && o.HTTP && o.InsecureNoAuth {
		warnings = append(warnings, "pipelines.orders.insecure_no_auth: POST /v1/orders accepts orders from anyone (local development only)")
	}
	return cfg, warnings, nil
}

func loadConfig(g globals) (*config.Config, error) {
	cfg, err := config.Load(g.Config)
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

// pgReady is readiness: Postgres answers within two seconds and its
// migrations are current (the check `fundflow doctor` makes).
func (d *deps) pgReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.pg.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return pgMigrationsCurrent(ctx, d.pg.Pool)
}

// connect loads the config (--config) and connects to the services it
// names; the caller closes the deps.
func (a *app) connect() (*deps, error) {
	cfg, err := loadConfig(a.g)
	if err != nil {
		return nil, err
	}
	return connect(a.ctx, cfg, a.log)
}

// connectPG loads the config and connects to Postgres only, as the
// application's role: for the commands that read or write nothing else.
// The caller closes the pool.
func (a *app) connectPG() (*config.Config, *pgxpool.Pool, error) {
	cfg, err := loadConfig(a.g)
	if err != nil {
		return nil, nil, err
	}
	pool, err := postgres.Connect(a.ctx, os.Getenv(cfg.Services.PostgresURLEnv))
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

type migrateCmd struct{}

func (migrateCmd) Run(a *app) error {
	cfg, err := loadConfig(a.g)
	if err != nil {
		return err
	}
	err = migrate.Apply(a.ctx, cfg.Services, a.log)
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

// runCmd is `fundflow run PIPELINE`: one subcommand per pipeline.
type runCmd struct {
	NAVIngest    pipelineCmd       `cmd:"" name:"nav-ingest" help:"load the waiting NAV files (SFTP, folder or HTTP) through parse and validation into Postgres, ClickHouse and Kafka, then allot the orders they priced"`
	NAVFreshness freshnessCmd      `cmd:"" name:"nav-freshness" help:"NAV lateness metrics, nav_stale alerts and today's completeness"`
	Allocate     allocateCmd       `cmd:"" help:"allot the paid orders whose NAV has landed"`
	Outbox       pipelineCmd       `cmd:"" help:"relay the outbox's undelivered events (Kafka, ClickHouse facts)"`
	FolioRecon   folioReconRunCmd  `cmd:"" name:"folio-recon" help:"load the RTAs' files, reconcile their books with our ledger as of a date, write recon_breaks and the report"`
	Instalments  instalmentsCmd    `cmd:"" help:"the systematic plans' daily run: generate the instalments falling due, present the debits and orders due now, settle the presented ones"`
	Managed      managedRunCmd     `cmd:"" help:"credit the wallet deposits the webhooks stored and auto-invest them into their model portfolios"`
	ManagedFees  managedFeesRunCmd `cmd:"" name:"managed-fees" help:"bill the quarter just finished (fees with GST, invoices), once, from the first business day after its end"`
}

// connected runs f with the config's connections (closed after), warning
// when the application's role is privileged.
func (a *app) connected(f func(d *deps) error) error {
	d, err := a.connect()
	if err != nil {
		return err
	}
	defer d.Close()
	warnIfPrivileged(a.ctx, d)
	return f(d)
}

// pipelineCmd runs the pipeline it is named after once and prints the
// run's summary.
type pipelineCmd struct{}

func (pipelineCmd) Run(a *app, k *kong.Context) error {
	name := k.Selected().Name
	return a.connected(func(d *deps) error {
		st, err := runPipeline(a.ctx, d, name)
		if err != nil {
			return err
		}
		return json.NewEncoder(a.stdout).Encode(summary(name, st))
	})
}

type freshnessCmd struct{}

func (freshnessCmd) Run(a *app) error {
	return a.connected(func(d *deps) error { return cmdFreshness(a.ctx, d, a.stdout) })
}

type allocateCmd struct{}

func (allocateCmd) Run(a *app) error {
	return a.connected(func(d *deps) error { return cmdAllocate(a.ctx, d, a.stdout) })
}

type runSummary struct {
	Pipeline    string           `json:"pipeline"`
	Batches     int64            `json:"batches"`
	In          int64            `json:"in"`
	Out         int64            `json:"out"`
	Quarantined int64            `json:"quarantined"`
	Skipped     int64            `json:"skipped_as_stored,omitempty"`
	Reasons     map[string]int64 `json:"reasons"`
}

func summary(name string, st pipelines.Stats) runSummary {
	return runSummary{name, st.Batches, st.In, st.Out, st.Quarantined, st.Skipped, st.Reasons}
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
	case navingest.Name:
		p, err := navIngest(ctx, d)
		if err != nil {
			return pipelines.Stats{}, err
		}
		st, err := p.Run(ctx)
		if err == nil {
			allocateAfterNAVs(ctx, d)
		}
		return st, err
	case outbox.Name:
		return runOutbox(ctx, d)
	case foliorecon.Name:
		out, err := folioRecon(ctx, d, fund.Date{}) // the latest date
		return out.Stats(), err
	}
	return pipelines.Stats{}, fmt.Errorf("no pipeline %q", name)
}

type serveCmd struct{}

func (serveCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		if err := registerServeMetrics(d); err != nil {
			return err
		}
		if addr := d.cfg.Serve.MetricsAddr; addr != "" {
			srv := metricsServer(d)
			go func() {
				if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
					d.log.Error("metrics server", "err", err)
				}
			}()
			defer srv.Shutdown(context.Background()) //nolint:errcheck
			d.log.Info("serving metrics", "addr", addr)
		}
		stopAPI, err := startAPI(a.ctx, d)
		if err != nil {
			return err
		}
		defer stopAPI()
		defer startFraud(a.ctx, a.g.Config, d)()
		stopNotify, err := startNotify(a.ctx, a.g.Config, d)
		if err != nil {
			return err
		}
		defer stopNotify()
		return serveWithMoney(a.ctx, d, serveSchedules)
	})
}
