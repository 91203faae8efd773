package main

import "encoding/json"

type runsCmd struct {
	Pipeline string `help:"Only this pipeline." placeholder:"NAME"`
	Limit    int    `default:"20" help:"At most this many runs (>= 1)." placeholder:"N"`
}

func (runsCmd) Help() string {
	return `The latest runs (job_runs), newest first, one JSON object a line: id, pipeline, status (running, ok, failed, abandoned), times, counts, error, host and pid. A run whose process is gone (killed, crashed) is marked abandoned first, with the reason in error.`
}

func (c runsCmd) Run(a *app) error {
	if c.Limit < 1 {
		return usageErr("runs: --limit must be at least 1")
	}
	return a.connected(func(d *deps) error {
		runs, err := d.pg.ListRuns(a.ctx, c.Pipeline, c.Limit)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(a.stdout)
		for _, r := range runs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}
