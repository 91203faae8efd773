// Package scheduler runs jobs on cron schedules (robfig/cron/v3), in IST.
// It takes no lock itself: a job that must run on one process at a time
// takes its single-runner lock in its Run (jobs/supervise.Single, which
// serve's jobs and `fundflow run` share) and returns ErrSkipped when another
// process holds it, so several fundflow processes can serve side by side
// and each scheduled run happens on one of them. A run also carries its tick
// (the time its schedule named, pipelines.WithTick), which its job_runs row
// records once: a process that fires the same tick after another finished
// it skips.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/fundflow/fundflow/pipelines"
)

// Job is one scheduled piece of work.
type Job struct {
	Name string
	Spec string // standard 5-field cron spec, in the scheduler's location ("@every D": at multiples of D)
	Run  func(ctx context.Context) error
}

// ErrSkipped is returned by a job's Run when another process holds its lock:
// it is not a failure.
var ErrSkipped = errors.New("skipped: running elsewhere")

// Outcome is a finished run's outcome in fundflow_job_runs_total:
// skipped when another process held its lock, failed on any other error.
func Outcome(err error) string {
	switch {
	case errors.Is(err, ErrSkipped):
		return pipelines.JobSkipped
	case err != nil:
		return pipelines.JobFailed
	}
	return pipelines.JobOK
}

// Observe records a finished run of job in m's job series
// (fundflow_job_*), unless it only ended because ctx did (the process
// stopping): that run neither failed nor succeeded.
func Observe(ctx context.Context, m *pipelines.Metrics, job string, started time.Time, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	m.Job(job, Outcome(err), time.Since(started))
}

// Scheduler runs Jobs until its context ends.
type Scheduler struct {
	Location *time.Location // default Asia/Kolkata (+05:30): fund operations run on IST
	Log      *slog.Logger
	// Metrics gets every run of every job (Observe): nil, none.
	Metrics *pipelines.Metrics
	jobs    []Job
}

// Add registers a job; a bad spec is an error naming the job.
func (s *Scheduler) Add(j Job) error {
	if _, err := parse(j.Spec); err != nil {
		return fmt.Errorf("schedule of %s: %w", j.Name, err)
	}
	s.jobs = append(s.jobs, j)
	return nil
}

// IST is India Standard Time, fixed +05:30 (no tzdata needed).
var IST = time.FixedZone("IST", 5*3600+1800)

// Run starts every job on its schedule and blocks until ctx ends, then waits
// for running jobs to finish. A job still running when its next time comes
// is not started twice. Each run's context carries its tick
// (pipelines.WithTick).
func (s *Scheduler) Run(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	loc := s.Location
	if loc == nil {
		loc = IST
	}
	c := cron.New(cron.WithLocation(loc), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		j := j
		sched, err := parse(j.Spec)
		if err != nil {
			return fmt.Errorf("schedule of %s: %w", j.Name, err)
		}
		ticks := newTicker(sched, time.Now())
		c.Schedule(sched, cron.FuncJob(func() {
			wg.Add(1)
			defer wg.Done()
			s.runOnce(pipelines.WithTick(ctx, j.Name, ticks.at(time.Now())), j, log)
		}))
		log.Info("scheduled", "job", j.Name, "spec", j.Spec)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	return nil
}

// runOnce runs j once, as its schedule does: the run is observed in the
// job series and logged with its outcome.
func (s *Scheduler) runOnce(ctx context.Context, j Job, log *slog.Logger) {
	t0 := time.Now()
	err := j.Run(ctx)
	Observe(ctx, s.Metrics, j.Name, t0, err)
	switch {
	case errors.Is(err, ErrSkipped):
		log.Info("job skipped", "job", j.Name, "why", err)
	case err != nil:
		log.Error("job failed", "job", j.Name, "err", err, "took", time.Since(t0).Round(time.Millisecond))
	default:
		log.Info("job done", "job", j.Name, "took", time.Since(t0).Round(time.Millisecond))
	}
}
