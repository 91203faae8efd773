package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
)

// gainsCmd is `fundflow check gains`: one sale over an investor's lots,
// with fund/tax's code (the statement's), for support's "why is my gain
// this?".
type gainsCmd struct {
	Case string `required:"" help:"The case: a JSON file with \"lots\" and one \"sale\" (see --help)." placeholder:"FILE.json"`
}

func (gainsCmd) Help() string {
	return `Why is my gain this? Give the lots held and one sale (a redemption or a switch-out) as JSON:

  {"lots": [{"scheme_type": "equity", "bought": "2017-06-01", "units": "100.000", "cost": "10000.00", "fmv_2018_01_31": "150.0000"}],
   "sale": {"date": "2024-12-02", "units": "60.000", "nav": "180.0000", "exit_load": "12.50"}}

scheme_type is equity, debt or other; cost is what the lot's units cost, stamp duty included; fmv_2018_01_31 (per unit: the NAV of 31-Jan-2018, or the last before it) is needed for equity lots bought before 1-Feb-2018; exit_load is the sale's total load in rupees. Numbers may be strings or JSON numbers, read exactly.

The answer is one JSON object, from the code the capital-gains statement uses: per consumed lot (first in, first out) its term (short|long), cost_used, sale_value, gain and rate_section (111A, 112A, 50AA, 112 or slab), with the actual cost, the FMV and which grandfathering branch won, and the totals. The rules: long-term means held more than M months (sold after the same date M months on; 29 February + 12 months is 28 February): equity 12; other funds and debt bought before 1-Apr-2023 36, and 24 for transfers from 23-Jul-2024; debt bought on or after 1-Apr-2023 is always short-term (50AA). Grandfathered cost = max(actual, min(FMV, units x NAV)) (section 55(2)(ac): the full value of consideration, before the exit load, which is deducted as an expenditure on transfer). The load is split over the lots pro rata by units; money is rounded half up to the paisa per lot.

Exit 0 with the JSON; 2 with a one-line message naming the field that is wrong.`
}

func (c gainsCmd) Run(a *app) error {
	f, err := os.Open(c.Case)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer f.Close()
	cs, err := ftax.ParseCase(f)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.Case, err)}
	}
	res, err := ftax.Check(cs)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return printJSON(a.stdout, res)
}

// taxCmd is the `fundflow tax` group: the investors' tax statements.
type taxCmd struct {
	Gains taxGainsCmd `cmd:"" help:"realised capital gains for a financial year: one investor or all, JSON, CSV or ITR Schedule 112A"`
	IDCW  idcwCmd     `cmd:"" name:"idcw" help:"IDCW (dividends): declare one, credit its holders (payout or reinvestment, with TDS)"`
	TDS   tdsCmd      `cmd:"" name:"tds" help:"an investor's TDS on IDCW for a financial year by AMC and section (Form 16A data), JSON"`
	Merge mergeCmd    `cmd:"" help:"merge a scheme into another (or change plan/option): every holder's lots carried over with their tax dates and costs, plans redirected, JSON"`
	Type  taxTypeCmd  `cmd:"" name:"scheme-type" help:"set a scheme's tax character from a date where its category does not say it (equity index funds …), JSON"`
}

type taxTypeCmd struct {
	Scheme string   `required:"" help:"The scheme code." placeholder:"CODE"`
	From   dateFlag `required:"" help:"In force for transfers on and after this date." placeholder:"YYYY-MM-DD"`
	Type   string   `required:"" enum:"equity,debt,other" help:"equity, debt or other."`
	Reason string   `required:"" help:"Why (shown to whoever reads the row; kept in the audit)." placeholder:"TEXT"`
}

func (taxTypeCmd) Help() string {
	return `Scheme tax characters are effective-dated data (scheme_tax_types): the row in force on a transfer's date (the latest --from on or before it) overrides what the scheme's AMFI category implies, for capital gains (the statement, the API, Schedule 112A). A change is a new row from a later date; the same row again is fine; another type or reason for the same scheme and date, or a code no scheme has, is exit 2. Exit 0 with the row as JSON.`
}

func (c taxTypeCmd) Run(a *app) error {
	if strings.TrimSpace(c.Reason) == "" {
		return usageErr("--reason: say why")
	}
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	o := ftax.TypeOverride{Scheme: c.Scheme, From: c.From.Date, Type: ftax.SchemeType(c.Type), Reason: c.Reason}
	created, err := t.SetSchemeType(a.ctx, o, "cli") // the API's path too
	var bad *tax.InputError
	if errors.Is(err, tax.ErrUnknownScheme) {
		return usageErr("--scheme %s: no scheme has this code (schemes come from the NAV feed)", c.Scheme)
	}
	if errors.Is(err, tax.ErrTypeConflict) || errors.As(err, &bad) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	return printJSON(a.stdout, map[string]any{"scheme": o.Scheme, "from": o.From, "type": o.Type, "reason": o.Reason, "created": created})
}

type mergeCmd struct {
	From    string   `required:"" help:"The scheme that merges away." placeholder:"CODE"`
	To      string   `required:"" help:"The surviving scheme." placeholder:"CODE"`
	Date    dateFlag `required:"" help:"The merger's effective date (the ratio's NAV date; the carried lots' ledger date)." placeholder:"YYYY-MM-DD"`
	NAVFrom string   `name:"nav-from" help:"From's NAV for the ratio (default: its NAV on --date)." placeholder:"NAV"`
	NAVTo   string   `name:"nav-to" help:"To's NAV for the ratio (default: its NAV on --date)." placeholder:"NAV"`
	ID      string   `help:"The merger's id (default: FROM-TO-DATE)." placeholder:"ID"`
}

func (mergeCmd) Help() string {
	return `Declares the merger (the same one again is fine; another merger of the same scheme is refused) and runs it: every folio with open lots of --from gets, in one transaction, a merger_out leg taking them all and one merger_in leg per lot into --to. Units of --to are Σ units × NAV-from / NAV-to truncated at --to's units scale, shared over the lots by largest remainder; each new lot keeps the acquisition date, the cost and the 31-Jan-2018 FMV (per unit of --to) of the lot it came from, so capital gains after the merger are the original lots'. What the truncation leaves (in rupees, half up to the paisa) is posted to merger:<id>:residue. Live SIPs/SWPs of --from and STPs into or out of it then name --to. Safe to run again after a crash: each folio is merged exactly once. Exit 0 with the run's counts as JSON; 2 for a bad flag or a conflicting merger.`
}

func (c mergeCmd) Run(a *app) error {
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	r := tax.MergeRequest{ID: c.ID, From: c.From, To: c.To, Date: c.Date.Date, Source: "cli"}
	for _, f := range []struct {
		flag, v string
		to      **fund.NAV
	}{{"--nav-from", c.NAVFrom, &r.NAVFrom}, {"--nav-to", c.NAVTo, &r.NAVTo}} {
		if f.v != "" {
			n, err := fund.ParseNAV(f.v)
			if err != nil {
				return usageErr("%s %q: %v", f.flag, f.v, err)
			}
			*f.to = &n
		}
	}
	res, err := t.Merge(a.ctx, r) // the API's path too
	var bad *tax.InputError
	if errors.Is(err, tax.ErrMergerConflict) || errors.As(err, &bad) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	m := res.Decl
	return printJSON(a.stdout, map[string]any{"id": m.ID, "from": m.From, "to": m.To, "date": m.Date, "nav_from": m.NAVFrom, "nav_to": m.NAVTo,
		"declared": res.Declared, "run": res.Run})
}

type idcwCmd struct {
	Declare idcwDeclareCmd `cmd:"" help:"store an IDCW declaration (the same one again is fine), JSON"`
	Run     idcwRunCmd     `cmd:"" help:"credit a declaration's holders on the record date, each folio exactly once, JSON"`
}

type idcwDeclareCmd struct {
	Scheme     string   `required:"" help:"The scheme code." placeholder:"CODE"`
	RecordDate dateFlag `required:"" name:"record-date" help:"The record date: units held at its end are paid." placeholder:"YYYY-MM-DD"`
	ExDate     dateFlag `required:"" name:"ex-date" help:"The ex-IDCW date: a reinvestment gets its NAV (the next business day's when it is a holiday)." placeholder:"YYYY-MM-DD"`
	PerUnit    string   `required:"" name:"per-unit" help:"Rupees per unit, as declared (up to 4 decimals)." placeholder:"RUPEES"`
	Option     string   `required:"" enum:"payout,reinvest" help:"The scheme's IDCW option: payout or reinvest."`
	ID         string   `help:"The declaration's id (default: SCHEME-RECORDDATE)." placeholder:"ID"`
	Holidays   []string `sep:"none" help:"A holiday file, one DD-Mon-YYYY date a line (repeatable; default: the config's pipelines.allocate.holidays, else nav-ingest's)." placeholder:"FILE"`
}

func (c idcwDeclareCmd) Run(a *app) error {
	per, err := decimal.NewFromString(c.PerUnit)
	if err != nil {
		return usageErr("--per-unit %q: a number of rupees", c.PerUnit)
	}
	files, err := navDateCmd{Holidays: c.Holidays}.calendarFiles(a.g)
	if err != nil {
		return err
	}
	cal, err := calendar(files)
	if err != nil {
		return err
	}
	d := ftax.Declaration{ID: c.ID, Scheme: c.Scheme, RecordDate: c.RecordDate.Date, ExDate: c.ExDate.Date, PerUnit: per}
	if err := d.Check(); err != nil {
		return usageErr("%v", err)
	}
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	svc := t.IDCW
	dd, created, err := svc.Declare(a.ctx, d, tax.Option(c.Option), "cli", cal)
	if errors.Is(err, tax.ErrDeclarationConflict) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	return printJSON(a.stdout, map[string]any{"id": dd.ID, "scheme": dd.Scheme, "record_date": dd.RecordDate, "ex_date": dd.ExDate,
		"nav_date": dd.NAVDate, "per_unit": dd.PerUnit.String(), "option": dd.Option, "created": created})
}

type idcwRunCmd struct {
	ID string `arg:"" help:"The declaration's id."`
}

func (c idcwRunCmd) Run(a *app) error {
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	svc := t.IDCW
	res, err := svc.Run(a.ctx, c.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return usageErr("no IDCW declaration %s", c.ID)
	}
	if err != nil {
		return err
	}
	return printJSON(a.stdout, res)
}

type tdsCmd struct {
	Investor string `required:"" help:"The investor." placeholder:"ID"`
	FY       string `required:"" help:"The financial year, e.g. 2025-26." placeholder:"YYYY-YY"`
}

func (c tdsCmd) Run(a *app) error {
	fy, err := ftax.ParseFY(c.FY)
	if err != nil {
		return usageErr("--fy: %v", err)
	}
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	svc := t.IDCW
	s, err := svc.TDSSummary(a.ctx, c.Investor, fy)
	if err != nil {
		return err
	}
	return printJSON(a.stdout, s)
}

type taxGainsCmd struct {
	FY       string `required:"" help:"The financial year, April to March, e.g. 2025-26." placeholder:"YYYY-YY"`
	Investor string `help:"One investor (default: every investor with a transfer in the year)." placeholder:"ID"`
	Format   string `default:"json" enum:"json,csv,schedule112a" help:"json (one statement per line for all investors), csv (one row per lot) or schedule112a (the equity LTCG rows in the ITR Schedule 112A layout)."`
}

func (taxGainsCmd) Help() string {
	return `The capital-gains statement the API serves (GET /v1/investors/{id}/capital-gains), from the ledger's lots, for one investor or streamed for all (memory holds one investor at a time): every redemption and switch-out priced in the year, lot by lot, with fund/tax's rules (see "fundflow check gains --help"). Writes to standard output; a lot that cannot be computed (no NAV of 31-Jan-2018 for a grandfathered lot) is left out, named in the statement's "problems" and on standard error. Exit 0; 2 for a bad flag; 1 when the database cannot be read.`
}

func (c taxGainsCmd) Run(a *app) error {
	fy, err := ftax.ParseFY(c.FY)
	if err != nil {
		return usageErr("--fy: %v", err)
	}
	t, done, err := a.taxServices()
	if err != nil {
		return err
	}
	defer done()
	svc := t.Gains
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	first := true
	write := func(st *tax.Statement) error {
		defer func() { first = false }()
		for _, p := range st.Problems { // the lots left out, for whoever runs it (the JSON has them too)
			fmt.Fprintf(a.stderr, "tax gains: investor %s: left out: %s\n", st.InvestorID, p)
		}
		switch c.Format {
		case "csv":
			return tax.WriteCSV(w, st, first)
		case "schedule112a":
			return tax.WriteSchedule112A(w, st, first)
		}
		if c.Investor != "" {
			return printJSON(w, st)
		}
		return json.NewEncoder(w).Encode(st) // one line per investor
	}
	if c.Investor != "" {
		st, err := svc.Statement(a.ctx, c.Investor, fy)
		if errors.Is(err, tax.ErrUnknownInvestor) {
			return usageErr("--investor %s: no such investor", c.Investor)
		}
		if err != nil {
			return err
		}
		return write(st)
	}
	if c.Format != "json" {
		if err := write(&tax.Statement{}); err != nil { // the header, even for a year with no transfer
			return err
		}
	}
	return svc.Each(a.ctx, "", fy, write)
}

// taxServices are the tax services over the config's Postgres (the IDCW
// calendar is the caller's).
func (a *app) taxServices() (*tax.API, func(), error) {
	_, pool, err := a.connectPG()
	if err != nil {
		return nil, nil, err
	}
	return tax.NewAPI(&taxpg.Store{Pool: pool}, nil), pool.Close, nil
}
