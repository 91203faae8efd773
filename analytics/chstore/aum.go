package chstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// AUMRefresh is one row of aum_refreshes.
type AUMRefresh struct {
	RefreshedAt time.Time
	AsOf        fund.Date
	Mode        string // full or incremental
	Reason      string // why a full one was done
	FactsMark   time.Time
	NAVsMark    time.Time
	// FactsMutation is the number of the latest mutation of transactions
	// (ALTER … DELETE: a resync's repair); 0 when none.
	FactsMutation uint64
	DimHash       uint64
	Schemes       int
	FirstDay      fund.Date
	Rows          int
	Stale         int
}

// LastAUMRefresh is the latest aum_refreshes row; nil when none.
func (s Store) LastAUMRefresh(ctx context.Context) (*AUMRefresh, error) {
	var r AUMRefresh
	var asOf, first time.Time
	var schemes uint32
	var rows, stale uint64
	err := s.Conn.QueryRow(ctx, `SELECT refreshed_at, as_of, mode, reason, facts_mark, navs_mark, facts_mutation, dim_hash, schemes, first_day, rows, stale
		FROM aum_refreshes ORDER BY refreshed_at DESC LIMIT 1`).Scan(&r.RefreshedAt, &asOf, &r.Mode, &r.Reason, &r.FactsMark, &r.NAVsMark,
		&r.FactsMutation, &r.DimHash, &schemes, &first, &rows, &stale)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("analytics: last aum refresh: %w", err)
	}
	r.AsOf, r.FirstDay, r.Schemes, r.Rows, r.Stale = fund.DateOf(asOf), fund.DateOf(first), int(schemes), int(rows), int(stale)
	return &r, nil
}

// RecordAUMRefresh appends a row to aum_refreshes.
func (s Store) RecordAUMRefresh(ctx context.Context, r AUMRefresh) error {
	return s.insert(ctx, `INSERT INTO aum_refreshes (refreshed_at, as_of, mode, reason, facts_mark, navs_mark, facts_mutation, dim_hash, schemes,
		first_day, rows, stale)`,
		1, func(int) []any {
			return []any{r.RefreshedAt, r.AsOf.Time(), r.Mode, r.Reason, r.FactsMark, r.NAVsMark, r.FactsMutation, r.DimHash, uint32(r.Schemes), r.FirstDay.Time(),
				uint64(r.Rows), uint64(r.Stale)}
		})
}

// FactsMark is the newest loaded_at of the facts (zero time when none).
func (s Store) FactsMark(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.Conn.QueryRow(ctx, `SELECT max(loaded_at) FROM transactions`).Scan(&t); err != nil {
		return t, fmt.Errorf("analytics: facts mark: %w", err)
	}
	return t, nil
}

// TouchedFacts is, per scheme, the earliest NAV date of the fact rows
// loaded at or after since (every version, FINAL or not: a rewritten row
// is a touch).
func (s Store) TouchedFacts(ctx context.Context, since time.Time) (map[string]fund.Date, error) {
	rows, err := s.Conn.Query(ctx, `SELECT scheme_code, min(nav_date) FROM transactions WHERE loaded_at >= toDateTime(?) GROUP BY scheme_code`,
		since.Unix())
	if err != nil {
		return nil, fmt.Errorf("analytics: touched facts: %w", err)
	}
	defer rows.Close()
	out := map[string]fund.Date{}
	for rows.Next() {
		var code string
		var d time.Time
		if err := rows.Scan(&code, &d); err != nil {
			return nil, fmt.Errorf("analytics: touched facts: %w", err)
		}
		out[code] = fund.DateOf(d)
	}
	return out, rows.Err()
}

// FactsMutation is the number of the latest mutation of the facts (a
// delete: the resync's removal of rows the ledger does not have), 0 when
// none. Rows gone leave no newer row to notice: a refresh compares this
// number with the last one's. The number (mutation_N.txt) only grows, and
// the latest survives the server's pruning of old finished mutations.
func (s Store) FactsMutation(ctx context.Context) (uint64, error) {
	var n uint64
	if err := s.Conn.QueryRow(ctx, `SELECT max(toUInt64OrZero(extract(mutation_id, '([0-9]+)'))) FROM system.mutations
		WHERE database = currentDatabase() AND table = 'transactions'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("analytics: facts mutations: %w", err)
	}
	return n, nil
}

// DimHash hashes every scheme's (code, amc, category) of a dimension.
func DimHash(dim map[string][2]string) uint64 {
	codes := make([]string, 0, len(dim))
	for c := range dim {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	h := fnv.New64a()
	for _, c := range codes {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", c, dim[c][0], dim[c][1])
	}
	return h.Sum64()
}

// AUMRange is a scheme's days [From, To] of aum_daily.
type AUMRange struct {
	Scheme   string
	From, To fund.Date
}

// DeleteStaleAUM deletes the rows of the ranges (all rows when ranges is
// nil) that the refresh stamped at did not write, FINAL's current rows only
// being looked at: a day that had units before and has none now. It
// returns how many there were; the delete is a mutation, waited for.
func (s Store) DeleteStaleAUM(ctx context.Context, at time.Time, ranges []AUMRange) (int, error) {
	stamp := at.Unix() // seconds: unambiguous whatever the server's time zone
	cond := "refreshed_at < toDateTime(?)"
	args := []any{stamp}
	if ranges != nil {
		if len(ranges) == 0 {
			return 0, nil
		}
		var or []string
		for _, r := range ranges {
			or = append(or, "(scheme_code = ? AND date >= toDate(?) AND date <= toDate(?))")
			args = append(args, r.Scheme, r.From.String(), r.To.String())
		}
		cond += " AND (" + strings.Join(or, " OR ") + ")"
	}
	var n uint64
	if err := s.Conn.QueryRow(ctx, `SELECT count() FROM aum_daily FINAL WHERE `+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("analytics: stale aum rows: %w", err)
	}
	if ranges != nil && n == 0 {
		return 0, nil // nothing to delete: no mutation
	}
	// Superseded versions of rewritten days go too (FINAL would hide them).
	if err := s.Conn.Exec(ctx, `ALTER TABLE aum_daily DELETE WHERE `+cond, args...); err != nil {
		return 0, fmt.Errorf("analytics: delete stale aum rows: %w", err)
	}
	return int(n), s.waitMutationsOf(ctx, "aum_daily")
}
