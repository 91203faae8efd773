package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
)

const runsUsage = `usage: fundflow runs [--pipeline NAME] [--limit N]

Prints the latest pipeline runs (job_runs), newest first, one JSON object a
line: id, pipeline, status (running, ok, failed, abandoned), times, counts,
error, host and pid. A run whose process is gone (killed, crashed) is marked
abandoned first, with the reason in error.`

// cmdRuns is `fundflow runs`.
func cmdRuns(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := newFlags("runs")
	pipeline := fs.String("pipeline", "", "only this pipeline")
	limit := fs.Int("limit", 20, "at most this many runs")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *limit < 1 {
		return usageErr("%s", runsUsage)
	}
	d, err := loadAndConnect(ctx, g, log)
	if err != nil {
		return err
	}
	defer d.Close()
	runs, err := d.pg.ListRuns(ctx, *pipeline, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, r := range runs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
