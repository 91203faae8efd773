package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

type poolFeesCmd struct {
	Terms poolFeeTermsCmd `cmd:"" help:"set a pool's fee terms from a date (AUM rate, performance fee, hurdle), JSON"`
}

type poolFeeTermsCmd struct {
	Pool    string    `required:"" help:"The pool id." placeholder:"ID"`
	From    fund.Date `required:"" help:"In effect from this date (YYYY-MM-DD); the same date again replaces them." placeholder:"DATE"`
	AUMRate string    `required:"" name:"aum-rate" help:"Annual management fee in percent (\"1.25\"), accrued daily in the pool NAV." placeholder:"PCT"`
	Perf    string    `default:"0" help:"Performance fee in percent of the gain per unit above the high-water mark." placeholder:"PCT"`
	Hurdle  string    `default:"0" help:"Hurdle in percent over the NAV at the last crystallisation." placeholder:"PCT"`
}

func (c poolFeeTermsCmd) Run(a *app) error {
	var ps [3]decimal.Decimal
	for i, f := range []struct{ name, v string }{{"--aum-rate", c.AUMRate}, {"--perf", c.Perf}, {"--hurdle", c.Hurdle}} {
		d, err := decimal.NewFromString(strings.TrimSpace(f.v))
		if err != nil {
			return usageErr("%s %q: not a number", f.name, f.v)
		}
		ps[i] = d
	}
	return a.pools(time.Time{}, func(_ *deps, s *pool.Service) error {
		t := pool.FeeTerms{Pool: c.Pool, From: c.From, AUMRatePct: ps[0], PerfPct: ps[1], HurdlePct: ps[2]}
		if err := s.SetFeeTerms(a.ctx, t); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("pool fees terms: %w", err)}
		}
		return printJSON(a.stdout, t)
	})
}
