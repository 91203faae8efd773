package chstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// NAVHistory is every scheme's NAVs in [from, to] from nav_history, oldest
// first, and each scheme's latest category there: what
// `SELECT … FROM nav_history FINAL` gives, read faster.
//
// FINAL is single-threaded on ClickHouse 18.16 and was most of the
// refresh's read (9.6 s against 1.0 s for 4 M rows). A scheme none of whose
// (scheme_code, nav_date) keys appears twice in the range is exactly its
// rows without FINAL (FINAL only collapses equal keys, and the range is on
// a key column). So the rows are read plainly, on two connections at once
// with the categories, and only schemes with a repeated key (a NAV loaded
// twice and not yet merged) are read again with FINAL.
func (s Store) NAVHistory(ctx context.Context, from, to fund.Date) (map[string][]risk.Point, map[string]string, error) {
	navs, cats := map[string][]risk.Point{}, map[string]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rows, err := s.Conn.Query(gctx, `SELECT scheme_code, nav_date, nav FROM nav_history
			WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`, from.String(), to.String())
		if err != nil {
			return fmt.Errorf("analytics: nav history: %w", err)
		}
		defer rows.Close()
		var code, last string
		var d time.Time
		var nav decimal.Decimal
		var cur []risk.Point
		for rows.Next() {
			if err := rows.Scan(&code, &d, &nav); err != nil {
				return fmt.Errorf("analytics: nav history: %w", err)
			}
			if code != last { // rows come in runs of one scheme (a part's order)
				if last != "" {
					navs[last] = cur
				}
				last, cur = code, navs[code]
			}
			cur = append(cur, risk.Point{Date: fund.DateOf(d), NAV: nav})
		}
		if last != "" {
			navs[last] = cur
		}
		return rows.Err()
	})
	g.Go(func() error {
		c, err := s.categories(gctx, from, to)
		cats = c
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var again []string
	for code, ps := range navs {
		slices.SortFunc(ps, func(a, b risk.Point) int { return risk.DateOrder(a.Date) - risk.DateOrder(b.Date) })
		for i := 1; i < len(ps); i++ {
			if ps[i].Date == ps[i-1].Date {
				again = append(again, code)
				break
			}
		}
	}
	slices.Sort(again)
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
