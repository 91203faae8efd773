package refresh_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Property: on random days, the daily AUM summed over schemes equals
// Σ holdings × NAV computed from the ledger in Postgres: each folio's units
// in a scheme as of the day (its transactions up to it, signed) times the
// scheme's latest NAV on or before the day, applied as the ledger values
// holdings (round(nav, 4)). Exact: no rounding on either side.
func TestDailyAUMEqualsLedgerHoldingsTimesNAV(t *testing.T) {
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	end := fund.NewDate(2026, 8, 21)
	if _, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: 40, Seed: 11, End: end, Days: 120, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch}, end.AddDays(-200), end); err != nil {
		t.Fatal(err)
	}
	r := refresh.Refresher{PG: pool, CH: ch}
	if _, err := r.Schemes(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := r.AUM(ctx, end)
	if err != nil || n == 0 {
		t.Fatalf("aum rows %d: %v", n, err)
	}
	rng := rand.New(rand.NewPCG(20, 3))
	for range 12 {
		day := end.AddDays(-rng.IntN(130)) // weekends and days before the first transaction included
		var want decimal.Decimal
		if err := pool.QueryRow(ctx, `
			WITH h AS (
				SELECT folio_no, scheme_code, sum(CASE WHEN kind IN ('purchase', 'switch_in') THEN units
					WHEN kind IN ('redemption', 'switch_out') THEN -units ELSE 0 END) AS units
				FROM ledger_transactions WHERE nav_date <= $1 GROUP BY 1, 2)
			SELECT coalesce(sum(h.units * round((SELECT nav FROM navs n WHERE n.scheme_code = h.scheme_code AND n.nav_date <= $1
				ORDER BY n.nav_date DESC LIMIT 1), 4)), 0) FROM h`, day.Time()).Scan(&want); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := ch.QueryRow(ctx, `SELECT toString(sum(aum)) FROM aum_daily FINAL WHERE date = toDate(?)`, day.String()).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if g := decimal.RequireFromString(got); !g.Equal(want) {
			t.Errorf("%s: Σ aum_daily %s, ledger Σ holdings × NAV %s", day, g, want)
		}
	}
	// every AUM row names its AMC and category (the scheme dimension joined)
	var unnamed uint64
	ch.QueryRow(ctx, `SELECT count() FROM aum_daily WHERE amc = '' OR category = ''`).Scan(&unnamed)
	if unnamed != 0 {
		t.Errorf("%d AUM rows without AMC or category", unnamed)
	}
}

// Returns and risk from nav_history: a scheme alone in its category has a
// beta of exactly 1 (cov(r, r)/var(r)); the stored figures are the ones
// fund/risk computes over the window; the 1M return is end/start − 1.
func mustDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestReturnsAndRisk(t *testing.T) {
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	asOf := fund.NewDate(2026, 3, 31)
	rng := rand.New(rand.NewPCG(1, 2))
	b, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		t.Fatal(err)
	}
	series := map[string][]risk.Point{}
	for _, s := range []struct{ code, cat string }{{"A", "Equity Scheme - Large Cap Fund"}, {"B", "Debt Scheme - Gilt Fund"}, {"C", "Debt Scheme - Gilt Fund"}} {
		nav := decimal.New(100_0000, -4)
		for d := asOf.AddDays(-800); !d.After(asOf); d = d.AddDays(1) {
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				continue
			}
			nav = nav.Add(decimal.New(int64(rng.IntN(2001)-950), -4))
			series[s.code] = append(series[s.code], risk.Point{Date: d, NAV: nav})
			if err := b.Append(s.code, d.Time(), nav, "AMC", s.cat, "x", uint32(1), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	r := refresh.Refresher{PG: pool, CH: ch, RiskFree: decimal.RequireFromString("0.065")}
	mc, err := r.ReturnsAndRisk(ctx, asOf)
	// 800 days: 1M, 3M, 6M, 1Y each; no 3Y or 5Y; rolling 1Y only
	if err != nil || mc.RiskSchemes != 3 || mc.Returns != 3*4 || mc.Rolling != 3 {
		t.Fatalf("%+v: %v", mc, err)
	}
	var beta, vol, var95 string
	var navs uint32
	if err := ch.QueryRow(ctx, `SELECT toString(beta), toString(volatility), toString(var_95), navs FROM scheme_risk FINAL WHERE scheme_code = 'A'`).
		Scan(&beta, &vol, &var95, &navs); err != nil {
		t.Fatal(err)
	}
	w := analytics.Window(series["A"], asOf)
	rep, err := risk.Compute(w, decimal.RequireFromString("0.065"))
	if err != nil {
		t.Fatal(err)
	}
	if !decimal.RequireFromString(beta).Equal(decimal.NewFromInt(1)) || !decimal.RequireFromString(vol).Equal(rep.Volatility) ||
		!decimal.RequireFromString(var95).Equal(rep.VaR95) || int(navs) != len(w) {
		t.Errorf("A: beta %s (want 1), volatility %s (want %s), var_95 %s (want %s), navs %d (want %d)", beta, vol, rep.Volatility, var95, rep.VaR95, navs, len(w))
	}
	// the stored rolling distribution is the model's for the scheme's series
	// (its arithmetic is TestRollingReturnsByHand's and ...AgainstCAGRLoop's)
	rd, err := analytics.RollingReturns(series["C"], asOf)
	if err != nil || len(rd) != 1 {
		t.Fatalf("rolling of C: %+v %v", rd, err)
	}
	var windows, negative uint32
	var rmin, med, rmax, pneg string
	var worstEnd time.Time
	if err := ch.QueryRow(ctx, `SELECT windows, negative, toString(min), toString(median), toString(max), toString(pct_negative), worst_end
		FROM scheme_rolling_returns FINAL WHERE scheme_code = 'C' AND period = '1Y'`).Scan(&windows, &negative, &rmin, &med, &rmax, &pneg, &worstEnd); err != nil {
		t.Fatal(err)
	}
	if w := rd[0]; int(windows) != w.Windows || int(negative) != w.Negative || !mustDec(rmin).Equal(w.Min) || !mustDec(med).Equal(w.Median) ||
		!mustDec(rmax).Equal(w.Max) || !mustDec(pneg).Equal(w.PctNegative) || fund.DateOf(worstEnd) != w.WorstEnd {
		t.Errorf("C rolling 1Y stored %d windows %d negative min %s median %s max %s %s %% worst to %s; model %+v",
			windows, negative, rmin, med, rmax, pneg, fund.DateOf(worstEnd), w)
	}
	var m1 string
	var from time.Time
	if err := ch.QueryRow(ctx, `SELECT toString(value), from_date FROM scheme_returns FINAL WHERE scheme_code = 'B' AND period = '1M'`).Scan(&m1, &from); err != nil {
		t.Fatal(err)
	}
	s := series["B"]
	var start risk.Point // the NAV on or before 2026-02-28
	for _, p := range s {
		if !p.Date.After(fund.NewDate(2026, 2, 28)) {
			start = p
		}
	}
	want := s[len(s)-1].NAV.Div(start.NAV).Sub(decimal.NewFromInt(1)).RoundBank(8) // 16 digits of division, then 8
	if fund.DateOf(from) != start.Date || !decimal.RequireFromString(m1).Equal(want) {
		t.Errorf("B 1M: %s from %s, want %s from %s", m1, fund.DateOf(from), want, start.Date)
	}
}
