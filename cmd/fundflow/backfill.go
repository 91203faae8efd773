package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/fundflow/fundflow/jobs/backfill"
)

type backfillCmd struct {
	NAV backfillNAVCmd `cmd:"" name:"nav" help:"load a folder of NAV files/reports in date order, with progress; Ctrl-C stops, the same command resumes"`
}

type backfillNAVCmd struct {
	Dir           string        `required:"" type:"existingdir" help:"The folder of NAV files." placeholder:"DIR"`
	From          dateFlag      `help:"Keep the files dated from this day on." placeholder:"YYYY-MM-DD"`
	To            dateFlag      `help:"Keep the files dated up to this day." placeholder:"YYYY-MM-DD"`
	Glob          string        `help:"File name pattern, e.g. NAVAll_*.txt." placeholder:"PATTERN"`
	ProgressEvery time.Duration `default:"5s" help:"Interval of the plain progress lines when stderr is not a terminal."`
}

func (backfillNAVCmd) Help() string {
	return `Daily NAVAll files and history reports go through nav-ingest's parser, validation and sinks. A file's date is the date in its name (a name with two dates is a range), else its business date; --from/--to keep the files dated within them (a range that overlaps is loaded whole). Progress goes to stderr: a bar on a terminal, a line every --progress-every otherwise. Ctrl-C or SIGTERM stops after the batch in flight (exit 130); the same command again resumes where it stopped: finished files are recognised by their SHA-256 and skipped, a file cut short continues after its last committed line. Prints a JSON summary. Needs the config's pipelines.nav-ingest section (batch size, thresholds) but not its source.`
}

func (c backfillNAVCmd) Run(a *app) error {
	if !c.From.IsZero() && !c.To.IsZero() && c.To.Before(c.From.Date) {
		return usageErr("--to %s is before --from %s", c.To, c.From)
	}
	if _, err := path.Match(c.Glob, ""); err != nil {
		return usageErr("--glob %q: %v", c.Glob, err)
	}
	cfg, err := loadConfig(a.g)
	if err != nil {
		return err
	}
	if cfg.Pipelines.NAVIngest == nil {
		return usageErr("backfill nav uses nav-ingest's settings: add a pipelines.nav-ingest section to the config")
	}
	d, err := connect(a.ctx, cfg, a.log)
	if err != nil {
		return err
	}
	defer d.Close()
	opt := backfill.Options{Dir: c.Dir, From: c.From.Date, To: c.To.Date, Glob: c.Glob, Progress: a.stderr, Every: c.ProgressEvery}
	res, runErr := backfill.Run(a.ctx, d.navDeps(), cfg.Pipelines.NAVIngest, opt)
	out := struct {
		runSummary
		Files     int     `json:"files"`
		FilesDone int     `json:"files_done"`
		Seconds   float64 `json:"seconds"`
		RowsPerS  int64   `json:"rows_per_second"`
	}{summary(backfill.Name, res.Stats), res.Files, res.FilesDone, res.Elapsed.Round(10 * time.Millisecond).Seconds(), int64(res.RowsPerS)}
	if runErr != nil && errors.Is(runErr, context.Canceled) && a.ctx.Err() != nil {
		fmt.Fprintf(a.stderr, "backfill: interrupted after %d of %d files; run the same command again to resume\n", res.FilesDone, res.Files)
		json.NewEncoder(a.stdout).Encode(out) //nolint:errcheck
		return &exitError{code: 130, err: errors.New("backfill interrupted")}
	}
	if runErr != nil {
		return runErr
	}
	return printJSON(a.stdout, out)
}
