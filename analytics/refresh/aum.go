package refresh

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/fund"
)

// Overlap is how far before the last refresh's start an incremental
// refresh looks for loaded facts and NAVs: a row stamped by a clock a little
// behind, or committed by a transaction that began earlier, is not missed.
// Looking again at a row already counted only recomputes the same days.
const Overlap = 10 * time.Minute

// AUMStats says what an aum_daily refresh did (the aum_refreshes row).
type AUMStats struct {
	Mode     string    `json:"mode"` // full or incremental
	Reason   string    `json:"reason,omitempty"`
	Schemes  int       `json:"schemes"`   // schemes whose days were written
	FirstDay fund.Date `json:"first_day"` // the earliest day written
	Rows     int       `json:"rows"`
	Stale    int       `json:"stale"` // rows of days without units any more, deleted
}

// stamp is the one refreshed_at of a refresh's rows, to the second.
func (r Refresher) stamp() time.Time {
	if r.Now != nil {
		return r.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

func since(mark time.Time) time.Time {
	if mark.Before(time.Unix(int64(Overlap/time.Second), 0)) {
		return time.Unix(0, 0)
	}
	return mark.Add(-Overlap)
}

// marks are the facts' and the NAVs' newest loaded_at and the facts'
// latest mutation, read before a refresh reads anything.
func (r Refresher) marks(ctx context.Context, ch chstore.Store) (m chstore.AUMRefresh, err error) {
	if m.FactsMark, err = ch.FactsMark(ctx); err != nil {
		return
	}
	if m.FactsMutation, err = ch.FactsMutation(ctx); err != nil {
		return
	}
	m.NAVsMark, err = pgstore.Store{Pool: r.PG}.NAVsMark(ctx)
	return
}

// AUMFull rebuilds aum_daily: every scheme with facts from its first
// transaction to asOf, then deletes every row the rebuild did not write
// (days without units any more, rows after asOf), and logs the refresh.
func (r Refresher) AUMFull(ctx context.Context, asOf fund.Date, reason string) (AUMStats, error) {
	at := r.stamp()
	ch := chstore.Store{Conn: r.CH, Now: func() time.Time { return at }}
	st := AUMStats{Mode: "full", Reason: reason}
	m, err := r.marks(ctx, ch)
	if err != nil {
		return st, err
	}
	changes, err := ch.UnitsChanges(ctx, asOf)
	if err != nil {
		return st, err
	}
	dim, err := ch.Dim(ctx)
	if err != nil {
		return st, err
	}
	start := map[string]fund.Date{}
	for c, cs := range changes {
		start[c] = cs[0].Date
	}
	if err := r.writeAUM(ctx, ch, changes, start, dim, asOf, &st); err != nil {
		return st, err
	}
	if st.Stale, err = ch.DeleteStaleAUM(ctx, at, nil); err != nil {
		return st, err
	}
	m.RefreshedAt, m.AsOf, m.Mode, m.Reason, m.DimHash = at, asOf, st.Mode, reason, chstore.DimHash(dim)
	m.Schemes, m.FirstDay, m.Rows, m.Stale = st.Schemes, st.FirstDay, st.Rows, st.Stale
	return st, ch.RecordAUMRefresh(ctx, m)
}

// AUMIncremental refreshes aum_daily to asOf from the last refresh: for
// each scheme with facts, the days from the earliest of (a fact loaded
// since the last refresh, a NAV loaded since, the day after the last
// refresh's as_of) to asOf; then deletes the rows of those days a rebuild
// would not write. The result is a full rebuild's
// (TestIncrementalAUMEqualsFullRebuild). It is a full refresh when there is
// no earlier one, asOf is before its as_of, the scheme dimension's AMC or
// category of a scheme changed (every row of the scheme carries them), or
// facts were deleted since (a resync's repair: a row gone is no touch).
// NAVs are insert-only (nav-ingest never changes a published NAV).
func (r Refresher) AUMIncremental(ctx context.Context, asOf fund.Date) (AUMStats, error) {
	ch := r.ch()
	prev, err := ch.LastAUMRefresh(ctx)
	if err != nil {
		return AUMStats{}, err
	}
	if prev == nil {
		return r.AUMFull(ctx, asOf, "no earlier refresh")
	}
	if asOf.Before(prev.AsOf) {
		return r.AUMFull(ctx, asOf, fmt.Sprintf("as_of %s is before the last refresh's %s", asOf, prev.AsOf))
	}
	dim, err := ch.Dim(ctx)
	if err != nil {
		return AUMStats{}, err
	}
	if chstore.DimHash(dim) != prev.DimHash {
		return r.AUMFull(ctx, asOf, "a scheme's AMC or category changed")
	}
	at := r.stamp()
	ch.Now = func() time.Time { return at }
	st := AUMStats{Mode: "incremental"}
	m, err := r.marks(ctx, ch)
	if err != nil {
		return st, err
	}
	if m.FactsMutation > prev.FactsMutation {
		return r.AUMFull(ctx, asOf, "facts were deleted since the last refresh")
	}
	touchedFacts, err := ch.TouchedFacts(ctx, since(prev.RefreshedAt))
	if err != nil {
		return st, err
	}
	changes, err := ch.UnitsChanges(ctx, asOf)
	if err != nil {
		return st, err
	}
	codes := make([]string, 0, len(changes))
	for c := range changes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	touchedNAVs, err := pgstore.Store{Pool: r.PG}.TouchedNAVs(ctx, codes, since(prev.RefreshedAt))
	if err != nil {
		return st, err
	}
	start := map[string]fund.Date{}
	var ranges []chstore.AUMRange
	for _, c := range codes {
		s := prev.AsOf.AddDays(1)
		for _, t := range []map[string]fund.Date{touchedFacts, touchedNAVs} {
			if d, ok := t[c]; ok && d.Before(s) {
				s = d
			}
		}
		if s.After(asOf) {
			continue // nothing new, no new day
		}
		start[c] = s
		if !s.After(prev.AsOf) {
			ranges = append(ranges, chstore.AUMRange{Scheme: c, From: s, To: prev.AsOf})
		}
	}
	if err := r.writeAUM(ctx, ch, changes, start, dim, asOf, &st); err != nil {
		return st, err
	}
	if ranges == nil {
		ranges = []chstore.AUMRange{}
	}
	if st.Stale, err = ch.DeleteStaleAUM(ctx, at, ranges); err != nil {
		return st, err
	}
	m.RefreshedAt, m.AsOf, m.Mode, m.DimHash = at, asOf, st.Mode, chstore.DimHash(dim)
	m.Schemes, m.FirstDay, m.Rows, m.Stale = st.Schemes, st.FirstDay, st.Rows, st.Stale
	return st, ch.RecordAUMRefresh(ctx, m)
}

// writeAUM writes each scheme's days [start[c], asOf], NAVs from Postgres
// (the one in force on the first day and those after).
func (r Refresher) writeAUM(ctx context.Context, ch chstore.Store, changes map[string][]analytics.UnitsChange, start map[string]fund.Date,
	dim map[string][2]string, asOf fund.Date, st *AUMStats) error {
	codes := make([]string, 0, len(start))
	first := asOf
	for c, s := range start {
		codes = append(codes, c)
		if s.Before(first) {
			first = s
		}
	}
	if len(codes) == 0 {
		return nil
	}
	slices.Sort(codes)
	navs, err := pgstore.Store{Pool: r.PG}.NAVsFrom(ctx, codes, first, asOf)
	if err != nil {
		return err
	}
	st.FirstDay = first
	for _, c := range codes {
		rows, err := analytics.DailyAUM(c, changes[c], navs[c], start[c], asOf)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i].AMC, rows[i].Cat = dim[c][0], dim[c][1]
		}
		if err := ch.WriteAUM(ctx, rows); err != nil {
			return err
		}
		st.Schemes++
		st.Rows += len(rows)
	}
	return nil
}
