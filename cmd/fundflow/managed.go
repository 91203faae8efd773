package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	jobmanaged "github.com/fundflow/fundflow/jobs/managed"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// distributeCmd is `fundflow check distribute`: a pool distribution's
// shares by managed.DistributePool, the code pool distributions use.
type distributeCmd struct {
	Amount string `required:"" help:"The amount distributed, in rupees to the paisa (\"1000.00\")." placeholder:"RUPEES"`
	Units  string `required:"" help:"Each holder's units, comma-separated, in order (\"1.5,2.25,7\")." placeholder:"U1,U2,..."`
}

func (distributeCmd) Help() string {
	return `Split a distribution over holders pro rata to their units, as a pool distribution does, and print each holder's share in the order given:

  {"shares": ["139.54", "209.30", "651.16"]}

The method is the largest remainder to the paisa: each share is amount × units / total units rounded down to the paisa, and the paise left over go one each to the holders whose dropped remainders are largest, ties to the holder listed first. The shares sum exactly to the amount. Units are plain decimals (up to 9 decimals), none negative, not all zero.

Exit 0 with the JSON, 2 with a one-line message naming the flag that is wrong.`
}

func (c distributeCmd) Run(a *app) error {
	amount, err := fund.ParseAmount(strings.TrimSpace(c.Amount))
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--amount: %w", err)}
	}
	if amount.IsNegative() {
		return &exitError{code: 2, err: fmt.Errorf("--amount: %s is negative", amount)}
	}
	units, err := managed.ParseUnitsList(c.Units)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--units: %w", err)}
	}
	holders := make([]managed.Holder, len(units))
	for i, u := range units {
		hu, err := fund.UnitsFromDecimal(u, fund.MaxUnitsScale, fund.NoRounding)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--units: %w", err)}
		}
		holders[i] = managed.Holder{ID: fmt.Sprint(i + 1), Units: hu}
	}
	// The pool distribution's own function (no reinvestment here: no NAV).
	shares, err := managed.DistributePool(amount, holders, fund.NAV{})
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--units: %w", err)}
	}
	// One line, the layout: {"shares": ["…", …]}.
	quoted := make([]string, len(shares))
	for i, s := range shares {
		b, _ := json.Marshal(s.Amount.String())
		quoted[i] = string(b)
	}
	_, err = fmt.Fprintf(a.stdout, "{\"shares\": [%s]}\n", strings.Join(quoted, ", "))
	return err
}

// managedRunCmd is `fundflow run managed`: credit the wallet deposits the
// webhooks stored and auto-invest them (jobs/managed), once, under the
// job's single-runner lock.
type managedRunCmd struct {
	Batch int `default:"100" help:"Deposits per pass."`
	// Clock fixes the run's clock (the orders' placed time, the wallet
	// payments' capture time): for tests, never for production.
	Clock time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests only"`
}

// managedJob is the managed run as `fundflow run managed` wires it (the
// SIP-into-wallet test drives the same).
func managedJob(d *deps, l *ledger.Service, batch int) jobmanaged.Job {
	ws := &wallet.Service{Store: walletpg.Store{Pool: d.pg.Pool}, Audit: l.Audit, Now: d.now}
	fees := &wallet.Fees{Wallet: ws, Store: walletpg.Store{Pool: d.pg.Pool}, Ledger: l, MaxSkew: 5 * time.Minute}
	return jobmanaged.Job{Wallet: ws, Batch: batch, Log: d.log,
		Auto:      &wallet.AutoInvest{Wallet: ws, Store: walletpg.Store{Pool: d.pg.Pool}, Ledger: l, MaxSkew: 5 * time.Minute}, // placed_at is our own clock
		Rebalance: &wallet.Rebalancer{Wallet: ws, Store: walletpg.Store{Pool: d.pg.Pool}, Ledger: l, MaxSkew: 5 * time.Minute},
		Fees:      fees,
		Exits:     exits(d, l, fees),
		Now:       d.now,
		Today:     func() fund.Date { return fund.DateOf(d.now().In(fund.IST())) },
		Check:     managedCheck(d), CheckStore: walletpg.Store{Pool: d.pg.Pool}}
}

// exits is the wallet exit as `managed exit` and the managed run's
// resume of exits left closing wire it.
func exits(d *deps, l *ledger.Service, fees *wallet.Fees) *wallet.Exits {
	return &wallet.Exits{Fees: fees, Store: walletpg.Store{Pool: d.pg.Pool}, CrystalliseMonth: quarterBilling(d, l).CrystalliseMonth}
}

// managedCheck is the drift check pipelines.managed.rebalance configures
// (nil without the section or with mode off).
func managedCheck(d *deps) *wallet.CheckOptions {
	x := d.cfg.Pipelines.Managed
	if x == nil || x.Rebalance.Mode == "off" {
		return nil
	}
	return &wallet.CheckOptions{ThresholdPP: d.cfg.ThresholdPPOrDefault(), Execute: x.Rebalance.Mode == "execute", TaxAware: x.Rebalance.TaxAware}
}

func (c managedRunCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		if !c.Clock.IsZero() {
			d.clock = func() time.Time { return c.Clock }
		}
		l, err := moneyLedger(d)
		if err != nil {
			return err
		}
		j := managedJob(d, l, c.Batch)
		var st jobmanaged.Stats
		if err := supervise.Single(a.ctx, d.pg, jobmanaged.Name, func(ctx context.Context) (err error) { st, err = j.Run(ctx); return err }); err != nil {
			return err
		}
		return printJSON(a.stdout, st)
	})
}

// quarterBilling is the scheduled quarterly fee billing of
// pipelines.managed.fees (defaults without the section), on the ledger's
// business days (allocate's holidays).
func quarterBilling(d *deps, l *ledger.Service) *wallet.QuarterBilling {
	st := walletpg.Store{Pool: d.pg.Pool}
	ws := &wallet.Service{Store: st, Audit: l.Audit, Now: d.now}
	qb := &wallet.QuarterBilling{Fees: &wallet.Fees{Wallet: ws, Store: st, Ledger: l, MaxSkew: 5 * time.Minute}, Store: st,
		Calendar: l.Calendar, CrystalliseMonth: time.March}
	if x := d.cfg.Pipelines.Managed; x != nil {
		qb.CrystalliseMonth, qb.Batch = time.Month(x.Fees.CrystalliseMonth), x.Fees.Batch
	}
	return qb
}

// quarterRuns is a managed-fees run: the wallets' quarter (its fields at
// the top level, as before pools were billed on the schedule) and the
// pools'.
type quarterRuns struct {
	wallet.QuarterRun
	Pools pool.QuarterRun `json:"pools"`
}

// runQuarterBilling is one run of it under the managed-fees lock: the
// wallets, then the pools (each whatever the other did).
func runQuarterBilling(ctx context.Context, d *deps) (quarterRuns, error) {
	l, err := moneyLedger(d)
	if err != nil {
		return quarterRuns{}, err
	}
	qb := quarterBilling(d, l)
	var r quarterRuns
	err = supervise.Single(ctx, d.pg, jobmanaged.FeesName, func(ctx context.Context) error {
		var wErr, pErr error
		r.QuarterRun, wErr = qb.Run(ctx, d.now())
		r.Pools, pErr = poolQuarterBilling(d, l, qb.CrystalliseMonth).Run(ctx, d.now()) // the pools, on the same schedule
		return errors.Join(wErr, pErr)
	})
	return r, err
}

// managedFeesRunCmd is `fundflow run managed-fees`: the scheduled
// quarterly billing's run, once (serve runs it on
// pipelines.managed.fees.bill_schedule).
type managedFeesRunCmd struct {
	// Clock fixes the run's clock: for tests and the demo, never for
	// production.
	Clock time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests only"`
}

func (managedFeesRunCmd) Help() string {
	return `Bill the quarter just finished, once: every wallet with fee terms gets its invoice of the quarter (the AUM fee, each rate for its own days; at the quarter ending pipelines.managed.fees.crystallise_month, default March, the performance fee too), with GST, paid from the wallet's cash when it covers it. Before the first business day after the quarter's end it bills nothing (status not_yet); once a quarter is billed, later runs read nothing (already_billed). Wallets that could not be billed are listed with the reason. Pools with fee terms are billed in the same run (under "pools"): each pool's quarter once, by its invoice (a pool already charged is not read again; a due one, waiting for its holdings sales, is taken a step further); a pool short of cash and holdings, or whose NAV has not reached the quarter's last business day, is listed with the reason and tried again by the next run. Prints the run as JSON.`
}

func (c managedFeesRunCmd) Run(a *app) error {
	return a.connected(func(d *deps) error {
		if !c.Clock.IsZero() {
			d.clock = func() time.Time { return c.Clock }
		}
		r, err := runQuarterBilling(a.ctx, d)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, r)
	})
}
