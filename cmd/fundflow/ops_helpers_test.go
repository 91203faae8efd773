package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// opsEnv is a test's own databases reachable both ways: through the CLI
// (a config file naming environment variables with their URLs) and through
// deps for assertions.
type opsEnv struct {
	cfgPath string
	d       *deps
}

// newOpsEnv writes a config whose pipelines section is pipelinesYAML
// (indented as under "pipelines:").
func newOpsEnv(t *testing.T, pipelinesYAML string) opsEnv {
	t.Helper()
	_, _, pool, pgURL := testkit.PGApp(t) // the application's role, as in production
	ch, chURL := testkit.CH(t)
	t.Setenv("FF_OPS_TEST_PG_URL", pgURL)
	t.Setenv("FF_OPS_TEST_CH_URL", chURL)
	t.Setenv("FUNDFLOW_KAFKA_BROKERS", "")
	yaml := "services:\n  postgres_url_env: FF_OPS_TEST_PG_URL\n  clickhouse_url_env: FF_OPS_TEST_CH_URL\npipelines:\n" + pipelinesYAML
	path := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return opsEnv{cfgPath: path, d: &deps{cfg: cfg, log: testkit.Logger(t), pg: &postgres.Store{Pool: pool}, ch: ch, reg: reg, metrics: pipelines.NewMetrics(reg)}}
}

// cli runs fundflow with the env's config and returns stdout and stderr.
func (e opsEnv) cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"--config", e.cfgPath, "--log-level", "warn"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// calendar2026 is the real 2026 holiday calendar fixture.
func calendar2026(t *testing.T) *fund.Calendar {
	t.Helper()
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return cal
}
