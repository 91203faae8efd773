package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// sqlFacts aggregates the period's commission rows into analysts' facts:
// the trail by day, ARN, bucket, scheme and AMC (amount = basis / 36,500 to
// 10 decimals, half-up: display only, the exact basis goes with it), the
// event amounts by kind, and the payouts of the months starting in the
// period by payee.
const sqlFacts = `
SELECT day, 'trail', arn, bucket, scheme_code, amc, count(*)::int, sum(aum), sum(basis), round(sum(basis) / 36500, 10)
FROM trail_accruals WHERE day >= $1 AND day <= $2 GROUP BY day, arn, bucket, scheme_code, amc
UNION ALL
SELECT e.day, e.kind, e.arn, e.bucket, e.scheme_code, coalesce(s.amc, ''), count(*)::int, 0, 0, sum(e.amount)
FROM commission_events e LEFT JOIN schemes s ON s.code = e.scheme_code
WHERE e.day >= $1 AND e.day <= $2 GROUP BY e.day, e.kind, e.arn, e.bucket, e.scheme_code, s.amc
UNION ALL
SELECT p.month, k.kind, '', p.payee, '', '', 0, 0, 0, k.amount
FROM commission_payouts p
CROSS JOIN LATERAL (VALUES ('payout_gross', p.gross), ('payout_gst', p.cgst + p.sgst + p.igst), ('payout_tds', p.tds),
                           ('payout_net', p.net)) AS k(kind, amount)
WHERE p.month >= $1 AND p.month <= $2`

// Facts returns the commission facts of the days from..to (inclusive).
func (s Store) Facts(ctx context.Context, from, to fund.Date) ([]commissions.Fact, error) {
	rows, err := s.Pool.Query(ctx, sqlFacts, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("commission facts: %w", err)
	}
	defer rows.Close()
	var out []commissions.Fact
	for rows.Next() {
		var f commissions.Fact
		var day time.Time
		var aum, basis, amt decimal.Decimal
		if err := rows.Scan(&day, &f.Kind, &f.ARN, &f.Bucket, &f.Scheme, &f.AMC, &f.Holdings, &aum, &basis, &amt); err != nil {
			return nil, err
		}
		f.Day, f.AUM, f.Basis, f.Amount = fund.DateOf(day), aum, basis, amt
		out = append(out, f)
	}
	return out, rows.Err()
}

// PayoutStatement returns what payee's payout statement of month shows (ok
// false: no payout): the statement and lines, the event lines, and the
// trail accrued to it day by day this month and the month before.
func (s Store) PayoutStatement(ctx context.Context, payee string, month fund.Date) (commissions.PayoutPDF, bool, error) {
	month = commissions.MonthOf(month)
	out := commissions.PayoutPDF{Month: month}
	st, lines, ok, err := s.PayoutOf(ctx, payee, month)
	if err != nil || !ok {
		return out, ok, err
	}
	out.Statement, out.Lines = st, lines
	rows, err := s.Pool.Query(ctx, `SELECT bucket, kind, amount FROM commission_payout_event_lines WHERE month = $1 AND payee = $2
		ORDER BY bucket, kind`, month.Time(), payee)
	if err != nil {
		return out, false, err
	}
	for rows.Next() {
		l := commission.EventPayLine{Payee: payee}
		var kind string
		var amt decimal.Decimal
		if err := rows.Scan(&l.Bucket, &kind, &amt); err != nil {
			rows.Close()
			return out, false, err
		}
		l.Kind, l.Amount = commission.EventKind(kind), amount(amt)
		out.EventLines = append(out.EventLines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, false, err
	}
	h, err := s.Hierarchy(ctx)
	if err != nil {
		return out, false, err
	}
	for i, m := range []fund.Date{month, commissions.MonthOf(month.AddDays(-1))} {
		days, _, err := s.MonthBuckets(ctx, m)
		if err != nil {
			return out, false, err
		}
		series, err := commissions.AccrualSeries(days, h, payee, m)
		if err != nil {
			return out, false, err
		}
		if i == 0 {
			out.This = series
		} else {
			out.Prev = series
		}
	}
	return out, true, nil
}
