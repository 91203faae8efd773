package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/jobs/instalments"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/plans"
	planspg "github.com/fundflow/fundflow/plans/pgstore"
)

// errNoInstalments is `fundflow run instalments` without the section.
var errNoInstalments = errors.New("the instalment run is not configured: add a pipelines.instalments section to the config")

// instalmentsJob is the instalment run from pipelines.instalments: the
// plans service over the money path's ledger, presenting SIP debits to the
// configured gateway (none when its key variables are empty: the run then
// fails at the first SIP debit, leaving it due).
func instalmentsJob(d *deps) (instalments.Job, error) {
	c := d.cfg.Pipelines.Instalments
	if c == nil {
		return instalments.Job{}, &exitError{code: 2, err: errNoInstalments}
	}
	l, err := moneyLedger(d)
	if err != nil {
		return instalments.Job{}, err
	}
	svc := plansService(d, l)
	g := c.Gateway
	if id, secret := os.Getenv(g.KeyIDEnv), os.Getenv(g.KeySecretEnv); id != "" && secret != "" {
		svc.Debiter = &razorpay.Client{BaseURL: g.BaseURL, KeyID: id, KeySecret: secret, HTTP: &http.Client{Timeout: g.Timeout}}
	}
	return instalments.Job{Plans: svc, Locker: d.pg, Recorder: d.recorder(), Log: d.log}, nil
}

// plansService is the plans service the instalment run (and gen sips)
// drives: the config's plans section (max_failures, pre_debit_notice,
// horizon_days, …), the money path's ledger and calendar, our clock. No
// gateway: the caller sets Debiter.
func plansService(d *deps, l *ledger.Service) *plans.Service {
	return &plans.Service{Store: planspg.Store{Pool: d.pg.Pool}, Calendar: l.Calendar, Config: d.cfg.Plans.Rules(), Now: d.now, Orders: l, Log: d.log}
}

// cmdInstalments is `fundflow run instalments`: one whole run under the
// job's single-runner lock, printed as a run summary with each step's
// counts.
func cmdInstalments(ctx context.Context, d *deps, stdout io.Writer) error {
	j, err := instalmentsJob(d)
	if err != nil {
		return err
	}
	st, err := j.Run(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(struct {
		runSummary
		instalments.Stats
	}{summary(instalments.Name, st.Run()), st})
}

type instalmentsCmd struct {
	// Clock fixes the run's clock (the day it presents for, the time its
	// orders carry): for tests that replay a month of runs, never for
	// production, hence hidden.
	Clock time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests only"`
}

func (c instalmentsCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		if !c.Clock.IsZero() {
			d.clock = func() time.Time { return c.Clock }
		}
		return cmdInstalments(a.ctx, d, a.stdout)
	})
}

// serveInstalmentSettle settles every pipelines.instalments.settle_every
// in the background until ctx ends (serve), between the scheduled runs.
func serveInstalmentSettle(ctx context.Context, d *deps) error {
	c := d.cfg.Pipelines.Instalments
	if c == nil {
		return nil
	}
	j, err := instalmentsJob(d)
	if err != nil {
		return err
	}
	go j.SettleEvery(ctx, c.SettleEvery) //nolint:errcheck // ends with ctx; failed passes are logged and retried
	return nil
}

// instalmentsScheduled is the scheduled whole run (none without the
// section).
func instalmentsScheduled(d *deps) (*instalments.Job, string, error) {
	c := d.cfg.Pipelines.Instalments
	if c == nil {
		return nil, "", nil
	}
	j, err := instalmentsJob(d)
	return &j, c.Schedule, err
}
