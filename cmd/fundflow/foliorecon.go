package main

import (
	"context"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/foliorecon"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
)

type folioReconRunCmd struct {
	Date dateFlag `help:"The as-of date (default: the latest date an RTA holdings file is for)." placeholder:"YYYY-MM-DD"`
}

func (c folioReconRunCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		var out recon.Outcome
		if err := supervise.Single(a.ctx, d.pg, foliorecon.Name, func(ctx context.Context) (err error) { out, err = folioRecon(ctx, d, c.Date.Date); return err }); err != nil {
			return err
		}
		return printJSON(a.stdout, out)
	})
}

// folioRecon runs the folio-recon job of the config (jobs/foliorecon).
func folioRecon(ctx context.Context, d *deps, date fund.Date) (recon.Outcome, error) {
	c := d.cfg.Pipelines.FolioRecon
	if c == nil {
		return recon.Outcome{Pipeline: foliorecon.Name}, usageErr("folio-recon is not configured: add a pipelines.folio-recon section to the config")
	}
	return foliorecon.Job{Config: c, PG: d.pg, CH: d.ch, Metrics: d.metrics, Log: d.log}.Run(ctx, date)
}

type reconCmd struct {
	Explain explainCmd `cmd:"" help:"mark a reconciliation break explained by a person; it stays explained while it is seen again"`
}

type explainCmd struct {
	ID   int64  `arg:"" name:"break-id" help:"The break (recon_breaks.id)."`
	By   string `required:"" help:"Who explains it." placeholder:"NAME"`
	Note string `required:"" help:"The explanation." placeholder:"TEXT"`
}

func (c explainCmd) Run(a *app) error {
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pgstore.New(pool).ExplainBreak(a.ctx, c.ID, c.By, c.Note); err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintf(a.stdout, "break %d explained by %s\n", c.ID, c.By)
	return nil
}
