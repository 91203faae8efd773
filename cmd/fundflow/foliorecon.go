package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
)

// cmdFolioRecon is `fundflow run folio-recon [--date YYYY-MM-DD]`.
func cmdFolioRecon(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := newFlags("run folio-recon")
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
	var out recon.Outcome
	if err := supervise.Single(ctx, d.pg, foliorecon.Name, func(ctx context.Context) (err error) { out, err = folioRecon(ctx, d, date); return err }); err != nil {
		return err
	}
	return printJSON(stdout, out)
}

// folioRecon runs the folio-recon job of the config (jobs/foliorecon).
func folioRecon(ctx context.Context, d *deps, date fund.Date) (recon.Outcome, error) {
	c := d.cfg.Pipelines.FolioRecon
	if c == nil {
		return recon.Outcome{Pipeline: foliorecon.Name}, usageErr("folio-recon is not configured: add a pipelines.folio-recon section to the config")
	}
	return foliorecon.Job{Config: c, PG: d.pg, CH: d.ch, Metrics: d.metrics, Log: d.log}.Run(ctx, date)
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
	fl := newFlags("recon explain")
	by := fl.String("by", "", "")
	note := fl.String("note", "", "")
	if err := fl.Parse(args[2:]); err != nil || *by == "" || *note == "" {
		return usageErr("%s", use)
	}
	_, pool, err := loadAndConnectPG(ctx, g)
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
