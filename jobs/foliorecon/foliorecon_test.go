package foliorecon_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The reconciliation is inside the job's run row: with no RTA file ever
// loaded, the load succeeds (nothing to load) and the reconcile step fails,
// and the job leaves one failed job_runs row, counted once as failed, not
// an ok row for the load.
func TestAFailedReconcileFailsTheJobsOneRun(t *testing.T) {
	ctx := testkit.Ctx(t)
	_, _, app, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	cfg, err := config.Parse("test.yaml", []byte("pipelines:\n  folio-recon:\n    source: {kind: file, path: "+t.TempDir()+", stable_for: 0s}\n    report_dir: "+t.TempDir()+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := pipelines.NewMetrics(reg)
	j := foliorecon.Job{Config: cfg.Pipelines.FolioRecon, PG: &postgres.Store{Pool: app}, CH: ch, Metrics: m, Log: testkit.Logger(t)}
	if _, err := j.Run(ctx, fund.Date{}); !errors.Is(err, recon.ErrNoFeeds) {
		t.Fatalf("run: %v, want recon.ErrNoFeeds", err)
	}
	var ok, failed int
	if err := app.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'failed') FROM job_runs WHERE pipeline = $1`,
		foliorecon.Name).Scan(&ok, &failed); err != nil {
		t.Fatal(err)
	}
	if ok != 0 || failed != 1 {
		t.Fatalf("job_runs: %d ok and %d failed rows, want one failed", ok, failed)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, mf := range mfs {
		if mf.GetName() != "fundflow_pipeline_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			runs = append(runs, fmt.Sprintf("%s/%s=%v", labels["pipeline"], labels["outcome"], m.GetCounter().GetValue()))
		}
	}
	if len(runs) != 1 || runs[0] != foliorecon.Name+"/failed=1" {
		t.Fatalf("fundflow_pipeline_runs_total: %v, want the one failed run", runs)
	}
}
