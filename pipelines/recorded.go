package pipelines

import (
	"context"
	"log/slog"
	"time"
)

// Recorder gives a job that is not one engine pipeline (a ledger pass, a
// freshness check, an audit anchor, a relay of several pipelines) the run
// history and the metrics an engine run has: a job_runs row through Runs
// and the same series (fundflow_pipeline_runs_total{pipeline,outcome},
// fundflow_stage_*{pipeline,stage="job"}) through Metrics.
type Recorder struct {
	Runs    RunLog   // nil: runs are not recorded
	Metrics *Metrics // nil: no metrics
	Log     *slog.Logger
}

// RunRecord writes a run that already finished as one row. A periodic job
// whose passes mostly find nothing to do records only the passes that did
// something (RunIfWork), so it writes the row after the pass.
type RunRecord interface {
	Record(ctx context.Context, pipeline string, started time.Time, s Stats, runErr error) error
}

// Run runs f as one run of the job name: a job_runs row from start to
// finish (with f's counts and error) and the run's metrics.
func (r Recorder) Run(ctx context.Context, name string, f func(context.Context) (Stats, error)) (st Stats, err error) {
	var runID int64
	if r.Runs != nil {
		if runID, err = r.Runs.Start(ctx, name); err != nil {
			return st, err
		}
	}
	started := time.Now()
	st, err = f(ctx)
	r.observe(name, st, err, started, false)
	if r.Runs != nil {
		// The job's context may be cancelled; its record must still land.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := r.Runs.Finish(fctx, runID, st, err); ferr != nil {
			r.log().Error("record run finish", "pipeline", name, "run_id", runID, "err", ferr)
		}
	}
	return st, err
}

// RunIfWork runs f as one pass of a periodic job that mostly finds nothing
// to do (allocate, the outbox relays, every few seconds in serve). A pass
// that failed or did work (worked reports it) gets a job_runs row, written
// when it ends through Runs' RunRecord; an idle pass counts only as
// outcome "idle" in fundflow_pipeline_runs_total, so job_runs is not
// flooded with empty passes and the ok/failed counts still match its rows.
func (r Recorder) RunIfWork(ctx context.Context, name string, worked func(Stats) bool, f func(context.Context) (Stats, error)) (Stats, error) {
	started := time.Now()
	st, err := f(ctx)
	idle := err == nil && !worked(st)
	r.observe(name, st, err, started, idle)
	if rec, ok := r.Runs.(RunRecord); ok && !idle {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := rec.Record(fctx, name, started, st, err); rerr != nil {
			r.log().Error("record run", "pipeline", name, "err", rerr)
		}
	}
	return st, err
}

func (r Recorder) observe(name string, st Stats, err error, started time.Time, idle bool) {
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "failed"
	case idle:
		outcome = "idle"
	}
	r.Metrics.stage(name, "job", int(st.In), int(st.Out), time.Since(started))
	if r.Metrics != nil {
		for reason, n := range st.Reasons {
			r.Metrics.quarantined.WithLabelValues(name, "job", reason).Add(float64(n))
		}
	}
	r.Metrics.run(name, outcome)
}

func (r Recorder) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}
