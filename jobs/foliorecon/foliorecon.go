// Package foliorecon is the folio-recon job: the load pipeline (the RTAs'
// files through feed source, RTA parser and Postgres staging sink), then
// recon.FolioRecon's reconciliation, report and ClickHouse history, as one
// recorded run: one job_runs row with the load's counts, whichever step
// fails.
package foliorecon

import (
	"context"
	"log/slog"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/feedstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/rta"
)

// Name is the job's name in job_runs, quarantine, ingested_files and the
// metrics.
const Name = "folio-recon"

// Job is the folio-recon job as configured.
type Job struct {
	Config  *config.FolioRecon
	PG      *postgres.Store
	CH      clickhouse.Conn
	Metrics *pipelines.Metrics
	Log     *slog.Logger
}

// Run loads the waiting files and reconciles as of date (zero: the latest
// date an RTA holdings file is for), recorded as one run.
func (j Job) Run(ctx context.Context, date fund.Date) (out recon.Outcome, err error) {
	rec := pipelines.Recorder{Runs: j.PG, Metrics: j.Metrics, Log: j.Log}
	_, err = rec.Run(ctx, Name, func(ctx context.Context) (pipelines.Stats, error) {
		out, err = j.recon().Run(ctx, date)
		return out.Stats(), err
	})
	return out, err
}

func (j Job) recon() recon.FolioRecon {
	c := j.Config
	return recon.FolioRecon{Load: j.load, Store: pgstore.New(j.PG.Pool), History: clickhouse.BreakHistory{Conn: j.CH},
		ReportDir: c.ReportDir, WindowDays: c.WindowDays, RetainDays: c.RetainDays, Log: j.Log}
}

// load is the run's first step: an engine pipeline whose run is the job's.
func (j Job) load(ctx context.Context) (pipelines.Stats, []string, error) {
	c := j.Config
	store, err := feedstore.Open(ctx, Name, c.Source, j.PG, j.Log) // the run closes it (feed.Source.Close)
	if err != nil {
		return pipelines.Stats{}, nil, err
	}
	src := feed.NewSource[rta.Item](Name, store, j.PG, rta.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: j.Log,
	})
	p := &pipelines.Pipeline[rta.Item, fund.RTALine]{
		Name:       Name,
		Source:     src,
		Stage:      rta.Stage,
		Sinks:      []pipelines.Sink[fund.RTALine]{postgres.RTASink{Pool: j.PG.Pool}},
		Quarantine: j.PG,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    j.Metrics,
		Step:       true,
		Log:        j.Log,
	}
	st, err := p.Run(ctx)
	return st, src.Skipped, err
}
