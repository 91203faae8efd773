package main

import (
	"fmt"
	"os"

	"github.com/fundflow/fundflow/internal/navgen"
)

type genCmd struct {
	NAVHistory navHistoryCmd `cmd:"" name:"nav-history" help:"synthesise years of daily NAV files (or one history report) from a real one"`
	SIPs       genSIPsCmd    `cmd:"" name:"sips" help:"replay months of SIPs for two demo investors through the plans service, ledger and a stand-in gateway on a simulated clock"`
	Ledger     genLedgerCmd  `cmd:"" help:"write a synthetic ledger of N folios into the money path's tables (COPY)"`
	Fraud      genFraudCmd   `cmd:"" name:"fraud" help:"write a stream of investor, order and payment events with fraud patterns planted in it, and its truth file"`
	RTA        genRTACmd     `cmd:"" name:"rta" help:"write CAMS/KFintech mailback files from our ledger as of a date, with differences injected and listed in a truth file"`
	Brokerage  genBrokCmd    `cmd:"" help:"write the AMC's monthly brokerage statement for our month of trail, with differences injected and listed in a truth file"`
	KRA        genKRACmd     `cmd:"" name:"kra" help:"write KRA status and PAN-Aadhaar files for the onboarded investors, with holds, rejections, inoperative PANs and bad rows injected and a truth file"`
}

type navHistoryCmd struct {
	From     string   `required:"" type:"existingfile" help:"A real NAVAll file to start from." placeholder:"FILE"`
	Days     int      `required:"" help:"Business days to generate (>= 1)." placeholder:"N"`
	Out      string   `required:"" help:"Folder to write into (created if missing)." placeholder:"DIR"`
	Seed     uint64   `default:"1" help:"Random seed."`
	End      dateFlag `help:"The last business day (default: the template's own business date)." placeholder:"YYYY-MM-DD"`
	Holidays []string `sep:"none" help:"A holiday file, one DD-Mon-YYYY date a line (repeatable)." placeholder:"FILE"`
	History  bool     `help:"Write one history report instead of daily files."`
	NAEvery  int      `name:"na-every" help:"About one row in N is N.A. (0: 5000, -1: none)." placeholder:"N"`
	Schemes  []string `help:"Only these scheme codes (comma-separated; default: every scheme of the file)." placeholder:"CODE,..."`
}

func (navHistoryCmd) Help() string {
	return `The same schemes, names, ISINs, categories, AMCs and layout as the real file, NAVs walking from the real ones back in time (a seeded random walk, exact to 4 decimals), a few N.A. rows. Writes one NAVAll_YYYY-MM-DD.txt per business day (6-field layout, CRLF), stamped 23:00 IST of its day; with --history, one NAVHistory_FROM_TO.txt report (amfi-history layout) instead. Prints a JSON summary.`
}

func (c navHistoryCmd) Run(a *app) error {
	if c.Days < 1 {
		return usageErr("gen nav-history: --days must be at least 1")
	}
	cal, err := calendar(c.Holidays)
	if err != nil {
		return err
	}
	opt := navgen.Options{Days: c.Days, Seed: c.Seed, Calendar: cal, NAEvery: c.NAEvery, End: c.End.Date}
	f, err := os.Open(c.From)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	tmpl, err := navgen.LoadTemplate(f)
	f.Close()
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.From, err)}
	}
	if len(c.Schemes) > 0 {
		if _, err := tmpl.Keep(c.Schemes); err != nil {
			return usageErr("gen nav-history --schemes: %v", err)
		}
	}
	g, err := navgen.New(tmpl, opt)
	if err != nil {
		return usageErr("%v", err)
	}
	sum, err := g.Write(c.Out, c.History, a.stderr)
	if err != nil {
		return err
	}
	return printJSON(a.stdout, sum)
}
