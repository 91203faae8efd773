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
	"github.com/fundflow/fundflow/pool"
)

// FeeTerms reads a pool's fee terms by date.
func (t Tx) FeeTerms(ctx context.Context, poolID string) ([]pool.FeeTerms, error) {
	rows, err := t.tx.Query(ctx, `SELECT valid_from, aum_rate_pct, perf_pct, hurdle_pct FROM pool_fee_terms WHERE pool_id = $1 ORDER BY valid_from`, poolID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.FeeTerms, error) {
		ft := pool.FeeTerms{Pool: poolID}
		var from time.Time
		err := r.Scan(&from, &ft.AUMRatePct, &ft.PerfPct, &ft.HurdlePct)
		ft.From = fund.DateOf(from)
		return ft, err
	})
}

// PutFeeTerms upserts a pool's terms from a date.
func (t Tx) PutFeeTerms(ctx context.Context, ft pool.FeeTerms) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_fee_terms (pool_id, valid_from, aum_rate_pct, perf_pct, hurdle_pct) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (pool_id, valid_from) DO UPDATE SET aum_rate_pct = excluded.aum_rate_pct, perf_pct = excluded.perf_pct, hurdle_pct = excluded.hurdle_pct`,
		ft.Pool, ft.From.Time(), ft.AUMRatePct, ft.PerfPct, ft.HurdlePct)
	return err
}

const accrualCols = `nav_date, days_from, days_to, aum, fee, runs, coalesce(invoice_id, '')`

func scanAccrual(r pgx.Row, poolID string) (pool.Accrual, error) {
	a := pool.Accrual{Pool: poolID}
	var nd, from, to time.Time
	var aum, fee decimal.Decimal
	var runs []byte
	if err := r.Scan(&nd, &from, &to, &aum, &fee, &runs, &a.InvoiceID); err != nil {
		return a, err
	}
	a.NAVDate, a.From, a.To = fund.DateOf(nd), fund.DateOf(from), fund.DateOf(to)
	var err error
	if a.AUM, err = amount(aum); err != nil {
		return a, err
	}
	if a.Fee, err = amount(fee); err != nil {
		return a, err
	}
	if err := json.Unmarshal(runs, &a.Runs); err != nil {
		return a, fmt.Errorf("accrual %s %s runs: %w", poolID, a.NAVDate, err)
	}
	return a, nil
}

// LastAccrual reads the pool's latest accrual.
func (t Tx) LastAccrual(ctx context.Context, poolID string) (pool.Accrual, bool, error) {
	a, err := scanAccrual(t.tx.QueryRow(ctx, `SELECT `+accrualCols+` FROM pool_fee_accruals WHERE pool_id = $1 ORDER BY nav_date DESC LIMIT 1`, poolID), poolID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// InsertAccrual writes a NAV date's accrual (a second one of the date is
// a unique violation: the NAV row is written in the same transaction).
func (t Tx) InsertAccrual(ctx context.Context, a pool.Accrual) error {
	runs, err := json.Marshal(a.Runs)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_fee_accruals (pool_id, nav_date, days_from, days_to, aum, fee, runs) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.Pool, a.NAVDate.Time(), a.From.Time(), a.To.Time(), a.AUM.Decimal(), a.Fee.Decimal(), string(runs))
	return err
}
