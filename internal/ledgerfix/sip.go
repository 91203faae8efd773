package ledgerfix

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
)

// SIPInstalment makes a purchase Load wrote one SIP instalment of a plan,
// as the plans service leaves it: the order request's source is
// 'plan:<plan id>' and an allotted plan_instalments row points at the
// request. The plan (monthly, active) and its mandate (confirmed, at bank)
// are created on first use.
type SIPInstalment struct {
	PlanID, Bank string
	OrderID      string    // the purchase's order (= request) id, from Written.OrderIDs
	Seq          int       // 1, 2, …
	Due          fund.Date // the instalment's due (= nominal) date
}

// MarkSIP writes the instalments in one transaction.
func MarkSIP(ctx context.Context, pool *pgxpool.Pool, ins ...SIPInstalment) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range ins {
			if _, err := tx.Exec(ctx, `INSERT INTO mandates (id, gateway, investor_id, method, status, max_amount, bank_name)
				SELECT 'token_' || $1, 'razorpay', r.investor_id, 'emandate', 'confirmed', 100000, $2
				FROM orders r WHERE r.id = $3 ON CONFLICT (id) DO NOTHING`, s.PlanID, s.Bank, s.OrderID); err != nil {
				return fmt.Errorf("mandate of %s: %w", s.PlanID, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, mandate_id,
					frequency, start_date, status)
				SELECT $1, 'client-' || $1, '', 'sip', o.investor_id, o.folio_no, o.scheme_code, 'token_' || $1, 'monthly', $2, 'active'
				FROM orders o WHERE o.id = $3 ON CONFLICT (id) DO NOTHING`, s.PlanID, s.Due.Time(), s.OrderID); err != nil {
				return fmt.Errorf("plan %s: %w", s.PlanID, err)
			}
			tag, err := tx.Exec(ctx, `UPDATE order_requests SET source = 'plan:' || $1 WHERE id = (SELECT request_id FROM orders WHERE id = $2)`,
				s.PlanID, s.OrderID)
			if err != nil || tag.RowsAffected() != 1 {
				return fmt.Errorf("order %s of %s: %d rows, %v", s.OrderID, s.PlanID, tag.RowsAffected(), err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status, order_id)
				SELECT $1, $2, $3, $2, o.amount, 'allotted', o.request_id FROM orders o WHERE o.id = $4`,
				s.PlanID, s.Due.Time(), s.Seq, s.OrderID); err != nil {
				return fmt.Errorf("instalment %d of %s: %w", s.Seq, s.PlanID, err)
			}
		}
		return nil
	})
}
