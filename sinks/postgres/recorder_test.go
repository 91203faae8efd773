package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// A job run through pipelines.Recorder is a job_runs row with its counts
// and error, and fundflow_pipeline_runs_total counts it by outcome. A
// periodic pass (RunIfWork) that did nothing writes no row and counts as
// "idle"; one that worked or failed is a finished row (Store.Record) whose
// start precedes its finish.
func TestRecorderWritesRunsAndSkipsIdlePasses(t *testing.T) {
	_, _, pool, _ := testkit.PGApp(t) // the application's role, as in production
	ctx := testkit.Ctx(t)
	store := postgres.Store{Pool: pool}
	boom := errors.New("boom")
	worked := func(st pipelines.Stats) bool { return st.In > 0 }
	cases := []struct {
		name    string
		ifWork  bool
		st      pipelines.Stats
		err     error
		rows    int // job_runs rows written
		status  string
		outcome string
	}{
		{"run-ok", false, pipelines.Stats{Batches: 2, In: 5, Out: 4, Quarantined: 1, Reasons: map[string]int64{"bad": 1}}, nil, 1, "ok", "ok"},
		{"run-failed", false, pipelines.Stats{In: 1}, boom, 1, "failed", "failed"},
		{"run-empty", false, pipelines.Stats{}, nil, 1, "ok", "ok"}, // a run on demand is recorded even when it found nothing
		{"pass-idle", true, pipelines.Stats{}, nil, 0, "", "idle"},
		{"pass-worked", true, pipelines.Stats{Batches: 1, In: 3, Out: 3}, nil, 1, "ok", "ok"},
		{"pass-failed", true, pipelines.Stats{}, boom, 1, "failed", "failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := pipelines.NewMetrics(reg)
			rec := pipelines.Recorder{Runs: store, Metrics: m, Log: testkit.Logger(t)}
			f := func(context.Context) (pipelines.Stats, error) { return c.st, c.err }
			var err error
			if c.ifWork {
				_, err = rec.RunIfWork(ctx, c.name, worked, f)
			} else {
				_, err = rec.Run(ctx, c.name, f)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			rows, err := store.ListRuns(ctx, c.name, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != c.rows {
				t.Fatalf("%d rows, want %d", len(rows), c.rows)
			}
			if c.rows == 1 {
				r := rows[0]
				wantErr := ""
				if c.err != nil {
					wantErr = c.err.Error()
				}
				gotErr := ""
				if r.Error != nil {
					gotErr = *r.Error
				}
				if r.Status != c.status || gotErr != wantErr || r.Batches != c.st.Batches || r.In != c.st.In || r.Out != c.st.Out ||
					r.Quarantined != c.st.Quarantined || r.Reasons["bad"] != c.st.Reasons["bad"] || r.FinishedAt == nil || r.FinishedAt.Before(r.StartedAt) {
					t.Errorf("row %+v (error %q), want status %s, error %q, counts %+v, started before finished", r, gotErr, c.status, wantErr, c.st)
				}
			}
			for _, o := range []string{"ok", "failed", "idle"} {
				want := 0.0
				if o == c.outcome {
					want = 1
				}
				if got := runsTotal(t, reg, c.name, o); got != want {
					t.Errorf("fundflow_pipeline_runs_total{outcome=%s} = %v, want %v", o, got, want)
				}
			}
		})
	}
}

// runsTotal is fundflow_pipeline_runs_total{pipeline, outcome} in reg
// (0 when the series does not exist).
func runsTotal(t *testing.T, reg *prometheus.Registry, pipeline, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fundflow_pipeline_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["pipeline"] == pipeline && l["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
