// Package managed is the managed-investing runner (issue 22): it credits
// the wallet deposits the webhooks stored, then auto-invests them, batch
// by batch, until nothing is left. Every step is idempotent (wallet and
// wallet.AutoInvest), so a run killed anywhere is finished by the next.
package managed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

// Name is the job's name (its single-runner lock).
const Name = "managed"

// FeesName is the scheduled quarterly fee billing's job (its own lock:
// wallet.QuarterBilling, `fundflow run managed-fees`).
const FeesName = "managed-fees"

// DefaultExitStaleAfter is how long an exit may stay closing before the
// run takes it for stopped: an exit's three steps take seconds.
const DefaultExitStaleAfter = wallet.DefaultExitStaleAfter

// Job credits deposits and auto-invests them.
type Job struct {
	Wallet *wallet.Service
	Auto   *wallet.AutoInvest
	// Rebalance, when set: rebalance runs a crash left unplaced are
	// finished, and failed switch-ins' payouts swept back to the wallets.
	Rebalance *wallet.Rebalancer
	// Fees, when set: today's valuations are written (the daily accrual,
	// once a day) and invoices left due are paid when the cash covers them.
	Fees *wallet.Fees
	// Check, when set (with Rebalance and CheckStore): after the passes,
	// the scheduled drift check (wallet.Rebalancer.Check) proposes or
	// places the rebalances due.
	Check      *wallet.CheckOptions
	CheckStore wallet.CheckStore
	// Exits, when set (with Now): after the passes, exits left closing
	// longer than ExitStaleAfter (default 30 minutes: a crash between
	// their steps, a transient error) are run again with their own
	// request, so each closes or opens its wallet again (wallet.Exits.Resume).
	Exits          *wallet.Exits
	ExitStaleAfter time.Duration
	Now            func() time.Time
	Today          func() fund.Date
	Batch          int // per pass; default 100
	Log            *slog.Logger
}

// Stats counts a run.
type Stats struct {
	Credited int `json:"deposits_credited"`
	Broken   int `json:"deposits_broken"`
	Reversed int `json:"deposits_reversed"`
	Runs     int `json:"autoinvest_runs"`
	// Deposits whose auto-invest failed on their own: an
	// autoinvest_failed break each, the others of their group invested.
	InvestBroken int         `json:"autoinvest_broken"`
	Orders       int         `json:"orders_placed"`
	Invested     fund.Amount `json:"invested"`
	// Auto-invest purchases the ledger ended after payment, their money
	// brought back to the wallet.
	PurchasesSwept int   `json:"autoinvest_purchases_swept"`
	Resumed        int   `json:"rebalances_resumed"`
	Swept          int   `json:"switch_payouts_swept"`
	Valued         int64 `json:"wallets_valued"`
	FeesPaid       int   `json:"invoices_charged"`
	Released       int   `json:"withdrawals_released"`
	// Fees charged from units: redemptions placed, payouts swept.
	FeeRedemptions  int `json:"fee_redemptions_placed"`
	FeePayoutsSwept int `json:"fee_redemption_payouts_swept"`
	// Exits left closing run again (nil: not run).
	Exits *wallet.ResumeStats `json:"exits_resumed,omitempty"`
	// The drift check (nil: not run).
	DriftCheck *wallet.CheckStats `json:"drift_check,omitempty"`
}

// Run passes until a pass finds nothing to do.
func (j Job) Run(ctx context.Context) (Stats, error) {
	var st Stats
	batch := j.Batch
	if batch <= 0 {
		batch = 100
	}
	if j.Fees != nil && j.Today != nil {
		n, err := j.Fees.Value(ctx, j.Today())
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.Valued = n
	}
	for {
		c, err := j.Wallet.CreditDeposits(ctx, batch)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.Credited += c.Credited
		st.Broken += c.Broken
		st.Reversed += c.Reversed
		// Parked withdrawals whose restriction has lifted go to the bank.
		released, err := j.Wallet.ReleaseWithdrawals(ctx, batch)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.Released += released
		r, err := j.Auto.Invest(ctx, batch)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.Runs += r.Runs
		st.InvestBroken += r.Broken
		st.Orders += r.Orders
		st.Invested = st.Invested.Add(r.Invested)
		back, err := j.Auto.SweepEnded(ctx, batch)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.PurchasesSwept += back
		var resumed, swept int
		if j.Rebalance != nil {
			if resumed, err = j.Rebalance.Resume(ctx, batch); err != nil {
				return st, fmt.Errorf("%s: %w", Name, err)
			}
			if swept, err = j.Rebalance.Sweep(ctx, batch); err != nil {
				return st, fmt.Errorf("%s: %w", Name, err)
			}
			st.Resumed += resumed
			st.Swept += swept
		}
		paid, redeemed, feeSwept := 0, 0, 0
		if j.Fees != nil {
			// Invoices charged from units: redemptions placed, their
			// payouts brought into the wallet, then paid as any other.
			if redeemed, err = j.Fees.RedeemDue(ctx, batch); err != nil {
				return st, fmt.Errorf("%s: %w", Name, err)
			}
			if feeSwept, err = j.Fees.SweepFeeRedemptions(ctx, batch); err != nil {
				return st, fmt.Errorf("%s: %w", Name, err)
			}
			st.FeeRedemptions += redeemed
			st.FeePayoutsSwept += feeSwept
			if paid, err = j.Fees.ChargeDue(ctx, batch); err != nil {
				return st, fmt.Errorf("%s: %w", Name, err)
			}
			st.FeesPaid += paid
		}
		if c.Credited+c.Broken+c.Reversed+released+r.Runs+r.Broken+back+resumed+swept+redeemed+feeSwept+paid == 0 {
			break
		}
		if j.Log != nil {
			j.Log.Info("managed pass", "credited", c.Credited, "broken", c.Broken, "runs", r.Runs, "orders", r.Orders)
		}
	}
	// After the passes (the sweeps an exit waits for are done).
	if j.Exits != nil && j.Now != nil {
		stale := j.ExitStaleAfter
		if stale <= 0 {
			stale = DefaultExitStaleAfter
		}
		rs, err := j.Exits.Resume(ctx, j.Now(), stale, batch)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.Exits = &rs
	}
	// Last, on the holdings the passes left: a run it places is finished
	// here; one a crash leaves proposed, by the next run's Resume.
	if j.Check != nil && j.Rebalance != nil && j.CheckStore != nil {
		o := *j.Check
		if o.Batch == 0 {
			o.Batch = batch
		}
		cs, err := j.Rebalance.Check(ctx, j.CheckStore, o)
		if err != nil {
			return st, fmt.Errorf("%s: %w", Name, err)
		}
		st.DriftCheck = &cs
	}
	return st, nil
}
