package main

import (
	"context"

	"github.com/fundflow/fundflow/jobs/navingest"
)

// navDeps are the connections the NAV jobs (nav-ingest, backfill, replay,
// retract) write through.
func (d *deps) navDeps() navingest.Deps {
	return navingest.Deps{PG: d.pg, CH: d.ch, Brokers: kafkaBrokers(d), Metrics: d.metrics, Log: d.log}
}

// navIngest assembles nav-ingest from the config (jobs/navingest).
func navIngest(ctx context.Context, d *deps) (*navingest.Pipeline, error) {
	if d.cfg.Pipelines.NAVIngest == nil {
		return nil, usageErr("nav-ingest is not configured: add a pipelines.nav-ingest section to the config")
	}
	return navingest.New(ctx, d.navDeps(), d.cfg.Pipelines.NAVIngest)
}
