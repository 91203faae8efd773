// Package query answers the API's analytics routes: a scheme's dimension,
// latest returns, risk and AUM from the ClickHouse models, and a folio's
// portfolio risk by historical simulation over its schemes' joint NAV
// history (fund/risk's definitions).
package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/risk"
)

// Service reads the models and the ledger.
type Service struct {
	PG       *pgxpool.Pool
	CH       driver.Conn
	RiskFree decimal.Decimal // annual, for the folio's Sharpe and Sortino
	Rates    risk.Rates      // when set, an effective-dated series used instead of RiskFree
}

// Return is one trailing return.
type Return struct {
	Period string `json:"period"`
	Kind   string `json:"kind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Value  string `json:"value"`
}

// Rolling is one rolling-return distribution (scheme_rolling_returns).
type Rolling struct {
	Period      string `json:"period"`
	Windows     uint32 `json:"windows"`
	FirstEnd    string `json:"first_end"`
	LastEnd     string `json:"last_end"`
	Min         string `json:"min"`
	P25         string `json:"p25"`
	Median      string `json:"median"`
	P75         string `json:"p75"`
	Max         string `json:"max"`
	PctNegative string `json:"pct_negative"`
	WorstStart  string `json:"worst_start"`
	WorstEnd    string `json:"worst_end"`
}

// SchemeRisk is the scheme's latest scheme_risk row.
type SchemeRisk struct {
	AsOf       string  `json:"as_of"`
	From       string  `json:"from"`
	WindowDays uint32  `json:"window_days"`
	NAVs       uint32  `json:"navs"`
	Beta       *string `json:"beta"`
	RiskFree   string  `json:"risk_free"`
	risk.Figures
}

// AUM is the scheme's latest aum_daily row.
type AUM struct {
	Date    string `json:"date"`
	Units   string `json:"units"`
	NAV     string `json:"nav"`
	NAVDate string `json:"nav_date"`
	AUM     string `json:"aum"` // rupees, rounded half-even to the paisa for display
}

// SchemeAnalytics is GET /v1/schemes/{code}/analytics.
type SchemeAnalytics struct {
	SchemeCode   string      `json:"scheme_code"`
	Name         string      `json:"name"`
	AMC          string      `json:"amc"`
	Category     string      `json:"category"`
	Plan         string      `json:"plan"`
	Option       string      `json:"option"`
	ISINGrowth   string      `json:"isin_growth"`
	ISINReinvest string      `json:"isin_reinvest"`
	Returns      []Return    `json:"returns"`
	Rolling      []Rolling   `json:"rolling"`
	Risk         *SchemeRisk `json:"risk"`
	AUM          *AUM        `json:"aum"`
}

func optDate(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := fund.DateOf(*t).String()
	return &s
}

func optDec(s *string) *string {
	if s == nil {
		return nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return s
	}
	v := d.StringFixed(risk.Scale)
	return &v
}

func fixed(s string) string {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return s
	}
	return d.StringFixed(risk.Scale)
}

// Scheme is a scheme's analytics; nil when the scheme is in no model.
//
// Its five reads (dimension, risk, returns, rolling returns, AUM) are
// independent: they run at once, each on its own connection of the pool,
// so the answer waits for the slowest instead of their sum.
func (s Service) Scheme(ctx context.Context, code string) (*SchemeAnalytics, error) {
	a := &SchemeAnalytics{SchemeCode: code, Returns: []Return{}, Rolling: []Rolling{}}
	var found [5]bool // each read's own flag: no lock
	// point reads of a few rows: one ClickHouse thread each, not a pool
	// per query (16 readers × 5 queries × 2 threads on 2 cores queue)
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_threads": 1}))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { found[0], err = s.schemeDim(gctx, code, a); return })
	g.Go(func() (err error) { found[1], err = s.schemeRisk(gctx, code, a); return })
	g.Go(func() (err error) { found[2], err = s.schemeReturns(gctx, code, a); return })
	g.Go(func() (err error) { found[3], err = s.schemeRolling(gctx, code, a); return })
	g.Go(func() (err error) { found[4], err = s.schemeAUM(gctx, code, a); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !slices.Contains(found[:], true) {
		return s.navsOnly(ctx, code)
	}
	return a, nil
}

// navsOnly is the answer for a scheme in no model (NAVs loaded, no refresh
// since): known, with its AMC and category from its NAVs; nil without
// NAVs.
func (s Service) navsOnly(ctx context.Context, code string) (*SchemeAnalytics, error) {
	a := &SchemeAnalytics{SchemeCode: code, Returns: []Return{}, Rolling: []Rolling{}}
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_threads": 1}))
	var n uint64
	if err := s.CH.QueryRow(ctx, `SELECT count(), argMax(amc, nav_date), argMax(category, nav_date) FROM nav_history WHERE scheme_code = ?`,
		code).Scan(&n, &a.AMC, &a.Category); err != nil {
		return nil, fmt.Errorf("analytics: scheme %s: %w", code, err)
	}
	if n == 0 {
		return nil, nil
	}
	return a, nil
}

// The columns of each model a scheme's answer reads, and their scan targets
// and conversions: shared by the per-scheme reads (Service.Scheme) and the
// bulk reads of a Snapshot, so both give the same answer byte for byte.
const (
	dimCols  = `name, amc, category, plan, option, isin_growth, isin_reinvest`
	riskCols = `as_of, from_date, window_days, navs, toString(volatility), toString(cagr), toString(max_drawdown),
		drawdown_peak, drawdown_trough, drawdown_recovery, toString(var_95), toString(var_99), toString(cvar_95), toString(cvar_99),
		toString(sharpe), toString(sortino), toString(beta), toString(risk_free)`
	returnCols  = `period, kind, from_date, to_date, toString(value)`
	rollingCols = `period, windows, first_end, last_end, toString(min), toString(p25), toString(median), toString(p75),
		toString(max), toString(pct_negative), worst_start, worst_end`
	aumCols = `date, toString(units), toString(nav), nav_date, toString(aum)`
)

func dimDest(a *SchemeAnalytics) []any {
	return []any{&a.Name, &a.AMC, &a.Category, &a.Plan, &a.Option, &a.ISINGrowth, &a.ISINReinvest}
}

type riskScan struct {
	r                      SchemeRisk
	asOf, from             time.Time
	peak, trough, recovery *time.Time
	sharpe, sortino, beta  *string
}

func (x *riskScan) dest() []any {
	r := &x.r
	return []any{&x.asOf, &x.from, &r.WindowDays, &r.NAVs, &r.Volatility, &r.CAGR, &r.MaxDrawdown, &x.peak, &x.trough, &x.recovery,
		&r.VaR95, &r.VaR99, &r.CVaR95, &r.CVaR99, &x.sharpe, &x.sortino, &x.beta, &r.RiskFree}
}

func (x *riskScan) row() *SchemeRisk {
	r := x.r
	r.AsOf, r.From = fund.DateOf(x.asOf).String(), fund.DateOf(x.from).String()
	r.DrawdownPeak, r.DrawdownTrough, r.DrawdownRecovery = optDate(x.peak), optDate(x.trough), optDate(x.recovery)
	r.Sharpe, r.Sortino, r.Beta = optDec(x.sharpe), optDec(x.sortino), optDec(x.beta)
	for _, p := range []*string{&r.Volatility, &r.CAGR, &r.MaxDrawdown, &r.VaR95, &r.VaR99, &r.CVaR95, &r.CVaR99} {
		*p = fixed(*p)
	}
	r.Methods = risk.Methods
	return &r
}

type returnScan struct {
	x    Return
	f, t time.Time
}

func (s *returnScan) dest() []any { return []any{&s.x.Period, &s.x.Kind, &s.f, &s.t, &s.x.Value} }

func (s *returnScan) row() Return {
	x := s.x
	x.From, x.To, x.Value = fund.DateOf(s.f).String(), fund.DateOf(s.t).String(), fixed(x.Value)
	return x
}

// periodOrder sorts returns in the order of analytics.Periods.
var periodOrder = func() map[string]int {
	m := map[string]int{}
	for i, p := range analytics.Periods {
		m[p.Name] = i
	}
	return m
}()

func sortReturns(rs []Return) {
	slices.SortStableFunc(rs, func(x, y Return) int { return periodOrder[x.Period] - periodOrder[y.Period] })
}

type rollingScan struct {
	x              Rolling
	fe, le, ws, we time.Time
}

func (s *rollingScan) dest() []any {
	x := &s.x
	return []any{&x.Period, &x.Windows, &s.fe, &s.le, &x.Min, &x.P25, &x.Median, &x.P75, &x.Max, &x.PctNegative, &s.ws, &s.we}
}

func (s *rollingScan) row() Rolling {
	x := s.x
	x.FirstEnd, x.LastEnd, x.WorstStart, x.WorstEnd = fund.DateOf(s.fe).String(), fund.DateOf(s.le).String(), fund.DateOf(s.ws).String(), fund.DateOf(s.we).String()
	for _, p := range []*string{&x.Min, &x.P25, &x.Median, &x.P75, &x.Max, &x.PctNegative} {
		*p = fixed(*p)
	}
	return x
}

type aumScan struct {
	u     AUM
	d, nd time.Time
	aum   string
}

func (s *aumScan) dest() []any { return []any{&s.d, &s.u.Units, &s.u.NAV, &s.nd, &s.aum} }

func (s *aumScan) row() *AUM {
	u := s.u
	u.Date, u.NAVDate = fund.DateOf(s.d).String(), fund.DateOf(s.nd).String()
	v, _ := decimal.NewFromString(s.aum)
	u.AUM = v.RoundBank(fund.AmountScale).StringFixed(fund.AmountScale)
	return &u
}

// schemeDim fills the names from scheme_dim.
func (s Service) schemeDim(ctx context.Context, code string, a *SchemeAnalytics) (bool, error) {
	rows, err := s.CH.Query(ctx, `SELECT `+dimCols+` FROM scheme_dim WHERE scheme_code = ?`, code)
	if err != nil {
		return false, fmt.Errorf("analytics: scheme %s: %w", code, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		if err := rows.Scan(dimDest(a)...); err != nil {
			return false, fmt.Errorf("analytics: scheme %s: %w", code, err)
		}
		found = true
	}
	return found, rows.Err()
}

// schemeRisk fills Risk from the latest scheme_risk row.
func (s Service) schemeRisk(ctx context.Context, code string, a *SchemeAnalytics) (bool, error) {
	var x riskScan
	err := s.CH.QueryRow(ctx, `SELECT `+riskCols+`
		FROM scheme_risk FINAL WHERE scheme_code = ? ORDER BY as_of DESC LIMIT 1`, code).Scan(x.dest()...)
	switch {
	case err == nil:
		a.Risk = x.row()
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	default:
		return false, fmt.Errorf("analytics: risk of %s: %w", code, err)
	}
}

// schemeReturns fills Returns from the latest as_of of scheme_returns, in
// the order of analytics.Periods.
func (s Service) schemeReturns(ctx context.Context, code string, a *SchemeAnalytics) (bool, error) {
	rows, err := s.CH.Query(ctx, `SELECT `+returnCols+` FROM scheme_returns FINAL
		WHERE scheme_code = ? AND as_of = (SELECT max(as_of) FROM scheme_returns WHERE scheme_code = ?)`, code, code)
	if err != nil {
		return false, fmt.Errorf("analytics: returns of %s: %w", code, err)
	}
	defer rows.Close()
	for rows.Next() {
		var x returnScan
		if err := rows.Scan(x.dest()...); err != nil {
			return false, fmt.Errorf("analytics: returns of %s: %w", code, err)
		}
		a.Returns = append(a.Returns, x.row())
	}
	sortReturns(a.Returns)
	return len(a.Returns) > 0, rows.Err()
}

// schemeRolling fills Rolling from the latest as_of of
// scheme_rolling_returns.
func (s Service) schemeRolling(ctx context.Context, code string, a *SchemeAnalytics) (bool, error) {
	rows, err := s.CH.Query(ctx, `SELECT `+rollingCols+` FROM scheme_rolling_returns FINAL
		WHERE scheme_code = ? AND as_of = (SELECT max(as_of) FROM scheme_rolling_returns WHERE scheme_code = ?) ORDER BY period`, code, code)
	if err != nil {
		return false, fmt.Errorf("analytics: rolling returns of %s: %w", code, err)
	}
	defer rows.Close()
	for rows.Next() {
		var x rollingScan
		if err := rows.Scan(x.dest()...); err != nil {
			return false, fmt.Errorf("analytics: rolling returns of %s: %w", code, err)
		}
		a.Rolling = append(a.Rolling, x.row())
	}
	return len(a.Rolling) > 0, rows.Err()
}

// schemeAUM fills AUM from the latest aum_daily row.
func (s Service) schemeAUM(ctx context.Context, code string, a *SchemeAnalytics) (bool, error) {
	var x aumScan
	err := s.CH.QueryRow(ctx, `SELECT `+aumCols+` FROM aum_daily FINAL
		WHERE scheme_code = ? ORDER BY date DESC LIMIT 1`, code).Scan(x.dest()...)
	switch {
	case err == nil:
		a.AUM = x.row()
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	default:
		return false, fmt.Errorf("analytics: aum of %s: %w", code, err)
	}
}

// Holding is a folio's units in a scheme.
type Holding struct {
	Scheme string `json:"scheme_code"`
	Units  string `json:"units"`
	Value  string `json:"value"` // at the last joint NAV date
}

// FolioRisk is GET /v1/folios/{folio}/risk: the folio's current holdings
// valued over its schemes' joint NAV history (the dates every scheme has a
// NAV, within 365 days to as_of), and fund/risk's figures of that value
// series; VaR and CVaR also in rupees (× the last value, half-even to the
// paisa).
type FolioRisk struct {
	Folio     string        `json:"folio"`
	AsOf      string        `json:"as_of"`
	From      string        `json:"from,omitempty"`
	Days      int           `json:"days"` // joint NAV dates used
	Value     string        `json:"value"`
	Holdings  []Holding     `json:"holdings"`
	Risk      *risk.Figures `json:"risk"` // null with too little joint history
	Reason    string        `json:"reason,omitempty"`
	VaR95INR  *string       `json:"var_95_inr"`
	VaR99INR  *string       `json:"var_99_inr"`
	CVaR95INR *string       `json:"cvar_95_inr"`
	CVaR99INR *string       `json:"cvar_99_inr"`
}

// Folio is the folio's portfolio risk as of a date.
func (s Service) Folio(ctx context.Context, folio string, asOf fund.Date) (*FolioRisk, error) {
	return s.folio(ctx, folio, asOf, func(codes []string, from, to fund.Date) (map[string][]risk.Point, error) {
		return pgstore.Store{Pool: s.PG}.NAVs(ctx, codes, from, to)
	})
}

// folio is Folio with the schemes' NAVs from navs (Postgres, or the
// snapshot of Cached): the holdings are always read from Postgres.
func (s Service) folio(ctx context.Context, folio string, asOf fund.Date, navsOf func(codes []string, from, to fund.Date) (map[string][]risk.Point, error)) (*FolioRisk, error) {
	rows, err := s.PG.Query(ctx, `SELECT scheme_code, units FROM holdings WHERE folio_no = $1 AND units > 0 ORDER BY scheme_code`, folio)
	if err != nil {
		return nil, fmt.Errorf("analytics: holdings of %s: %w", folio, err)
	}
	var codes []string
	units := map[string]decimal.Decimal{}
	for rows.Next() {
		var c string
		var u decimal.Decimal
		if err := rows.Scan(&c, &u); err != nil {
			rows.Close()
			return nil, fmt.Errorf("analytics: holdings of %s: %w", folio, err)
		}
		codes, units[c] = append(codes, c), u
	}
	rows.Close()
	out := &FolioRisk{Folio: folio, AsOf: asOf.String(), Holdings: []Holding{}, Value: "0.00"}
	from := asOf.AddDays(-analytics.RiskWindowDays)
	navs, err := navsOf(codes, from, asOf)
	if err != nil {
		return nil, err
	}
	series, last := Joint(codes, units, navs, from, asOf)
	for _, c := range codes {
		h := Holding{Scheme: c, Units: units[c].String()}
		if v, ok := last[c]; ok {
			h.Value = v.RoundBank(fund.AmountScale).StringFixed(fund.AmountScale)
		}
		out.Holdings = append(out.Holdings, h)
	}
	out.Days = len(series)
	if len(series) == 0 {
		out.Reason = "no NAV on a date every held scheme has one"
		return out, nil
	}
	value := series[len(series)-1].NAV
	out.From, out.Value = series[0].Date.String(), value.RoundBank(fund.AmountScale).StringFixed(fund.AmountScale)
	rates := s.Rates
	if rates == nil {
		rates = risk.Constant(s.RiskFree)
	}
	rep, err := risk.ComputeRates(series, rates)
	if errors.Is(err, risk.ErrTooFewNAVs) {
		out.Reason = err.Error()
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	f := rep.Figures()
	out.Risk = &f
	inr := func(x decimal.Decimal) *string {
		v := x.Mul(value).RoundBank(fund.AmountScale).StringFixed(fund.AmountScale)
		return &v
	}
	out.VaR95INR, out.VaR99INR, out.CVaR95INR, out.CVaR99INR = inr(rep.VaR95), inr(rep.VaR99), inr(rep.CVaR95), inr(rep.CVaR99)
	return out, nil
}

// Joint is the value of fixed units over the dates in [from, to] on which
// every scheme has a NAV (applied: fund.AppliedNAV), oldest first, and each
// scheme's value on the last of them. Historical simulation: today's
// holdings against the schemes' shared past.
func Joint(codes []string, units map[string]decimal.Decimal, navs map[string][]risk.Point, from, to fund.Date) ([]risk.Point, map[string]decimal.Decimal) {
	if len(codes) == 0 {
		return nil, nil
	}
	byDate := map[fund.Date]map[string]decimal.Decimal{}
	for _, c := range codes {
		for _, p := range navs[c] {
			if p.Date.Before(from) || p.Date.After(to) {
				continue
			}
			applied, err := fund.AppliedNAV(p.NAV)
			if err != nil {
				continue // a non-positive NAV: not a price
			}
			if byDate[p.Date] == nil {
				byDate[p.Date] = map[string]decimal.Decimal{}
			}
			byDate[p.Date][c] = applied.Decimal()
		}
	}
	var dates []fund.Date
	for d, m := range byDate {
		if len(m) == len(codes) {
			dates = append(dates, d)
		}
	}
	slices.SortFunc(dates, func(a, b fund.Date) int { return a.Time().Compare(b.Time()) })
	out := make([]risk.Point, 0, len(dates))
	last := map[string]decimal.Decimal{}
	for i, d := range dates {
		v := decimal.Zero
		for _, c := range codes {
			x := units[c].Mul(byDate[d][c])
			v = v.Add(x)
			if i == len(dates)-1 {
				last[c] = x
			}
		}
		out = append(out, risk.Point{Date: d, NAV: v})
	}
	return out, last
}
