package main

import (
	"context"
	"errors"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/jobs/apiserve"
)

// startAPI serves the query API on serve.api.addr until stopped. Its plan
// routes count business days on allocate's holiday files.
func startAPI(ctx context.Context, d *deps) (stop func(), err error) {
	if d.cfg.Serve.API.Addr == "" {
		return func() {}, nil
	}
	var files []string
	if a := d.cfg.Pipelines.Allocate; a != nil {
		files = a.Holidays
	}
	cal, err := calendar(files)
	if err != nil {
		return nil, err
	}
	svc := apiserve.PlansService(d.pg.Pool, cal, d.cfg.Plans)
	m, err := api.NewHTTPMetrics(d.reg)
	if err != nil {
		return nil, err
	}
	stop, err = apiserve.Start(ctx, d.cfg.Serve.API, apiserve.Deps{PG: d.pg.Pool, CH: d.ch, Ready: d.pgReady, Log: d.log, Plans: svc, Metrics: m})
	var ce *apiserve.ConfigError
	if errors.As(err, &ce) {
		return nil, &exitError{code: 2, err: err}
	}
	return stop, err
}
