package main

import (
	"context"
	"errors"

	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/auditanchor"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/jobs/navfreshness"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// recordedJobs are every job serve runs on a schedule or in a loop, and
// `fundflow run` (or `fundflow audit anchor`, `fundflow quarantine replay`)
// runs on demand: each run is a job_runs row and the engine's run metrics
// (pipelines.Recorder for the jobs that are not one engine pipeline).
// TestEveryJobIsRecorded runs each and checks that serve's jobs are all here.
var recordedJobs = []string{navingest.Name, replay.Name, foliorecon.Name, navfreshness.Name, allocate.Name, outbox.Name, auditanchor.Name}

// serveSchedules runs every configured pipeline on its schedule until ctx ends.
func serveSchedules(ctx context.Context, d *deps) error {
	jobs, err := scheduledJobs(d)
	if err != nil {
		return err
	}
	s := &scheduler.Scheduler{Log: d.log}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			return err
		}
	}
	return s.Run(ctx)
}

// scheduledJobs are the jobs of the config's schedules.
func scheduledJobs(d *deps) ([]scheduler.Job, error) {
	var jobs []scheduler.Job
	add := func(name, spec string, run func(context.Context) error) {
		jobs = append(jobs, lockedJob(name, spec, run))
	}
	pipeline := func(name, spec string) {
		if spec != "" {
			add(name, spec, func(ctx context.Context) error { _, err := runPipeline(ctx, d, name); return err })
		}
	}
	if c := d.cfg.Pipelines.NAVIngest; c != nil {
		pipeline(navingest.Name, c.Schedule)
	}
	if c := d.cfg.Pipelines.FolioRecon; c != nil {
		pipeline(foliorecon.Name, c.Schedule)
	}
	if c := d.cfg.Pipelines.NAVFreshness; c != nil {
		f, err := newNAVFreshness(d)
		if err != nil {
			return nil, err
		}
		add(navfreshness.Name, c.Schedule, f.Scheduled)
	}
	if a := d.cfg.Audit; a.AnchorFile != "" {
		add(auditanchor.Name, a.AnchorSchedule, func(ctx context.Context) error {
			anchor, published, err := auditanchor.Run(ctx, d.pg.Pool, a.AnchorTopic, a.AnchorFile, d.recorder())
			if published {
				d.log.Info("audit chain anchored", "seq", anchor.Seq, "hash", anchor.Hash, "file", a.AnchorFile)
			}
			return err
		})
	}
	return jobs, nil
}

// lockedJob is a scheduled job whose run takes a single-runner lock: when
// another process holds it, the run is skipped, not failed.
func lockedJob(name, spec string, run func(context.Context) error) scheduler.Job {
	return scheduler.Job{Name: name, Spec: spec, Run: func(ctx context.Context) error {
		err := run(ctx)
		if errors.Is(err, postgres.ErrLocked) {
			return errors.Join(scheduler.ErrSkipped, err)
		}
		return err
	}}
}
