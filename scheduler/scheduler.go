// Package scheduler runs jobs on cron schedules (robfig/cron/v3), in IST.
// It takes no lock itself: a job that must run on one process at a time
// takes its single-runner lock in its Run (jobs/supervise.Single, which
// serve's jobs and `fundflow run` share) and returns ErrSkipped when another
// process holds it, so several fundflow processes can serve side by side
// and each scheduled run happens on one of them. A run also carries its tick
// (the time its schedule named, ClaimTick), which its job_runs row records
// once: a process that fires the same tick after another finished it skips.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
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

// Scheduler runs Jobs until its context ends.
type Scheduler struct {
	Location *time.Location // default Asia/Kolkata (+05:30): fund operations run on IST
	Log      *slog.Logger
	jobs     []Job
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
// is not started twice. Each run's context carries its tick (WithTick).
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
			t0 := time.Now()
			err := j.Run(WithTick(ctx, j.Name, ticks.at(t0)))
			switch {
			case errors.Is(err, ErrSkipped):
				log.Info("job skipped", "job", j.Name, "why", err)
			case err != nil:
				log.Error("job failed", "job", j.Name, "err", err, "took", time.Since(t0).Round(time.Millisecond))
			default:
				log.Info("job done", "job", j.Name, "took", time.Since(t0).Round(time.Millisecond))
			}
		}))
		log.Info("scheduled", "job", j.Name, "spec", j.Spec)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	return nil
}
