package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// managedCmd is the `fundflow managed` group: wallets, model portfolios
// and rebalancing (issue 22).
type managedCmd struct {
	Model     managedModelCmd     `cmd:"" help:"store a model portfolio version from a JSON file (refused unless its weights sum to 100)"`
	Wallet    managedWalletCmd    `cmd:"" help:"open a wallet for an investor and set its auto-invest model and folio"`
	Balance   managedBalanceCmd   `cmd:"" help:"a wallet's balance, model and folio, JSON"`
	Rebalance managedRebalanceCmd `cmd:"" help:"measure a wallet's drift from its model and switch it back over the threshold; --dry-run prints the switches and estimated exit load and tax"`
}

// managedDeps are the services a managed command uses.
type managedDeps struct {
	wallet *wallet.Service
	store  walletpg.Store
	ledger *ledger.Service
}

func (a *app) managed(clock time.Time, f func(d *deps, m managedDeps) error) error {
	return a.connected(func(d *deps) error {
		if !clock.IsZero() {
			d.clock = func() time.Time { return clock }
		}
		l, err := moneyLedger(d)
		if err != nil {
			return err
		}
		st := walletpg.Store{Pool: d.pg.Pool}
		return f(d, managedDeps{wallet: &wallet.Service{Store: st, Audit: l.Audit, Now: d.now}, store: st, ledger: l})
	})
}

type managedModelCmd struct {
	File string `arg:"" help:"The model as JSON: {\"id\", \"version\", \"profile\", \"effective\", \"schemes\": [{\"scheme\", \"weight\", \"min\", \"multiple\"}]}." type:"existingfile"`
}

func (c managedModelCmd) Run(a *app) error {
	b, err := os.ReadFile(c.File)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	m, err := managed.ParseModel(b)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", c.File, err)}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		ai := &wallet.AutoInvest{Wallet: md.wallet, Store: md.store, Ledger: md.ledger}
		if err := ai.PutModel(a.ctx, m); err != nil {
			return &exitError{code: 2, err: err}
		}
		return printJSON(a.stdout, map[string]any{"model": m.ID, "version": m.Version, "effective": m.Effective, "schemes": len(m.Schemes)})
	})
}

type managedWalletCmd struct {
	Wallet   string `required:"" help:"The wallet id." placeholder:"ID"`
	Investor string `required:"" help:"The investor who owns it." placeholder:"ID"`
	Model    string `help:"Auto-invest deposits into this model (with --folio)." placeholder:"ID"`
	Folio    string `help:"The folio auto-invest buys in." placeholder:"FOLIO"`
}

func (c managedWalletCmd) Run(a *app) error {
	if (c.Model == "") != (c.Folio == "") {
		return &exitError{code: 2, err: fmt.Errorf("--model and --folio go together")}
	}
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		if err := md.wallet.Open(a.ctx, c.Wallet, c.Investor); err != nil {
			return err
		}
		if c.Model != "" {
			ai := &wallet.AutoInvest{Wallet: md.wallet, Store: md.store, Ledger: md.ledger}
			if err := ai.SetTerms(a.ctx, wallet.Terms{WalletID: c.Wallet, ModelID: c.Model, Folio: c.Folio, Enabled: true}); err != nil {
				return err
			}
		}
		v, _, err := md.wallet.View(a.ctx, c.Wallet)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, v)
	})
}

type managedBalanceCmd struct {
	Wallet string `required:"" help:"The wallet id." placeholder:"ID"`
}

func (c managedBalanceCmd) Run(a *app) error {
	return a.managed(time.Time{}, func(_ *deps, md managedDeps) error {
		v, ok, err := md.wallet.View(a.ctx, c.Wallet)
		if err != nil {
			return err
		}
		if !ok {
			return &exitError{code: 2, err: fmt.Errorf("--wallet: %w: %s", wallet.ErrNoWallet, c.Wallet)}
		}
		return printJSON(a.stdout, v)
	})
}

type managedRebalanceCmd struct {
	Wallet    string `required:"" help:"The wallet whose folio is rebalanced." placeholder:"ID"`
	Threshold string `default:"5" help:"Drift threshold in percentage points (default: ${default})." placeholder:"PP"`
	Force     bool   `help:"Rebalance even within the threshold (after a model change)."`
	TaxAware  bool   `help:"Bring weights within half the threshold instead of onto the targets, redeeming beyond the unavoidable from the lots with the least short-term gain."`
	DryRun    bool   `help:"Print the plan and the switch requests; place nothing."`
	RunID     string `help:"The run's idempotency key (default: RB-<wallet>-<IST date>: one a day)." placeholder:"ID"`
	// Clock fixes the run's clock: for tests and the demo, never for production.
	Clock time.Time `hidden:"" help:"run as if it were this time (RFC 3339): tests only"`
}

func (managedRebalanceCmd) Help() string {
	return `Measure the wallet's folio against its model (each holding at its latest NAV) and, when some scheme's weight is more than --threshold percentage points off its target (or with --force), switch it back: redemptions paired with purchases into switch orders through the ledger, so lots go FIFO with their exit loads and switch-ins get the NAV rules and stamp duty.

--dry-run prints the plan (drift, trades, switches, each redemption's estimated exit load, short- and long-term gain and tax at the stated rates) and the exact switch requests, and writes nothing. Without it the run is fixed, placed and recorded once per --run-id: the same command again changes nothing. Exit 0 with JSON, 2 for bad flags or a wallet without a model.`
}

func (c managedRebalanceCmd) Run(a *app) error {
	th, err := decimal.NewFromString(strings.TrimSpace(c.Threshold))
	if err != nil || th.IsNegative() {
		return &exitError{code: 2, err: fmt.Errorf("--threshold %q: want a non-negative number of percentage points", c.Threshold)}
	}
	o := wallet.RebalanceOptions{ThresholdPP: th, Force: c.Force, TaxAware: c.TaxAware}
	return a.managed(c.Clock, func(_ *deps, md managedDeps) error {
		rb := &wallet.Rebalancer{Wallet: md.wallet, Store: md.store, Ledger: md.ledger, MaxSkew: 5 * time.Minute}
		if c.DryRun {
			p, err := rb.Propose(a.ctx, c.Wallet, o)
			if err != nil {
				return rebalanceErr(err)
			}
			return printJSON(a.stdout, p)
		}
		ex, found, err := rb.Execute(a.ctx, c.Wallet, c.RunID, o)
		if err != nil {
			return rebalanceErr(err)
		}
		if !found {
			return printJSON(a.stdout, map[string]any{"wallet_id": c.Wallet, "within_threshold": true})
		}
		n, err := rb.Sweep(context.WithoutCancel(a.ctx), 100)
		if err != nil {
			return err
		}
		return printJSON(a.stdout, map[string]any{"executed": ex, "payouts_swept": n})
	})
}

func rebalanceErr(err error) error {
	if errors.Is(err, wallet.ErrNoWallet) || errors.Is(err, wallet.ErrNoTerms) {
		return &exitError{code: 2, err: fmt.Errorf("--wallet: %w", err)}
	}
	return err
}
