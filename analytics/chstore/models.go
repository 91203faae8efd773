package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
)

func (s Store) stamp() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

// insert sends rows as one block.
func (s Store) insert(ctx context.Context, sql string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	b, err := s.Conn.PrepareBatch(ctx, sql)
	if err != nil {
		return fmt.Errorf("analytics: prepare %q: %w", sql, err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for i := range n {
		if err := b.Append(row(i)...); err != nil {
			return fmt.Errorf("analytics: append to %q: %w", sql, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("analytics: send %q: %w", sql, err)
	}
	return nil
}

// WriteSchemeVersions copies the scheme history (ReplacingMergeTree: a copy
// again is the same rows).
func (s Store) WriteSchemeVersions(ctx context.Context, vs []analytics.SchemeVersion) error {
	now := s.stamp()
	return s.insert(ctx, `INSERT INTO scheme_versions (code, version, valid_from, valid_to, name, isin_growth, isin_reinvest, plan, option,
		category, scheme_type, amc, loaded_at)`, len(vs), func(i int) []any {
		v := vs[i]
		var to *time.Time
		if v.ValidTo != nil {
			t := v.ValidTo.Time()
			to = &t
		}
		return []any{v.Code, v.Version, v.ValidFrom.Time(), to, v.Name, v.ISINGrowth, v.ISINReinvest, v.Plan, v.Option, v.Category, v.SchemeType, v.AMC, now}
	})
}

// Dim is the scheme dimension's AMC and category of each code.
func (s Store) Dim(ctx context.Context) (map[string][2]string, error) {
	rows, err := s.Conn.Query(ctx, `SELECT scheme_code, amc, category FROM scheme_dim`)
	if err != nil {
		return nil, fmt.Errorf("analytics: scheme_dim: %w", err)
	}
	defer rows.Close()
	out := map[string][2]string{}
	for rows.Next() {
		var code, amc, cat string
		if err := rows.Scan(&code, &amc, &cat); err != nil {
			return nil, fmt.Errorf("analytics: scheme_dim: %w", err)
		}
		out[code] = [2]string{amc, cat}
	}
	return out, rows.Err()
}

// UnitsChanges are the net units of the facts per scheme and NAV date up to
// a date, oldest first.
func (s Store) UnitsChanges(ctx context.Context, to fund.Date) (map[string][]analytics.UnitsChange, error) {
	rows, err := s.Conn.Query(ctx, `SELECT scheme_code, nav_date, toString(sumIf(units, direction = 1) - sumIf(units, direction = -1))
		FROM transactions FINAL WHERE nav_date <= toDate(?) GROUP BY scheme_code, nav_date ORDER BY scheme_code, nav_date`, to.String())
	if err != nil {
		return nil, fmt.Errorf("analytics: units changes: %w", err)
	}
	defer rows.Close()
	out := map[string][]analytics.UnitsChange{}
	for rows.Next() {
		var code, units string
		var d time.Time
		if err := rows.Scan(&code, &d, &units); err != nil {
			return nil, fmt.Errorf("analytics: units changes: %w", err)
		}
		u, err := decimal.NewFromString(units)
		if err != nil {
			return nil, fmt.Errorf("analytics: units changes: %q: %w", units, err)
		}
		out[code] = append(out[code], analytics.UnitsChange{Date: fund.DateOf(d), Units: u})
	}
	return out, rows.Err()
}

// WriteAUM writes aum_daily rows (a refresh again replaces them).
func (s Store) WriteAUM(ctx context.Context, rs []analytics.AUMRow) error {
	now := s.stamp()
	return s.insert(ctx, `INSERT INTO aum_daily (date, scheme_code, amc, category, units, nav, nav_date, aum, refreshed_at)`, len(rs), func(i int) []any {
		r := rs[i]
		return []any{r.Date.Time(), r.Scheme, r.AMC, r.Cat, r.Units, r.NAV, r.NAVDate.Time(), r.AUM, now}
	})
}

// WriteReturns writes scheme_returns rows for one as-of date.
func (s Store) WriteReturns(ctx context.Context, asOf fund.Date, rs map[string][]analytics.TrailingReturn) error {
	type row struct {
		code string
		r    analytics.TrailingReturn
	}
	var flat []row
	for code, xs := range rs {
		for _, r := range xs {
			flat = append(flat, row{code, r})
		}
	}
	now := s.stamp()
	return s.insert(ctx, `INSERT INTO scheme_returns (scheme_code, as_of, period, kind, from_date, to_date, value, refreshed_at)`, len(flat), func(i int) []any {
		f := flat[i]
		return []any{f.code, asOf.Time(), f.r.Period, f.r.Kind, f.r.From.Time(), f.r.To.Time(), f.r.Value, now}
	})
}

func optDate(d fund.Date) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time()
	return &t
}

// WriteRisk writes scheme_risk rows.
func (s Store) WriteRisk(ctx context.Context, rs []analytics.RiskRow) error {
	now := s.stamp()
	return s.insert(ctx, `INSERT INTO scheme_risk (scheme_code, as_of, window_days, from_date, navs, volatility, cagr, max_drawdown,
		drawdown_peak, drawdown_trough, drawdown_recovery, var_95, var_99, cvar_95, cvar_99, sharpe, sortino, beta, risk_free, refreshed_at)`,
		len(rs), func(i int) []any {
			r := rs[i]
			p := r.Report
			return []any{r.Scheme, r.AsOf.Time(), uint32(analytics.RiskWindowDays), r.From.Time(), uint32(p.NAVs), p.Volatility, p.CAGR, p.MaxDrawdown,
				optDate(p.Drawdown.Peak), optDate(p.Drawdown.Trough), optDate(p.Drawdown.Recovery), p.VaR95, p.VaR99, p.CVaR95, p.CVaR99,
				p.Sharpe, p.Sortino, r.Beta, p.RiskFree, now}
		})
}

// RollingRow is a scheme's rolling-return distribution for one period.
type RollingRow struct {
	Scheme string
	analytics.RollingDist
}

// WriteRolling writes scheme_rolling_returns rows for one as-of date.
func (s Store) WriteRolling(ctx context.Context, asOf fund.Date, rs []RollingRow) error {
	now := s.stamp()
	return s.insert(ctx, `INSERT INTO scheme_rolling_returns (scheme_code, as_of, period, windows, first_end, last_end, min, p25, median, p75, max,
		negative, pct_negative, worst_start, worst_end, refreshed_at)`, len(rs), func(i int) []any {
		r := rs[i]
		return []any{r.Scheme, asOf.Time(), r.Period, uint32(r.Windows), r.FirstEnd.Time(), r.LastEnd.Time(), r.Min, r.P25, r.Median, r.P75, r.Max,
			uint32(r.Negative), r.PctNegative, r.WorstStart.Time(), r.WorstEnd.Time(), now}
	})
}

// RecordModelRefresh logs that a scheme model was written whole
// (model_refreshes): the API's in-memory copy reloads on it.
func (s Store) RecordModelRefresh(ctx context.Context, asOf fund.Date, model string, schemes int) error {
	return s.insert(ctx, `INSERT INTO model_refreshes (refreshed_at, as_of, model, schemes)`, 1, func(int) []any {
		return []any{s.stamp(), asOf.Time(), model, uint32(schemes)}
	})
}

// ModelsMark grows each time a scheme model is refreshed (the rows of
// model_refreshes and aum_refreshes, two insert-only logs).
func (s Store) ModelsMark(ctx context.Context) (uint64, error) {
	var n uint64
	if err := s.Conn.QueryRow(ctx, `SELECT (SELECT count() FROM model_refreshes) + (SELECT count() FROM aum_refreshes)`).Scan(&n); err != nil {
		return 0, fmt.Errorf("analytics: models mark: %w", err)
	}
	return n, nil
}
