package readmodel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/xirr"
)

// XIRR notes, instead of a number, when no rate exists.
const (
	NoteNotEnoughCashFlows = "not enough cash flows"
	NoteNoRate             = "no rate of return found"
	NoteNoNAV              = "no NAV on or before the date"
)

// Holding is one scheme of a portfolio.
type Holding struct {
	Scheme     string           `json:"scheme_code"`
	SchemeName string           `json:"scheme_name"`
	Units      string           `json:"units"` // at the scheme's units scale
	Invested   decimal.Decimal  `json:"invested"`
	AvgCost    decimal.Decimal  `json:"average_cost"` // invested / units, 4 decimals
	NAV        *decimal.Decimal `json:"nav"`          // nil: no NAV known on or before the date
	NAVDate    *fund.Date       `json:"nav_date"`
	Value      *decimal.Decimal `json:"value"`
	Gain       *decimal.Decimal `json:"gain"`
	XIRR       *decimal.Decimal `json:"xirr"` // a fraction: 0.1234 = 12.34 % a year
	XIRRNote   string           `json:"xirr_note,omitempty"`

	units decimal.Decimal
	flows []xirr.CashFlow
}

// Portfolio is a folio's holdings on a date, valued at the NAV of that date
// (or the latest NAV).
type Portfolio struct {
	Folio      string           `json:"folio"`
	InvestorID string           `json:"investor_id"`
	AsOf       *fund.Date       `json:"as_of"` // nil: now
	Holdings   []Holding        `json:"holdings"`
	Invested   decimal.Decimal  `json:"invested"`
	Value      decimal.Decimal  `json:"value"` // of the holdings with a NAV
	Gain       decimal.Decimal  `json:"gain"`
	XIRR       *decimal.Decimal `json:"xirr"`
	XIRRNote   string           `json:"xirr_note,omitempty"`

	Owner Investor `json:"-"` // the folio's investor (PII sealed): for the caller's checks and view
}

// Portfolio loads a folio and values it as of asOf (nil: now).
func (s *Store) Portfolio(ctx context.Context, folio string, asOf *fund.Date) (*Portfolio, error) {
	l, err := s.LoadFolio(ctx, folio)
	if err != nil {
		return nil, err
	}
	navs, names, err := s.valuation(ctx, l.Schemes(), asOf)
	if err != nil {
		return nil, err
	}
	p := Value(l, asOf, navs, names)
	p.Owner = l.Investor
	return p, nil
}

// valuation returns the schemes' names and NAVs on asOf (nil: the newest)
// in one round trip.
func (s *Store) valuation(ctx context.Context, codes []string, asOf *fund.Date) (map[string]DatedNAV, map[string]string, error) {
	navs := make(map[string]DatedNAV, len(codes))
	names := make(map[string]string, len(codes))
	if len(codes) == 0 {
		return navs, names, nil
	}
	var d any
	if asOf != nil {
		d = asOf.Time()
	}
	rows, err := s.PG.Query(ctx, `SELECT c, coalesce(s.name, ''), n.nav_date, n.nav FROM unnest($1::text[]) c
		LEFT JOIN schemes s ON s.code = c
		LEFT JOIN LATERAL (
			SELECT nav_date, nav FROM nav_latest WHERE $2::date IS NULL AND scheme_code = c
			UNION ALL
			(SELECT nav_date, nav FROM navs WHERE $2::date IS NOT NULL AND scheme_code = c AND nav_date <= $2 ORDER BY nav_date DESC LIMIT 1)
		) n ON true`, codes, d)
	if err != nil {
		return nil, nil, fmt.Errorf("valuation: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, name string
		var day *time.Time
		var nav decimal.NullDecimal
		if err := rows.Scan(&c, &name, &day, &nav); err != nil {
			return nil, nil, err
		}
		names[c] = name
		if day != nil && nav.Valid {
			n, err := applied(nav.Decimal)
			if err != nil {
				return nil, nil, fmt.Errorf("nav of %s on %s: %w", c, fund.DateOf(*day), err)
			}
			navs[c] = DatedNAV{Date: fund.DateOf(*day), NAV: n}
		}
	}
	return navs, names, rows.Err()
}

// Schemes returns the schemes the folio ever held.
func (l *FolioLedger) Schemes() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range l.Txs {
		if !seen[t.Scheme] {
			seen[t.Scheme] = true
			out = append(out, t.Scheme)
		}
	}
	return out
}

// Value values the ledger replayed to asOf at navs. Schemes fully redeemed
// by then are not holdings, but their cash flows count in the overall XIRR.
// A scheme without a NAV has no value, gain or XIRR and keeps the overall
// XIRR from being computed (its value is unknown).
func Value(l *FolioLedger, asOf *fund.Date, navs map[string]DatedNAV, names map[string]string) *Portfolio {
	p := &Portfolio{Folio: l.Folio, InvestorID: l.InvestorID, AsOf: asOf, Holdings: []Holding{}}
	var all []xirr.CashFlow
	complete := true
	for _, pos := range l.PositionsAt(asOf) {
		all = append(all, pos.Flows...)
		if pos.Units.Sign() <= 0 {
			continue
		}
		u, err := fund.UnitsFromDecimal(pos.Units, l.Scale(pos.Scheme), fund.RoundHalfUp)
		if err != nil { // a scale outside 0..9 cannot come from scheme_terms
			u, _ = fund.UnitsFromDecimal(pos.Units, fund.MaxUnitsScale, fund.RoundHalfUp)
		}
		h := Holding{Scheme: pos.Scheme, SchemeName: names[pos.Scheme], Units: u.String(), Invested: pos.Invested,
			AvgCost: pos.Invested.DivRound(pos.Units, 4), units: pos.Units, flows: pos.Flows}
		p.Invested = p.Invested.Add(pos.Invested)
		n, ok := navs[pos.Scheme]
		if !ok {
			h.XIRRNote = NoteNoNAV
			complete = false
			p.Holdings = append(p.Holdings, h)
			continue
		}
		value := money(pos.Units.Mul(n.NAV))
		gain := value.Sub(pos.Invested)
		nav, date := n.NAV, n.Date
		h.NAV, h.NAVDate, h.Value, h.Gain = &nav, &date, &value, &gain
		p.Value = p.Value.Add(value)
		flows := append(append([]xirr.CashFlow(nil), pos.Flows...), xirr.CashFlow{Date: n.Date, Amount: value})
		all = append(all, xirr.CashFlow{Date: n.Date, Amount: value})
		h.XIRR, h.XIRRNote = rateOf(flows)
		p.Holdings = append(p.Holdings, h)
	}
	p.Gain = p.Value.Sub(p.Invested)
	if complete {
		p.XIRR, p.XIRRNote = rateOf(all)
	} else {
		p.XIRRNote = NoteNoNAV
	}
	return p
}

// money rounds to the paisa, half up.
func money(d decimal.Decimal) decimal.Decimal {
	a, _ := fund.AmountFromDecimal(d, fund.RoundHalfUp)
	return a.Decimal()
}

// rateOf solves the flows' rate. Flows all on one date (a purchase valued on
// its own NAV date) have no rate: "not enough cash flows", like a single
// flow or flows of one sign.
func rateOf(flows []xirr.CashFlow) (*decimal.Decimal, string) {
	dates := map[fund.Date]bool{}
	for _, f := range flows {
		dates[f.Date] = true
	}
	if len(dates) < 2 {
		return nil, NoteNotEnoughCashFlows
	}
	r, err := xirr.Rate(flows)
	switch {
	case err == nil:
		return &r, ""
	case errors.Is(err, xirr.ErrNotEnoughCashFlows):
		return nil, NoteNotEnoughCashFlows
	default:
		return nil, NoteNoRate
	}
}
