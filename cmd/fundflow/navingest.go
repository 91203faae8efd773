package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	httpsrc "github.com/fundflow/fundflow/connectors/http"
	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

// navIngest assembles nav-ingest: a folder of NAV files (local or SFTP) or
// one URL → the AMFI parser and NAV validation → Postgres (navs, nav_latest,
// schemes), ClickHouse (nav_history, ingest_events) and, when brokers are
// configured, Kafka (nav.validated). The pipeline owns its store and Kafka
// writer: its run closes them (pipelines.Source, pipelines.Sink).
func navIngest(ctx context.Context, d *deps) (*pipelines.Pipeline[nav.Item, fund.NAVLine], error) {
	c := d.cfg.Pipelines.NAVIngest
	if c == nil {
		return nil, usageErr("nav-ingest is not configured: add a pipelines.nav-ingest section to the config")
	}
	store, err := openStore(ctx, d, c.Source)
	if err != nil {
		return nil, err
	}
	return navIngestFrom(ctx, d, store)
}

// navIngestFrom assembles nav-ingest over an open store, which the
// pipeline's source closes if it is an io.Closer (at once on error).
func navIngestFrom(ctx context.Context, d *deps, store feed.Store) (*pipelines.Pipeline[nav.Item, fund.NAVLine], error) {
	c := d.cfg.Pipelines.NAVIngest
	latest, err := postgres.LatestNAVs(ctx, d.pg.Pool)
	if err != nil {
		if cl, ok := store.(io.Closer); ok {
			cl.Close()
		}
		return nil, fmt.Errorf("nav-ingest: load latest NAVs: %w", err)
	}
	// What both stores hold lets the stage skip a NAV published again
	// unchanged before either sees it.
	pg := &postgres.NAVSink{Pool: d.pg.Pool}
	chLatest, err := clickhouse.LoadLatestDates(ctx, d.ch)
	if err == nil {
		err = pg.Load(ctx)
	}
	if err != nil {
		if cl, ok := store.(io.Closer); ok {
			cl.Close()
		}
		return nil, fmt.Errorf("nav-ingest: load what the stores hold: %w", err)
	}
	// Postgres and ClickHouse do not depend on each other: each batch is
	// written to both at once (the slower one's time, not the sum).
	sinks := []pipelines.Sink[fund.NAVLine]{pipelines.Fanout[fund.NAVLine]{pg, clickhouse.NAVHistory{Conn: d.ch, Latest: chLatest}}}
	// Kafka is optional: without brokers the Postgres tables are the bus.
	if brokers := kafka.ParseBrokers(os.Getenv(d.cfg.Services.KafkaBrokersEnv)); len(brokers) > 0 {
		w := kafka.NewWriter(kafka.Config{Brokers: brokers, Topic: c.KafkaTopic, BatchSize: c.BatchSize})
		sinks = append(sinks, kafka.NAVSink{W: w})
	}
	// Runs and quarantined rows go to Postgres (the truth) and then to
	// ClickHouse's ingest_events for analysts.
	events := &clickhouse.Events{Conn: d.ch, Runs: d.pg, Quarantine: d.pg}
	src := feed.NewSource[nav.Item]("nav-ingest", store, d.pg, nav.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: d.log,
		Undo: navUndo(d),
	})
	v := navValidator(latest, c)
	v.Stored = []nav.Holder{pg, chLatest}
	p := &pipelines.Pipeline[nav.Item, fund.NAVLine]{
		Name:       "nav-ingest",
		Source:     src,
		Stage:      v.Stage,
		Sinks:      sinks,
		Quarantine: events,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    d.metrics,
		Runs:       events,
		Log:        d.log,
	}
	return p, nil
}

// navUndo takes back from ClickHouse the rows of a failed file past its last
// batch that every sink committed: Postgres and ClickHouse write a batch at
// once, so ClickHouse may hold a batch Postgres refused. (Postgres, the
// truth, rolled the batch back itself.) A key that an earlier file gave too
// shows that file's row again, unless ClickHouse merged the two already.
func navUndo(d *deps) func(ctx context.Context, f fund.Source, committed int) error {
	return func(ctx context.Context, f fund.Source, committed int) error {
		return clickhouse.DeleteFileNAVsAfter(ctx, d.ch, f.SHA256, committed)
	}
}

// navValidator is nav-ingest's stage as configured: the one every path
// that publishes or predicts NAVs uses (the run, backfill, quarantine
// replay, check nav).
func navValidator(latest map[string]fund.DatedNAV, c *config.NAVIngest) *nav.Validator {
	v := nav.NewValidator(latest, thresholds(c.Jump))
	if c.FutureDays > 0 {
		v.FutureDays = c.FutureDays
	}
	return v
}

func thresholds(j config.JumpThresholds) nav.Thresholds {
	t := nav.DefaultThresholds
	// config.validate has checked these parse.
	t.Liquid = decimal.RequireFromString(j.Liquid)
	t.Debt = decimal.RequireFromString(j.Debt)
	t.Other = decimal.RequireFromString(j.Other)
	return t
}

func openStore(ctx context.Context, d *deps, s config.Source) (feed.Store, error) {
	switch s.Kind {
	case "http":
		u, err := httpsrc.New("nav-ingest", s.URL, d.pg, httpsrc.Options{Timeout: s.HTTP.Timeout, MaxRedirects: s.HTTP.MaxRedirects, Log: d.log})
		if err != nil {
			return nil, err
		}
		return u, nil
	case "file":
		if _, err := os.Stat(s.Path); err != nil {
			return nil, fmt.Errorf("source folder: %w", err)
		}
		return file.Dir{Path: s.Path, ArchiveDir: s.ArchiveDir}, nil
	case "sftp":
		cl, err := sftp.Dial(ctx, sftp.Config{
			Addr: os.Getenv(s.SFTP.AddrEnv), User: os.Getenv(s.SFTP.UserEnv),
			KeyFile: os.Getenv(s.SFTP.KeyFileEnv), HostKeyFile: os.Getenv(s.SFTP.HostKeyFileEnv),
		})
		if err != nil {
			return nil, err
		}
		return sftp.Dir{Client: cl, Path: s.Path, ArchiveDir: s.ArchiveDir}, nil
	}
	return nil, fmt.Errorf("unknown source kind %q", s.Kind)
}
