package main

import (
	"context"
	"io"
	"log/slog"
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

const completenessUsage = `usage:
  fundflow check completeness [--date YYYY-MM-DD] [--at RFC3339]
      Which schemes that had a NAV on the business day before DATE have none
      for DATE (default: the last business day whose NAVs were due), using
      the holiday calendar of the config (pipelines.nav-ingest.holidays): a
      weekend or holiday expects nothing. A missing NAV not yet due (a fund
      of funds publishes the next morning) is "pending", not "missing". --at
      judges as of another moment (default now). Prints JSON.`

func cmdCheckCompleteness(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := newFlags("check completeness")
	date := fs.String("date", "", "business day, YYYY-MM-DD")
	at := fs.String("at", "", "judge as of this time (RFC 3339)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageErr("check completeness: bad arguments (%v)\n%s", err, completenessUsage)
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageErr("--at %q: want RFC 3339, e.g. 2026-08-18T23:30:00+05:30", *at)
		}
		now = t
	}
	var day fund.Date
	if *date != "" {
		d, err := fund.ParseISODate(*date)
		if err != nil {
			return usageErr("--date: %v", err)
		}
		day = d
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := newNAVFreshness(d)
	if err != nil {
		return err
	}
	if day.IsZero() {
		day = fund.LastDueBusinessDay(now, f.Options.Calendar)
	}
	c, err := f.Completeness(ctx, day, now)
	if err != nil {
		return err
	}
	return printJSON(stdout, c)
}
