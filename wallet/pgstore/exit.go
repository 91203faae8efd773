package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.ExitStore = Store{}
var _ wallet.ExitTx = Tx{}

// InExitTx runs fn in one transaction.
func (s Store) InExitTx(ctx context.Context, fn func(wallet.ExitTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// ValueWallet writes one wallet's valuation of day as Store.Value does
// (cash + each holding of its auto-invest folio at the NAV of day or the
// last before it, truncated to the paisa), replacing one the daily run
// wrote earlier that day (flows since then are counted by the exit's
// bill: its valuation must include them).
func (t Tx) ValueWallet(ctx context.Context, walletID string, day fund.Date) error {
	_, err := t.tx.Exec(ctx, valuationInsert+`
		WHERE w.id = $2
		ON CONFLICT (wallet_id, day) DO UPDATE SET cash = EXCLUDED.cash, holdings = EXCLUDED.holdings, aum = EXCLUDED.aum,
			net_flows = EXCLUDED.net_flows`, day.Time(), walletID)
	return err
}

// ExitOf reads the wallet's exit row (found false: none).
func (t Tx) ExitOf(ctx context.Context, walletID string) (wallet.ExitRow, bool, error) {
	var x wallet.ExitRow
	var day time.Time
	var closed *time.Time
	x.WalletID = walletID
	err := t.tx.QueryRow(ctx, `SELECT request_id, day, started_at, closed_at FROM wallet_exits WHERE wallet_id = $1`, walletID).Scan(&x.RequestID, &day, &x.StartedAt, &closed)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, false, nil
	}
	x.Day, x.Closed = fund.DateOf(day), closed != nil
	return x, err == nil, err
}

// StartExit records the exit's request, day and start (the exit's
// clock: Resume compares it with its own) and marks the wallet closing (a
// row of an exit refused before, not closed, is replaced).
func (t Tx) StartExit(ctx context.Context, walletID, requestID string, day fund.Date, at time.Time) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO wallet_exits (wallet_id, request_id, day, started_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (wallet_id) DO UPDATE SET request_id = EXCLUDED.request_id, day = EXCLUDED.day, started_at = EXCLUDED.started_at
		WHERE wallet_exits.closed_at IS NULL`, walletID, requestID, day.Time(), at); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE wallets SET status = 'closing', updated_at = now() WHERE id = $1`, walletID)
	return err
}

// ReopenWallet undoes StartExit of requestID (an exit refused or
// cancelled: the wallet open again) if the wallet is closing for it. The
// wallet_closed breaks of deposits that came while it was closing are
// resolved: the next credit run credits them (creditable), once.
func (t Tx) ReopenWallet(ctx context.Context, walletID, requestID string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM wallet_exits x USING wallets w
		WHERE x.wallet_id = $1 AND x.request_id = $2 AND x.closed_at IS NULL AND w.id = x.wallet_id AND w.status = 'closing'`, walletID, requestID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if _, err = t.tx.Exec(ctx, `UPDATE wallets SET status = 'open', updated_at = now() WHERE id = $1 AND status = 'closing'`, walletID); err != nil {
		return false, err
	}
	// An open wallet was never closed (closed is final): each open
	// wallet_closed break naming it came while it was closing.
	_, err = t.tx.Exec(ctx, `UPDATE payment_breaks b SET resolved_at = now(),
			detail = b.detail || ' | resolved: exit ' || $2 || ' was undone, the wallet is open: credited by the next run'
		FROM payments p WHERE p.id = b.payment_id AND p.notes_order_id = 'wallet:' || $1
		  AND b.reason = '`+wallet.BreakWalletClosed+`' AND b.resolved_at IS NULL`, walletID, requestID)
	return err == nil, err
}

// StaleExits lists the exits not closed, started before startedBefore,
// whose wallet is closing, oldest first.
func (s Store) StaleExits(ctx context.Context, startedBefore time.Time, limit int) ([]wallet.ExitRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT x.wallet_id, x.request_id, x.day FROM wallet_exits x JOIN wallets w ON w.id = x.wallet_id
		WHERE x.closed_at IS NULL AND w.status = 'closing' AND x.started_at < $1 ORDER BY x.started_at, x.wallet_id LIMIT $2`, startedBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.ExitRow, error) {
		var x wallet.ExitRow
		var day time.Time
		err := r.Scan(&x.WalletID, &x.RequestID, &day)
		x.Day = fund.DateOf(day)
		return x, err
	})
}

// ExitBlockers says what keeps the wallet from leaving: pool units, a
// pool request not priced yet, a SIP plan still paying into it ("" none).
func (t Tx) ExitBlockers(ctx context.Context, walletID string) (string, error) {
	var what string
	err := t.tx.QueryRow(ctx, `SELECT coalesce(
		(SELECT 'units ' || units || ' of pool ' || pool_id FROM pool_members WHERE wallet_id = $1 AND units > 0 ORDER BY pool_id LIMIT 1),
		(SELECT 'pool request ' || id || ' pending' FROM pool_requests WHERE wallet_id = $1 AND status = 'pending' ORDER BY id LIMIT 1),
		(SELECT 'SIP plan ' || id || ' ' || status FROM plans WHERE wallet_id = $1 AND status IN ('active', 'paused') ORDER BY id LIMIT 1),
		'')`, walletID).Scan(&what)
	return what, err
}

// PendingArrivals says what money of the wallet's is still on its way
// back ("" none): an ended auto-invest purchase or a switch payout not
// swept yet, a fee redemption not ended nor swept.
func (t Tx) PendingArrivals(ctx context.Context, walletID string) (string, error) {
	var what string
	err := t.tx.QueryRow(ctx, `SELECT coalesce(
		(SELECT 'ended purchase ' || o.id || ' not swept' FROM orders o
		   JOIN autoinvest_runs r ON 'AI-' || r.payment_id || '-' || o.scheme_code = o.request_id
		   WHERE r.wallet_id = $3 AND `+endedPurchaseWhere+` LIMIT 1),
		(SELECT 'switch payout ' || s.switch_id || ' not swept' FROM rebalance_switches s
		   JOIN ledger_transactions lt ON lt.switch_id = s.switch_id AND lt.kind = 'switch_payout'
		   WHERE s.wallet_id = $3 AND NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'switch_payout' AND w.ref = s.switch_id) LIMIT 1),
		(SELECT 'fee redemption ' || f.order_id || ' not swept' FROM fee_redemptions f
		   WHERE f.wallet_id = $3
		     AND NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'fee_redemption' AND w.ref = f.order_id)
		     AND NOT EXISTS (SELECT 1 FROM orders o WHERE (o.id = f.order_id OR o.request_id = f.order_id) AND o.status IN ('cancelled', 'rejected'))
		   LIMIT 1),
		'')`, fund.BreakCancelledPaid, fund.BreakRejectedPaid, walletID).Scan(&what)
	return what, err
}

// DueInvoicesOf lists the wallet's invoices not paid yet, oldest period
// first, locked.
func (t Tx) DueInvoicesOf(ctx context.Context, walletID string) ([]wallet.FeeInvoice, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+invoiceCols+` FROM fee_invoices WHERE wallet_id = $1 AND status = 'due' ORDER BY period_from, id FOR UPDATE`, walletID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.FeeInvoice, error) {
		inv, _, err := scanInvoice(r)
		return inv, err
	})
}

// valuationInsert values wallets on day $1 (Store.Value, Tx.ValueWallet
// add which): cash plus each holding of the auto-invest folio at the NAV
// of $1 or the last before it, each truncated to the paisa, and the net
// flows the cash includes (netFlowsSum, read in the same snapshot: the
// performance fee counts only those).
const valuationInsert = `INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum, net_flows)
		SELECT w.id, $1::date, w.balance, coalesce(v.value, 0), w.balance + coalesce(v.value, 0),
			coalesce((SELECT ` + netFlowsSum + ` FROM wallet_transactions t WHERE t.wallet_id = w.id AND ` + netFlowsKinds + `), 0)
		FROM wallets w
		LEFT JOIN autoinvest_terms a ON a.wallet_id = w.id
		LEFT JOIN LATERAL (
			SELECT sum(trunc(h.units * n.nav, 2)) AS value FROM holdings h
			CROSS JOIN LATERAL (SELECT nav FROM navs WHERE scheme_code = h.scheme_code AND nav_date <= $1::date ORDER BY nav_date DESC LIMIT 1) n
			WHERE h.folio_no = a.folio_no AND h.units > 0) v ON true`

// CloseWallet closes a wallet and its exit of requestID, and disables its
// auto-invest terms.
func (t Tx) CloseWallet(ctx context.Context, walletID, requestID string) error {
	// The exit row by its request too (review r36 N1): closingFor checked
	// it under the same lock, this is the second guard.
	if tag, err := t.tx.Exec(ctx, `UPDATE wallet_exits SET closed_at = now() WHERE wallet_id = $1 AND request_id = $2`, walletID, requestID); err != nil {
		return err
	} else if tag.RowsAffected() != 1 {
		return fmt.Errorf("close wallet %s: no exit of request %s", walletID, requestID)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE wallets SET status = 'closed', updated_at = now() WHERE id = $1`, walletID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE autoinvest_terms SET enabled = false WHERE wallet_id = $1`, walletID)
	return err
}
