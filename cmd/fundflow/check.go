package main

import (
	"errors"
	"io/fs"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/navingest"
)

type checkCmd struct {
	NAV          checkNAVCmd     `cmd:"" name:"nav" help:"dry-run a NAV file: parse and validate, write nothing, print JSON"`
	NAVDate      navDateCmd      `cmd:"" name:"navdate" help:"explain which NAV date an order gets under SEBI's cut-off rules, JSON"`
	Completeness completenessCmd `cmd:"" help:"which schemes have no NAV for a business day (holidays expect none), JSON"`
	Schedule     scheduleCmd     `cmd:"" help:"when will my SIP be debited: a plan's instalments (nominal and due dates), JSON"`
	Risk         checkRiskCmd    `cmd:"" help:"a NAV series' volatility, CAGR, drawdown, VaR, Sharpe and Sortino (issue 20's definitions), JSON"`
	Distribute   distributeCmd   `cmd:"" help:"split a pool distribution pro rata to units, largest remainder to the paisa, JSON"`
	Gains        gainsCmd        `cmd:"" help:"why is my gain this: one sale's per-lot capital gains (FIFO, grandfathering, sections), JSON"`
}

type checkNAVCmd struct {
	File string `arg:"" help:"The NAV file (NAVAll, an RTA NAV file or a history report)."`
}

func (checkNAVCmd) Help() string {
	return `Parse and validate a NAV file without writing anything, with nav-ingest's own decoder and stage (its settings from the config when there is one), streaming; print one JSON object (layout, rows, quarantined, reasons, schemes, amcs, categories, min_date, max_date). The reasons are the ones a run would quarantine for, except nav_jump (which needs the stored NAVs). Exit 0 for a NAV file (even with quarantined rows), 2 with a one-line message when it is not one.`
}

func (c checkNAVCmd) Run(a *app) error {
	cfg, err := checkNAVConfig(a.g)
	if err != nil {
		return err
	}
	rep, err := navingest.CheckFile(a.ctx, c.File, navingest.Validator(nil, cfg))
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return printJSON(a.stdout, rep)
}

// checkNAVConfig is nav-ingest's section of the config when there is a
// config file, else the defaults: check nav works without one.
func checkNAVConfig(g globals) (*config.NAVIngest, error) {
	cfg, err := config.Load(g.Config)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && cfg.Pipelines.NAVIngest == nil) {
		cfg, err = config.Parse("defaults", []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: .}\n"))
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg.Pipelines.NAVIngest, nil
}

type navDateCmd struct {
	Category  string   `required:"" help:"The scheme's category: \"liquid\" or \"overnight\" (or an AMFI category naming them) get their rule, any other the 3:00 PM rule."`
	Type      string   `required:"" enum:"purchase,redemption,sip,switch_in,switch_out" help:"The order's type: purchase, redemption, sip, switch_in or switch_out."`
	OrderTime timeFlag `required:"" help:"When the order was stamped." placeholder:"RFC3339"`
	FundsTime timeFlag `help:"When the funds were realised (default: the order time)." placeholder:"RFC3339"`
	Holidays  []string `sep:"none" help:"A holiday file, one DD-Mon-YYYY date a line (repeatable; default: the config's pipelines.allocate.holidays, the money path's calendar, else nav-ingest's)." placeholder:"FILE"`
}

// navDateAnswer is the answer with the holiday files it was computed on.
type navDateAnswer struct {
	fund.NAVDateAnswer
	Calendar []string `json:"calendar"`
}

// calendarFiles are --holidays, else the config's money-path calendar
// (allocate's, as the ledger uses), else nav-ingest's. Without a config
// file at the default path there is none: weekends only, as the answer's
// empty "calendar" says. A config named but missing or bad is an error.
func (c navDateCmd) calendarFiles(g globals) ([]string, error) {
	if len(c.Holidays) > 0 {
		return c.Holidays, nil
	}
	cfg, err := config.Load(g.Config)
	if errors.Is(err, fs.ErrNotExist) && g.Config == defaultConfig {
		return nil, nil
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if x := cfg.Pipelines.Allocate; x != nil && len(x.Holidays) > 0 {
		return x.Holidays, nil
	}
	if n := cfg.Pipelines.NAVIngest; n != nil {
		return n.Holidays, nil
	}
	return nil, nil
}

func (c navDateCmd) Run(a *app) error {
	kind, err := fund.ParseTxKind(c.Type)
	if err != nil {
		return usageErr("--type: %v", err)
	}
	funds := c.OrderTime.Time
	if !c.FundsTime.IsZero() {
		funds = c.FundsTime.Time
	}
	files, err := c.calendarFiles(a.g)
	if err != nil {
		return err
	}
	cal, err := calendar(files)
	if err != nil {
		return err
	}
	ans, err := fund.AnswerNAVDate(c.Category, kind, c.OrderTime.Time, funds, cal)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return printJSON(a.stdout, navDateAnswer{NAVDateAnswer: ans, Calendar: append([]string{}, files...)})
}
