package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// endedPurchaseWhere: an auto-invest purchase (request AI-<deposit>-<scheme>)
// with an open refund-due break of the ledger, not refunded to the wallet.
const endedPurchaseWhere = `o.request_id LIKE 'AI-%' AND o.status IN ('cancelled', 'rejected')
	AND EXISTS (SELECT 1 FROM payment_breaks b WHERE b.order_id = o.id AND b.reason IN ($1, $2) AND b.resolved_at IS NULL)
	AND NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'refund' AND w.ref = o.request_id)`

// EndedPurchases implements wallet.AutoStore: driven by the open breaks,
// which are few, not by the orders.
func (s Store) EndedPurchases(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT o.request_id FROM orders o
		WHERE o.id IN (SELECT b.order_id FROM payment_breaks b WHERE b.reason IN ($1, $2) AND b.resolved_at IS NULL)
		  AND `+endedPurchaseWhere+` ORDER BY o.id LIMIT $3`, fund.BreakCancelledPaid, fund.BreakRejectedPaid, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EndedPurchase implements wallet.AutoTx. The run is the deposit's: the
// request id is "AI-" + its payment id + "-" + the scheme.
func (t Tx) EndedPurchase(ctx context.Context, orderID string) (wallet.EndedPurchase, bool, error) {
	p := wallet.EndedPurchase{OrderID: orderID}
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT r.wallet_id, d.gateway, o.scheme_code, o.amount, o.status, o.reason
		FROM orders o
		JOIN autoinvest_runs r ON r.payment_id = substr(o.request_id, 4, length(o.request_id) - 4 - length(o.scheme_code))
		JOIN payments d ON d.id = r.payment_id
		WHERE o.request_id = $3 AND o.kind = 'purchase' AND 'AI-' || r.payment_id || '-' || o.scheme_code = o.request_id
		  AND `+endedPurchaseWhere, fund.BreakCancelledPaid, fund.BreakRejectedPaid, orderID).
		Scan(&p.WalletID, &p.Gateway, &p.Scheme, &amt, &p.Status, &p.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	p.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return p, err == nil, err
}

// ResolveRefundDue implements wallet.AutoTx.
func (t Tx) ResolveRefundDue(ctx context.Context, orderID string) error {
	return ResolveRefundDue(ctx, t.tx, orderID)
}

// ResolveRefundDue resolves the ledger's refund due for the payment of
// the order requested as orderID: the refund-due break (cancelled or
// rejected after payment) and the refund_due alert on that payment. The
// caller has brought the money back inside tx, so operations must not
// refund it to the bank as well.
func ResolveRefundDue(ctx context.Context, tx pgx.Tx, orderID string) error {
	_, err := tx.Exec(ctx, `WITH b AS (
			UPDATE payment_breaks SET resolved_at = now()
			WHERE order_id IN (SELECT id FROM orders WHERE request_id = $1) AND reason IN ($2, $3) AND resolved_at IS NULL
			RETURNING payment_id)
		UPDATE alerts SET resolved_at = now() WHERE kind = $4 AND subject IN (SELECT payment_id FROM b) AND resolved_at IS NULL`,
		orderID, fund.BreakCancelledPaid, fund.BreakRejectedPaid, ledger.AlertRefundDue)
	return err
}
