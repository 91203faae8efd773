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
	if c := d.cfg.Pipelines.NAVIngest; c != nil && c.Schedule != "" {
		if err := s.Add(scheduler.Job{Name: "nav-ingest", Spec: c.Schedule, Run: func(ctx context.Context) error {
			_, err := runPipeline(ctx, d, "nav-ingest")
			if errors.Is(err, postgres.ErrLocked) {
				return errors.Join(scheduler.ErrSkipped, err)
			}
			return err
		}}); err != nil {
			return err
		}
	}
	if c := d.cfg.Pipelines.FolioRecon; c != nil && c.Schedule != "" {
		if err := s.Add(scheduler.Job{Name: "folio-recon", Spec: c.Schedule, Run: func(ctx context.Context) error {
			_, err := runPipeline(ctx, d, "folio-recon")
			if errors.Is(err, postgres.ErrLocked) {
				return errors.Join(scheduler.ErrSkipped, err)
			}
			return err
		}}); err != nil {
			return err
		}
	}
	if c := d.cfg.Pipelines.NAVFreshness; c != nil {
		f, err := newNAVFreshness(d)
		if err != nil {
			return err
		}
		if err := s.Add(scheduler.Job{Name: "nav-freshness", Spec: c.Schedule, Run: func(ctx context.Context) error {
			err := f.RunLocked(ctx)
			if errors.Is(err, postgres.ErrLocked) {
				return errors.Join(scheduler.ErrSkipped, err)
			}
			return err
		}}); err != nil {
			return err
		}
	}
	if a := d.cfg.Audit; a.AnchorFile != "" {
		if err := s.Add(scheduler.Job{Name: "audit-anchor", Spec: a.AnchorSchedule, Run: func(ctx context.Context) error {
			anchor, published, err := anchorAudit(ctx, d.pg.Pool, a, a.AnchorFile)
			if errors.Is(err, postgres.ErrLocked) {
				return errors.Join(scheduler.ErrSkipped, err)
			}
			if published {
				d.log.Info("audit chain anchored", "seq", anchor.Seq, "hash", anchor.Hash, "file", a.AnchorFile)
			}
			return err
		}}); err != nil {
			return err
		}
	}
	return s.Run(ctx)
}
