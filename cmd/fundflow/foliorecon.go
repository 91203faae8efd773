package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/rta"
)

// cmdFolioRecon is `fundflow run folio-recon [--date YYYY-MM-DD]`.
func cmdFolioRecon(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run folio-recon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dateArg := fs.String("date", "", "the as-of date, YYYY-MM-DD (default: the latest date an RTA holdings file is for)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageErr("usage: fundflow run folio-recon [--date YYYY-MM-DD]")
	}
	var date fund.Date
	if *dateArg != "" {
		d, err := fund.ParseISODate(*dateArg)
		if err != nil {
			return usageErr("--date: %v", err)
		}
		date = d
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	unlock, err := d.pg.TryLock(ctx, "pipeline:folio-recon")
	if err != nil {
		return err
	}
	defer unlock()
	out, err := folioRecon(ctx, d, date)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// folioRecon wires the folio-recon job from the config: the load pipeline
// (feed source, RTA parser, Postgres staging sink), recon's Postgres store
// and the ClickHouse history; recon.FolioRecon does the work.
func folioRecon(ctx context.Context, d *deps, date fund.Date) (recon.Outcome, error) {
	c := d.cfg.Pipelines.FolioRecon
	if c == nil {
		return recon.Outcome{Pipeline: "folio-recon"}, usageErr("folio-recon is not configured: add a pipelines.folio-recon section to the config")
	}
	load := func(ctx context.Context) (pipelines.Stats, []string, error) {
		store, err := openStore(ctx, d, c.Source) // the run closes it (feed.Source.Close)
		if err != nil {
			return pipelines.Stats{}, nil, err
		}
		src := feed.NewSource[rta.Item]("folio-recon", store, d.pg, rta.Decode, feed.Options{
			Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
			BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: d.log,
		})
		p := &pipelines.Pipeline[rta.Item, fund.RTALine]{
			Name:       "folio-recon",
			Source:     src,
			Stage:      rta.Stage,
			Sinks:      []pipelines.Sink[fund.RTALine]{postgres.RTASink{Pool: d.pg.Pool}},
			Quarantine: d.pg,
			Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
			Metrics:    d.metrics,
			Runs:       d.pg,
			Log:        d.log,
		}
		st, err := p.Run(ctx)
		return st, src.Skipped, err
	}
	job := recon.FolioRecon{Load: load, Store: pgstore.New(d.pg.Pool), History: clickhouse.BreakHistory{Conn: d.ch},
		ReportDir: c.ReportDir, WindowDays: c.WindowDays, RetainDays: c.RetainDays, Log: d.log}
	return job.Run(ctx, date)
}

// runFolioReconStats runs folio-recon for the scheduler (the latest date).
func runFolioReconStats(ctx context.Context, d *deps) (pipelines.Stats, error) {
	out, err := folioRecon(ctx, d, fund.Date{})
	return out.Stats(), err
}

// cmdRecon is `fundflow recon explain ID --by NAME --note TEXT`: a person
// explains a break; it stays explained while it is seen again.
func cmdRecon(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	const use = "usage: fundflow recon explain BREAK_ID --by NAME --note TEXT"
	if len(args) < 2 || args[0] != "explain" {
		return usageErr("%s", use)
	}
	id, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return usageErr("%s (BREAK_ID is recon_breaks.id)", use)
	}
	fl := flag.NewFlagSet("recon explain", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	by := fl.String("by", "", "")
	note := fl.String("note", "", "")
	if err := fl.Parse(args[2:]); err != nil || *by == "" || *note == "" {
		return usageErr("%s", use)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, os.Getenv(cfg.Services.PostgresURLEnv))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgstore.New(pool).ExplainBreak(ctx, id, *by, *note); err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintf(stdout, "break %d explained by %s\n", id, *by)
	return nil
}
