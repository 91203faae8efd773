package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	analyticspg "github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/jobs/factscheck"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// checkRiskCmd is `fundflow check risk`: the analytics models' figures for
// one NAV series, computed by fund/risk, the code the models and the API use.
type checkRiskCmd struct {
	NAVs         string `name:"navs" required:"" help:"A CSV of date,nav rows (ISO dates, increasing; an optional date,nav header)." placeholder:"FILE.csv"`
	RiskFree     string `name:"risk-free" default:"0" help:"The annual risk-free rate for Sharpe and Sortino, as a fraction (0.065 for 6.5 %; default ${default})." placeholder:"RATE"`
	RiskFreeFile string `name:"risk-free-file" help:"An effective-dated risk-free series instead of --risk-free: a CSV with the header effective_from,annual_rate, then ISO dates (increasing) and fractions; each return is measured against the rate in force on its date." placeholder:"FILE.csv"`
}

func (checkRiskCmd) Help() string {
	return `Compute a NAV series' volatility, CAGR, maximum drawdown (peak, trough, recovery), 1-day historical VaR and CVaR at 95 % and 99 %, Sharpe and Sortino, with the definitions of issue 20 (printed under "methods"), and print them as JSON: every figure a decimal string rounded half-even to 8 places; null where a figure is undefined. Writes nothing. Exit 2 naming the line when the file is not a date,nav series, or with fewer than 3 NAVs.`
}

// riskFreeRates is --risk-free or --risk-free-file as a series (exit 2 on
// a bad file, naming its line).
func riskFreeRates(rate, file string) (risk.Rates, error) {
	if file != "" {
		rs, err := config.LoadRates(file)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		return rs, nil
	}
	rf, err := decimal.NewFromString(rate)
	if err != nil || rf.IsNegative() || rf.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return nil, usageErr("--risk-free %q: want a fraction like 0.065", rate)
	}
	return risk.Constant(rf), nil
}

func (c checkRiskCmd) Run(a *app) error {
	rates, err := riskFreeRates(c.RiskFree, c.RiskFreeFile)
	if err != nil {
		return err
	}
	f, err := os.Open(c.NAVs)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("check risk: %w", err)}
	}
	defer f.Close()
	s, err := risk.ParseCSV(f)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("check risk: %s: %w", c.NAVs, err)}
	}
	rep, err := risk.ComputeRates(s, rates)
	if errors.Is(err, risk.ErrTooFewNAVs) || errors.Is(err, risk.ErrBadSeries) || errors.Is(err, risk.ErrNoRate) {
		return &exitError{code: 2, err: fmt.Errorf("check risk: %s: %w", c.NAVs, err)}
	}
	if err != nil {
		return fmt.Errorf("check risk: %w", err)
	}
	return printJSON(a.stdout, rep.Figures())
}

// chCmd is `fundflow ch`: the analysts' ClickHouse kept equal to the ledger.
type chCmd struct {
	Check   chCheckCmd   `cmd:"" help:"compare the ledger with the ClickHouse transaction facts per day (counts, amounts, units by scheme and kind); writes nothing, JSON"`
	Resync  chResyncCmd  `cmd:"" help:"rebuild the ClickHouse transaction facts of a range of NAV dates from the ledger (idempotent), JSON"`
	Refresh chRefreshCmd `cmd:"" help:"fill the analysts' models as of a date: scheme dimension, daily AUM, trailing returns and risk per scheme, JSON"`
	Chart   chChartCmd   `cmd:"" help:"draw the total AUM against the net money invested at each month end, from the models, as a PDF"`
}

type chChartCmd struct {
	Out string `required:"" help:"The PDF to write." placeholder:"FILE.pdf"`
}

func (chChartCmd) Help() string {
	return `Read aum_daily (the total AUM of every month end and of the last day refreshed) and flows_daily (the net inflow summed from the first day) and draw them as the folio statement's chart: the gap between the lines is what the markets did to the money put in. Run ` + "`fundflow ch refresh`" + ` first. Writes only the PDF.`
}

func (c chChartCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		pts, err := query.Service{PG: d.pg.Pool, CH: d.ch}.AUMSeries(a.ctx)
		if err != nil {
			return err
		}
		if len(pts) == 0 {
			return fmt.Errorf("ch chart: aum_daily is empty: run fundflow ch refresh first")
		}
		last := pts[len(pts)-1]
		f, err := os.Create(c.Out)
		if err != nil {
			return fmt.Errorf("ch chart: %w", err)
		}
		lines := []string{
			fmt.Sprintf("Total AUM (Value) against the net money invested since the first day (Invested), month ends %s to %s (aum_daily, flows_daily).",
				pts[0].Date, last.Date),
			fmt.Sprintf("On %s: AUM %s, net invested %s, market gain %s (INR).", last.Date, last.Value.StringFixed(2), last.Invested.StringFixed(2),
				last.Value.Sub(last.Invested).StringFixed(2)),
		}
		if err := api.RenderAUMChart(f, "Assets under management and net inflows", lines, pts); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("ch chart: %w", err)
		}
		fmt.Fprintf(a.stdout, "%s: %d month ends, %s to %s; AUM %s, net invested %s\n", c.Out, len(pts), pts[0].Date, last.Date,
			last.Value.StringFixed(2), last.Invested.StringFixed(2))
		return nil
	})
}

type chRefreshCmd struct {
	AsOf         dateFlag `name:"as-of" help:"The date the models are as of (default: today, IST)." placeholder:"YYYY-MM-DD"`
	RiskFree     string   `name:"risk-free" default:"0.065" help:"The annual risk-free rate for Sharpe and Sortino (default ${default})." placeholder:"RATE"`
	RiskFreeFile string   `name:"risk-free-file" help:"An effective-dated risk-free series instead of --risk-free (header effective_from,annual_rate; see fundflow check risk)." placeholder:"FILE.csv"`
	Full         bool     `help:"Rebuild aum_daily whole instead of only the days touched since the last refresh."`
	Held         bool     `help:"Returns, rolling returns and risk for the schemes with transactions only (quick; beta against those schemes' category averages)."`
}

func (chRefreshCmd) Help() string {
	return `Copy the scheme history to scheme_versions (the scheme_dim view names every model's schemes), write aum_daily from the transaction facts and the ledger's NAVs (every calendar day, NAVs carried over holidays; incrementally: only the days of the schemes touched by facts or NAVs loaded since the last refresh, and the days after its as_of, unless --full; the log is aum_refreshes), and scheme_returns, scheme_rolling_returns and scheme_risk from nav_history with fund/risk (the definitions ` + "`fundflow check risk`" + ` prints). Idempotent: a second refresh replaces the rows. Prints the rows written.`
}

func (c chRefreshCmd) Run(a *app) error {
	rates, err := riskFreeRates(c.RiskFree, c.RiskFreeFile)
	if err != nil {
		return err
	}
	asOf := c.AsOf.Date
	if asOf.IsZero() {
		asOf = fund.DateOf(time.Now().In(time.FixedZone("IST", 5*3600+1800)))
	}
	return a.connected(func(d *deps) error {
		st, err := refresh.Refresher{PG: d.pg.Pool, CH: d.ch, Rates: rates, FullAUM: c.Full, OnlyHeld: c.Held}.All(a.ctx, asOf)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, st)
	})
}

type chRange struct {
	From dateFlag `required:"" help:"The first NAV date." placeholder:"YYYY-MM-DD"`
	To   dateFlag `required:"" help:"The last NAV date." placeholder:"YYYY-MM-DD"`
}

func (r chRange) check() error {
	if r.To.Before(r.From.Date) {
		return usageErr("--to %s is before --from %s", r.To.Date, r.From.Date)
	}
	return nil
}

type chCheckCmd struct{ chRange }

func (chCheckCmd) Help() string {
	return `The facts-check job's comparison without its repair or alert: ledger_transactions against the ClickHouse transactions table (FINAL), totalled by NAV date, scheme and kind. Prints {from, to, keys, diffs}; exit 1 when anything differs (repair with ` + "`fundflow ch resync`" + ` or let the scheduled facts-check do it).`
}

func (c chCheckCmd) Run(a *app) error {
	if err := c.check(); err != nil {
		return err
	}
	return a.connected(func(d *deps) error {
		rep, err := factscheck.Compare(a.ctx, d.pg.Pool, d.ch, c.From.Date, c.To.Date)
		if err != nil {
			return err
		}
		if err := printJSON(a.stdout, rep); err != nil {
			return err
		}
		if len(rep.Diffs) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("ch check: %d (date, scheme, kind) keys differ", len(rep.Diffs))}
		}
		return nil
	})
}

type chResyncCmd struct{ chRange }

func (chResyncCmd) Help() string {
	return `Write every ledger transaction of the NAV dates as a ClickHouse fact (the facts relay's own row, versioned above any copy stored) and delete the facts of those dates the ledger does not have. Running it again changes nothing. Prints {from, to, written, deleted}.`
}

func (c chResyncCmd) Run(a *app) error {
	if err := c.check(); err != nil {
		return err
	}
	return a.connected(func(d *deps) error {
		st, err := analytics.Resync(a.ctx, analyticspg.Store{Pool: d.pg.Pool}, chstore.Store{Conn: d.ch}, c.From.Date, c.To.Date)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, st)
	})
}

// analyticsRates is the risk-free series of pipelines.facts-check's
// risk_free_file; nil without one.
func analyticsRates(d *deps) (risk.Rates, error) {
	if c := d.cfg.Pipelines.FactsCheck; c != nil && c.RiskFreeFile != "" {
		return config.LoadRates(c.RiskFreeFile)
	}
	return nil, nil
}

// factsCheckJob is serve's facts-check, from the config's section.
func factsCheckJob(d *deps) factscheck.Job {
	c := d.cfg.Pipelines.FactsCheck
	j := factscheck.Job{PG: d.pg.Pool, CH: d.ch, Days: c.Days, Rec: d.recorder(), Log: d.log}
	if !c.SkipModels {
		j.Models = &refresh.Refresher{PG: d.pg.Pool, CH: d.ch, RiskFree: decimal.RequireFromString(c.RiskFree)} // validated by config
		rs, err := analyticsRates(d)
		if err != nil { // validated by config too: read again, it may have changed since
			d.log.Error("facts-check: the risk-free file; the models use risk_free", "err", err)
		}
		j.Models.Rates = rs
	}
	return j
}

// factsOfGenerated resyncs the ClickHouse facts of the NAV dates `gen
// ledger` wrote (it copies rows behind the ledger service, so no outbox
// event announces them): the generated ledger reaches the analysts too.
// Without a ClickHouse URL in the environment it says how to do it later.
func (a *app) factsOfGenerated(ctx context.Context, pool *pgxpool.Pool, opt ledgergen.Options) error {
	env := "FUNDFLOW_CH_URL"
	if cfg, err := config.Load(a.g.Config); err == nil {
		env = cfg.Services.ClickHouseURLEnv
	}
	end, days := opt.End, opt.Days // ledgergen's defaults: today (UTC), 730 days
	if end.IsZero() {
		end = fund.DateOf(time.Now().UTC())
	}
	if days <= 0 {
		days = 730
	}
	from := end.AddDays(-days)
	url := os.Getenv(env)
	if url == "" {
		a.log.Warn("gen ledger: no ClickHouse ($"+env+" unset): the facts are not written", "fix", fmt.Sprintf("fundflow ch resync --from %s --to %s", from, end))
		return nil
	}
	conn, err := clickhouse.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := analytics.Resync(ctx, analyticspg.Store{Pool: pool}, chstore.Store{Conn: conn}, from, end)
	if err != nil {
		return fmt.Errorf("gen ledger: facts: %w", err)
	}
	a.log.Info("gen ledger: facts written to ClickHouse", "from", from, "to", end, "written", st.Written, "deleted", st.Deleted)
	return nil
}
