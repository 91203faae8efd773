package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
)

// SchemeNAVDate is a scheme's newest NAV date with its AMC and category
// (from the scheme master; empty for a scheme it does not know).
type SchemeNAVDate struct {
	Code, AMC, Category string
	Date                fund.Date
}

// LatestNAVDates returns every scheme's newest NAV date.
func (s Store) LatestNAVDates(ctx context.Context) ([]SchemeNAVDate, error) {
	rows, err := s.Pool.Query(ctx, `SELECT l.scheme_code, coalesce(s.amc, ''), coalesce(s.category, ''), l.nav_date
		FROM nav_latest l LEFT JOIN schemes s ON s.code = l.scheme_code`)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SchemeNAVDate, error) {
		var x SchemeNAVDate
		var d time.Time
		err := r.Scan(&x.Code, &x.AMC, &x.Category, &d)
		x.Date = fund.DateOf(d)
		return x, err
	})
	return out, classify(err)
}

// NAVPresence is whether a scheme has NAVs dated two days.
type NAVPresence struct {
	SchemeNAVDate
	OnPrev, OnDay bool
}

// NAVPresenceAround returns, for every scheme whose newest NAV is dated
// prev or later (only those can have one dated prev), whether it has a NAV
// dated prev and one dated day. Each check is a primary-key lookup in navs.
func (s Store) NAVPresenceAround(ctx context.Context, prev, day fund.Date) ([]NAVPresence, error) {
	rows, err := s.Pool.Query(ctx, `SELECT l.scheme_code, coalesce(s.amc, ''), coalesce(s.category, ''), l.nav_date,
			EXISTS (SELECT 1 FROM navs n WHERE n.scheme_code = l.scheme_code AND n.nav_date = $1),
			EXISTS (SELECT 1 FROM navs n WHERE n.scheme_code = l.scheme_code AND n.nav_date = $2)
		FROM nav_latest l LEFT JOIN schemes s ON s.code = l.scheme_code
		WHERE l.nav_date >= $1`, prev.Time(), day.Time())
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NAVPresence, error) {
		var x NAVPresence
		var d time.Time
		err := r.Scan(&x.Code, &x.AMC, &x.Category, &d, &x.OnPrev, &x.OnDay)
		x.Date = fund.DateOf(d)
		return x, err
	})
	return out, classify(err)
}

// SyncAlerts makes the open alerts of a kind exactly the given ones
// (subject -> detail), in one transaction: new subjects are raised, open
// ones get the current detail, open ones not given are resolved. It
// returns how many were raised and resolved.
func (s Store) SyncAlerts(ctx context.Context, kind string, open map[string]string) (raised, resolved int, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		subjects := make([]string, 0, len(open))
		for subject, detail := range open {
			subjects = append(subjects, subject)
			var inserted bool
			if err := tx.QueryRow(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ($1, $2, $3)
				ON CONFLICT (kind, subject) WHERE resolved_at IS NULL DO UPDATE SET detail = excluded.detail
				RETURNING xmax = 0`, kind, subject, detail).Scan(&inserted); err != nil {
				return err
			}
			if inserted {
				raised++
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE alerts SET resolved_at = now()
			WHERE kind = $1 AND resolved_at IS NULL AND NOT (subject = ANY($2))`, kind, subjects)
		resolved = int(tag.RowsAffected())
		return err
	})
	return raised, resolved, classify(err)
}
