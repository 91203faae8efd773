package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.ExitStore = Store{}
var _ wallet.ExitTx = Tx{}

// InExitTx runs fn in one transaction.
func (s Store) InExitTx(ctx context.Context, fn func(wallet.ExitTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// ValueWallet writes one wallet's valuation of day as Store.Value does
// (cash + each holding of its auto-invest folio at the NAV of day or the
// last before it, truncated to the paisa), once.
func (t Tx) ValueWallet(ctx context.Context, walletID string, day fund.Date) error {
	_, err := t.tx.Exec(ctx, valuationInsert+`
		WHERE w.id = $2
		ON CONFLICT (wallet_id, day) DO NOTHING`, day.Time(), walletID)
	return err
}

// valuationInsert values wallets on day $1 (Store.Value, Tx.ValueWallet
// add which): cash plus each holding of the auto-invest folio at the NAV
// of $1 or the last before it, each truncated to the paisa.
const valuationInsert = `INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum)
		SELECT w.id, $1::date, w.balance, coalesce(v.value, 0), w.balance + coalesce(v.value, 0)
		FROM wallets w
		LEFT JOIN autoinvest_terms a ON a.wallet_id = w.id
		LEFT JOIN LATERAL (
			SELECT sum(trunc(h.units * n.nav, 2)) AS value FROM holdings h
			CROSS JOIN LATERAL (SELECT nav FROM navs WHERE scheme_code = h.scheme_code AND nav_date <= $1::date ORDER BY nav_date DESC LIMIT 1) n
			WHERE h.folio_no = a.folio_no AND h.units > 0) v ON true`

// CloseWallet closes a wallet and disables its auto-invest terms.
func (t Tx) CloseWallet(ctx context.Context, walletID string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE wallets SET status = 'closed' WHERE id = $1`, walletID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE autoinvest_terms SET enabled = false WHERE wallet_id = $1`, walletID)
	return err
}
