package main

import (
	"context"
	"errors"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/api/console"
	"github.com/fundflow/fundflow/jobs/apiserve"
	"github.com/fundflow/fundflow/jobs/navfreshness"
	"github.com/fundflow/fundflow/pool"
	poolpg "github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
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
	// The ops console reads freshness with nav-freshness's options and
	// replays quarantined rows through nav-ingest's sinks, as the CLI does.
	fresh, err := navfreshness.OptionsFrom(d.cfg.Pipelines)
	if err != nil {
		return nil, err
	}
	con := &console.Config{Store: &console.Store{PG: d.pg, Freshness: fresh}, NAV: d.navDeps(), NAVIngest: d.cfg.Pipelines.NAVIngest,
		Fraud: fraudReviewService(d)}
	rates, err := analyticsRates(d)
	if err != nil {
		return nil, err
	}
	// Audited as the ledger is (pipelines.allocate.audit, on by default):
	// the cancel route moves money.
	audit := d.cfg.Pipelines.Allocate == nil || d.cfg.Pipelines.Allocate.Audit == nil || *d.cfg.Pipelines.Allocate.Audit
	ws := &wallet.Service{Store: walletpg.Store{Pool: d.pg.Pool}, Audit: audit, Now: d.now}
	stop, err = apiserve.Start(ctx, d.cfg.Serve.API, apiserve.Deps{PG: d.pg.Pool, CH: d.ch, Ready: d.pgReady, Log: d.log, Plans: svc, Console: con, Metrics: m, RiskFree: rates,
		FraudReview:      fraudReview(d),
		Wallets:          ws,
		WalletStatements: ws,
		Pools:            &pool.Service{Store: poolpg.Store{Pool: d.pg.Pool}},
		Drift:            &wallet.Rebalancer{Wallet: ws, Store: walletpg.Store{Pool: d.pg.Pool}, Calendar: cal}, // a NAV's freshness on allocate's holidays
		DriftThresholdPP: ptrTo(d.cfg.ThresholdPPOrDefault()),                                                   // "0" configured is 0
		FeeCharges:       walletpg.Store{Pool: d.pg.Pool},
		RiskProfiles:     &wallet.Risk{Store: walletpg.Store{Pool: d.pg.Pool}, Audit: true},
		Tax:              apiserve.TaxAPI(d.pg.Pool, cal)})
	var ce *apiserve.ConfigError
	if errors.As(err, &ce) {
		return nil, &exitError{code: 2, err: err}
	}
	return stop, err
}

// ptrTo is v's address: a value that is set, 0 included.
func ptrTo[T any](v T) *T { return &v }
