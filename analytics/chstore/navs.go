package chstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// NAVHistory is every scheme's NAVs in [from, to] from nav_history, oldest
// first, and each scheme's latest category there: what
// `SELECT … FROM nav_history FINAL` gives, read faster (NAVStream,
// collected).
func (s Store) NAVHistory(ctx context.Context, from, to fund.Date) (map[string][]risk.Point, map[string]string, error) {
	var mu sync.Mutex
	navs := map[string][]risk.Point{}
	cats, err := s.NAVStream(ctx, from, to, 0, func(code string, ps []risk.Point) error {
		mu.Lock()
		navs[code] = ps
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return navs, cats, nil
}

// NAVShards is how many ranges of scheme codes NAVStream reads apart, and
// NAVReaders how many of them at once.
const (
	NAVShards  = 32
	NAVReaders = 2
)

// NAVStream reads every scheme's NAVs in [from, to] from nav_history, as
// FINAL would give them, and hands each scheme's whole series (oldest
// first) to f as soon as it is read, from NAVReaders goroutines; it returns
// each scheme's latest category in the range. shards ≤ 0 is NAVShards.
//
// The schemes are cut into ranges of codes (ORDER BY begins with
// scheme_code, so a range reads only its part of the table), read
// NAVReaders at a time: a range's schemes are complete when its query ends
// and go to f while the next range is read, so computing need not wait for
// the whole read (one query's rows come in no order across parts: a scheme
// is complete only at its end).
//
// FINAL is single-threaded on ClickHouse 18.16 and was most of the
// refresh's read (9.6 s against 1.0 s for 4 M rows). A scheme none of whose
// (scheme_code, nav_date) keys appears twice in the range is exactly its
// rows without FINAL (FINAL only collapses equal keys, and the range is on
// a key column). So the rows are read plainly, and only schemes with a
// repeated key (a NAV loaded twice and not yet merged) are read again with
// FINAL.
func (s Store) NAVStream(ctx context.Context, from, to fund.Date, shards int, f func(code string, ps []risk.Point) error) (map[string]string, error) {
	if shards <= 0 {
		shards = NAVShards
	}
	codes, err := s.navCodes(ctx, from, to)
	if err != nil {
		return nil, err
	}
	// bounds[i] ≤ the codes of range i < bounds[i+1]; the first and last
	// ranges are open, so a code loaded since navCodes is read too
	var bounds []string
	for i := 1; i < shards && i*len(codes)/shards < len(codes); i++ {
		b := codes[i*len(codes)/shards]
		if len(bounds) == 0 || b != bounds[len(bounds)-1] {
			bounds = append(bounds, b)
		}
	}
	var (
		mu       sync.Mutex
		cats     map[string]string
		finalCat = map[string]string{} // categories of the schemes read again with FINAL
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		c, err := s.categories(gctx, from, to)
		cats = c
		return err
	})
	next := make(chan int, len(bounds)+1)
	for i := 0; i <= len(bounds); i++ {
		next <- i
	}
	close(next)
	for range NAVReaders {
		g.Go(func() error {
			for i := range next {
				lo, hi := "", ""
				if i > 0 {
					lo = bounds[i-1]
				}
				if i < len(bounds) {
					hi = bounds[i]
				}
				navs, fc, err := s.navRange(gctx, from, to, lo, hi)
				if err != nil {
					return err
				}
				mu.Lock()
				maps.Copy(finalCat, fc)
				mu.Unlock()
				for _, code := range slices.Sorted(maps.Keys(navs)) {
					if err := f(code, navs[code]); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	maps.Copy(cats, finalCat)
	return cats, nil
}

// navCodes are the scheme codes with a NAV in [from, to], in order.
func (s Store) navCodes(ctx context.Context, from, to fund.Date) ([]string, error) {
	rows, err := s.Conn.Query(ctx, `SELECT DISTINCT scheme_code FROM nav_history WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`,
		from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("analytics: nav history codes: %w", err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("analytics: nav history codes: %w", err)
		}
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes, rows.Err()
}

// navRange is the NAVs in [from, to] of the schemes with lo ≤ code < hi
// (an empty bound is open), each sorted by date, as FINAL gives them, and
// the categories of the schemes read again with FINAL.
func (s Store) navRange(ctx context.Context, from, to fund.Date, lo, hi string) (map[string][]risk.Point, map[string]string, error) {
	q := `SELECT scheme_code, nav_date, nav FROM nav_history WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`
	args := []any{from.String(), to.String()}
	if lo != "" {
		q, args = q+` AND scheme_code >= ?`, append(args, lo)
	}
	if hi != "" {
		q, args = q+` AND scheme_code < ?`, append(args, hi)
	}
	rows, err := s.Conn.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("analytics: nav history [%s, %s): %w", lo, hi, err)
	}
	defer rows.Close()
	navs := map[string][]risk.Point{}
	var code, last string
	var d time.Time
	var nav decimal.Decimal
	var cur []risk.Point
	for rows.Next() {
		if err := rows.Scan(&code, &d, &nav); err != nil {
			return nil, nil, fmt.Errorf("analytics: nav history: %w", err)
		}
		if code != last { // rows come in runs of one scheme (a part's order)
			if last != "" {
				navs[last] = cur
			}
			last, cur = code, navs[code]
		}
		cur = append(cur, risk.Point{Date: fund.DateOf(d), NAV: nav})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("analytics: nav history: %w", err)
	}
	if last != "" {
		navs[last] = cur
	}
	var again []string
	for code, ps := range navs {
		slices.SortFunc(ps, func(a, b risk.Point) int { return a.Date.Order() - b.Date.Order() })
		for i := 1; i < len(ps); i++ {
			if ps[i].Date == ps[i-1].Date {
				again = append(again, code)
				break
			}
		}
	}
	slices.Sort(again)
	cats := map[string]string{}
	for len(again) > 0 { // a thousand codes a query keeps it short
		n := min(len(again), 1000)
		if err := s.navsFinal(ctx, from, to, again[:n], navs, cats); err != nil {
			return nil, nil, err
		}
		again = again[n:]
	}
	return navs, cats, nil
}

// categories is each scheme's category on its latest NAV date in the range
// (without FINAL: navsFinal corrects the schemes with repeated keys).
func (s Store) categories(ctx context.Context, from, to fund.Date) (map[string]string, error) {
	q := `SELECT scheme_code, argMax(category, nav_date) FROM nav_history WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`
	args := []any{from.String(), to.String()}
	rows, err := s.Conn.Query(ctx, q+` GROUP BY scheme_code`, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: nav categories: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var code, cat string
		if err := rows.Scan(&code, &cat); err != nil {
			return nil, fmt.Errorf("analytics: nav categories: %w", err)
		}
		out[code] = cat
	}
	return out, rows.Err()
}

// navsFinal replaces the series and categories of codes by their rows
// through FINAL.
func (s Store) navsFinal(ctx context.Context, from, to fund.Date, codes []string, navs map[string][]risk.Point, cats map[string]string) error {
	rows, err := s.Conn.Query(ctx, `SELECT scheme_code, nav_date, nav, category FROM nav_history FINAL
		WHERE nav_date >= toDate(?) AND nav_date <= toDate(?) AND scheme_code IN ? ORDER BY scheme_code, nav_date`,
		from.String(), to.String(), inList(codes))
	if err != nil {
		return fmt.Errorf("analytics: nav history of %d schemes with repeated NAVs (%s…): %w", len(codes), strings.Join(codes[:min(3, len(codes))], ", "), err)
	}
	defer rows.Close()
	for _, c := range codes {
		delete(navs, c)
	}
	for rows.Next() {
		var code, cat string
		var d time.Time
		var nav decimal.Decimal
		if err := rows.Scan(&code, &d, &nav, &cat); err != nil {
			return fmt.Errorf("analytics: nav history: %w", err)
		}
		navs[code] = append(navs[code], risk.Point{Date: fund.DateOf(d), NAV: nav})
		cats[code] = cat // rows come oldest first: the last is the latest
	}
	return rows.Err()
}

// inList binds codes as a tuple for IN: 18.16 refuses the array a slice
// binds to.
func inList(codes []string) clickhouse.GroupSet {
	vs := make([]any, len(codes))
	for i, c := range codes {
		vs[i] = c
	}
	return clickhouse.GroupSet{Value: vs}
}
