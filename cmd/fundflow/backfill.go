package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/backfill"
)

const backfillUsage = `usage:
  fundflow backfill nav --dir DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--glob PATTERN]
      Load a folder of NAV files (daily NAVAll files and history reports) in
      date order through nav-ingest's parser, validation and sinks. A file's
      date is the date in its name (a name with two dates is a range), else
      its business date; --from/--to keep the files dated within them (a
      range that overlaps is loaded whole). Progress goes to stderr: a bar
      on a terminal, a line every 5 s otherwise. Ctrl-C or SIGTERM stops
      after the batch in flight; the same command again resumes where it
      stopped: finished files are recognised by their SHA-256 and skipped, a
      file cut short continues after its last committed line. Prints a JSON
      summary. Needs the config's pipelines.nav-ingest section (batch size,
      thresholds) but not its source.`

func cmdBackfill(ctx context.Context, g globals, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "nav" {
		return usageErr("%s", backfillUsage)
	}
	fs := newFlags("backfill nav")
	dir := fs.String("dir", "", "folder of NAV files")
	fromS := fs.String("from", "", "first date, YYYY-MM-DD")
	toS := fs.String("to", "", "last date, YYYY-MM-DD")
	glob := fs.String("glob", "", "file name pattern, e.g. NAVAll_*.txt")
	every := fs.Duration("progress-every", 5*time.Second, "plain progress line interval when stderr is not a terminal")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageErr("backfill nav: bad arguments (%v)\n%s", err, backfillUsage)
	}
	if *dir == "" {
		return usageErr("backfill nav needs --dir\n%s", backfillUsage)
	}
	var from, to fund.Date
	for _, f := range []struct {
		s   string
		d   *fund.Date
		tag string
	}{{*fromS, &from, "--from"}, {*toS, &to, "--to"}} {
		if f.s == "" {
			continue
		}
		d, err := fund.ParseISODate(f.s)
		if err != nil {
			return usageErr("%s: %v", f.tag, err)
		}
		*f.d = d
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return usageErr("--to %s is before --from %s", to, from)
	}
	if *glob != "" {
		if _, err := path.Match(*glob, ""); err != nil {
			return usageErr("--glob %q: %v", *glob, err)
		}
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return usageErr("--dir %s: not a folder (%v)", *dir, err)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if cfg.Pipelines.NAVIngest == nil {
		return usageErr("backfill nav uses nav-ingest's settings: add a pipelines.nav-ingest section to the config")
	}
	d, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	res, runErr := backfill.Run(ctx, d.navDeps(), cfg.Pipelines.NAVIngest, backfill.Options{Dir: *dir, From: from, To: to, Glob: *glob, Progress: stderr, Every: *every})
	out := struct {
		runSummary
		Files     int     `json:"files"`
		FilesDone int     `json:"files_done"`
		Seconds   float64 `json:"seconds"`
		RowsPerS  int64   `json:"rows_per_second"`
	}{summary(backfill.Name, res.Stats), res.Files, res.FilesDone, res.Elapsed.Round(10 * time.Millisecond).Seconds(), int64(res.RowsPerS)}
	if runErr != nil && errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintf(stderr, "backfill: interrupted after %d of %d files; run the same command again to resume\n", res.FilesDone, res.Files)
		json.NewEncoder(stdout).Encode(out) //nolint:errcheck
		return &exitError{code: 130, err: errors.New("backfill interrupted")}
	}
	if runErr != nil {
		return runErr
	}
	return printJSON(stdout, out)
}
