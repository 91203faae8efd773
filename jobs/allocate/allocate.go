// Package allocate is the allocate job: passes over the realised orders
// whose NAV has landed, allotting them through the ledger. serve runs a
// pass every pipelines.allocate.every, nav-ingest runs one after each load,
// and `fundflow run allocate` runs one on demand.
package allocate

import (
	"context"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
)

// Ledger is the money path the job allots through.
type Ledger interface {
	AllotPending(ctx context.Context, batch int) (ledger.AllotResult, error)
}

// Stats counts what one pass did.
type Stats struct {
	Allotted int64 `json:"allotted"`         // order legs allotted
	Waiting  int64 `json:"waiting"`          // legs still waiting for their NAV
	Matched  int64 `json:"matched"`          // captured payments matched to orders placed after them
	Failed   int64 `json:"failed,omitempty"` // legs whose allotment failed on their own data (counted in Waiting too): an allot_failed alert each
}

// Run is the pass as a run of the engine counts it: the legs it looked at
// in, the legs it allotted out. A leg waiting for its NAV is not
// quarantined, so there are no quarantine reasons.
func (s Stats) Run() pipelines.Stats {
	return pipelines.Stats{In: s.Allotted + s.Waiting, Out: s.Allotted, Reasons: map[string]int64{}}
}

// Name is the job's name in job_runs and in the metrics.
const Name = "allocate"

// Job is the allocate job.
type Job struct {
	Ledger   Ledger
	Batch    int // legs per transaction (allotted set-based)
	Log      *slog.Logger
	Recorder pipelines.Recorder // its runs in job_runs and the metrics
}

// Pass allots every pending leg whose NAV has landed, once.
func (j Job) Pass(ctx context.Context) (Stats, error) {
	res, err := j.Ledger.AllotPending(ctx, j.Batch)
	return Stats{Allotted: int64(res.Allotted), Waiting: int64(res.Waiting), Matched: int64(res.Matched), Failed: int64(res.Failed)}, err
}

// Run is one pass recorded as a run: a job_runs row and the metrics.
func (j Job) Run(ctx context.Context) (st Stats, err error) {
	_, err = j.Recorder.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
		st, err = j.Pass(ctx)
		return st.Run(), err
	})
	return st, err
}

// Serve runs a pass now and then every period until ctx ends; a failed
// pass is logged and the next one tries again. A pass is a job_runs row
// only when it allotted or matched something, or failed: serve passes
// every few seconds, and most find nothing to do.
func (j Job) Serve(ctx context.Context, period time.Duration) error {
	return supervise.Every(ctx, Name, period, j.Recorder.Metrics, j.Log, func(ctx context.Context) error {
		var st Stats
		worked := func(pipelines.Stats) bool { return st.Allotted > 0 || st.Matched > 0 }
		_, err := j.Recorder.RunIfWork(ctx, Name, worked, func(ctx context.Context) (pipelines.Stats, error) {
			var err error
			st, err = j.Pass(ctx)
			return st.Run(), err
		})
		if err == nil && st.Allotted > 0 {
			j.Log.Info("allocate", "allotted", st.Allotted, "matched", st.Matched, "waiting", st.Waiting)
		}
		if err == nil && st.Failed > 0 {
			j.Log.Warn("allocate: legs left pending, their allotment failed (allot_failed alerts)", "failed", st.Failed)
		}
		return err
	})
}

// AfterNAVs allots the orders that were waiting for the NAVs a nav-ingest
// run just committed. Its failure does not fail the NAV load: it is logged,
// and the next allocate pass picks the orders up.
func (j Job) AfterNAVs(ctx context.Context) {
	st, err := j.Run(ctx)
	if err != nil {
		j.Log.Warn("allocate after nav-ingest failed; the next allocate pass retries", "err", err)
		return
	}
	j.Log.Info("allocate after nav-ingest", "allotted", st.Allotted, "waiting", st.Waiting)
}
