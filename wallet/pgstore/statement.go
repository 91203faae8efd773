package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.StatementStore = Store{}

// WalletStatement reads, for each wallet auto-investing into folio, its
// balance before from and at the end of to (IST days), and the period's
// movements per kind on its wallet:<id> account (a credit is money in).
func (s Store) WalletStatement(ctx context.Context, folio string, from, to fund.Date) ([]wallet.StatementLines, error) {
	start := time.Time{} // IST midnights: the statement's days are Indian
	if !from.IsZero() {
		start = time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, fund.IST())
	}
	end := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, fund.IST()).AddDate(0, 0, 1)
	rows, err := s.Pool.Query(ctx, `WITH w AS (SELECT a.wallet_id, a.model_id FROM autoinvest_terms a WHERE a.folio_no = $1),
		p AS (SELECT t.wallet_id, t.kind, t.posted_at, -x.amount AS credit FROM w
			JOIN wallet_transactions t ON t.wallet_id = w.wallet_id
			JOIN wallet_postings x ON x.tx_id = t.id AND x.account = 'wallet:' || t.wallet_id AND x.asset = 'INR'
			WHERE t.posted_at < $3)
		SELECT w.wallet_id, w.model_id, '' AS kind,
			coalesce((SELECT sum(credit) FROM p WHERE p.wallet_id = w.wallet_id AND p.posted_at < $2), 0),
			coalesce((SELECT sum(credit) FROM p WHERE p.wallet_id = w.wallet_id), 0), 0
		FROM w
		UNION ALL
		SELECT p.wallet_id, '', p.kind, coalesce(sum(credit) FILTER (WHERE credit > 0), 0), coalesce(-sum(credit) FILTER (WHERE credit < 0), 0), count(*)
		FROM p WHERE p.posted_at >= $2 GROUP BY p.wallet_id, p.kind
		ORDER BY 1, 3`, folio, start, end)
	if err != nil {
		return nil, err
	}
	var out []wallet.StatementLines
	var id, model, kind string
	var a, b decimal.Decimal
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &model, &kind, &a, &b, &n}, func() error {
		x, err := fund.AmountFromDecimal(a, fund.NoRounding)
		if err != nil {
			return err
		}
		y, err := fund.AmountFromDecimal(b, fund.NoRounding)
		if err != nil {
			return err
		}
		if kind == "" { // the wallet's row comes first (kind '' sorts first)
			out = append(out, wallet.StatementLines{WalletID: id, Model: model, Opening: x, Closing: y})
			return nil
		}
		l := &out[len(out)-1]
		l.Flows = append(l.Flows, wallet.Flow{Kind: kind, In: x, Out: y, Count: n})
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	return out, s.rebalanceLines(ctx, out, start, end)
}

// rebalanceLines adds each wallet's rebalance runs proposed in [start,
// end), with the day each was proposed and executed (IST), in one query.
func (s Store) rebalanceLines(ctx context.Context, out []wallet.StatementLines, start, end time.Time) error {
	idx := map[string]int{}
	ids := make([]string, len(out))
	for i, l := range out {
		idx[l.WalletID], ids[i] = i, l.WalletID
	}
	rows, err := s.Pool.Query(ctx, `SELECT r.wallet_id, r.id, (r.created_at AT TIME ZONE 'Asia/Kolkata')::date,
			CASE WHEN r.placed_at < $3 THEN (r.placed_at AT TIME ZONE 'Asia/Kolkata')::date END,
			(SELECT count(*) FROM rebalance_switches x WHERE x.run_id = r.id),
			coalesce((SELECT sum(x.amount) FROM rebalance_switches x WHERE x.run_id = r.id), 0)
		FROM rebalance_runs r WHERE r.wallet_id = ANY($1) AND r.created_at >= $2 AND r.created_at < $3
		  AND r.status <> 'nothing_to_do' -- a model version recorded, no switch: not a rebalance to show
		ORDER BY r.wallet_id, r.created_at, r.id`, ids, start, end)
	if err != nil {
		return err
	}
	var wid string
	var rl wallet.RebalanceLine
	var proposed time.Time
	var executed *time.Time
	var amt decimal.Decimal
	_, err = pgx.ForEachRow(rows, []any{&wid, &rl.ID, &proposed, &executed, &rl.Switches, &amt}, func() error {
		l := rl
		l.Proposed = fund.DateOf(proposed)
		if executed != nil {
			d := fund.DateOf(*executed)
			l.Executed = &d
		}
		var err error
		if l.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding); err != nil {
			return err
		}
		i := idx[wid]
		out[i].Rebalances = append(out[i].Rebalances, l)
		return nil
	})
	return err
}
