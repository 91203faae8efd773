package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/shopspring/decimal"
)

// DefaultThresholdPP is the drift threshold when none is configured (as
// `managed rebalance --threshold`).
var DefaultThresholdPP = decimal.NewFromInt(5)

// DriftView is a wallet's folio measured against its model now: each
// scheme's weight at its latest NAV against the target (the rebalancer's
// own measure, managed.MeasureHoldings), and whether a rebalance is due:
// some drift over the threshold, or the model's current version newer
// than the one the portfolio was last brought to.
type DriftView struct {
	WalletID     string `json:"wallet_id"`
	Folio        string `json:"folio"`
	Model        string `json:"model"`
	ModelVersion int    `json:"model_version"`
	// The model the portfolio was last rebalanced (or first invested) to;
	// empty before any.
	LastModel        string          `json:"last_model,omitempty"`
	LastModelVersion int             `json:"last_model_version,omitempty"`
	ThresholdPP      decimal.Decimal `json:"threshold_pp"`
	managed.Drift
	ModelChanged bool `json:"model_changed"`
	Due          bool `json:"rebalance_due"`
	// StaleNAVs are holdings valued at a NAV older than the previous
	// business day (a NAV load that failed): the weights are not today's,
	// so nothing is due on them and the check skips the wallet.
	StaleNAVs []StaleNAV `json:"stale_navs,omitempty"`
}

// Drift measures a wallet's drift (no writes, no row locks: the API's
// read and the check's measure wait for no one). A folio holding nothing yet
// has no weights: its schemes show 0 and nothing is due.
func (r *Rebalancer) Drift(ctx context.Context, walletID string, thresholdPP decimal.Decimal) (DriftView, error) {
	var v DriftView
	err := r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
		var err error
		v, err = r.drift(ctx, tx, walletID, thresholdPP)
		return err
	})
	return v, err
}

func (r *Rebalancer) drift(ctx context.Context, tx RebalanceTx, walletID string, thresholdPP decimal.Decimal) (DriftView, error) {
	pf, err := r.read(ctx, tx, walletID, false)
	if err != nil {
		return DriftView{}, err
	}
	v := DriftView{WalletID: walletID, Folio: pf.terms.Folio, Model: pf.model.ID, ModelVersion: pf.model.Version, ThresholdPP: thresholdPP}
	v.Drift, err = managed.MeasureHoldings(pf.model, pf.hs, thresholdPP)
	if errors.Is(err, managed.ErrEmptyPortfolio) {
		v.Drift = managed.Drift{Schemes: []managed.SchemeDrift{}}
		for _, t := range pf.model.Schemes {
			v.Schemes = append(v.Schemes, managed.SchemeDrift{Scheme: t.Scheme, Target: t.Weight, Actual: decimal.Zero, Drift: t.Weight.Neg()})
		}
		return v, nil
	}
	if err != nil {
		return DriftView{}, fmt.Errorf("drift of %s: %w", walletID, err)
	}
	id, ver, found, err := tx.LastModel(ctx, walletID)
	if err != nil {
		return DriftView{}, fmt.Errorf("last model of %s: %w", walletID, err)
	}
	if found {
		v.LastModel, v.LastModelVersion = id, ver
		v.ModelChanged = id != pf.model.ID || ver < pf.model.Version
	}
	if v.StaleNAVs, err = StaleNAVs(pf.hs, pf.now, r.calendar()); err != nil {
		return DriftView{}, fmt.Errorf("drift of %s: %w", walletID, err)
	}
	v.Due = (v.Over || v.ModelChanged) && len(v.StaleNAVs) == 0
	return v, nil
}

// ErrStaleNAV: a holding's latest NAV is older than the previous business
// day, so a drift measured on it is not today's.
var ErrStaleNAV = errors.New("a holding's NAV is stale")

// StaleNAV is a holding whose latest NAV is older than the cut-off.
type StaleNAV struct {
	Scheme  string `json:"scheme"`
	NAVDate string `json:"nav_date"` // "": no NAV at all
	Cutoff  string `json:"oldest_accepted"`
}

// StaleNAVs lists the holdings of hs whose NAV is dated before the
// previous business day of now's IST date on cal (the latest NAV a
// measure taken now can expect: the evening's load publishes the
// business day's NAV), in hs's order. A calendar that does not cover the
// dates is an error, never a silent answer.
func StaleNAVs(hs []managed.Holding, now time.Time, cal *fund.Calendar) ([]StaleNAV, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	cutoff, err := cal.PrevBusinessDay(fund.DateOf(now.In(fund.IST())))
	if err != nil {
		return nil, fmt.Errorf("the NAV cut-off: %w", err)
	}
	var out []StaleNAV
	for _, h := range hs {
		if h.NAVDate.IsZero() || h.NAVDate.Before(cutoff) {
			s := StaleNAV{Scheme: h.Scheme, Cutoff: cutoff.String()}
			if !h.NAVDate.IsZero() {
				s.NAVDate = h.NAVDate.String()
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// staleNAVErr is ErrStaleNAV naming the first stale holding (nil: none).
func staleNAVErr(stale []StaleNAV) error {
	if len(stale) == 0 {
		return nil
	}
	sn := stale[0]
	if sn.NAVDate == "" {
		return fmt.Errorf("%w: %s has no NAV", ErrStaleNAV, sn.Scheme)
	}
	return fmt.Errorf("%w: %s's latest NAV is of %s, older than %s (the previous business day)", ErrStaleNAV, sn.Scheme, sn.NAVDate, sn.Cutoff)
}

// calendar is the business days a NAV's freshness is counted on: the
// rebalancer's own, else its ledger's (nil: weekends only).
func (r *Rebalancer) calendar() *fund.Calendar {
	if r.Calendar != nil {
		return r.Calendar
	}
	if r.Ledger != nil {
		return r.Ledger.Calendar
	}
	return nil
}
