package main

import (
	"context"
	"errors"

	"github.com/fundflow/fundflow/jobs/apiserve"
)

// startAPI serves the query API on serve.api.addr until stopped.
func startAPI(ctx context.Context, d *deps) (stop func(), err error) {
	stop, err = apiserve.Start(ctx, d.cfg.Serve.API, apiserve.Deps{PG: d.pg.Pool, CH: d.ch, Ready: d.pgReady, Log: d.log})
	var ce *apiserve.ConfigError
	if errors.As(err, &ce) {
		return nil, &exitError{code: 2, err: err}
	}
	return stop, err
}
