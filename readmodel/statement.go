package readmodel

import (
	"context"
	"sort"

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
}

// SeriesPoint is the folio's value and invested amount on a date.
type SeriesPoint struct {
	Date     fund.Date
	Value    decimal.Decimal
	Invested decimal.Decimal
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
	st := &Statement{Folio: folio, Investor: l.Investor, From: from, To: to, Names: names}
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
	st.Opening = Value(l, &dayBefore, openNAVs, names)
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
				if n, ok := navOnOrBefore(series[p.Scheme], d); ok {
					pt.Value = pt.Value.Add(money(p.Units.Mul(n)))
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
func navOnOrBefore(points []NAVPoint, d fund.Date) (decimal.Decimal, bool) {
	i := sort.Search(len(points), func(i int) bool { return points[i].Date.After(d) })
	if i == 0 {
		return decimal.Decimal{}, false
	}
	return points[i-1].NAV, true
}
