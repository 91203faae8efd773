package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// ChangePlan runs fn in one transaction with the plan row locked FOR
// UPDATE; the audit row fn asks for is written last, so the audit chain's
// head is held for the shortest time.
func (s Store) ChangePlan(ctx context.Context, id string, fn func(tx plans.PlanTx, p plans.Plan) error) error {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		p, _, found, err := loadPlan(ctx, tx, id, true)
		if err != nil {
			return fmt.Errorf("lock plan: %w", err)
		}
		if !found {
			return &plans.Error{Kind: plans.NotFound, Code: plans.CodePlanNotFound, Detail: fmt.Sprintf("no plan %q", fund.SafeText(id))}
		}
		t := &planTx{tx: tx, id: id, at: time.Now()}
		if err := fn(t, p); err != nil {
			return err
		}
		if t.audit == nil {
			return nil
		}
		return postgres.AppendAudit(ctx, tx, "plan", id, t.audit.Action, t.audit.Payload)
	})
	var pe *plans.Error
	if errors.As(err, &pe) {
		return pe
	}
	return postgres.Classify(err)
}

// planTx is plans.PlanTx on one transaction.
type planTx struct {
	tx    pgx.Tx
	id    string
	at    time.Time
	audit *postgres.AuditEntry
}

func (t *planTx) Events(ctx context.Context, evs ...ledger.Event) error {
	return writeOutbox(ctx, t.tx, evs)
}

func (t *planTx) Unpresented(ctx context.Context) ([]plans.Instalment, error) {
	return instalments(ctx, t.tx, `WHERE pi.plan_id = $1 AND pi.status = 'due'`, t.id)
}

func (t *planTx) LastSeq(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM plan_instalments WHERE plan_id = $1`, t.id).Scan(&n)
	return n, err
}

func (t *planTx) SetStatus(ctx context.Context, st plans.Status, reason string) error {
	_, err := t.tx.Exec(ctx, `UPDATE plans SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1`, t.id, st, reason)
	return err
}

func (t *planTx) AddPause(ctx context.Context, p plans.Pause) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO plan_pauses (plan_id, from_seq, to_seq) VALUES ($1, $2, $3)`, t.id, p.FromSeq, p.ToSeq)
	return err
}

func (t *planTx) EndPause(ctx context.Context, fromSeq, toSeq int) error {
	_, err := t.tx.Exec(ctx, `UPDATE plan_pauses SET to_seq = $3 WHERE plan_id = $1 AND from_seq = $2 AND to_seq >= $3`, t.id, fromSeq, toSeq)
	return err
}

func (t *planTx) MarkDue(ctx context.Context, seqs []int, status, reason string) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	tag, err := t.tx.Exec(ctx, `UPDATE plan_instalments SET status = $3, reason = $4, updated_at = now()
		WHERE plan_id = $1 AND seq = ANY($2) AND status = 'due' AND idempotency_key IS NULL`, t.id, seqs, status, reason)
	return int(tag.RowsAffected()), err
}

func (t *planTx) AddVersion(ctx context.Context, v plans.Version) error {
	if err := insertVersion(ctx, t.tx, t.id, v, t.at); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE plans SET updated_at = now() WHERE id = $1`, t.id)
	return err
}

func (t *planTx) Reprice(ctx context.Context, seq int, amount fund.Amount) error {
	_, err := t.tx.Exec(ctx, `UPDATE plan_instalments SET amount = $3, updated_at = now() WHERE plan_id = $1 AND seq = $2 AND status = 'due'`,
		t.id, seq, amount.Decimal())
	return err
}

func (t *planTx) Audit(_ context.Context, action string, payload any) error {
	t.audit = &postgres.AuditEntry{Entity: "plan", ID: t.id, Action: action, Payload: payload}
	return nil
}

// GetPlan returns a plan with its versions and pauses.
func (s Store) GetPlan(ctx context.Context, id string) (plans.Plan, bool, error) {
	p, _, found, err := loadPlan(ctx, s.Pool, id, false)
	return p, found, postgres.Classify(err)
}

// PlansByFolio returns a folio's plans, newest first.
func (s Store) PlansByFolio(ctx context.Context, folio string) ([]plans.Plan, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+planColumns+` FROM plans WHERE folio_no = $1 ORDER BY registered_at DESC, id`, folio)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (plans.Plan, error) {
		p, _, err := scanPlan(r)
		return p, err
	})
	if err != nil {
		return nil, postgres.Classify(err)
	}
	ptrs := make([]*plans.Plan, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, postgres.Classify(loadTerms(ctx, s.Pool, ptrs))
}

// PlanInstalments returns a plan's instalments by seq.
func (s Store) PlanInstalments(ctx context.Context, id string) ([]plans.Instalment, error) {
	out, err := instalments(ctx, s.Pool, `WHERE pi.plan_id = $1`, id)
	return out, postgres.Classify(err)
}

// instalments reads plan_instalments rows (alias pi) with their order's
// status, by seq.
func instalments(ctx context.Context, q querier, where string, args ...any) ([]plans.Instalment, error) {
	rows, err := q.Query(ctx, `SELECT pi.seq, pi.nominal_date, pi.merged_nominal, pi.due_date, pi.amount, pi.status, pi.reason, pi.detail,
		pi.notified_at, pi.presented_at, pi.gateway_order_id, pi.gateway_payment_id, coalesce(pi.order_id, ''),
		coalesce((SELECT o.status FROM orders o WHERE o.request_id = pi.order_id ORDER BY o.id LIMIT 1), ''), pi.updated_at
		FROM plan_instalments pi `+where+` ORDER BY pi.seq`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (plans.Instalment, error) {
		var in plans.Instalment
		var nominal, due time.Time
		var merged *time.Time
		var amt decimal.Decimal
		if err := r.Scan(&in.Seq, &nominal, &merged, &due, &amt, &in.Status, &in.Reason, &in.Detail, &in.NotifiedAt, &in.PresentedAt,
			&in.GatewayOrderID, &in.GatewayPaymentID, &in.OrderID, &in.OrderStatus, &in.UpdatedAt); err != nil {
			return in, err
		}
		in.Nominal, in.Due, in.MergedNominal = fund.DateOf(nominal), fund.DateOf(due), datePtr(merged)
		a, err := fund.AmountFromDecimal(amt, fund.NoRounding)
		in.Amount = a
		return in, err
	})
}
