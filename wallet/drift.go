package wallet

import (
	"context"
	"errors"
	"fmt"

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
}

// Drift measures a wallet's drift (no writes). A folio holding nothing yet
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
	pf, err := r.read(ctx, tx, walletID)
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
	v.Due = v.Over || v.ModelChanged
	return v, nil
}
