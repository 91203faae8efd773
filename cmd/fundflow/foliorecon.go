package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon/report"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/rta"
)

// reconOutcome is what `fundflow run folio-recon` prints.
type reconOutcome struct {
	Pipeline string `json:"pipeline"`
	Load     struct {
		Files       []string         `json:"skipped_files,omitempty"`
		Batches     int64            `json:"batches"`
		In          int64            `json:"in"`
		Out         int64            `json:"out"`
		Quarantined int64            `json:"quarantined"`
		Reasons     map[string]int64 `json:"reasons"`
		Seconds     float64          `json:"seconds"`
	} `json:"load"`
	Date       string               `json:"date"`
	Recon      postgres.ReconResult `json:"recon"`
	ReconSecs  float64              `json:"recon_seconds"`
	Summary    report.Summary       `json:"summary"`
	SummaryTxt string               `json:"summary_txt"`
	ReportSecs float64              `json:"report_seconds"`
}

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

// folioRecon loads every complete RTA file waiting in the source folder
// (parse by header, quarantine bad rows, stage the good ones in Postgres with
// COPY), then reconciles the RTAs' books with our ledger as of date (zero:
// the latest holdings date loaded), writes the report and the ClickHouse
// history.
func folioRecon(ctx context.Context, d *deps, date fund.Date) (reconOutcome, error) {
	var out reconOutcome
	out.Pipeline = "folio-recon"
	c := d.cfg.Pipelines.FolioRecon
	if c == nil {
		return out, usageErr("folio-recon is not configured: add a pipelines.folio-recon section to the config")
	}
	store, closeStore, err := openStore(ctx, d, c.Source)
	if err != nil {
		return out, err
	}
	src := feed.NewSource[rta.Item]("folio-recon", store, d.pg, rta.Decode, feed.Options{
		Glob: c.Source.Glob, DoneMarker: c.Source.DoneMarker, StableFor: c.Source.StableFor,
		BatchSize: c.BatchSize, Archive: c.Source.Archive, Log: d.log,
	})
	p := &pipelines.Pipeline[rta.Item, fund.RTALine]{
		Name:       "folio-recon",
		Source:     src,
		Stage:      rta.Stage,
		Sinks:      []pipelines.Sink[fund.RTALine]{postgres.RTAStage{Pool: d.pg.Pool}},
		Quarantine: d.pg,
		Breaker:    pipelines.NewBreaker(c.MaxRejectRate),
		Metrics:    d.metrics,
		Runs:       d.pg,
		Log:        d.log,
	}
	t0 := time.Now()
	st, err := p.Run(ctx)
	closeStore()
	out.Load.Batches, out.Load.In, out.Load.Out, out.Load.Quarantined, out.Load.Reasons = st.Batches, st.In, st.Out, st.Quarantined, st.Reasons
	out.Load.Files = src.Skipped
	out.Load.Seconds = time.Since(t0).Seconds()
	if err != nil {
		return out, err
	}

	if date.IsZero() {
		if date, err = postgres.LatestRTADate(ctx, d.pg.Pool); err != nil {
			return out, err
		}
	}
	out.Date = date.String()
	opt := postgres.ReconOptions{Date: date, RetainDays: c.RetainDays}
	if c.WindowDays > 0 {
		opt.WindowFrom = date.AddDays(1 - c.WindowDays)
	}
	t1 := time.Now()
	res, err := postgres.Reconcile(ctx, d.pg.Pool, opt)
	if err != nil {
		return out, err
	}
	out.Recon, out.ReconSecs = res, time.Since(t1).Seconds()
	d.log.Info("folio-recon reconciled", "date", date, "breaks", res.Breaks, "new", res.NewBreaks, "resolved", res.Resolved, "took", res.Took.Round(time.Millisecond))

	t2 := time.Now()
	rep, err := report.New(c.ReportDir, report.Run{RunID: res.RunID, Date: date, HoldingsRTAs: res.HoldingsRTAs,
		TransactionsRTAs: res.TransactionsRTAs, RTAHoldings: res.RTAHoldings, LedgerHoldings: res.LedgerHoldings,
		RTATransactions: res.RTATransactions, LedgerTransactions: res.LedgerTransactions, UnmappedSchemes: res.UnmappedSchemes,
		Seconds: res.Took.Seconds()})
	if err != nil {
		return out, fmt.Errorf("folio-recon report: %w", err)
	}
	hist := clickhouse.BreakHistory{Conn: d.ch}
	var batch []fund.Break
	flush := func() error {
		err := pipelines.DefaultRetry.Do(ctx, "clickhouse recon_breaks_history", func(ctx context.Context) error { return hist.Write(ctx, date, batch) })
		batch = batch[:0]
		return err
	}
	err = postgres.EachBreak(ctx, d.pg.Pool, res.RunID, func(b fund.Break) error {
		if err := rep.Add(b); err != nil {
			return err
		}
		if batch = append(batch, b); len(batch) == 20000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	sum, cerr := rep.Close()
	if err = errors.Join(err, cerr); err != nil {
		return out, fmt.Errorf("folio-recon report: %w", err)
	}
	out.Summary = sum
	out.SummaryTxt = filepath.Join(c.ReportDir, "summary_"+date.Time().Format("20060102")+".txt")
	out.ReportSecs = time.Since(t2).Seconds()
	return out, nil
}

// runFolioReconStats runs folio-recon for the scheduler (the latest date).
func runFolioReconStats(ctx context.Context, d *deps) (pipelines.Stats, error) {
	out, err := folioRecon(ctx, d, fund.Date{})
	return pipelines.Stats{Batches: out.Load.Batches, In: out.Load.In, Out: out.Load.Out, Quarantined: out.Load.Quarantined, Reasons: out.Load.Reasons}, err
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
	if err := postgres.ExplainBreak(ctx, pool, id, *by, *note); err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintf(stdout, "break %d explained by %s\n", id, *by)
	return nil
}
