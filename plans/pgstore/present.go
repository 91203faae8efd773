package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/sinks/postgres"
)

var _ plans.Store = Store{}

// instalmentCols are the columns scanInstalment reads, over plan_instalments
// i, plans p and mandates m (LEFT JOIN).
const instalmentCols = `p.id, p.kind, p.investor_id, p.folio_no, p.scheme_code, coalesce(p.to_scheme_code, ''),
	coalesce(p.mandate_id, ''), coalesce(m.status, ''), coalesce(m.customer_id, ''),
	i.nominal_date, i.due_date, i.seq, i.amount, i.status, i.reason, i.detail,
	coalesce(i.idempotency_key, ''), coalesce(i.presented_at, 'epoch'::timestamptz), coalesce(i.order_id, ''),
	i.gateway_order_id, i.gateway_payment_id, coalesce(p.wallet_id, '')`

func scanInstalment(r pgx.CollectableRow) (plans.RunInstalment, error) {
	var in plans.RunInstalment
	var amount decimal.Decimal
	var nominal, due time.Time
	if err := r.Scan(&in.PlanID, &in.Kind, &in.InvestorID, &in.Folio, &in.SchemeCode, &in.ToSchemeCode,
		&in.MandateID, &in.MandateStatus, &in.CustomerID, &nominal, &due, &in.Seq, &amount, &in.Status, &in.Reason, &in.Detail,
		&in.Key, &in.PlacedAt, &in.OrderID, &in.GatewayOrderID, &in.GatewayPaymentID, &in.WalletID); err != nil {
		return in, err
	}
	in.NominalDate, in.DueDate = fund.DateOf(nominal), fund.DateOf(due)
	a, err := fund.AmountFromDecimal(amount, fund.NoRounding)
	in.Amount = a
	return in, err
}

func collectInstalments(rows pgx.Rows, err error) ([]plans.RunInstalment, error) {
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, scanInstalment)
	return out, postgres.Classify(err)
}

// ClaimDue lists the instalments due to be presented and gives those that
// have none their idempotency key and first-presentation time.
func (s Store) ClaimDue(ctx context.Context, now time.Time, today string, cur plans.Cursor, limit int) ([]plans.RunInstalment, error) {
	after := cur.DueDate
	if after == "" {
		after = "0001-01-01"
	}
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.kind, to_char(i.due_date, 'YYYY-MM-DD') FROM plan_instalments i JOIN plans p ON p.id = i.plan_id
		WHERE i.status = 'due' AND i.present_after <= $1 AND i.due_date <= $2::date
		  AND (p.status IN ('active', 'paused') OR i.idempotency_key IS NOT NULL)
		  AND (i.due_date, i.plan_id) > ($3::date, $4::text)
		ORDER BY i.due_date, i.plan_id LIMIT $5`, now, today, after, cur.PlanID, limit)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	type due struct{ plan, kind, date string }
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var d due
		return d, r.Scan(&d.plan, &d.kind, &d.date)
	})
	if err != nil || len(ds) == 0 {
		return nil, postgres.Classify(err)
	}
	ids, dates, keys := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		ids[i], dates[i], keys[i] = d.plan, d.date, plans.InstalmentKey(d.kind, d.plan, d.date)
	}
	// A key or time set before (a run that crashed after presenting) is
	// kept: the retry must be the same debit and the same order.
	return collectInstalments(s.Pool.Query(ctx, `WITH c AS (
			UPDATE plan_instalments i SET idempotency_key = coalesce(i.idempotency_key, x.k), presented_at = coalesce(i.presented_at, $4)
			FROM unnest($1::text[], $2::date[], $3::text[]) AS x(p, d, k)
			WHERE i.plan_id = x.p AND i.due_date = x.d AND i.status = 'due'
			RETURNING i.*)
		SELECT `+instalmentCols+` FROM c i JOIN plans p ON p.id = i.plan_id LEFT JOIN mandates m ON m.id = p.mandate_id
		ORDER BY i.due_date, i.plan_id`, ids, dates, keys, now))
}

// MarkPresented moves a due instalment to presented and writes its event.
func (s Store) MarkPresented(ctx context.Context, in plans.RunInstalment, at time.Time, ev ledger.Event) (bool, error) {
	return s.moveDue(ctx, ev, nil, `UPDATE plan_instalments SET status = 'presented', order_id = nullif($3, ''), gateway_order_id = $4, gateway_payment_id = $5, updated_at = $6
		WHERE plan_id = $1 AND due_date = $2::date AND status = 'due'`, in.PlanID, in.DueDate.String(), in.OrderID, in.GatewayOrderID, in.GatewayPaymentID, at)
}

// FailDue moves a due instalment to failed, recounts its plan's failures
// and writes its event.
func (s Store) FailDue(ctx context.Context, in plans.RunInstalment, at time.Time, ev ledger.Event) (bool, error) {
	recount := func(tx pgx.Tx) error { return recountFailures(ctx, tx, []string{in.PlanID}, at) }
	return s.moveDue(ctx, ev, recount, `UPDATE plan_instalments SET status = 'failed', reason = $3, detail = $4, gateway_order_id = $5, gateway_payment_id = $6, updated_at = $7
		WHERE plan_id = $1 AND due_date = $2::date AND status = 'due'`, in.PlanID, in.DueDate.String(), in.Reason, in.Detail, in.GatewayOrderID, in.GatewayPaymentID, at)
}

// moveDue runs one status change of a due instalment and, if it changed
// the row, then (when not nil) and writes ev, in one transaction.
func (s Store) moveDue(ctx context.Context, ev ledger.Event, then func(pgx.Tx) error, q string, args ...any) (moved bool, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if moved = tag.RowsAffected() > 0; !moved {
			return nil
		}
		if then != nil {
			if err := then(tx); err != nil {
				return err
			}
		}
		return writeOutbox(ctx, tx, []ledger.Event{ev})
	})
	return moved, postgres.Classify(err)
}

// recountFailures sets consecutive_failures of the SIP plans named: their
// failed instalments after the last paid or allotted one, by due date.
func recountFailures(ctx context.Context, tx pgx.Tx, planIDs []string, at time.Time) error {
	_, err := tx.Exec(ctx, `WITH ids AS (SELECT DISTINCT unnest($1::text[]) AS id),
		ok AS (SELECT i.plan_id, max(i.due_date) AS d FROM plan_instalments i JOIN ids ON ids.id = i.plan_id
			WHERE i.status IN ('paid', 'allotted', 'in_wallet') GROUP BY i.plan_id),
		n AS (SELECT ids.id, count(i.plan_id) FILTER (WHERE i.status = 'failed' AND i.due_date > coalesce(ok.d, '-infinity'::date)) AS n
			FROM ids LEFT JOIN ok ON ok.plan_id = ids.id LEFT JOIN plan_instalments i ON i.plan_id = ids.id GROUP BY ids.id)
		UPDATE plans p SET consecutive_failures = n.n, updated_at = $2 FROM n
		WHERE p.id = n.id AND p.kind = 'sip' AND p.consecutive_failures <> n.n`, planIDs, at)
	return err
}

// writeOutbox inserts outbox rows in order, in one statement; an event id
// written before is skipped.
func writeOutbox(ctx context.Context, tx pgx.Tx, evs []ledger.Event) error {
	ids, topics, keys, payloads := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", e.ID, err)
		}
		ids[i], topics[i], keys[i], payloads[i] = e.ID, e.Topic, e.Key, string(b)
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT e, t, k, p FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(e, t, k, p, n) ORDER BY n
		ON CONFLICT (event_id) DO NOTHING`, ids, topics, keys, payloads)
	return err
}
