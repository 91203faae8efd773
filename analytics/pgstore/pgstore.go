// Package pgstore is analytics' Postgres side: what it reads from the
// ledger (ledger_transactions, with their orders).
package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// Store reads the ledger.
type Store struct{ Pool *pgxpool.Pool }

var _ analytics.Ledger = Store{}

// LedgerDays totals ledger_transactions by NAV date, scheme and kind.
func (s Store) LedgerDays(ctx context.Context, from, to fund.Date) (analytics.Days, error) {
	rows, err := s.Pool.Query(ctx, `SELECT nav_date, scheme_code, kind, count(*), sum(amount), sum(units)
		FROM ledger_transactions WHERE nav_date BETWEEN $1 AND $2 GROUP BY 1, 2, 3`, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("analytics: ledger days: %w", err)
	}
	defer rows.Close()
	out := analytics.Days{}
	for rows.Next() {
		var d time.Time
		var k analytics.DayKey
		var t analytics.DayTotal
		if err := rows.Scan(&d, &k.Scheme, &k.Kind, &t.Count, &t.Amount, &t.Units); err != nil {
			return nil, fmt.Errorf("analytics: ledger days: %w", err)
		}
		k.Date = fund.DateOf(d)
		out[k] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: ledger days: %w", err)
	}
	return out, nil
}

// LedgerFacts are the ledger's transactions of NAV dates [from, to] as
// transactions.completed events (ledger.emitTx's fields): what the facts
// relay would have copied.
func (s Store) LedgerFacts(ctx context.Context, from, to fund.Date) ([]fund.TransactionCompleted, error) {
	rows, err := s.Pool.Query(ctx, `SELECT t.id, t.order_id, coalesce(o.request_id, ''), coalesce(t.switch_id, ''), t.kind,
		t.folio_no, coalesce(o.investor_id, f.investor_id), t.scheme_code, t.nav_date, t.nav, t.units, t.amount, t.stamp_duty,
		t.exit_load, t.net_amount, coalesce(t.payment_id, ''), coalesce(o.placed_at, t.posted_at), t.posted_at
		FROM ledger_transactions t JOIN folios f ON f.folio_no = t.folio_no LEFT JOIN orders o ON o.id = t.order_id
		WHERE t.nav_date BETWEEN $1 AND $2 ORDER BY t.id`, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("analytics: ledger facts: %w", err)
	}
	defer rows.Close()
	var out []fund.TransactionCompleted
	for rows.Next() {
		var t fund.TransactionCompleted
		var navDate, placed, posted time.Time
		var nav, units, amount, duty, load, net decimal.Decimal
		if err := rows.Scan(&t.TxID, &t.OrderID, &t.RequestID, &t.SwitchID, &t.Kind, &t.Folio, &t.InvestorID, &t.SchemeCode,
			&navDate, &nav, &units, &amount, &duty, &load, &net, &t.PaymentID, &placed, &posted); err != nil {
			return nil, fmt.Errorf("analytics: ledger facts: %w", err)
		}
		t.EventID = fund.TopicTransactions + ":" + t.OrderID
		t.NAVDate = fund.DateOf(navDate).String()
		t.NAV, t.Units, t.Amount, t.StampDuty, t.ExitLoad, t.NetAmount = nav.String(), units.String(), amount.String(), duty.String(), load.String(), net.String()
		t.PlacedAt, t.PostedAt = placed.UTC().Format(time.RFC3339Nano), posted.UTC().Format(time.RFC3339Nano)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: ledger facts: %w", err)
	}
	return out, nil
}

// SchemeVersions is every version of every scheme: scheme_versions, plus
// the current row of schemes for a scheme whose version is not there (the
// generators write schemes only).
func (s Store) SchemeVersions(ctx context.Context) ([]analytics.SchemeVersion, error) {
	rows, err := s.Pool.Query(ctx, `SELECT code, version, valid_from, valid_to, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc
		FROM scheme_versions
		UNION ALL
		SELECT code, version, valid_from, NULL, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc
		FROM schemes s WHERE NOT EXISTS (SELECT 1 FROM scheme_versions v WHERE v.code = s.code AND v.version = s.version)`)
	if err != nil {
		return nil, fmt.Errorf("analytics: scheme versions: %w", err)
	}
	defer rows.Close()
	var out []analytics.SchemeVersion
	for rows.Next() {
		var v analytics.SchemeVersion
		var from time.Time
		var to *time.Time
		var version int32
		if err := rows.Scan(&v.Code, &version, &from, &to, &v.Name, &v.ISINGrowth, &v.ISINReinvest, &v.Plan, &v.Option, &v.Category, &v.SchemeType, &v.AMC); err != nil {
			return nil, fmt.Errorf("analytics: scheme versions: %w", err)
		}
		v.Version, v.ValidFrom = uint32(version), fund.DateOf(from)
		if to != nil {
			d := fund.DateOf(*to)
			v.ValidTo = &d
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// NAVs are the published NAVs of codes dated in [from, to], oldest first by
// scheme: the valuation's NAVs come from the source of truth. A window, not
// the whole history up to `to`: the folio risk route values one year, and
// the whole history grows with time (ten years of daily NAVs are ~2,600
// rows a scheme, read on every request).
func (s Store) NAVs(ctx context.Context, codes []string, from, to fund.Date) (map[string][]risk.Point, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code, nav_date, nav FROM navs WHERE scheme_code = ANY($1) AND nav_date >= $2 AND nav_date <= $3
		ORDER BY scheme_code, nav_date`, codes, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("analytics: navs: %w", err)
	}
	return points(rows, "navs")
}

// points collects (scheme_code, nav_date, nav) rows by scheme, in order.
func points(rows pgx.Rows, what string) (map[string][]risk.Point, error) {
	defer rows.Close()
	out := map[string][]risk.Point{}
	for rows.Next() {
		var code string
		var d time.Time
		var nav decimal.Decimal
		if err := rows.Scan(&code, &d, &nav); err != nil {
			return nil, fmt.Errorf("analytics: %s: %w", what, err)
		}
		out[code] = append(out[code], risk.Point{Date: fund.DateOf(d), NAV: nav})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: %s: %w", what, err)
	}
	return out, nil
}

// NAVsMark is the newest loaded_at of the NAVs (zero time when none).
func (s Store) NAVsMark(ctx context.Context) (time.Time, error) {
	var t *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT max(loaded_at) FROM navs`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("analytics: navs mark: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

// TouchedNAVs is, per scheme of codes, the earliest date of the NAVs loaded
// at or after since.
func (s Store) TouchedNAVs(ctx context.Context, codes []string, since time.Time) (map[string]fund.Date, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code, min(nav_date) FROM navs WHERE loaded_at >= $1 AND scheme_code = ANY($2) GROUP BY 1`, since, codes)
	if err != nil {
		return nil, fmt.Errorf("analytics: touched navs: %w", err)
	}
	defer rows.Close()
	out := map[string]fund.Date{}
	for rows.Next() {
		var code string
		var d time.Time
		if err := rows.Scan(&code, &d); err != nil {
			return nil, fmt.Errorf("analytics: touched navs: %w", err)
		}
		out[code] = fund.DateOf(d)
	}
	return out, rows.Err()
}

// NAVsFrom are the schemes' NAVs of [from, to] and, for each, the latest
// before from (the NAV in force on from), oldest first: what a refresh of
// the days from `from` needs.
func (s Store) NAVsFrom(ctx context.Context, codes []string, from, to fund.Date) (map[string][]risk.Point, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code, nav_date, nav FROM (
			SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, nav FROM navs
			WHERE scheme_code = ANY($1) AND nav_date < $2 ORDER BY scheme_code, nav_date DESC) before
		UNION ALL
		SELECT scheme_code, nav_date, nav FROM navs WHERE scheme_code = ANY($1) AND nav_date >= $2 AND nav_date <= $3
		ORDER BY 1, 2`, codes, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("analytics: navs from %s: %w", from, err)
	}
	return points(rows, "navs from "+from.String())
}
