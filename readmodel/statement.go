package readmodel

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Statement is what a folio statement for [From, To] shows.
type Statement struct {
	Folio    string
	Investor Investor
	From, To fund.Date
	Txs      []LedgerTx // dated in [From, To], oldest first
	Names    map[string]string
	Opening  *Portfolio // as of the day before From
	Closing  *Portfolio // as of To: the same numbers as the portfolio API's ?as_of=To
	Series   []SeriesPoint
	// Schemes are the full descriptions of the schemes in Names.
	Schemes map[string]SchemeInfo
	// UnitsScale is each scheme's units scale (3 unless scheme_terms says).
	UnitsScale map[string]int32
	// OpeningUnits are the units held of each scheme the day before From,
	// the start of the statement's running unit balance.
	OpeningUnits map[string]decimal.Decimal
	// IDCW are the folio's IDCW credits dated in [From, To], oldest first.
	IDCW []IDCWCredit
}

// IDCWCredit is one IDCW credited to the folio: the gross on the units
// held on the record date, the TDS withheld, the net paid out or
// reinvested.
type IDCWCredit struct {
	Declaration string
	Scheme      string
	RecordDate  fund.Date
	Date        fund.Date // the credit's (ex-IDCW) date
	PerUnit     decimal.Decimal
	Units       decimal.Decimal // held on the record date
	Gross, TDS  decimal.Decimal
	Section     string // 194K | 196A
	Net         decimal.Decimal
	Option      string // payout | reinvest
}

// FolioIDCW reads a folio's IDCW credits dated in [from, to].
func (s *Store) FolioIDCW(ctx context.Context, folio string, from, to fund.Date) ([]IDCWCredit, error) {
	rows, err := s.PG.Query(ctx, `SELECT c.declaration_id, d.scheme_code, d.record_date, c.credit_date, d.per_unit, c.units,
			c.gross, c.tds, c.tds_section, c.net, c.option
		FROM idcw_credits c JOIN idcw_declarations d ON d.id = c.declaration_id
		WHERE c.folio_no = $1 AND c.credit_date BETWEEN $2 AND $3
		ORDER BY c.credit_date, c.declaration_id`, folio, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("idcw of folio %s: %w", folio, err)
	}
	defer rows.Close()
	var out []IDCWCredit
	for rows.Next() {
		var c IDCWCredit
		var rd, cd time.Time
		if err := rows.Scan(&c.Declaration, &c.Scheme, &rd, &cd, &c.PerUnit, &c.Units, &c.Gross, &c.TDS, &c.Section, &c.Net, &c.Option); err != nil {
			return nil, fmt.Errorf("idcw of folio %s: %w", folio, err)
		}
		c.RecordDate, c.Date = fund.DateOf(rd), fund.DateOf(cd)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SeriesPoint is the folio's value and invested amount on a date.
type SeriesPoint struct {
	Date     fund.Date
	Value    decimal.Decimal
	Invested decimal.Decimal
	// Stale: a scheme held on Date was valued at a NAV more than
	// StaleNAVDays older than Date (the value carries that old NAV).
	Stale bool
}

// SchemeInfo is how a statement names a scheme: the AMFI name with its
// plan and option, and its ISINs (growth or IDCW payout; IDCW
// reinvestment when the scheme has one).
type SchemeInfo struct {
	Name, Plan, Option, AMC  string
	ISINGrowth, ISINReinvest string
}

// StaleNAVDays is how old a valuation NAV may be, in calendar days before
// the valuation date, before a statement flags it: a weekend and a
// two-day market holiday (Friday's NAV valued on Wednesday) is 5 days;
// more means the NAV has stopped arriving.
const StaleNAVDays = 5

// NAVStale reports whether a NAV dated navDate is stale for a valuation
// on asOf.
func NAVStale(navDate, asOf fund.Date) bool {
	return navDate.AddDays(StaleNAVDays).Before(asOf)
}

// UnitsDelta is what the transaction does to the folio's units of its
// scheme: units in for an allotment (purchase, switch-in, IDCW
// reinvestment, a merger's in leg), units out for a redemption, a
// switch-out or a merger's out leg, none for the money-only kinds (an IDCW
// payout, a switch payout).
func (t LedgerTx) UnitsDelta() decimal.Decimal {
	switch t.Kind {
	case "purchase", "switch_in", "idcw_reinvest", fund.KindMergerIn:
		return t.Units.Abs()
	case "redemption", "switch_out", fund.KindMergerOut:
		return t.Units.Abs().Neg()
	}
	return decimal.Zero
}

// SchemeInfos reads the schemes' names, plans, options and ISINs.
func (s *Store) SchemeInfos(ctx context.Context, codes []string) (map[string]SchemeInfo, error) {
	out := make(map[string]SchemeInfo, len(codes))
	rows, err := s.PG.Query(ctx, `SELECT code, name, plan, option, amc, isin_growth, isin_reinvest FROM schemes WHERE code = ANY($1)`, codes)
	if err != nil {
		return nil, fmt.Errorf("scheme infos: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var i SchemeInfo
		if err := rows.Scan(&c, &i.Name, &i.Plan, &i.Option, &i.AMC, &i.ISINGrowth, &i.ISINReinvest); err != nil {
			return nil, fmt.Errorf("scheme infos: %w", err)
		}
		out[c] = i
	}
	return out, rows.Err()
}

// maxSeriesPoints bounds the chart: month ends, thinned if needed, plus
// transaction dates and the last day.
const maxSeriesPoints = 120

// Statement gathers a folio's statement; a zero from means from the
// folio's first transaction. ErrNotFound: no such folio.
func (s *Store) Statement(ctx context.Context, folio string, from, to fund.Date) (*Statement, error) {
	l, err := s.LoadFolio(ctx, folio)
	if err != nil {
		return nil, err
	}
	codes := l.Schemes()
	names, err := s.SchemeNames(ctx, codes)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = to
		if len(l.Txs) > 0 && l.Txs[0].NAVDate.Before(to) {
			from = l.Txs[0].NAVDate
		}
	}
	infos, err := s.SchemeInfos(ctx, codes)
	if err != nil {
		return nil, err
	}
	st := &Statement{Folio: folio, Investor: l.Investor, From: from, To: to, Names: names, Schemes: infos,
		UnitsScale: map[string]int32{}, OpeningUnits: map[string]decimal.Decimal{}}
	for _, c := range codes {
		st.UnitsScale[c] = l.Scale(c)
	}
	for _, t := range l.Txs {
		if !t.NAVDate.Before(from) && !t.NAVDate.After(to) {
			st.Txs = append(st.Txs, t)
		}
	}
	dayBefore := from.AddDays(-1)
	openNAVs, err := s.NAVsOn(ctx, codes, &dayBefore)
	if err != nil {
		return nil, err
	}
	if st.IDCW, err = s.FolioIDCW(ctx, folio, from, to); err != nil {
		return nil, err
	}
	st.Opening = Value(l, &dayBefore, openNAVs, names)
	for _, p := range l.PositionsAt(&dayBefore) {
		st.OpeningUnits[p.Scheme] = p.Units
	}
	closeNAVs, err := s.NAVsOn(ctx, codes, &to)
	if err != nil {
		return nil, err
	}
	st.Closing = Value(l, &to, closeNAVs, names)

	start := from
	if len(l.Txs) > 0 && l.Txs[0].NAVDate.After(start) {
		start = l.Txs[0].NAVDate
	}
	if start.After(to) || len(codes) == 0 {
		return st, nil
	}
	series, err := s.NAVSeries(ctx, codes, start, to)
	if err != nil {
		return nil, err
	}
	for _, d := range seriesDates(l, start, to) {
		pt := SeriesPoint{Date: d}
		for _, p := range l.PositionsAt(&d) {
			pt.Invested = pt.Invested.Add(p.Invested)
			if p.Units.Sign() > 0 {
				if n, on, ok := navOnOrBefore(series[p.Scheme], d); ok {
					pt.Value = pt.Value.Add(money(p.Units.Mul(n)))
					pt.Stale = pt.Stale || NAVStale(on, d)
				} else {
					pt.Stale = true // held, and no NAV at all yet: its value is missing
				}
			}
		}
		st.Series = append(st.Series, pt)
	}
	return st, nil
}

// seriesDates returns the chart's dates in [start, end]: month ends (every
// k-th when there are too many), every transaction date, and end.
func seriesDates(l *FolioLedger, start, end fund.Date) []fund.Date {
	var months []fund.Date
	for d := fund.NewDate(start.Year, start.Month+1, 0); d.Before(end); d = fund.NewDate(d.Year, d.Month+2, 0) {
		if !d.Before(start) {
			months = append(months, d)
		}
	}
	set := map[fund.Date]bool{start: true, end: true}
	step := 1 + len(months)/(maxSeriesPoints/2)
	for i := len(months) - 1; i >= 0; i -= step {
		set[months[i]] = true
	}
	for _, t := range l.Txs {
		if !t.NAVDate.Before(start) && !t.NAVDate.After(end) && len(set) < maxSeriesPoints {
			set[t.NAVDate] = true
		}
	}
	out := make([]fund.Date, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// navOnOrBefore finds the NAV of the latest date on or before d in points
// (oldest first).
func navOnOrBefore(points []NAVPoint, d fund.Date) (decimal.Decimal, fund.Date, bool) {
	i := sort.Search(len(points), func(i int) bool { return points[i].Date.After(d) })
	if i == 0 {
		return decimal.Decimal{}, fund.Date{}, false
	}
	return points[i-1].NAV, points[i-1].Date, true
}
