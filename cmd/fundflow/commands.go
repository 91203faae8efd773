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

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
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
	ownerURL, appURL, err := pgURLs(cfg)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	ch, err := clickhouse.Connect(ctx, os.Getenv(cfg.Services.ClickHouseURLEnv))
	if err != nil {
		return err
	}
	defer ch.Close()
	pgDone, err := migrate.Postgres(ctx, pool, log)
	if err != nil {
		return err
	}
	chDone, err := migrate.ClickHouse(ctx, ch, log)
	if err != nil {
		return err
	}
	log.Info("migrations up to date", "postgres_applied", len(pgDone), "clickhouse_applied", len(chDone))
	owner, app := pgUser(ownerURL), pgUser(appURL)
	if owner == app {
		log.Warn("the application connects as the schema owner: it could switch off the audit triggers; point "+
			cfg.Services.PostgresMigrateURLEnv+" at the owner and "+cfg.Services.PostgresURLEnv+" at a role that owns nothing (scripts/services.sh does)",
			"role", app)
		return nil
	}
	if err := migrate.GrantApp(ctx, pool, app); err != nil {
		return err
	}
	log.Info("application role granted", "role", app, "owner", owner)
	return nil
}

// pgURLs returns the schema owner's URL (for migrate and the bulk
// generators) and the application's. The owner's comes from
// services.postgres_migrate_url_env; when that variable is empty the
// application's URL is used for both (one role; migrate warns). Both must
// name the same database: an owner URL left in the environment for another
// database is refused, not migrated.
func pgURLs(cfg *config.Config) (owner, app string, err error) {
	app = os.Getenv(cfg.Services.PostgresURLEnv)
	owner = os.Getenv(cfg.Services.PostgresMigrateURLEnv)
	if owner == "" || app == "" {
		return app, app, nil
	}
	o, oerr := pgconn.ParseConfig(owner)
	a, aerr := pgconn.ParseConfig(app)
	if oerr != nil || aerr != nil {
		return "", "", &exitError{code: 2, err: fmt.Errorf("postgres: bad %s or %s: %v", cfg.Services.PostgresMigrateURLEnv, cfg.Services.PostgresURLEnv, errors.Join(oerr, aerr))}
	}
	if o.Host != a.Host || o.Port != a.Port || o.Database != a.Database {
		return "", "", &exitError{code: 2, err: fmt.Errorf("postgres: %s names database %q on %s:%d but %s names %q on %s:%d: point both at the same database, or unset %s to use one role",
			cfg.Services.PostgresMigrateURLEnv, o.Database, o.Host, o.Port, cfg.Services.PostgresURLEnv, a.Database, a.Host, a.Port, cfg.Services.PostgresMigrateURLEnv)}
	}
	return owner, app, nil
}

// pgUser is the role a Postgres URL logs in as ("" if it does not parse).
func pgUser(url string) string {
	c, err := pgconn.ParseConfig(url)
	if err != nil {
		return ""
	}
	return c.User
}

// warnIfPrivileged logs a warning when the application is connected as a
// superuser or as the owner of the audit trail: either could switch its
// triggers off and rewrite it.
func warnIfPrivileged(ctx context.Context, d *deps) {
	var super, owner bool
	err := d.pg.Pool.QueryRow(ctx, `SELECT rolsuper, coalesce(pg_has_role(current_user,
			(SELECT relowner FROM pg_class WHERE oid = to_regclass('audit_log')), 'MEMBER'), false)
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &owner)
	if err == nil && (super || owner) {
		d.log.Warn("connected to Postgres as a superuser or the audit trail's owner: this role could switch off the audit triggers; run the application as a role that owns nothing (see README)",
			"env", d.cfg.Services.PostgresURLEnv, "role", pgUser(os.Getenv(d.cfg.Services.PostgresURLEnv)))
	}
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
	Skipped     int64            `json:"skipped_as_stored,omitempty"`
	Reasons     map[string]int64 `json:"reasons"`
}

func summary(name string, st pipelines.Stats) runSummary {
	return runSummary{name, st.Batches, st.In, st.Out, st.Quarantined, st.Skipped, st.Reasons}
}

// runPipeline runs one pipeline once, holding its single-runner lock.
func runPipeline(ctx context.Context, d *deps, name string) (pipelines.Stats, error) {
	unlock, err := d.pg.TryLock(ctx, "pipeline:"+name)
	if err != nil {
		return pipelines.Stats{}, err
	}
	defer unlock()
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
		return runFolioReconStats(ctx, d)
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
