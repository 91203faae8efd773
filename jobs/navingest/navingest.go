// Package navingest assembles nav-ingest from its config: a folder of NAV
// files (local or SFTP) or one URL → the AMFI parser and NAV validation →
// Postgres (navs, nav_latest, schemes), ClickHouse (nav_history,
// ingest_events) and, when brokers are configured, Kafka (nav.validated).
// The backfill and the quarantine replay use its validator and sinks, so a
// NAV reaches the stores by one route whatever brought it.
package navingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/feedstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

// Name is the pipeline's name in job_runs, quarantine, ingested_files and
// the metrics.
const Name = "nav-ingest"

// Deps are the connections the NAV pipelines write through.
type Deps struct {
	PG      *postgres.Store
	CH      clickhouse.Conn
	Brokers []string // Kafka; none: no nav.validated events (the Postgres tables are the bus)
	Metrics *pipelines.Metrics
	Log     *slog.Logger
}

// Pipeline is the NAV pipeline: raw NAV rows in, validated NAVs out.
type Pipeline = pipelines.Pipeline[nav.Item, fund.NAVLine]

// New assembles nav-ingest over the source c names. The pipeline owns its
// store and Kafka writer: its run closes them.
func New(ctx context.Context, d Deps, c *config.NAVIngest) (*Pipeline, error) {
	store, err := feedstore.Open(ctx, Name, c.Source, d.PG, d.Log)
	if err != nil {
		return nil, err
	}
	return NewFrom(ctx, d, c, store)
}

// NewFrom assembles nav-ingest over an open store, which the pipeline's
// source closes if it is an io.Closer (at once on error).
func NewFrom(ctx context.Context, d Deps, c *config.NAVIngest, store feed.Store) (*Pipeline, error) {
	// What both stores hold lets the stage skip a NAV published again
	// unchanged before either sees it; the Postgres sink's nav_latest is
	// also what the validator measures jumps from (read once).
	// nav_latest's moves wait for the flush too (HoldLatest): one update
	// for the files of a flush instead of one a file, and at most one
	// every LatestEvery (and one at the end).
	pg := &postgres.NAVSink{Pool: d.PG.Pool, HoldLatest: true, LatestEvery: LatestEvery}
	chLatest, err := clickhouse.LoadLatestDates(ctx, d.CH)
	if err == nil {
		err = pg.Load(ctx)
	}
	if err != nil {
		if cl, ok := store.(io.Closer); ok {
			cl.Close()
		}
		return nil, fmt.Errorf("nav-ingest: load what the stores hold: %w", err)
	}
	// Runs and quarantined rows go to Postgres (the truth) and then to
	// ClickHouse's ingest_events for analysts.
	// ClickHouse's writes are held and sent in groups (HoldRows).
	events := &clickhouse.Events{Conn: d.CH, Runs: d.PG, Quarantine: d.PG, Hold: true}
	src := feed.NewSource[nav.Item](Name, store, d.PG, nav.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: d.Log,
		Undo: Undo(d.CH, d.PG, d.Log),
	})
	v := Validator(pg.Latest(), c)
	v.Stored = []nav.Holder{pg, chLatest}
	return &Pipeline{
		Name:       Name,
		Source:     src,
		Stage:      v.Stage,
		Sinks:      sinksOver(d, c, pg, chLatest, true),
		Quarantine: events,
		HoldRows:   HoldRows,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    d.Metrics,
		Runs:       events,
		Log:        d.Log,
	}, nil
}

// Sinks are where a validated NAV is published: Postgres and ClickHouse at
// once (they do not depend on each other: a batch takes the slower one's
// time, not the sum), then Kafka when there are brokers. A Kafka sink holds
// a writer: the run of the pipeline it is given to closes it.
func Sinks(d Deps, c *config.NAVIngest) []pipelines.Sink[fund.NAVLine] {
	return sinksOver(d, c, &postgres.NAVSink{Pool: d.PG.Pool}, nil, false)
}

// HoldRows is how many held records nav-ingest gathers over batches
// before it flushes them (pipelines.Pipeline.HoldRows): ClickHouse's rows,
// one insert for them all (each insert is a part for ClickHouse to write
// and merge), and Postgres' moves of nav_latest, one a scheme (one update
// instead of one a file; see postgres.NAVSink.HoldLatest). 100,000 is about
// five NAVAll files at the default batch_size (a file a batch): on the
// 60-day backfill it made 17 ClickHouse inserts instead of 65 at 25,000 and
// cut the Postgres backends' CPU from 7.4 to 6.6 s, for 70 MB more peak
// RSS (issue 15). The flush runs in the background while the next group
// gathers, so up to twice that is held (peak RSS 400-470 MB on the 60-day
// backfill against 270 MB at 25,000 with the flush in the writer; 320-350
// MB since session 38 keeps ClickHouse's held rows in 32 bytes, where
// 200,000 gained nothing and cost 100 MB more); a checkpoint commits up to
// that much later, and a crash makes the next run write up to that much
// again.
const HoldRows = 100_000

// LatestEvery is how long nav-ingest lets nav_latest's moves wait past the
// engine's flushes (postgres.NAVSink.LatestEvery): a scheduled run of one
// file sends them once, at its end; a backfill of years, every 30 s. On
// the 60-day backfill, sending at every flush (7 times) cost the Postgres
// backends about 0.5 CPU-s of 4.6 (issue 15).
const LatestEvery = 30 * time.Second

// sinksOver are Sinks over a Postgres sink and ClickHouse dates the caller
// also gives its stage (nil dates: ClickHouse's are not tracked); hold:
// ClickHouse's rows wait for the engine's flush (a pipeline with HoldRows).
func sinksOver(d Deps, c *config.NAVIngest, pg *postgres.NAVSink, chLatest *clickhouse.LatestDates, hold bool) []pipelines.Sink[fund.NAVLine] {
	var ch pipelines.Sink[fund.NAVLine] = clickhouse.NAVHistory{Conn: d.CH, Latest: chLatest}
	if hold {
		ch = &clickhouse.HeldNAVHistory{NAVHistory: clickhouse.NAVHistory{Conn: d.CH, Latest: chLatest}}
	}
	sinks := []pipelines.Sink[fund.NAVLine]{pipelines.Fanout[fund.NAVLine]{pg, ch}}
	if len(d.Brokers) > 0 {
		// The writer keeps each partition's produce batch under the
		// broker's message.max.bytes itself (kafka.NewWriter's
		// BatchBytes), however many rows a batch holds.
		w := kafka.NewWriter(kafka.Config{Brokers: d.Brokers, Topic: c.KafkaTopic, BatchSize: c.BatchSize})
		sinks = append(sinks, kafka.NAVSink{W: w})
	}
	return sinks
}

// Undo takes back from ClickHouse the rows of a failed file past its last
// commit. Postgres wrote its batches' NAVs at once and committed each
// (nav_latest's moves are held, and sent by LatestEvery or at the end); the
// file's checkpoint waited for ClickHouse's held flush, so Postgres keeps
// the rows of the file's batches past its last commit (up to HoldRows), and
// a batch Postgres itself refused it rolled back (but for the second half
// of a batch of many new NAVs, which commits in a transaction of its own
// just before the rest: postgres.NAVSink). Those rows stay (a later
// file's same key was a no-op against them, and the sink's in-run cache of
// nav_latest counts them): Undo names their keys in an error log for the
// operator (`fundflow quarantine retract` takes a key back), so that the stores' difference
// is known. A key that an earlier file gave too shows that file's row again
// in ClickHouse, unless ClickHouse merged the two already.
func Undo(ch clickhouse.Conn, pg *postgres.Store, log *slog.Logger) func(ctx context.Context, f fund.Origin, committed int) error {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, f fund.Origin, committed int) error {
		if err := clickhouse.DeleteFileNAVsAfter(ctx, ch, f.SHA256, committed); err != nil {
			return err
		}
		if pg == nil {
			return nil
		}
		keys, err := pg.FileNAVsAfter(ctx, f.SHA256, committed)
		if err != nil {
			return fmt.Errorf("undo %s: list its NAVs Postgres keeps: %w", f.File, err)
		}
		if len(keys) > 0 {
			log.Error("a failed file's NAVs past its last commit stay in Postgres, not in ClickHouse",
				"file", f.File, "sha256", f.SHA256, "committed_line", committed, "navs", len(keys), "keys", keys[:min(len(keys), 20)])
		}
		return nil
	}
}

// Validator is nav-ingest's stage as configured: the one every path that
// publishes or predicts NAVs uses (the run, backfill, quarantine replay,
// check nav). latest are the stored NAVs a jump is measured from (nil:
// none, the jump check never fires).
func Validator(latest map[string]fund.DatedNAV, c *config.NAVIngest) *nav.Validator {
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
