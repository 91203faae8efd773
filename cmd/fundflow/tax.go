package main

import (
	"fmt"
	"os"

	"github.com/fundflow/fundflow/fund/tax"
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
	cs, err := tax.ParseCase(f)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.Case, err)}
	}
	res, err := tax.Check(cs)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return printJSON(a.stdout, res)
}
