package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// failedPayment says that payment x of instalment i's debit failed: x was
// matched to the instalment's order, or carries its gateway order id.
const failedPayment = `x.status = 'failed' AND (x.order_id = i.order_id OR (i.gateway_order_id <> '' AND x.gateway_order_id = i.gateway_order_id))`

// movedCols selects the moved instalments of CTE c with their plans.
const movedCols = `SELECT ` + instalmentCols + ` FROM c i JOIN plans p ON p.id = i.plan_id LEFT JOIN mandates m ON m.id = p.mandate_id
	ORDER BY i.due_date, i.plan_id`

// FailedDebits lists presented SIP instalments whose debit failed while
// their order still waits for its payment.
func (s Store) FailedDebits(ctx context.Context, limit int) ([]plans.RunInstalment, error) {
	return collectInstalments(s.Pool.Query(ctx, `SELECT `+instalmentCols+` FROM plan_instalments i
		JOIN plans p ON p.id = i.plan_id LEFT JOIN mandates m ON m.id = p.mandate_id JOIN orders o ON o.id = i.order_id
		WHERE i.status = 'presented' AND p.kind = 'sip' AND o.status = 'awaiting_payment'
		  AND EXISTS (SELECT 1 FROM payments x WHERE `+failedPayment+`)
		ORDER BY i.due_date, i.plan_id LIMIT $1`, limit))
}

// InSettleTx runs fn in one transaction.
func (s Store) InSettleTx(ctx context.Context, fn func(plans.SettleTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(settleTx{tx}) }))
}

type settleTx struct{ tx pgx.Tx }

func (t settleTx) moved(ctx context.Context, q string, args ...any) ([]plans.RunInstalment, error) {
	return collectInstalments(t.tx.Query(ctx, q, args...))
}

// DebitsFailed fails presented SIP instalments whose payment failed, with
// the gateway's code and description (the latest failed payment's).
func (t settleTx) DebitsFailed(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH f AS (
			SELECT DISTINCT ON (i.plan_id, i.due_date) i.plan_id, i.due_date, x.id AS pay, x.error_code, x.error_description
			FROM plan_instalments i JOIN plans p ON p.id = i.plan_id JOIN payments x ON `+failedPayment+`
			WHERE i.status = 'presented' AND p.kind = 'sip'
			  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id AND o.payment_id IS NOT NULL)
			ORDER BY i.plan_id, i.due_date, x.last_event_at DESC),
		c AS (UPDATE plan_instalments i SET status = 'failed', reason = coalesce(nullif(f.error_code, ''), $2), detail = f.error_description,
				gateway_payment_id = CASE WHEN i.gateway_payment_id = '' THEN f.pay ELSE i.gateway_payment_id END, updated_at = $1
			FROM f WHERE i.plan_id = f.plan_id AND i.due_date = f.due_date AND i.status = 'presented' RETURNING i.*)
		`+movedCols, at, plans.ReasonDebitFailed)
}

// Paid moves presented SIP instalments whose order a captured payment
// realised to paid.
func (t settleTx) Paid(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH c AS (
			UPDATE plan_instalments i SET status = 'paid', updated_at = $1,
				gateway_payment_id = CASE WHEN i.gateway_payment_id = '' THEN o.payment_id ELSE i.gateway_payment_id END
			FROM plans p, orders o
			WHERE i.status = 'presented' AND p.id = i.plan_id AND p.kind = 'sip' AND o.id = i.order_id AND o.payment_id IS NOT NULL
			RETURNING i.*)
		`+movedCols, at)
}

// Allotted moves presented or paid instalments whose order legs are all
// allotted (a switch: both) to allotted.
func (t settleTx) Allotted(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH c AS (
			UPDATE plan_instalments i SET status = 'allotted', updated_at = $1
			WHERE i.status IN ('presented', 'paid') AND i.order_id IS NOT NULL
			  AND EXISTS (SELECT 1 FROM orders o WHERE o.request_id = i.order_id)
			  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.request_id = i.order_id AND o.status <> 'allotted')
			RETURNING i.*)
		`+movedCols, at)
}

// WalletPaid moves presented SIP instalments into a wallet to paid once
// the wallet credited their debit's payment (a deposit entry whose ref is
// the payment carrying the instalment's gateway order id).
func (t settleTx) WalletPaid(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH c AS (
			UPDATE plan_instalments i SET status = 'paid', updated_at = $1, gateway_payment_id = x.id
			FROM plans p, payments x, wallet_transactions w
			WHERE i.status = 'presented' AND p.id = i.plan_id AND p.wallet_id IS NOT NULL AND i.gateway_order_id <> ''
			  AND x.gateway_order_id = i.gateway_order_id AND w.kind = 'deposit' AND w.ref = x.id AND w.wallet_id = p.wallet_id
			RETURNING i.*)
		`+movedCols, at)
}

// WalletBroken fails presented SIP instalments into a wallet whose
// payment the wallet broke (closed or unknown wallet), with the break's
// reason and detail (the latest break's).
func (t settleTx) WalletBroken(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH f AS (
			SELECT DISTINCT ON (i.plan_id, i.due_date) i.plan_id, i.due_date, x.id AS pay, b.reason, b.detail
			FROM plan_instalments i JOIN plans p ON p.id = i.plan_id
			JOIN payments x ON x.gateway_order_id = i.gateway_order_id JOIN payment_breaks b ON b.payment_id = x.id
			WHERE i.status = 'presented' AND p.wallet_id IS NOT NULL AND i.gateway_order_id <> '' AND x.match_status = 'break'
			ORDER BY i.plan_id, i.due_date, b.id DESC),
		c AS (UPDATE plan_instalments i SET status = 'failed', reason = f.reason, detail = f.detail, gateway_payment_id = f.pay, updated_at = $1
			FROM f WHERE i.plan_id = f.plan_id AND i.due_date = f.due_date AND i.status = 'presented' RETURNING i.*)
		`+movedCols, at)
}

// walletRuns is each paid SIP instalment into a wallet whose deposit's
// auto-invest run is placed, with how many of the run's purchases are not
// finished yet (open) and what its allotted purchases bought (invested). A
// purchase is finished when its order is allotted, or when its amount is
// back in the wallet: a 'refund' entry on its order id (refused at
// placement, or ended by the ledger and swept back), or when the ledger
// ended it and operations resolved its refund-due break without the
// wallet (refunded to the bank before the sweep; elsewhere counts those,
// elsewhere_amount their money). A purchase cancelled whose break is
// still open is open: its money is at the gateway until the sweep or
// operations move it. breaks is the query parameter number of the first
// of the two refund-due break reasons.
func walletRuns(breaks int) string {
	return fmt.Sprintf(`s AS (
			SELECT i.plan_id, i.due_date, r.payment_id, r.wallet_id, r.invested AS planned, r.invested + r.leftover AS deposit,
				r.split->'leftovers'->0->>'reason' AS leftover_reason,
				count(q.id) FILTER (WHERE o.status IS DISTINCT FROM 'allotted' AND w.id IS NULL AND NOT e.elsewhere) AS open,
				coalesce(sum(q.amount) FILTER (WHERE o.status = 'allotted'), 0) AS invested,
				count(q.id) FILTER (WHERE w.id IS NULL AND e.elsewhere) AS elsewhere,
				coalesce(sum(q.amount) FILTER (WHERE w.id IS NULL AND e.elsewhere), 0) AS elsewhere_amount
			FROM plan_instalments i JOIN plans p ON p.id = i.plan_id
			JOIN autoinvest_runs r ON r.payment_id = i.gateway_payment_id AND r.wallet_id = p.wallet_id AND r.status = 'placed'
			LEFT JOIN LATERAL (SELECT b::jsonb->>'order_id' AS id, (b::jsonb->>'amount')::numeric AS amount
				FROM jsonb_array_elements_text(r.requests) b) q ON true
			LEFT JOIN orders o ON o.request_id = q.id
			LEFT JOIN wallet_transactions w ON w.kind = 'refund' AND w.ref = q.id AND w.wallet_id = r.wallet_id
			LEFT JOIN LATERAL (SELECT coalesce(o.status IN ('cancelled', 'rejected')
				AND EXISTS (SELECT 1 FROM payment_breaks b WHERE b.order_id = o.id AND b.reason IN ($%[1]d, $%[2]d) AND b.resolved_at IS NOT NULL)
				AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.order_id = o.id AND b.reason IN ($%[1]d, $%[2]d) AND b.resolved_at IS NULL), false) AS elsewhere) e ON true
			WHERE i.status = 'paid' AND p.wallet_id IS NOT NULL
			GROUP BY i.plan_id, i.due_date, r.payment_id)`, breaks, breaks+1)
}

// WalletInvested moves paid SIP instalments into a wallet to allotted once
// their deposit's auto-invest run is placed, each of its purchases is
// allotted or refunded to the wallet, and at least one was allotted.
func (t settleTx) WalletInvested(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH `+walletRuns(2)+`,
		c AS (UPDATE plan_instalments i SET status = 'allotted', updated_at = $1
			FROM s WHERE i.plan_id = s.plan_id AND i.due_date = s.due_date AND i.status = 'paid' AND s.open = 0 AND s.invested > 0
			RETURNING i.*)
		`+movedCols, at, fund.BreakCancelledPaid, fund.BreakRejectedPaid)
}

// WalletKept moves paid SIP instalments into a wallet to in_wallet once
// their deposit's auto-invest run is placed and finished without buying
// anything: reason orders_refunded when it placed purchases (all refused
// or ended and refunded), else its first leftover's reason (below_minimum,
// insufficient_balance).
func (t settleTx) WalletKept(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH `+walletRuns(4)+`,
		c AS (UPDATE plan_instalments i SET status = 'in_wallet', updated_at = $1,
				reason = CASE WHEN s.planned > 0 THEN $2 ELSE coalesce(s.leftover_reason, $3) END,
				detail = 'auto-invest of ' || s.payment_id || ' bought nothing: ' || s.deposit || ' stays in wallet ' || s.wallet_id
			FROM s WHERE i.plan_id = s.plan_id AND i.due_date = s.due_date AND i.status = 'paid' AND s.open = 0 AND s.invested = 0
			  AND s.elsewhere = 0
			RETURNING i.*)
		`+movedCols, at, plans.ReasonOrdersRefunded, plans.ReasonNothingToInvest, fund.BreakCancelledPaid, fund.BreakRejectedPaid)
}

// WalletRefundedElsewhere fails paid SIP instalments into a wallet whose
// run is finished with nothing allotted and some purchase's money
// refunded outside the wallet (its refund-due break resolved by
// operations, no wallet refund): reason refunded_elsewhere, the detail
// saying where each rupee went.
func (t settleTx) WalletRefundedElsewhere(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH `+walletRuns(3)+`,
		c AS (UPDATE plan_instalments i SET status = 'failed', updated_at = $1, reason = $2,
				detail = 'auto-invest of ' || s.payment_id || ' bought nothing: ' || s.elsewhere_amount ||
					' refunded outside the wallet (refund-due break resolved by operations), ' || (s.deposit - s.elsewhere_amount) ||
					' stays in wallet ' || s.wallet_id
			FROM s WHERE i.plan_id = s.plan_id AND i.due_date = s.due_date AND i.status = 'paid' AND s.open = 0 AND s.invested = 0
			  AND s.elsewhere > 0
			RETURNING i.*)
		`+movedCols, at, plans.ReasonRefundedElsewhere, fund.BreakCancelledPaid, fund.BreakRejectedPaid)
}

// OrdersFailed fails presented or paid instalments with an order leg
// rejected or cancelled, with the ledger's reason (a switch: its out-leg's
// first, the leg the units were short on).
func (t settleTx) OrdersFailed(ctx context.Context, at time.Time) ([]plans.RunInstalment, error) {
	return t.moved(ctx, `WITH f AS (
			SELECT DISTINCT ON (i.plan_id, i.due_date) i.plan_id, i.due_date, o.id, o.status, o.reason
			FROM plan_instalments i JOIN orders o ON o.request_id = i.order_id
			WHERE i.status IN ('presented', 'paid') AND o.status IN ('rejected', 'cancelled')
			ORDER BY i.plan_id, i.due_date, o.kind = 'switch_in', o.id),
		c AS (UPDATE plan_instalments i SET status = 'failed', reason = coalesce(nullif(f.reason, ''), 'order_' || f.status),
				detail = 'order ' || f.id || ' ' || f.status || coalesce(': ' || nullif(f.reason, ''), ''), updated_at = $1
			FROM f WHERE i.plan_id = f.plan_id AND i.due_date = f.due_date AND i.status IN ('presented', 'paid') RETURNING i.*)
		`+movedCols, at)
}

// RecountFailures sets the SIP plans' consecutive failures.
func (t settleTx) RecountFailures(ctx context.Context, planIDs []string, at time.Time) error {
	return recountFailures(ctx, t.tx, planIDs, at)
}

// CancelPlans cancels the live plans whose mandate ended and the SIPs at
// maxFailures consecutive failures, dropping their due instalments.
func (t settleTx) CancelPlans(ctx context.Context, at time.Time, maxFailures int) ([]plans.CancelledPlan, error) {
	rows, err := t.tx.Query(ctx, `WITH target AS (
			SELECT p.id, CASE WHEN m.status IN ('cancelled', 'rejected') THEN $3 ELSE $4 END AS why
			FROM plans p LEFT JOIN mandates m ON m.id = p.mandate_id
			WHERE p.status IN ('active', 'paused')
			  AND (m.status IN ('cancelled', 'rejected') OR (p.kind = 'sip' AND p.consecutive_failures >= $2))
			ORDER BY p.id FOR UPDATE OF p),
		c AS (UPDATE plans p SET status = 'cancelled', status_reason = target.why, updated_at = $1 FROM target
			WHERE p.id = target.id RETURNING p.id, p.kind, p.investor_id, p.folio_no, p.status_reason),
		d AS (UPDATE plan_instalments i SET status = 'dropped', reason = 'plan_cancelled', updated_at = $1 FROM c
			WHERE i.plan_id = c.id AND i.status = 'due' AND i.idempotency_key IS NULL RETURNING i.plan_id)
		SELECT c.id, c.kind, c.investor_id, c.folio_no, c.status_reason, (SELECT count(*) FROM d WHERE d.plan_id = c.id)::int
		FROM c ORDER BY c.id`, at, maxFailures, plans.ReasonMandateCancelled, plans.ReasonFailedDebits)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (plans.CancelledPlan, error) {
		var c plans.CancelledPlan
		return c, r.Scan(&c.PlanID, &c.Kind, &c.InvestorID, &c.Folio, &c.Reason, &c.Dropped)
	})
}

// Complete completes the live plans that are done: every instalment
// generated (generated_all, the instalment run's end mark) and none in
// flight.
func (t settleTx) Complete(ctx context.Context, at time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE plans p SET status = 'completed', updated_at = $1
		WHERE p.status IN ('active', 'paused') AND p.generated_all
		  AND NOT EXISTS (SELECT 1 FROM plan_instalments i WHERE i.plan_id = p.id AND i.status IN ('due', 'presented', 'paid'))`, at)
	return int(tag.RowsAffected()), err
}

// ResumeElapsed sets paused plans active again once an instalment after
// their last pause exists (generated past it, or already skipped to its
// end), each with an audit_log row ("resumed", actor instalment-run).
func (t settleTx) ResumeElapsed(ctx context.Context, at time.Time) (int, error) {
	rows, err := t.tx.Query(ctx, `UPDATE plans p SET status = 'active', updated_at = $1
		WHERE p.status = 'paused' AND EXISTS (
			SELECT 1 FROM plan_instalments i WHERE i.plan_id = p.id
			  AND i.seq > (SELECT max(pp.to_seq) FROM plan_pauses pp WHERE pp.plan_id = p.id))
		RETURNING p.id`, at)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	audits := make([]postgres.AuditEntry, len(ids))
	for i, id := range ids {
		audits[i] = postgres.AuditEntry{Entity: "plan", ID: id, Action: "resumed", Payload: map[string]any{"reason": "pause_elapsed"}}
	}
	return len(ids), postgres.AppendAudits(ctx, t.tx, "instalment-run", audits)
}

// WriteEvents writes outbox rows.
func (t settleTx) WriteEvents(ctx context.Context, evs []ledger.Event) error {
	return writeOutbox(ctx, t.tx, evs)
}
