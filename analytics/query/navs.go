package query

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// NAVWindowSlackDays is how far before the risk window of the newest NAV
// date the NAV snapshot reaches: a folio risk asked as of up to this many
// days before the newest NAV is still answered from memory.
const NAVWindowSlackDays = 31

// navScale is the places of navs.nav (numeric(18,8)): each NAV is kept as
// an int64 count of 1e-8, exact, 8 bytes instead of a big.Int.
const navScale = 8

// NAVSnapshot is every scheme's Postgres NAVs (the navs table the folio
// risk reads) dated From or later, as read at one moment. Immutable once
// built.
type NAVSnapshot struct {
	From     fund.Date // the first date held: every NAV on or after it is here
	Mark     NAVsMark  // the rows' count and newest loaded_at, to see a change
	Latest   NAVsMark  // nav_latest's count and newest updated_at, the cheap check
	Rows     int
	LoadedAt time.Time
	schemes  map[string]navSeries
}

type navSeries struct {
	days []int32 // fund.Date as days since 1970-01-01, ascending
	navs []int64 // units of 1e-8
}

// NAVsMark changes whenever a NAV on or after a date is added or removed:
// navs rows are inserted (ON CONFLICT DO NOTHING, stamped loaded_at) or
// deleted (a retraction), never updated. It counts the window's rows: a
// scan of navs, so Cached asks it only every NAVFullCheck; every check
// asks LatestMark, nav_latest's (one row a scheme, moved by every NAV newer
// than the scheme's latest, at the load's flushes: the day's load).
type NAVsMark struct {
	Count    int64
	LoadedAt time.Time
}

func dayNum(d fund.Date) int32 { return int32(d.Time().Unix() / 86400) }

// Covers says whether the snapshot holds every NAV of [from, …].
func (s *NAVSnapshot) Covers(from fund.Date) bool { return s != nil && !from.Before(s.From) }

// Len is the number of schemes held.
func (s *NAVSnapshot) Len() int { return len(s.schemes) }

// NAVs is what pgstore.Store.NAVs answers for codes and [from, to] when
// Covers(from): each scheme's NAVs in the range, oldest first, a scheme
// with none left out.
func (s *NAVSnapshot) NAVs(codes []string, from, to fund.Date) map[string][]risk.Point {
	out := map[string][]risk.Point{}
	lo, hi := dayNum(from), dayNum(to)
	for _, c := range codes {
		ns, ok := s.schemes[c]
		if !ok {
			continue
		}
		i := sort.Search(len(ns.days), func(k int) bool { return ns.days[k] >= lo })
		var ps []risk.Point
		for ; i < len(ns.days) && ns.days[i] <= hi; i++ {
			ps = append(ps, risk.Point{Date: fund.DateOf(time.Unix(int64(ns.days[i])*86400, 0).UTC()), NAV: decimal.New(ns.navs[i], -navScale)})
		}
		if len(ps) > 0 {
			out[c] = ps
		}
	}
	return out
}

// NAVSnapshot reads the navs table from RiskWindowDays + NAVWindowSlackDays
// before its newest NAV date, in one repeatable-read transaction (the
// rows and their mark agree).
func (s Service) NAVSnapshot(ctx context.Context) (*NAVSnapshot, error) {
	out := &NAVSnapshot{schemes: map[string]navSeries{}}
	err := pgx.BeginTxFunc(ctx, s.PG, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var newest *time.Time
		if err := tx.QueryRow(ctx, `SELECT max(nav_date) FROM navs`).Scan(&newest); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, latestMarkSQL).Scan(&out.Latest.Count, &out.Latest.LoadedAt); err != nil {
			return err
		}
		if newest == nil {
			out.From = fund.NewDate(9999, 12, 31) // no NAV: covers nothing
			return nil
		}
		out.From = fund.DateOf(*newest).AddDays(-(analytics.RiskWindowDays + NAVWindowSlackDays))
		// (nav × 1e8)::bigint is exact: numeric(18,8) has 8 places
		rows, err := tx.Query(ctx, `SELECT scheme_code, nav_date - DATE '1970-01-01', (nav * 100000000)::bigint, loaded_at
			FROM navs WHERE nav_date >= $1 ORDER BY scheme_code, nav_date`, out.From.Time())
		if err != nil {
			return err
		}
		defer rows.Close()
		var code, last string
		var cur navSeries
		var day int32
		var nav int64
		var at time.Time
		for rows.Next() {
			if err := rows.Scan(&code, &day, &nav, &at); err != nil {
				return err
			}
			if code != last {
				if last != "" {
					out.schemes[last] = cur
				}
				last, cur = code, navSeries{}
			}
			cur.days, cur.navs = append(cur.days, day), append(cur.navs, nav)
			out.Rows++
			if at.After(out.Mark.LoadedAt) {
				out.Mark.LoadedAt = at
			}
		}
		if last != "" {
			out.schemes[last] = cur
		}
		out.Mark.Count = int64(out.Rows)
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("analytics: nav snapshot: %w", err)
	}
	out.LoadedAt = time.Now()
	return out, nil
}

// NAVsMark is the mark of the navs rows dated from or later.
func (s Service) NAVsMark(ctx context.Context, from fund.Date) (NAVsMark, error) {
	var m NAVsMark
	var at *time.Time
	if err := s.PG.QueryRow(ctx, `SELECT count(*), max(loaded_at) FROM navs WHERE nav_date >= $1`, from.Time()).Scan(&m.Count, &at); err != nil {
		return m, fmt.Errorf("analytics: navs mark: %w", err)
	}
	if at != nil {
		m.LoadedAt = *at
	}
	return m, nil
}

const latestMarkSQL = `SELECT count(*), coalesce(max(updated_at), 'epoch') FROM nav_latest`

// LatestMark is nav_latest's count and newest updated_at.
func (s Service) LatestMark(ctx context.Context) (NAVsMark, error) {
	var m NAVsMark
	if err := s.PG.QueryRow(ctx, latestMarkSQL).Scan(&m.Count, &m.LoadedAt); err != nil {
		return m, fmt.Errorf("analytics: nav_latest mark: %w", err)
	}
	return m, nil
}

// Equal says whether two marks are of the same rows.
func (m NAVsMark) Equal(o NAVsMark) bool { return m.Count == o.Count && m.LoadedAt.Equal(o.LoadedAt) }
