package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/opsmetrics"
	fundsql "github.com/fundflow/fundflow/sql"
)

// metricsServer is serve's metrics listener on serve.metrics_addr:
// /metrics, /healthz and /readyz (opsmetrics.Handler), ready when
// Postgres answers and its migrations are current (pgReady).
func metricsServer(d *deps) *http.Server {
	return &http.Server{Addr: d.cfg.Serve.MetricsAddr, Handler: opsmetrics.Handler(d.reg, d.pgReady), ReadHeaderTimeout: 5 * time.Second}
}

// registerServeMetrics registers the series only serve exposes (not every
// command that connects): fundflow_build_info and the DB-state gauges
// (opsmetrics.Collector), with the outbox relays serve runs.
func registerServeMetrics(d *deps) error {
	c := &opsmetrics.Collector{Pool: d.pg.Pool, Log: d.log}
	if d.cfg.Pipelines.Outbox != nil {
		c.Relays = outboxJob(d).Relays()
	}
	for _, m := range []prometheus.Collector{opsmetrics.BuildInfo(), c} {
		if err := d.reg.Register(m); err != nil {
			return fmt.Errorf("serve metrics: %w", err)
		}
	}
	return nil
}

// pgMigrationsCurrent is doctor's Postgres migration check as an error:
// nil when every embedded migration is applied and unchanged since it ran.
// Readiness and `fundflow doctor` judge with the same functions
// (pgApplied, migrationFindings).
func pgMigrationsCurrent(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrate.Load(fundsql.Postgres, "postgres")
	if err != nil {
		return err
	}
	done, err := pgApplied(ctx, pool)
	if err != nil {
		return fmt.Errorf("postgres migrations: %w", err)
	}
	if f := migrationFindings("postgres migrations", ms, done); f.Status != statusOK {
		return fmt.Errorf("%s: %s (fix: %s)", f.Check, f.Detail, f.Fix)
	}
	return nil
}
