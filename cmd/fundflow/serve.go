package main

import (
	"context"

	"github.com/fundflow/fundflow/jobs/alertnotify"
	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/auditanchor"
	jobcomm "github.com/fundflow/fundflow/jobs/commission"
	"github.com/fundflow/fundflow/jobs/factscheck"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/jobs/instalments"
	jobmanaged "github.com/fundflow/fundflow/jobs/managed"
	"github.com/fundflow/fundflow/jobs/navfreshness"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/scheduler"
)

// recordedJobs are every job serve runs on a schedule or in a loop, and
// `fundflow run` (or `fundflow audit anchor`, `fundflow quarantine replay`)
// runs on demand: each run is a job_runs row and the engine's run metrics
// (pipelines.Recorder for the jobs that are not one engine pipeline).
// TestEveryJobIsRecorded runs each and checks that serve's jobs are all here.
var recordedJobs = []string{navingest.Name, replay.Name, foliorecon.Name, navfreshness.Name, allocate.Name, outbox.Name, jobcomm.Name, jobcomm.EventsName, auditanchor.Name, instalments.Name, alertnotify.Name, factscheck.Name}

// serveSchedules runs every configured pipeline on its schedule until ctx ends.
func serveSchedules(ctx context.Context, d *deps) error {
	jobs, err := scheduledJobs(d)
	if err != nil {
		return err
	}
	if err := serveInstalmentSettle(ctx, d); err != nil {
		return err
	}
	stopKYC, err := startKYCStream(ctx, d) // issue 23: the investor master's topic
	if err != nil {
		return err
	}
	defer stopKYC()
	s := &scheduler.Scheduler{Log: d.log, Metrics: d.metrics}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			return err
		}
	}
	return s.Run(ctx)
}

// scheduledJobs are the jobs of the config's schedules. Each run holds its
// job's single-runner lock (supervise.Single): nav-freshness and the audit
// anchor take theirs in their own Run.
func scheduledJobs(d *deps) ([]scheduler.Job, error) {
	var jobs []scheduler.Job
	pipeline := func(name, spec string) {
		if spec != "" {
			jobs = append(jobs, supervise.Scheduled(d.pg, name, spec, func(ctx context.Context) error { _, err := runUnlocked(ctx, d, name); return err }))
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
		jobs = append(jobs, scheduler.Job{Name: navfreshness.Name, Spec: c.Schedule, Run: f.Scheduled})
	}
	if j, spec, err := instalmentsScheduled(d); err != nil {
		return nil, err
	} else if j != nil {
		jobs = append(jobs, scheduler.Job{Name: instalments.Name, Spec: spec, Run: func(ctx context.Context) error { _, err := j.Run(ctx); return err }})
	}
	if c := d.cfg.Pipelines.Managed; c != nil { // issue 22: deposits, auto-invest, fees and the drift check
		jobs = append(jobs, scheduler.Job{Name: jobmanaged.Name, Spec: c.Schedule, Run: func(ctx context.Context) error {
			l, err := moneyLedger(d)
			if err != nil {
				return err
			}
			j := managedJob(d, l, c.Batch)
			return supervise.Single(ctx, d.pg, jobmanaged.Name, func(ctx context.Context) error {
				st, err := j.Run(ctx)
				if err == nil {
					d.log.InfoContext(ctx, "managed run", "stats", st)
				}
				return err
			})
		}})
	}
	if c := d.cfg.Pipelines.Managed; c != nil && c.Fees.BillSchedule != "off" { // issue 22: the quarter's fees, once
		jobs = append(jobs, scheduler.Job{Name: jobmanaged.FeesName, Spec: c.Fees.BillSchedule, Run: func(ctx context.Context) error {
			r, err := runQuarterBilling(ctx, d)
			if err == nil && r.Status == "billed" {
				d.log.InfoContext(ctx, "quarter billed", "from", r.From, "to", r.To, "wallets", r.Billed, "skipped", len(r.Skipped), "total", r.Total)
			}
			return err
		}})
	}
	if a := d.cfg.Audit; a.AnchorFile != "" {
		jobs = append(jobs, scheduler.Job{Name: auditanchor.Name, Spec: a.AnchorSchedule, Run: func(ctx context.Context) error {
			anchor, published, err := auditanchor.Run(ctx, d.pg.Pool, a.AnchorTopic, a.AnchorFile, d.recorder())
			if published {
				d.log.Info("audit chain anchored", "seq", anchor.Seq, "hash", anchor.Hash, "file", a.AnchorFile)
			}
			return err
		}})
	}
	if c := d.cfg.Pipelines.FactsCheck; c != nil {
		jobs = append(jobs, scheduler.Job{Name: factscheck.Name, Spec: c.Schedule, Run: func(ctx context.Context) error { _, err := factsCheckJob(d).Run(ctx); return err }})
	}
	jobs = append(jobs, commissionScheduled(d)...)
	if kj, err := kycScheduled(d); err != nil { // issue 23: the KRA feeds and bank verification
		return nil, err
	} else {
		jobs = append(jobs, kj...)
	}
	alerts, err := alertNotifyScheduled(d)
	return append(jobs, alerts...), err
}
