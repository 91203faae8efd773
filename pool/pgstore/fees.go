package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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
