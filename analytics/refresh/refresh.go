// Package refresh fills the analysts' models in ClickHouse: the scheme
// dimension from Postgres, daily AUM from the facts and the ledger's NAVs,
// trailing returns and risk per scheme from nav_history (fund/risk, the
// definitions `fundflow check risk` prints).
package refresh

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

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
	if err := r.ch().WriteSchemeVersions(ctx, vs); err != nil {
		return 0, err
	}
	return len(vs), r.ch().RecordModelRefresh(ctx, fund.DateOf(r.stamp()), "scheme_versions", len(vs))
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
	// Where the wall clock went: the NAV read's end, the last scheme's
	// figures (beta included) and the writes, each from the start.
	ReadDone, ComputeDone, WriteDone time.Duration
}

// ReturnsAndRisk writes scheme_returns, scheme_rolling_returns and
// scheme_risk as of a date for every scheme with NAVs in nav_history (five
// years and a month back for the returns; the five years to as_of for the
// rolling returns; the last 365 days for risk, beta against the mean daily
// return of the scheme's category).
//
// Schemes are independent until beta, which needs every category's mean:
// the figures are computed on as many goroutines as there are CPUs, in two
// rounds (each scheme's figures; then the category means and each beta),
// each scheme's result in its own slot so the work needs no lock.
func (r Refresher) ReturnsAndRisk(ctx context.Context, asOf fund.Date) (ModelCounts, error) {
	var mc ModelCounts
	t0 := time.Now()
	ch := r.ch()
	var held map[string][]analytics.UnitsChange
	if r.OnlyHeld {
		var err error
		if held, err = ch.UnitsChanges(ctx, asOf); err != nil {
			return mc, err
		}
	}
	type result struct {
		returns []analytics.TrailingReturn
		rolling []analytics.RollingDist
		daily   []risk.Return
		risk    *analytics.RiskRow // nil: a window too short for a standard deviation
	}
	rates := r.rates()
	compute := func(code string, s []risk.Point) (*result, error) {
		var res result
		tr, err := analytics.TrailingReturns(s, asOf)
		if err != nil {
			return nil, fmt.Errorf("analytics: returns of %s: %w", code, err)
		}
		rd, err := analytics.RollingReturns(s, asOf)
		if err != nil {
			return nil, err
		}
		res.returns, res.rolling = tr, rd
		w := analytics.Window(s, asOf)
		if len(w) < 3 {
			return &res, nil // too short for a standard deviation
		}
		d, err := risk.Returns(w)
		if err != nil {
			return nil, fmt.Errorf("analytics: returns of %s: %w", code, err)
		}
		rep, err := risk.ComputeRatesOf(w, d, rates)
		if err != nil {
			return nil, fmt.Errorf("analytics: risk of %s: %w", code, err)
		}
		res.daily = d
		res.risk = &analytics.RiskRow{Scheme: code, AsOf: asOf, From: w[0].Date, Report: rep}
		return &res, nil
	}
	// Each scheme's figures are computed on every core as the NAV read
	// hands over its series (chstore.NAVStream: ranges of schemes, read
	// while the earlier ones are computed).
	type series struct {
		code string
		navs []risk.Point
	}
	work := make(chan series, 64)
	var mu sync.Mutex
	done := map[string]*result{}
	var cats map[string]string
	g, gctx := errgroup.WithContext(ctx)
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error {
			for x := range work {
				res, err := compute(x.code, x.navs)
				if err != nil {
					return err
				}
				mu.Lock()
				done[x.code] = res
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		c, err := ch.NAVStream(gctx, asOf.AddDays(-(5*366 + 40)), asOf, 0, func(code string, ps []risk.Point) error {
			if r.OnlyHeld {
				if _, ok := held[code]; !ok {
					return nil
				}
			}
			select {
			case work <- series{code, ps}:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
		cats = c
		mc.ReadDone = time.Since(t0)
		return err
	})
	if err := g.Wait(); err != nil {
		return mc, err
	}
	codes := slices.Sorted(maps.Keys(done))
	res := make([]result, len(codes))
	for i, c := range codes {
		res[i] = *done[c]
	}
	// the category means, one category a task
	byCat := map[string][][]risk.Return{}
	for i, code := range codes {
		if res[i].risk != nil {
			byCat[cats[code]] = append(byCat[cats[code]], res[i].daily)
		}
	}
	catNames := slices.Sorted(maps.Keys(byCat))
	avgs := make([]risk.Benchmark, len(catNames))
	if err := parallel(ctx, len(catNames), func(i int) error {
		avgs[i] = risk.NewBenchmark(analytics.CategoryAverage(byCat[catNames[i]]))
		return nil
	}); err != nil {
		return mc, err
	}
	avg := make(map[string]risk.Benchmark, len(catNames))
	for i, c := range catNames {
		avg[c] = avgs[i]
	}
	if err := parallel(ctx, len(codes), func(i int) error {
		row := res[i].risk
		if row == nil {
			return nil
		}
		b, err := avg[cats[codes[i]]].Beta(res[i].daily)
		if err != nil && !errors.Is(err, risk.ErrTooFewNAVs) {
			return fmt.Errorf("analytics: beta of %s: %w", codes[i], err)
		}
		if b != nil {
			v := risk.RoundFloat(b)
			row.Beta = &v
		}
		return nil
	}); err != nil {
		return mc, err
	}
	mc.ComputeDone = time.Since(t0)
	rets := make(map[string][]analytics.TrailingReturn, len(codes))
	var rolling []chstore.RollingRow
	var rows []analytics.RiskRow
	for i, code := range codes {
		rets[code] = res[i].returns
		mc.Returns += len(res[i].returns)
		for _, d := range res[i].rolling {
			rolling = append(rolling, chstore.RollingRow{Scheme: code, RollingDist: d})
		}
		if res[i].risk != nil {
			rows = append(rows, *res[i].risk)
		}
	}
	if err := ch.WriteReturns(ctx, asOf, rets); err != nil {
		return mc, err
	}
	if err := ch.WriteRolling(ctx, asOf, rolling); err != nil {
		return mc, err
	}
	mc.Rolling = len(rolling)
	for len(rows) > 0 { // 5,000 rows a block
		n := min(len(rows), 5000)
		if err := ch.WriteRisk(ctx, rows[:n]); err != nil {
			return mc, err
		}
		mc.RiskSchemes += n
		rows = rows[n:]
	}
	err := ch.RecordModelRefresh(ctx, asOf, "returns_risk", len(codes))
	mc.WriteDone = time.Since(t0)
	return mc, err
}

// parallel runs f(0) … f(n−1) on GOMAXPROCS goroutines, stopping at the
// first error (or when ctx ends).
func parallel(ctx context.Context, n int, f func(i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return f(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
