package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// FolioInvestor reads the investor a folio belongs to.
func (t Tx) FolioInvestor(ctx context.Context, folio string) (string, bool, error) {
	var id string
	err := t.tx.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, folio).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// Investing sums the pool's legs not refunded whose orders are not
// allotted (not placed yet, awaiting payment or NAV, or refused and not
// refunded yet: the money is the pool's and not in its folio).
func (t Tx) Investing(ctx context.Context, poolID string) (fund.Amount, error) {
	var d decimal.Decimal
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(l.amount), 0) FROM pool_invest_legs l
		WHERE l.pool_id = $1 AND NOT l.refunded
		  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.request_id = l.order_id AND o.status = 'allotted')`, poolID).Scan(&d); err != nil {
		return fund.Amount{}, err
	}
	return amount(d)
}

// InsertInvestRun writes a run and its legs.
func (t Tx) InsertInvestRun(ctx context.Context, r pool.InvestRun) error {
	split, err := json.Marshal(r.Split)
	if err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO pool_invest_runs (pool_id, nav_date, model_id, model_version, batch, invested, split, requests, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.Pool, r.Date.Time(), r.ModelID, r.ModelVersion, r.Batch.Decimal(), r.Invested.Decimal(),
		string(split), r.Requests, r.Status); err != nil {
		return err
	}
	ids := make([]string, len(r.Split.Legs))
	schemes := make([]string, len(r.Split.Legs))
	amts := make([]decimal.Decimal, len(r.Split.Legs))
	for i, l := range r.Split.Legs {
		var body struct {
			OrderID string `json:"order_id"`
		}
		if err := json.Unmarshal([]byte(r.Requests[i]), &body); err != nil {
			return err
		}
		ids[i], schemes[i], amts[i] = body.OrderID, l.Scheme, l.Amount.Decimal()
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_invest_legs (order_id, pool_id, nav_date, scheme_code, amount)
		SELECT o, $1, $2, s, a FROM unnest($3::text[], $4::text[], $5::numeric[]) AS x(o, s, a)`, r.Pool, r.Date.Time(), ids, schemes, amts)
	return err
}

// InvestRun reads a run, locked.
func (t Tx) InvestRun(ctx context.Context, poolID string, day fund.Date) (pool.InvestRun, bool, error) {
	r := pool.InvestRun{Pool: poolID, Date: day}
	var batch, invested decimal.Decimal
	var split []byte
	err := t.tx.QueryRow(ctx, `SELECT model_id, model_version, batch, invested, split, requests, status FROM pool_invest_runs
		WHERE pool_id = $1 AND nav_date = $2 FOR UPDATE`, poolID, day.Time()).
		Scan(&r.ModelID, &r.ModelVersion, &batch, &invested, &split, &r.Requests, &r.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(split, &r.Split); err != nil {
		return r, false, err
	}
	if r.Batch, err = amount(batch); err != nil {
		return r, false, err
	}
	r.Invested, err = amount(invested)
	return r, err == nil, err
}

// DebitedRuns lists a pool's runs not placed, oldest first.
func (t Tx) DebitedRuns(ctx context.Context, poolID string) ([]fund.Date, error) {
	rows, err := t.tx.Query(ctx, `SELECT nav_date FROM pool_invest_runs WHERE pool_id = $1 AND status = 'debited' ORDER BY nav_date`, poolID)
	if err != nil {
		return nil, err
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	out := make([]fund.Date, len(days))
	for i, d := range days {
		out[i] = fund.DateOf(d)
	}
	return out, err
}

// FinishInvestRun marks the run placed and its refused legs refunded.
func (t Tx) FinishInvestRun(ctx context.Context, poolID string, day fund.Date, refunded []string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE pool_invest_legs SET refunded = true WHERE order_id = ANY($1)`, refunded); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE pool_invest_runs SET status = 'placed' WHERE pool_id = $1 AND nav_date = $2`, poolID, day.Time())
	return err
}

// endedLegWhere: a leg of a placed run (a debited run's refused orders
// are placeRun's), not refunded, whose order the ledger ended.
const endedLegWhere = `NOT l.refunded AND o.status IN ('cancelled', 'rejected')
		  AND EXISTS (SELECT 1 FROM pool_invest_runs r WHERE r.pool_id = l.pool_id AND r.nav_date = l.nav_date AND r.status = 'placed')`

// EndedLegs lists the pool's legs whose orders the ledger ended, oldest
// first.
func (t Tx) EndedLegs(ctx context.Context, poolID string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT l.order_id FROM pool_invest_legs l JOIN orders o ON o.request_id = l.order_id
		WHERE l.pool_id = $1 AND `+endedLegWhere+` ORDER BY l.nav_date, l.order_id`, poolID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EndedLeg reads a leg whose order the ledger ended, the leg locked.
func (t Tx) EndedLeg(ctx context.Context, orderID string) (pool.EndedLeg, bool, error) {
	l := pool.EndedLeg{OrderID: orderID}
	var day time.Time
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT l.pool_id, l.nav_date, l.scheme_code, l.amount, o.status, o.reason
		FROM pool_invest_legs l JOIN orders o ON o.request_id = l.order_id
		WHERE l.order_id = $1 AND `+endedLegWhere+` FOR UPDATE OF l`, orderID).Scan(&l.Pool, &day, &l.Scheme, &amt, &l.Status, &l.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	l.Date = fund.DateOf(day)
	l.Amount, err = amount(amt)
	return l, err == nil, err
}

// SweptLeg marks the leg refunded and resolves the ledger's refund due
// for its order's payment: the refund-due break (cancelled or rejected
// after payment) and the refund_due alert on that payment, since the
// money is back in the pool's cash in the same transaction.
func (t Tx) SweptLeg(ctx context.Context, orderID string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE pool_invest_legs SET refunded = true WHERE order_id = $1`, orderID); err != nil {
		return err
	}
	return walletpg.ResolveRefundDue(ctx, t.tx, orderID)
}

// FolioUser names another pool or a wallet's auto-invest terms using the
// folio, under the folio's owner lock.
func (t Tx) FolioUser(ctx context.Context, folio, poolID string) (string, bool, error) {
	if err := walletpg.LockFolioOwner(ctx, t.tx, folio); err != nil {
		return "", false, err
	}
	var user string
	err := t.tx.QueryRow(ctx, `SELECT u FROM (
		SELECT 'pool ' || id AS u, 1 AS k FROM pools WHERE folio_no = $1 AND id <> $2
		UNION ALL SELECT 'the auto-invest folio of wallet ' || wallet_id, 2 FROM autoinvest_terms WHERE folio_no = $1) x
		ORDER BY k, u LIMIT 1`, folio, poolID).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return user, err == nil, err
}
