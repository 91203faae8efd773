package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/jobs/navingest"
)

const checkUsage = `usage:
  fundflow check nav FILE
      Parse and validate a NAV file without writing anything, with nav-ingest's
      own decoder and stage (its settings from the config when there is one),
      streaming; print one JSON object (layout, rows, quarantined, reasons,
      schemes, amcs, categories, min_date, max_date). The reasons are the ones
      a run would quarantine for, except nav_jump (which needs the stored NAVs).
      Exit 0 for a NAV file (even with quarantined rows), 2 with a one-line
      message when it is not one.
  fundflow check navdate --category CATEGORY --type purchase|redemption|sip|switch_in|switch_out
                         --order-time T [--funds-time T] [--holidays FILE]...
      Explain which NAV date an order gets under SEBI's cut-off rules. Times
      are RFC 3339 with an offset (2026-08-21T14:59:00+05:30); --funds-time
      defaults to the order time; each FILE has one DD-Mon-YYYY holiday a line.
      CATEGORY "liquid" or "overnight" (or an AMFI category naming them) gets
      their rule; any other the 3:00 PM rule.`

func cmdCheck(ctx context.Context, g globals, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", checkUsage)
	}
	switch args[0] {
	case "nav":
		if len(args) != 2 {
			return usageErr("%s", checkUsage)
		}
		c, err := checkNAVConfig(g)
		if err != nil {
			return err
		}
		rep, err := navingest.CheckFile(ctx, args[1], navingest.Validator(nil, c))
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		return printJSON(stdout, rep)
	case "navdate":
		ans, err := checkNAVDate(args[1:])
		if err != nil {
			return err
		}
		return printJSON(stdout, ans)
	}
	return usageErr("unknown check %q\n%s", args[0], checkUsage)
}

// checkNAVConfig is nav-ingest's section of the config when there is a
// config file, else the defaults: check nav works without one.
func checkNAVConfig(g globals) (*config.NAVIngest, error) {
	cfg, err := config.Load(g.config)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && cfg.Pipelines.NAVIngest == nil) {
		cfg, err = config.Parse("defaults", []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: .}\n"))
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg.Pipelines.NAVIngest, nil
}

func checkNAVDate(args []string) (fund.NAVDateAnswer, error) {
	fs := newFlags("check navdate")
	category := fs.String("category", "", "scheme category")
	typ := fs.String("type", "", "purchase, redemption, sip, switch_in, switch_out")
	orderTime := fs.String("order-time", "", "RFC 3339 time the order was stamped")
	fundsTime := fs.String("funds-time", "", "RFC 3339 time the funds were realised (default: order time)")
	var hols holidays.Flag
	fs.Var(&hols, "holidays", "holiday file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return fund.NAVDateAnswer{}, usageErr("check navdate: %v\n%s", err, checkUsage)
	}
	if *category == "" || *typ == "" || *orderTime == "" {
		return fund.NAVDateAnswer{}, usageErr("check navdate needs --category, --type and --order-time\n%s", checkUsage)
	}
	kind, err := fund.ParseTxKind(*typ)
	if err != nil {
		return fund.NAVDateAnswer{}, usageErr("--type: %v", err)
	}
	order, err := time.Parse(time.RFC3339, *orderTime)
	if err != nil {
		return fund.NAVDateAnswer{}, usageErr("--order-time %q: want RFC 3339 with an offset, e.g. 2026-08-21T14:59:00+05:30", *orderTime)
	}
	funds := order
	if strings.TrimSpace(*fundsTime) != "" {
		if funds, err = time.Parse(time.RFC3339, *fundsTime); err != nil {
			return fund.NAVDateAnswer{}, usageErr("--funds-time %q: want RFC 3339 with an offset", *fundsTime)
		}
	}
	ans, err := fund.AnswerNAVDate(*category, kind, order, funds, hols.Calendar())
	if err != nil {
		return fund.NAVDateAnswer{}, &exitError{code: 2, err: err}
	}
	return ans, nil
}
