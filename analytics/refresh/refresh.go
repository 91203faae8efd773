// Package refresh fills the analysts' models in ClickHouse: the scheme
// dimension from Postgres, daily AUM from the facts and the ledger's NAVs,
// trailing returns and risk per scheme from nav_history (fund/risk, the
// definitions `fundflow check risk` prints).
package refresh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// Refresher holds the two stores and the risk-free rate.
type Refresher struct {
	PG       *pgxpool.Pool
	CH       driver.Conn
	RiskFree decimal.Decimal // annual, for Sharpe and Sortino
	// Rates, when set, is an effective-dated risk-free series used instead
	// of RiskFree: each day's excess over the rate in force that day.
	Rates risk.Rates
	// FullAUM makes All rebuild aum_daily whole instead of incrementally.
	FullAUM bool
	// OnlyHeld limits returns, rolling returns and risk to the schemes with
	// transaction facts (the category averages of beta then being over
	// those): a quick refresh for a demo or a check.
	OnlyHeld bool
	Now      func() time.Time
}

// Stats counts the rows a refresh wrote.
type Stats struct {
	AsOf           fund.Date `json:"as_of"`
	SchemeVersions int       `json:"scheme_versions"`
	AUMRows        int       `json:"aum_rows"`
	AUM            AUMStats  `json:"aum"`
	Returns        int       `json:"returns"`
	Rolling        int       `json:"rolling_returns"`
	RiskSchemes    int       `json:"risk_schemes"`
	Seconds        float64   `json:"seconds"`
}

func (r Refresher) ch() chstore.Store { return chstore.Store{Conn: r.CH, Now: r.Now} }

// rates is the risk-free series the figures use.
func (r Refresher) rates() risk.Rates {
	if r.Rates != nil {
		return r.Rates
	}
	return risk.Constant(r.RiskFree)
}

// All refreshes every model as of a date.
func (r Refresher) All(ctx context.Context, asOf fund.Date) (Stats, error) {
	t0 := time.Now()
	st := Stats{AsOf: asOf}
	var err error
	if st.SchemeVersions, err = r.Schemes(ctx); err != nil {
		return st, err
	}
	aum := r.AUMIncremental
	if r.FullAUM {
		aum = func(ctx context.Context, asOf fund.Date) (AUMStats, error) { return r.AUMFull(ctx, asOf, "asked for") }
	}
	a, err := aum(ctx, asOf)
	if err != nil {
		return st, err
	}
	st.AUMRows, st.AUM = a.Rows, a
	mc, err := r.ReturnsAndRisk(ctx, asOf)
	if err != nil {
		return st, err
	}
	st.Returns, st.Rolling, st.RiskSchemes = mc.Returns, mc.Rolling, mc.RiskSchemes
	st.Seconds = time.Since(t0).Seconds()
	return st, nil
}

// Schemes copies the scheme history into scheme_versions.
func (r Refresher) Schemes(ctx context.Context) (int, error) {
	vs, err := pgstore.Store{Pool: r.PG}.SchemeVersions(ctx)
	if err != nil {
		return 0, err
	}
	return len(vs), r.ch().WriteSchemeVersions(ctx, vs)
}

// AUM is a full refresh of aum_daily (AUMFull); it returns the rows
// written.
func (r Refresher) AUM(ctx context.Context, asOf fund.Date) (int, error) {
	st, err := r.AUMFull(ctx, asOf, "asked for")
	return st.Rows, err
}

// ModelCounts are the rows ReturnsAndRisk wrote.
type ModelCounts struct {
	Returns     int // scheme_returns rows
	Rolling     int // scheme_rolling_returns rows
	RiskSchemes int // scheme_risk rows
}

// ReturnsAndRisk writes scheme_returns, scheme_rolling_returns and
// scheme_risk as of a date for every scheme with NAVs in nav_history (five
// years and a month back for the returns; the five years to as_of for the
// rolling returns; the last 365 days for risk, beta against the mean daily
// return of the scheme's category).
func (r Refresher) ReturnsAndRisk(ctx context.Context, asOf fund.Date) (ModelCounts, error) {
	var mc ModelCounts
	returns := 0
	ch := r.ch()
	navs, cats, err := ch.NAVHistory(ctx, asOf.AddDays(-(5*366 + 40)), asOf)
	if err != nil {
		return mc, err
	}
	if r.OnlyHeld {
		held, err := ch.UnitsChanges(ctx, asOf)
		if err != nil {
			return mc, err
		}
		for code := range navs {
			if _, ok := held[code]; !ok {
				delete(navs, code)
			}
		}
	}
	var rolling []chstore.RollingRow
	rets := map[string][]analytics.TrailingReturn{}
	windows := map[string][]risk.Point{}
	byCat := map[string][][]risk.Return{}
	dailies := map[string][]risk.Return{}
	for code, s := range navs {
		tr, err := analytics.TrailingReturns(s, asOf)
		if err != nil {
			return mc, fmt.Errorf("analytics: returns of %s: %w", code, err)
		}
		rets[code] = tr
		returns += len(tr)
		rd, err := analytics.RollingReturns(s, asOf)
		if err != nil {
			return mc, err
		}
		for _, d := range rd {
			rolling = append(rolling, chstore.RollingRow{Scheme: code, RollingDist: d})
		}
		w := analytics.Window(s, asOf)
		if len(w) < 3 {
			continue // too short for a standard deviation
		}
		d, err := risk.Returns(w)
		if err != nil {
			return mc, fmt.Errorf("analytics: returns of %s: %w", code, err)
		}
		windows[code], dailies[code] = w, d
		byCat[cats[code]] = append(byCat[cats[code]], d)
	}
	if err := ch.WriteReturns(ctx, asOf, rets); err != nil {
		return mc, err
	}
	if err := ch.WriteRolling(ctx, asOf, rolling); err != nil {
		return mc, err
	}
	mc.Returns, mc.Rolling = returns, len(rolling)
	avg := map[string][]risk.Return{}
	for c, series := range byCat {
		avg[c] = analytics.CategoryAverage(series)
	}
	var rows []analytics.RiskRow
	for code, w := range windows {
		rep, err := risk.ComputeRates(w, r.rates())
		if err != nil {
			return mc, fmt.Errorf("analytics: risk of %s: %w", code, err)
		}
		row := analytics.RiskRow{Scheme: code, AsOf: asOf, From: w[0].Date, Report: rep}
		b, err := risk.Beta(dailies[code], avg[cats[code]])
		if err != nil && !errors.Is(err, risk.ErrTooFewNAVs) {
			return mc, fmt.Errorf("analytics: beta of %s: %w", code, err)
		}
		if b != nil {
			v := risk.RoundFloat(b)
			row.Beta = &v
		}
		rows = append(rows, row)
		if len(rows) == 5000 {
			if err := ch.WriteRisk(ctx, rows); err != nil {
				return mc, err
			}
			mc.RiskSchemes += len(rows)
			rows = rows[:0]
		}
	}
	if err := ch.WriteRisk(ctx, rows); err != nil {
		return mc, err
	}
	mc.RiskSchemes += len(rows)
	return mc, nil
}
