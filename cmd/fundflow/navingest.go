package main

import (
	"context"
	"fmt"
	"os"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

// navIngest assembles nav-ingest: a folder of NAV files (local or SFTP) →
// the AMFI parser and NAV validation → Postgres (navs, nav_latest, schemes)
// and ClickHouse (nav_history). Close the returned func after the run: the
// last commit (which archives the last file) comes after the source's end.
func navIngest(ctx context.Context, d *deps) (*pipelines.Pipeline[nav.Item, fund.NAVLine], func(), error) {
	c := d.cfg.Pipelines.NAVIngest
	if c == nil {
		return nil, nil, usageErr("nav-ingest is not configured: add a pipelines.nav-ingest section to the config")
	}
	store, closeStore, err := openStore(ctx, c.Source)
	if err != nil {
		return nil, nil, err
	}
	latest, err := postgres.LatestNAVs(ctx, d.pg.Pool)
	if err != nil {
		closeStore()
		return nil, nil, fmt.Errorf("nav-ingest: load latest NAVs: %w", err)
	}
	src := feed.NewSource[nav.Item]("nav-ingest", store, d.pg, nav.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: d.log,
	})
	v := nav.NewValidator(latest, thresholds(c.Jump))
	p := &pipelines.Pipeline[nav.Item, fund.NAVLine]{
		Name:       "nav-ingest",
		Source:     src,
		Stage:      v.Stage,
		Sinks:      []pipelines.Sink[fund.NAVLine]{postgres.NAVSink{Pool: d.pg.Pool}, clickhouse.NAVHistory{Conn: d.ch}},
		Quarantine: d.pg,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    d.metrics,
		Runs:       d.pg,
		Log:        d.log,
	}
	return p, closeStore, nil
}

func thresholds(j config.JumpThresholds) nav.Thresholds {
	t := nav.DefaultThresholds
	// config.validate has checked these parse.
	t.Liquid = decimal.RequireFromString(j.Liquid)
	t.Debt = decimal.RequireFromString(j.Debt)
	t.Other = decimal.RequireFromString(j.Other)
	return t
}

func openStore(ctx context.Context, s config.Source) (feed.Store, func(), error) {
	switch s.Kind {
	case "file":
		if _, err := os.Stat(s.Path); err != nil {
			return nil, nil, fmt.Errorf("source folder: %w", err)
		}
		return file.Dir{Path: s.Path, ArchiveDir: s.ArchiveDir}, func() {}, nil
	case "sftp":
		cl, err := sftp.Dial(ctx, sftp.Config{
			Addr: os.Getenv(s.SFTP.AddrEnv), User: os.Getenv(s.SFTP.UserEnv),
			KeyFile: os.Getenv(s.SFTP.KeyFileEnv), HostKeyFile: os.Getenv(s.SFTP.HostKeyFileEnv),
		})
		if err != nil {
			return nil, nil, err
		}
		return sftp.Dir{Client: cl, Path: s.Path, ArchiveDir: s.ArchiveDir}, func() { cl.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown source kind %q", s.Kind)
}
