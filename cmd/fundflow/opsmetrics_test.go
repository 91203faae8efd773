package main

import (
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
	fundsql "github.com/fundflow/fundflow/sql"
)

// serve's metrics listener against the real Postgres: /metrics holds the
// process's series and "/" does not (the defect: every path answered the
// scrape); /readyz is 200 while the migrations are current, 503 naming the
// missing migration and the fix once one is not applied (doctor's check),
// and 503 when Postgres does not answer, while /healthz stays 200.
func TestMetricsListener(t *testing.T) {
	ctx := testkit.Ctx(t)
	cfg, err := config.Parse("test.yaml", []byte("serve:\n  metrics_addr: 127.0.0.1:0\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, owner := testDepsAndOwner(t, cfg)
	d.metrics.Job("nav-ingest", "ok", 0) // a series the scrape must show
	if err := registerServeMetrics(d); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ('nav_stale', 'Alpha MF', '')`); err != nil {
		t.Fatal(err)
	}
	h := metricsServer(d).Handler
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	expect := func(path string, code int, holds string) {
		t.Helper()
		c, b := get(path)
		if c != code || !strings.Contains(b, holds) {
			t.Fatalf("GET %s: %d %q, want %d holding %q", path, c, b, code, holds)
		}
		if path != "/metrics" && strings.Contains(b, "fundflow_job_runs_total") {
			t.Fatalf("GET %s answered the scrape", path)
		}
	}
	expect("/metrics", 200, `fundflow_job_runs_total{job="nav-ingest",outcome="ok"} 1`)
	expect("/metrics", 200, `fundflow_alerts_open{kind="nav_stale"} 1`)
	expect("/metrics", 200, `fundflow_build_info{goversion="`+runtime.Version()+`"`)
	expect("/", 404, "")
	expect("/healthz", 200, "ok")
	expect("/readyz", 200, "ready")

	// The newest migration "not applied": readiness says which and how to fix.
	var version int
	var name string
	if err := owner.QueryRow(ctx, `SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, version); err != nil {
		t.Fatal(err)
	}
	ms, err := migrate.Load(fundsql.Postgres, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	name = ms[len(ms)-1].Name
	expect("/readyz", 503, "1 migration(s) not applied: "+name)
	expect("/readyz", 503, "fix: fundflow migrate")

	// Postgres gone: not ready, still alive.
	d.pg.Pool.Close()
	expect("/readyz", 503, "not ready: postgres:")
	expect("/healthz", 200, "ok")
}
