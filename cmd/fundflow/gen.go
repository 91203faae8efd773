package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/navgen"
)

const genUsage = `usage:
  fundflow gen nav-history --from FILE --days N --out DIR [--seed S] [--end YYYY-MM-DD]
                           [--holidays FILE]... [--history] [--na-every N]
      Synthesise N business days of NAV history from a real NAVAll file: the
      same schemes, names, ISINs, categories, AMCs and layout, NAVs walking
      from the real ones back in time (a seeded random walk, exact to 4
      decimals), a few N.A. rows. Writes one NAVAll_YYYY-MM-DD.txt per
      business day (6-field layout, CRLF), stamped 23:00 IST of its day;
      with --history, one NAVHistory_FROM_TO.txt report (amfi-history layout)
      instead. Holiday FILEs have one DD-Mon-YYYY date a line. The last day
      is --end, default the template's own business date. Prints a JSON summary.`

func cmdGen(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "nav-history" {
		return usageErr("%s", genUsage)
	}
	fs := newFlags("gen nav-history")
	from := fs.String("from", "", "a real NAVAll file to start from")
	days := fs.Int("days", 0, "business days to generate")
	out := fs.String("out", "", "folder to write into (created if missing)")
	seed := fs.Uint64("seed", 1, "random seed")
	end := fs.String("end", "", "last business day, YYYY-MM-DD")
	history := fs.Bool("history", false, "write one history report instead of daily files")
	naEvery := fs.Int("na-every", 0, "about one row in N is N.A. (0: 5000, -1: none)")
	var hols holidays.Flag
	fs.Var(&hols, "holidays", "holiday file (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageErr("gen nav-history: %v\n%s", err, genUsage)
	}
	if *from == "" || *days < 1 || *out == "" {
		return usageErr("gen nav-history needs --from, --days (>= 1) and --out\n%s", genUsage)
	}
	opt := navgen.Options{Days: *days, Seed: *seed, Calendar: hols.Calendar(), NAEvery: *naEvery}
	if *end != "" {
		d, err := fund.ParseISODate(*end)
		if err != nil {
			return usageErr("--end: %v", err)
		}
		opt.End = d
	}
	f, err := os.Open(*from)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	tmpl, err := navgen.LoadTemplate(f)
	f.Close()
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", *from, err)}
	}
	g, err := navgen.New(tmpl, opt)
	if err != nil {
		return usageErr("%v", err)
	}
	sum, err := g.Write(*out, *history, stderr)
	if err != nil {
		return err
	}
	return printJSON(stdout, sum)
}
