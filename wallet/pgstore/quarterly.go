package pgstore

import (
	"context"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.QuarterStore = Store{}

// QuarterBilled says whether fee_quarter_runs has the quarter.
func (s Store) QuarterBilled(ctx context.Context, from fund.Date) (bool, error) {
	var ok bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fee_quarter_runs WHERE period_from = $1)`, from.Time()).Scan(&ok)
	return ok, err
}

// MarkQuarterBilled records a finished quarter (a second mark is ignored).
func (s Store) MarkQuarterBilled(ctx context.Context, q wallet.QuarterRun) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO fee_quarter_runs (period_from, period_to, crystallised, wallets_billed, wallets_skipped, total)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (period_from) DO NOTHING`,
		q.From.Time(), q.To.Time(), q.Crystallised, q.Billed, len(q.Skipped), q.Total.Decimal())
	return err
}
