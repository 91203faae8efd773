// Package instalments is the daily instalment run of the systematic plans
// (SIPs, STPs, SWPs): generate the instalments falling due (with their
// pre-debit notifications), present the ones due now (debits to the
// gateway, orders to the ledger), settle the presented ones from the
// ledger's orders and payments. One run is one job_runs row with each
// step's counts. serve runs it on pipelines.instalments.schedule and
// settles in between (settle_every); `fundflow run instalments` runs it on
// demand. Every run holds the job's single-runner lock.
package instalments

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/plans"
)

// Name is the job's name in job_runs, in the metrics and in its lock.
const Name = "instalments"

// Plans is the plans service's steps, run in this order.
type Plans interface {
	Generate(ctx context.Context) (plans.GenerateResult, error)
	Present(ctx context.Context) (plans.PresentStats, error)
	Settle(ctx context.Context) (plans.SettleStats, error)
}

// Stats counts what each step of one run did.
type Stats struct {
	Generate plans.GenerateResult `json:"generate"`
	Present  plans.PresentStats   `json:"present"`
	Settle   plans.SettleStats    `json:"settle"`
}

// Run is the run as job_runs counts it: the instalments the steps wrote or
// moved in and out (generated, presented or settled; one to retry is in,
// not out), and each step's counts under "<step>.<count>" in the reasons.
func (s Stats) Run() pipelines.Stats {
	g, p, t := s.Generate, s.Present, s.Settle
	in := int64(g.Instalments) + p.Presented + p.Failed + p.Retry + t.Paid + t.Allotted + t.Failed
	return pipelines.Stats{Batches: int64(g.Batches) + 2, In: in, Out: in - p.Retry, Reasons: map[string]int64{
		"generate.plans": int64(g.Plans), "generate.instalments": int64(g.Instalments), "generate.due": int64(g.Due),
		"generate.skipped": int64(g.Skipped), "generate.done": int64(g.Done), "generate.held": int64(g.Held), "generate.waiting": int64(g.Waiting),
		"present.presented": p.Presented, "present.failed": p.Failed, "present.retry": p.Retry,
		"settle.paid": t.Paid, "settle.allotted": t.Allotted, "settle.failed": t.Failed,
		"settle.orders_cancelled": t.OrdersCancelled, "settle.plans_cancelled": t.PlansCancelled, "settle.plans_completed": t.PlansCompleted, "settle.plans_resumed": t.PlansResumed,
	}}
}

// Job is the instalment run.
type Job struct {
	Plans    Plans
	Locker   supervise.Locker
	Recorder pipelines.Recorder
	Log      *slog.Logger
}

// Steps runs the steps once, in order; the caller holds the lock. A step's
// failure ends the run (the next run starts again: each step is
// idempotent).
func (j Job) Steps(ctx context.Context) (Stats, error) {
	var st Stats
	var err error
	if st.Generate, err = j.Plans.Generate(ctx); err != nil {
		return st, fmt.Errorf("generate: %w", err)
	}
	if st.Present, err = j.Plans.Present(ctx); err != nil {
		return st, fmt.Errorf("present: %w", err)
	}
	if st.Settle, err = j.Plans.Settle(ctx); err != nil {
		return st, fmt.Errorf("settle: %w", err)
	}
	return st, nil
}

// Run is one whole run under the single-runner lock, recorded as a run.
func (j Job) Run(ctx context.Context) (st Stats, err error) {
	err = supervise.Single(ctx, j.Locker, Name, func(ctx context.Context) error {
		_, err := j.Recorder.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
			var err error
			st, err = j.Steps(ctx)
			return st.Run(), err
		})
		return err
	})
	return st, err
}

// SettleEvery settles every period until ctx ends, between the scheduled
// runs (a debit captured at 10:00 is allotted when its NAV lands, not the
// next morning), under the same lock: a settle pass is a job_runs row only
// when it moved something.
func (j Job) SettleEvery(ctx context.Context, period time.Duration) error {
	return supervise.Every(ctx, Name, period, j.Recorder.Metrics, j.Log, func(ctx context.Context) error {
		err := supervise.Single(ctx, j.Locker, Name, func(ctx context.Context) error {
			var st Stats
			worked := func(pipelines.Stats) bool {
				s := st.Settle
				return s.Paid+s.Allotted+s.Failed+s.PlansCancelled+s.PlansCompleted > 0
			}
			_, err := j.Recorder.RunIfWork(ctx, Name, worked, func(ctx context.Context) (pipelines.Stats, error) {
				var err error
				st.Settle, err = j.Plans.Settle(ctx)
				return st.Run(), err
			})
			return err
		})
		// A skip (scheduler.ErrSkipped: the scheduled run holds the lock
		// and settles itself) is counted as one, not logged as a failure.
		return err
	})
}
