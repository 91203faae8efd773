package main

import (
	"context"
	"github.com/jackc/pgx/v5/pgxpool"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// testDeps connects a test's own databases like `fundflow` would.
func testDeps(t *testing.T, cfg *config.Config) *deps {
	d, _ := testDepsAndOwner(t, cfg)
	return d
}

// testDepsAndOwner is testDeps plus a pool on the same database as the
// schema's owner, for a test that changes the schema (the application's role
// cannot).
func testDepsAndOwner(t *testing.T, cfg *config.Config) (*deps, *pgxpool.Pool) {
	owner, _, pool, _ := testkit.PGApp(t) // the application's role, as in production
	ch, _ := testkit.CH(t)
	reg := prometheus.NewRegistry()
	return &deps{cfg: cfg, log: testkit.Logger(t), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}, owner
}

func navConfig(t *testing.T, dir string) *config.Config {
	cfg, err := config.Parse("test.yaml", []byte(testkit.NAVIngestYAML(dir)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func count(t *testing.T, d *deps, q string) int {
	var n int
	if err := d.pg.Pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func chCount(t *testing.T, d *deps, q string) int {
	var n uint64
	if err := d.ch.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}
