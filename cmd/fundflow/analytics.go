package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund/risk"
)

// checkRiskCmd is `fundflow check risk`: the analytics models' figures for
// one NAV series, computed by fund/risk, the code the models and the API use.
type checkRiskCmd struct {
	NAVs     string `name:"navs" required:"" help:"A CSV of date,nav rows (ISO dates, increasing; an optional date,nav header)." placeholder:"FILE.csv"`
	RiskFree string `name:"risk-free" default:"0" help:"The annual risk-free rate for Sharpe and Sortino, as a fraction (0.065 for 6.5 %; default ${default})." placeholder:"RATE"`
}

func (checkRiskCmd) Help() string {
	return `Compute a NAV series' volatility, CAGR, maximum drawdown (peak, trough, recovery), 1-day historical VaR and CVaR at 95 % and 99 %, Sharpe and Sortino, with the definitions of issue 20 (printed under "methods"), and print them as JSON: every figure a decimal string rounded half-even to 8 places; null where a figure is undefined. Writes nothing. Exit 2 naming the line when the file is not a date,nav series, or with fewer than 3 NAVs.`
}

func (c checkRiskCmd) Run(a *app) error {
	rf, err := decimal.NewFromString(c.RiskFree)
	if err != nil {
		return usageErr("--risk-free %q: want a fraction like 0.065", c.RiskFree)
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
	rep, err := risk.Compute(s, rf)
	if errors.Is(err, risk.ErrTooFewNAVs) || errors.Is(err, risk.ErrBadSeries) {
		return &exitError{code: 2, err: fmt.Errorf("check risk: %s: %w", c.NAVs, err)}
	}
	if err != nil {
		return fmt.Errorf("check risk: %w", err)
	}
	return printJSON(a.stdout, rep.Figures())
}
