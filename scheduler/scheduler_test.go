package scheduler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
)

// Every scheduled run moves its job's series: an ok run counts ok, adds a
// duration and sets the last success to when it ended; a failed run counts
// failed and a duration and leaves the last success alone; a run skipped
// because another process held the lock counts skipped only; a run that
// ended because the process stopped counts nothing.
func TestRunsAreMeasured(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := &Scheduler{Metrics: pipelines.NewMetrics(reg), Log: testkit.Logger(t)}
	ctx := testkit.Ctx(t)
	boom := errors.New("boom")
	run := func(name string, err error) {
		s.runOnce(ctx, Job{Name: name, Run: func(context.Context) error { return err }}, s.Log)
	}
	before := float64(time.Now().Unix())
	run("good", nil)
	run("good", nil)
	run("bad", boom)
	run("bad", nil)
	run("bad", boom)
	run("busy", fmt.Errorf("busy %w: locked", ErrSkipped))
	after := float64(time.Now().Unix() + 1)
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	s.runOnce(stopped, Job{Name: "stopping", Run: func(ctx context.Context) error { return ctx.Err() }}, s.Log)

	for _, c := range []struct {
		metric string
		labels map[string]string
		want   float64 // -1: no such series
	}{
		{"fundflow_job_runs_total", map[string]string{"job": "good", "outcome": "ok"}, 2},
		{"fundflow_job_runs_total", map[string]string{"job": "good", "outcome": "failed"}, -1},
		{"fundflow_job_run_duration_seconds", map[string]string{"job": "good"}, 2},
		{"fundflow_job_runs_total", map[string]string{"job": "bad", "outcome": "failed"}, 2},
		{"fundflow_job_runs_total", map[string]string{"job": "bad", "outcome": "ok"}, 1},
		{"fundflow_job_run_duration_seconds", map[string]string{"job": "bad"}, 3},
		{"fundflow_job_runs_total", map[string]string{"job": "busy", "outcome": "skipped"}, 1},
		{"fundflow_job_run_duration_seconds", map[string]string{"job": "busy"}, -1},
		{"fundflow_job_last_success_timestamp_seconds", map[string]string{"job": "busy"}, -1},
		{"fundflow_job_runs_total", map[string]string{"job": "stopping", "outcome": "failed"}, -1},
		{"fundflow_job_run_duration_seconds", map[string]string{"job": "stopping"}, -1},
	} {
		got, ok := testkit.Series(t, reg, c.metric, c.labels)
		if c.want < 0 {
			if ok {
				t.Errorf("%s%v = %v, want no series", c.metric, c.labels, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.metric, c.labels, got, ok, c.want)
		}
	}
	for _, job := range []string{"good", "bad"} {
		got, ok := testkit.Series(t, reg, "fundflow_job_last_success_timestamp_seconds", map[string]string{"job": job})
		if !ok || got < before || got > after {
			t.Errorf("%s last success %v, want within [%v, %v]", job, got, before, after)
		}
	}
}

// Run measures the jobs it schedules: a job on "@every 1s" that fails
// once and then succeeds shows both in its series.
func TestScheduledJobIsMeasured(t *testing.T) {
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(testkit.Ctx(t))
	defer cancel()
	s := &Scheduler{Metrics: pipelines.NewMetrics(reg), Log: testkit.Logger(t)}
	runs := 0
	if err := s.Add(Job{Name: "tick", Spec: "@every 1s", Run: func(context.Context) error {
		runs++
		if runs == 1 {
			return errors.New("first run fails")
		}
		cancel()
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for outcome, want := range map[string]float64{"failed": 1, "ok": 1} {
		if got, _ := testkit.Series(t, reg, "fundflow_job_runs_total", map[string]string{"job": "tick", "outcome": outcome}); got != want {
			t.Errorf("tick %s: %v, want %v", outcome, got, want)
		}
	}
}
