package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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

// SaveQuarterSkip records (or, tried again, updates) a wallet the quarter's
// billing could not bill, with the reason.
func (s Store) SaveQuarterSkip(ctx context.Context, k wallet.QuarterSkip) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO fee_quarter_skips (period_from, period_to, crystallise, wallet_id, reason)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (period_from, wallet_id) DO UPDATE SET reason = EXCLUDED.reason, last_at = now(),
			tries = fee_quarter_skips.tries + 1, resolved_at = NULL`,
		k.From.Time(), k.To.Time(), k.Crystallise, k.WalletID, k.Reason)
	return err
}

// ResolveQuarterSkip marks a skipped wallet's quarter billed.
func (s Store) ResolveQuarterSkip(ctx context.Context, from fund.Date, walletID string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE fee_quarter_skips SET resolved_at = now() WHERE period_from = $1 AND wallet_id = $2 AND resolved_at IS NULL`,
		from.Time(), walletID)
	return err
}

// OpenQuarterSkips lists the skipped wallets not billed yet, oldest
// quarter first, at most limit.
func (s Store) OpenQuarterSkips(ctx context.Context, limit int) ([]wallet.QuarterSkip, error) {
	rows, err := s.Pool.Query(ctx, `SELECT period_from, period_to, crystallise, wallet_id, reason FROM fee_quarter_skips
		WHERE resolved_at IS NULL ORDER BY period_from, wallet_id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.QuarterSkip, error) {
		var k wallet.QuarterSkip
		var from, to time.Time
		err := r.Scan(&from, &to, &k.Crystallise, &k.WalletID, &k.Reason)
		k.From, k.To = fund.DateOf(from), fund.DateOf(to)
		return k, err
	})
}

// EarliestFeeTerms is the first valid_from of any fee terms.
func (s Store) EarliestFeeTerms(ctx context.Context) (fund.Date, bool, error) {
	var d *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT min(valid_from) FROM fee_terms`).Scan(&d); err != nil || d == nil {
		return fund.Date{}, false, err
	}
	return fund.DateOf(*d), true, nil
}

// UnbilledWallets lists open or closing wallets with fee terms in effect by
// to whose invoices do not cover every day from the terms' first day to
// to, leaving out those with an open skip: the days its invoices cover are counted (billing never bills a day
// twice, so they do not overlap) against the days there are.
func (s Store) UnbilledWallets(ctx context.Context, to fund.Date, after string, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT t.wallet_id FROM (
			SELECT wallet_id, min(valid_from) AS first FROM fee_terms WHERE wallet_id > $2 GROUP BY wallet_id) t
		JOIN wallets w ON w.id = t.wallet_id AND w.status IN ('open', 'closing')
		CROSS JOIN LATERAL (
			SELECT coalesce(sum(least(i.period_to, $1::date) - greatest(i.period_from, t.first) + 1), 0) AS days
			FROM fee_invoices i WHERE i.wallet_id = t.wallet_id AND i.period_from <= $1::date AND i.period_to >= t.first) c
		WHERE t.first <= $1::date AND c.days < $1::date - t.first + 1
		  AND NOT EXISTS (SELECT 1 FROM fee_quarter_skips k WHERE k.wallet_id = t.wallet_id AND k.resolved_at IS NULL)
		ORDER BY t.wallet_id LIMIT $3`, to.Time(), after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
