package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// Triggers of a scheduled rebalance.
const (
	TriggerDrift = "drift" // some scheme's drift over the threshold
	TriggerModel = "model" // the model's version newer than the portfolio's
)

// CheckOptions configure the scheduled drift check.
type CheckOptions struct {
	ThresholdPP decimal.Decimal
	// Execute places the rebalances (Execute); false only proposes them
	// (Propose: nothing written, the proposals returned and logged).
	Execute  bool
	TaxAware bool
	Batch    int // wallets read per query; default 100
}

// Checked is one wallet a check found due.
type Checked struct {
	WalletID string `json:"wallet_id"`
	Trigger  string `json:"trigger"`
	RunID    string `json:"run_id"`
	Switches int    `json:"switches"`
	Executed bool   `json:"executed"`
}

// CheckStats count a check.
type CheckStats struct {
	Wallets int       `json:"wallets_checked"`
	Due     []Checked `json:"due"`
	Skipped int       `json:"wallets_skipped"`
	// Skips say why each skipped wallet was left (a stale NAV, no model
	// version in effect, ...): the check goes on and measures it again
	// next time.
	Skips []CheckSkip `json:"skipped,omitempty"`
}

// CheckSkip is a wallet the check could not measure or rebalance.
type CheckSkip struct {
	WalletID string `json:"wallet_id"`
	Reason   string `json:"reason"`
}

// CheckStore lists the wallets a check measures.
type CheckStore interface {
	// CheckWallets lists wallets with enabled auto-invest terms after
	// `after` in id order, leaving out those with a rebalance not settled
	// yet (a run still proposed, or a switch whose legs the ledger has not
	// ended): their holdings do not show the switches yet, so a drift
	// measured now would switch the same money twice.
	CheckWallets(ctx context.Context, after string, limit int) ([]string, error)
}

// CheckRunID is the run of a scheduled rebalance: a drift rebalance once a
// wallet a day (RunID), a model change once a wallet and model version,
// whichever day it is found.
func CheckRunID(walletID, trigger, model string, version int, day fund.Date) string {
	if trigger == TriggerModel {
		return fmt.Sprintf("RB-%s-%s-v%d", walletID, model, version)
	}
	return RunID(walletID, day)
}

// Check is the scheduled drift check: every wallet with auto-invest terms
// measured (Drift); a wallet holding a scheme whose latest NAV is older
// than the previous business day is skipped with the reason; one over the threshold, or whose model changed, is
// rebalanced through Execute under CheckRunID (so once a wallet and
// trigger: a run a crash left is finished by Resume or by the next check
// under the same id), or with o.Execute false only proposed. A wallet
// that cannot be measured (no model version in effect, a holding without
// a NAV) is logged and skipped, never stopping the others.
func (r *Rebalancer) Check(ctx context.Context, s CheckStore, o CheckOptions) (CheckStats, error) {
	var st CheckStats
	batch := o.Batch
	if batch <= 0 {
		batch = 100
	}
	after := ""
	for {
		ids, err := s.CheckWallets(ctx, after, batch)
		if err != nil {
			return st, fmt.Errorf("drift check: wallets: %w", err)
		}
		if len(ids) == 0 {
			return st, nil
		}
		after = ids[len(ids)-1]
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			st.Wallets++
			c, due, err := r.checkOne(ctx, id, o)
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return st, err
				}
				st.Skipped++
				st.Skips = append(st.Skips, CheckSkip{WalletID: id, Reason: err.Error()})
				slog.WarnContext(ctx, "drift check skipped a wallet", "wallet", id, "err", err)
				continue
			}
			if due {
				st.Due = append(st.Due, c)
			}
		}
	}
}

func (r *Rebalancer) checkOne(ctx context.Context, id string, o CheckOptions) (Checked, bool, error) {
	d, err := r.Drift(ctx, id, o.ThresholdPP)
	if errors.Is(err, ErrNoTerms) || errors.Is(err, ErrClosed) {
		return Checked{}, false, nil // disabled or exiting since it was listed
	}
	if err != nil {
		return Checked{}, false, err
	}
	if err := staleNAVErr(d.StaleNAVs); err != nil {
		// A scheme whose NAV load failed would be valued (and switched)
		// at an old NAV: skipped until its NAV is in.
		return Checked{}, false, err
	}
	if !d.Due {
		return Checked{}, false, nil
	}
	c := Checked{WalletID: id, Trigger: TriggerDrift}
	if d.ModelChanged {
		c.Trigger = TriggerModel
	}
	c.RunID = CheckRunID(id, c.Trigger, d.Model, d.ModelVersion, fund.DateOf(r.Wallet.now().In(fund.IST())))
	ro := RebalanceOptions{ThresholdPP: o.ThresholdPP, Force: d.ModelChanged, TaxAware: o.TaxAware}
	if !o.Execute {
		p, err := r.Propose(ctx, id, ro)
		if err != nil {
			return c, false, err
		}
		c.Switches = len(p.Plan.Switches)
		slog.InfoContext(ctx, "rebalance proposed", "wallet", id, "trigger", c.Trigger, "run", c.RunID, "switches", c.Switches)
		return c, true, nil
	}
	ex, found, err := r.Execute(ctx, id, c.RunID, ro)
	if err != nil || !found {
		return c, false, err
	}
	c.Switches, c.Executed = len(ex.Orders), true
	return c, true, nil
}
