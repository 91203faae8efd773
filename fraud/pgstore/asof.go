package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fraud"
)

// enrichAsOf fills in order events as enrich does, but as the ledger stood
// when each event was written (asOf[i], its outbox row's time: the clock
// the ledger's posted_at is on): units from the investor's ledger
// transactions posted by then, valued at each scheme's latest NAV on or
// before that day in IST. A backtest over last month's redemptions then
// sees last month's holdings, not today's.
func enrichAsOf(ctx context.Context, tx pgx.Tx, evs []fraud.Event, asOf []time.Time) error {
	var ids []string
	var ats []time.Time
	for i, e := range evs {
		if e.NeedsEnrich() {
			ids, ats = append(ids, e.OrderID), append(ats, asOf[i])
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		WITH ev AS (
		    SELECT DISTINCT ON (x.id) x.id, x.at, (x.at AT TIME ZONE 'Asia/Kolkata')::date AS day
		    FROM unnest($1::text[], $2::timestamptz[]) AS x(id, at) ORDER BY x.id, x.at
		), o AS (
		    SELECT ev.id, ev.at, ev.day, o.investor_id, o.folio_no, o.scheme_code, o.amount, o.units
		    FROM ev JOIN orders o ON o.id = ev.id
		), pos AS ( -- the investor's units per folio and scheme as of the event
		    SELECT o.id, t.folio_no, t.scheme_code,
		           sum(CASE WHEN t.kind IN ('purchase', 'switch_in') THEN t.units ELSE -t.units END) AS units
		    FROM o JOIN folios f ON f.investor_id = o.investor_id
		    JOIN ledger_transactions t ON t.folio_no = f.folio_no AND t.posted_at <= o.at
		    GROUP BY 1, 2, 3
		), val AS (
		    SELECT pos.id, pos.folio_no, pos.scheme_code, pos.units, n.nav
		    FROM pos JOIN o ON o.id = pos.id
		    LEFT JOIN LATERAL (SELECT nav FROM navs WHERE scheme_code = pos.scheme_code AND nav_date <= o.day
		                       ORDER BY nav_date DESC LIMIT 1) n ON true
		)
		SELECT o.id, o.investor_id, o.folio_no,
		       COALESCE(o.amount, round(o.units * n.nav, 2),
		                (SELECT round(v.units * v.nav, 2) FROM val v WHERE v.id = o.id AND v.folio_no = o.folio_no AND v.scheme_code = o.scheme_code), 0),
		       COALESCE((SELECT round(sum(v.units * v.nav), 2) FROM val v WHERE v.id = o.id), 0)
		FROM o LEFT JOIN LATERAL (SELECT nav FROM navs WHERE scheme_code = o.scheme_code AND nav_date <= o.day
		                          ORDER BY nav_date DESC LIMIT 1) n ON true`, ids, ats)
	if err != nil {
		return fmt.Errorf("fraud enrich as of: %w", err)
	}
	return fill(rows, evs)
}
