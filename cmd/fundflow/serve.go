package main

import (
	"context"
	"errors"

	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// serveSchedules runs every configured pipeline on its schedule until ctx ends.
func serveSchedules(ctx context.Context, d *deps) error {
	s := &scheduler.Scheduler{Log: d.log}
	var jobs []scheduler.Job
	if c := d.cfg.Pipelines.NAVIngest; c != nil && c.Schedule != "" {
		jobs = append(jobs, lockedJob("nav-ingest", c.Schedule, func(ctx context.Context) error {
			_, err := runPipeline(ctx, d, "nav-ingest")
			return err
		}))
	}
	if c := d.cfg.Pipelines.FolioRecon; c != nil && c.Schedule != "" {
		jobs = append(jobs, lockedJob("folio-recon", c.Schedule, func(ctx context.Context) error {
			_, err := runPipeline(ctx, d, "folio-recon")
			return err
		}))
	}
	if c := d.cfg.Pipelines.NAVFreshness; c != nil {
		f, err := newNAVFreshness(d)
		if err != nil {
			return err
		}
		jobs = append(jobs, lockedJob("nav-freshness", c.Schedule, f.Scheduled))
	}
	if a := d.cfg.Audit; a.AnchorFile != "" {
		jobs = append(jobs, lockedJob("audit-anchor", a.AnchorSchedule, func(ctx context.Context) error {
			anchor, published, err := anchorAudit(ctx, d.pg.Pool, a, a.AnchorFile)
			if published {
				d.log.Info("audit chain anchored", "seq", anchor.Seq, "hash", anchor.Hash, "file", a.AnchorFile)
			}
			return err
		}))
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			return err
		}
	}
	return s.Run(ctx)
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
