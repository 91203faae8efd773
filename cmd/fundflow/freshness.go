package main

import (
	"context"
	"io"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/navfreshness"
)

// newNAVFreshness assembles the nav-freshness job from the config.
func newNAVFreshness(d *deps) (*navfreshness.Job, error) {
	opt, err := navfreshness.OptionsFrom(d.cfg.Pipelines)
	if err != nil {
		return nil, err
	}
	j, err := navfreshness.New(d.pg, opt, d.reg, d.log)
	if err != nil {
		return nil, err
	}
	j.Recorder = d.recorder()
	return j, nil
}

// cmdFreshness is `fundflow run nav-freshness`: one locked run, its result
// printed as JSON.
func cmdFreshness(ctx context.Context, d *deps, stdout io.Writer) error {
	f, err := newNAVFreshness(d)
	if err != nil {
		return err
	}
	res, err := f.RunLocked(ctx)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

type completenessCmd struct {
	Date dateFlag `help:"The business day (default: the last business day whose NAVs were due)." placeholder:"YYYY-MM-DD"`
	At   timeFlag `help:"Judge as of this moment (default now)." placeholder:"RFC3339"`
}

func (completenessCmd) Help() string {
	return `Which schemes that had a NAV on the business day before DATE have none for DATE, using the holiday calendar of the config (pipelines.nav-ingest.holidays): a weekend or holiday expects nothing. A missing NAV not yet due (a fund of funds publishes the next morning) is "pending", not "missing". Prints JSON.`
}

func (c completenessCmd) Run(a *app) error {
	now := time.Now()
	if !c.At.IsZero() {
		now = c.At.Time
	}
	return a.connected(func(d *deps) error {
		f, err := newNAVFreshness(d)
		if err != nil {
			return err
		}
		day := c.Date.Date
		if day.IsZero() {
			if day, err = fund.LastDueBusinessDay(now, f.Options.Calendar); err != nil {
				return err
			}
		}
		res, err := f.Completeness(a.ctx, day, now)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, res)
	})
}
