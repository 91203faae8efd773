package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.RebalanceStore = Store{}
var _ wallet.RebalanceTx = Tx{}

// InRebalanceTx runs fn in one transaction.
func (s Store) InRebalanceTx(ctx context.Context, fn func(wallet.RebalanceTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// OpenRebalances lists runs still proposed.
func (s Store) OpenRebalances(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM rebalance_runs WHERE status = 'proposed' ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PayoutsToSweep lists rebalance switches the ledger paid out (their
// switch-in failed) that the wallet has not taken back.
func (s Store) PayoutsToSweep(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT r.switch_id FROM rebalance_switches r
		JOIN ledger_transactions t ON t.switch_id = r.switch_id AND t.kind = 'switch_payout'
		WHERE NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'switch_payout' AND w.ref = r.switch_id)
		ORDER BY t.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Holdings reads a folio's holdings, each with its open lots oldest first
// (the ledger's FIFO order: NAV date, then id), latest NAV, exit-load slabs
// and tax type (by AMFI category, fund/tax.CategoryRules).
func (t Tx) Holdings(ctx context.Context, folio string) ([]managed.Holding, error) {
	rows, err := t.tx.Query(ctx, `SELECT h.scheme_code, h.units, coalesce(st.units_scale, 3), coalesce(n.nav, 0), n.nav_date, coalesce(s.category, '')
		FROM holdings h LEFT JOIN scheme_terms st ON st.scheme_code = h.scheme_code
		LEFT JOIN nav_latest n ON n.scheme_code = h.scheme_code LEFT JOIN schemes s ON s.code = h.scheme_code
		WHERE h.folio_no = $1 AND h.units > 0 ORDER BY h.scheme_code`, folio)
	if err != nil {
		return nil, err
	}
	var hs []managed.Holding
	idx := map[string]int{}
	for rows.Next() {
		var h managed.Holding
		var units, nav decimal.Decimal
		var scale int16
		var cat string
		var navDate *time.Time
		if err := rows.Scan(&h.Scheme, &units, &scale, &nav, &navDate, &cat); err != nil {
			rows.Close()
			return nil, err
		}
		h.UnitsScale = int32(scale)
		if h.Units, err = fund.UnitsFromDecimal(units, h.UnitsScale, fund.NoRounding); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s units %s: %w", h.Scheme, units, err)
		}
		if h.NAV, err = fund.AppliedNAV(nav); err != nil && !nav.IsZero() {
			rows.Close()
			return nil, fmt.Errorf("%s NAV %s: %w", h.Scheme, nav, err)
		}
		if navDate != nil {
			h.NAVDate = fund.DateOf(*navDate)
		}
		h.Type = tax.TypeOfCategory(tax.CategoryRules, cat)
		idx[h.Scheme] = len(hs)
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	lots, err := t.tx.Query(ctx, `SELECT scheme_code, id, nav_date, units_remaining, cost FROM holding_lots
		WHERE folio_no = $1 AND units_remaining > 0 ORDER BY scheme_code, nav_date, id`, folio)
	if err != nil {
		return nil, err
	}
	for lots.Next() {
		var scheme string
		var id int64
		var day time.Time
		var units, cost decimal.Decimal
		if err := lots.Scan(&scheme, &id, &day, &units, &cost); err != nil {
			lots.Close()
			return nil, err
		}
		i, ok := idx[scheme]
		if !ok {
			continue
		}
		h := &hs[i]
		u, err := fund.UnitsFromDecimal(units, h.UnitsScale, fund.NoRounding)
		if err != nil {
			lots.Close()
			return nil, fmt.Errorf("lot %d units %s: %w", id, units, err)
		}
		c, err := fund.AmountFromDecimal(cost, fund.NoRounding)
		if err != nil {
			lots.Close()
			return nil, fmt.Errorf("lot %d cost %s: %w", id, cost, err)
		}
		h.Lots = append(h.Lots, tax.Lot{ID: fmt.Sprint(id), Type: h.Type, Bought: fund.DateOf(day), Units: u, Cost: c})
	}
	lots.Close()
	if err := lots.Err(); err != nil {
		return nil, err
	}
	loads, err := t.tx.Query(ctx, `SELECT scheme_code, valid_from, days_below, rate_pct FROM scheme_loads
		WHERE scheme_code IN (SELECT scheme_code FROM holdings WHERE folio_no = $1) ORDER BY scheme_code, valid_from, days_below`, folio)
	if err != nil {
		return nil, err
	}
	defer loads.Close()
	for loads.Next() {
		var scheme string
		var from time.Time
		var s fund.LoadSlab
		if err := loads.Scan(&scheme, &from, &s.DaysBelow, &s.RatePct); err != nil {
			return nil, err
		}
		if i, ok := idx[scheme]; ok {
			s.ValidFrom = fund.DateOf(from)
			hs[i].Loads = append(hs[i].Loads, s)
		}
	}
	return hs, loads.Err()
}

// ReadWallet reads a wallet without a row lock (the drift read).
func (t Tx) ReadWallet(ctx context.Context, id string) (wallet.Wallet, bool, error) {
	return scanWallet(t.tx.QueryRow(ctx, `SELECT id, investor_id, status, balance FROM wallets WHERE id = $1`, id))
}

// RebalanceRun reads a run, locked for update (its switches from the
// stored plan).
func (t Tx) RebalanceRun(ctx context.Context, id string) (wallet.RebalanceRun, bool, error) {
	r := wallet.RebalanceRun{ID: id}
	var sw, reqs []byte
	err := t.tx.QueryRow(ctx, `SELECT wallet_id, folio_no, model_id, model_version, tax_aware, coalesce(plan->'switches', '[]'), requests, status
		FROM rebalance_runs WHERE id = $1 FOR UPDATE`, id).Scan(&r.WalletID, &r.Folio, &r.ModelID, &r.ModelVersion, &r.TaxAware, &sw, &reqs, &r.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(sw, &r.Plan.Switches); err != nil {
		return r, false, fmt.Errorf("run %s switches: %w", id, err)
	}
	if err := json.Unmarshal(reqs, &r.Requests); err != nil {
		return r, false, fmt.Errorf("run %s requests: %w", id, err)
	}
	return r, true, nil
}

// InsertRebalanceRun stores a run and its switches.
func (t Tx) InsertRebalanceRun(ctx context.Context, r wallet.RebalanceRun) error {
	plan, err := json.Marshal(r.Plan)
	if err != nil {
		return err
	}
	reqs, err := json.Marshal(r.Requests)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO rebalance_runs (id, wallet_id, folio_no, model_id, model_version, tax_aware, plan, requests, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.ID, r.WalletID, r.Folio, r.ModelID, r.ModelVersion, r.TaxAware, string(plan), string(reqs), r.Status); err != nil {
		return err
	}
	ids, from, to := make([]string, len(r.Plan.Switches)), make([]string, len(r.Plan.Switches)), make([]string, len(r.Plan.Switches))
	amts := make([]decimal.Decimal, len(r.Plan.Switches))
	for i, s := range r.Plan.Switches {
		ids[i], from[i], to[i], amts[i] = wallet.SwitchID(r.ID, i), s.From, s.To, s.Amount.Decimal()
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO rebalance_switches (switch_id, run_id, wallet_id, from_scheme, to_scheme, amount)
		SELECT x.id, $1, $2, x.f, x.t, x.a FROM unnest($3::text[], $4::text[], $5::text[], $6::numeric[]) AS x(id, f, t, a)`,
		r.ID, r.WalletID, ids, from, to, amts)
	return err
}

// SetRebalancePlaced finishes a run.
func (t Tx) SetRebalancePlaced(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `UPDATE rebalance_runs SET status = 'placed', placed_at = now() WHERE id = $1`, id)
	return err
}

// SwitchPayout reads the ledger's payout of a rebalance switch's failed
// switch-in: the amount it moved to payout:<folio>.
func (t Tx) SwitchPayout(ctx context.Context, switchID string) (string, string, fund.Amount, bool, error) {
	var walletID, folio string
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT r.wallet_id, l.folio_no, l.amount FROM rebalance_switches r
		JOIN ledger_transactions l ON l.switch_id = r.switch_id AND l.kind = 'switch_payout' WHERE r.switch_id = $1`, switchID).Scan(&walletID, &folio, &amt)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", fund.Amount{}, false, nil
	}
	if err != nil {
		return "", "", fund.Amount{}, false, err
	}
	a, err := fund.AmountFromDecimal(amt, fund.NoRounding)
	return walletID, folio, a, err == nil, err
}

// LastModel reads the model of the wallet's latest rebalance run, or
// before any, of its first auto-invest run.
func (t Tx) LastModel(ctx context.Context, walletID string) (string, int, bool, error) {
	var id string
	var v int
	err := t.tx.QueryRow(ctx, `SELECT model_id, model_version FROM (
		(SELECT model_id, model_version, 0 AS pref, created_at FROM rebalance_runs WHERE wallet_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)
		UNION ALL
		(SELECT model_id, model_version, 1, created_at FROM autoinvest_runs WHERE wallet_id = $1 ORDER BY created_at, payment_id LIMIT 1)) x
		ORDER BY pref LIMIT 1`, walletID).Scan(&id, &v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, false, nil
	}
	return id, v, err == nil, err
}

// orderInFlight is an order o whose units or money are still moving, for
// InFlight and CheckWallets alike.
const orderInFlight = `o.status IN ('pending_nav', 'awaiting_leg')`

// runParked and investBroken, each followed by a wallet id, are a
// deposit's auto-invest still to land in the wallet's folio: a run parked
// by a break (its money off the wallet, its purchases not placed) or a
// deposit whose auto-invest broke (resolving the break invests it), unless
// the gateway refunded it (reversed: nothing left to invest). Both
// count as in flight, for InFlight and CheckWallets alike: an exit must
// not close the wallet before those purchases land.
const (
	runParked    = `SELECT r.payment_id FROM autoinvest_runs r WHERE r.status = 'debited' AND r.wallet_id = `
	investBroken = `SELECT b.payment_id FROM payment_breaks b JOIN wallet_transactions d ON d.kind = 'deposit' AND d.ref = b.payment_id
		WHERE b.reason = '` + wallet.BreakInvestFailed + `' AND b.resolved_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM wallet_transactions v WHERE v.kind = 'reversal' AND v.ref = b.payment_id) AND d.wallet_id = `
)

// InFlight says what of the wallet's folio is still moving: a run still
// proposed, an order waiting for its NAV or its other leg (a purchase
// awaiting payment has moved nothing yet), or an auto-invest parked or
// broken (runParked, investBroken).
func (t Tx) InFlight(ctx context.Context, walletID, folio, exceptRun string) (string, error) {
	var what string
	err := t.tx.QueryRow(ctx, `SELECT coalesce(
		(SELECT 'rebalance run ' || id || ' proposed' FROM rebalance_runs WHERE wallet_id = $1 AND status = 'proposed' AND id <> $3 LIMIT 1),
		(SELECT 'order ' || o.id || ' ' || o.status FROM orders o WHERE o.folio_no = $2 AND `+orderInFlight+` LIMIT 1),
		(SELECT 'auto-invest run ' || x.payment_id || ' parked' FROM (`+runParked+`$1 LIMIT 1) x),
		(SELECT 'auto-invest of ' || x.payment_id || ' broken' FROM (`+investBroken+`$1 LIMIT 1) x),
		'')`, walletID, folio, exceptRun).Scan(&what)
	return what, err
}

// CheckWallets lists wallets with enabled auto-invest terms after `after`,
// leaving out those with a rebalance run still proposed, a switch leg
// the ledger has not ended (allotted, cancelled or rejected), or any order
// of the folio waiting for its NAV or its other leg (Tx.InFlight, which
// Execute asks again under the wallet's lock). The legs are
// found by their ids (X#out, X#in: the orders' primary key).
func (s Store) CheckWallets(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT t.wallet_id FROM autoinvest_terms t
		WHERE t.enabled AND t.wallet_id > $1
		  AND NOT EXISTS (SELECT 1 FROM rebalance_runs r WHERE r.wallet_id = t.wallet_id AND r.status = 'proposed')
		  AND NOT EXISTS (SELECT 1 FROM rebalance_runs r JOIN rebalance_switches w ON w.run_id = r.id
		                  JOIN orders o ON o.id IN (w.switch_id || '#out', w.switch_id || '#in')
		                  WHERE r.wallet_id = t.wallet_id AND o.status NOT IN ('allotted', 'cancelled', 'rejected'))
		  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.folio_no = t.folio_no AND `+orderInFlight+`)
		  AND NOT EXISTS (`+runParked+`t.wallet_id)
		  AND NOT EXISTS (`+investBroken+`t.wallet_id)
		ORDER BY t.wallet_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
