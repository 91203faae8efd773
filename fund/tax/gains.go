package tax

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// AddMonths is the same calendar date m months after x, or the last day of
// that month when it has no such date (29-Feb-2020 + 12 = 28-Feb-2021,
// 31-Aug + 6 = 28/29-Feb).
func AddMonths(x fund.Date, m int) fund.Date {
	first := time.Date(x.Year, x.Month+time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return fund.NewDate(first.Year(), first.Month(), min(x.Day, last))
}

// IsLongTerm: held more than m months, i.e. sold after the same calendar
// date m months on (m = 0: never long-term).
func IsLongTerm(bought, sold fund.Date, m int) bool {
	return m > 0 && sold.After(AddMonths(bought, m))
}

// Grandfather branches (which term of max(actual, min(FMV, sale)) won).
const (
	GFNone   = ""           // not grandfathered
	GFActual = "actual"     // actual cost ≥ min(FMV, sale value)
	GFFMV    = "fmv"        // FMV < sale value, FMV > actual
	GFSale   = "sale_value" // sale value ≤ FMV, sale value > actual: no gain
)

// Grandfathered is 112A's cost of acquisition for equity units bought
// before 1-Feb-2018 (section 55(2)(ac)): max(actual, min(fmv, sale)), and
// which of the three won. sale is the full value of consideration (units ×
// NAV, before the exit load), as section 55(2)(ac) and Schedule 112A's
// column 9 ("lower of 6 and 11", 6 being units × sale price) have it; the
// load is an expenditure on transfer (section 48, column 12), deducted
// after: the gain is sale value (net of the load) − this cost.
func Grandfathered(actual, fmv, sale fund.Amount) (fund.Amount, string) {
	lower := fmv
	branch := GFFMV
	if sale.Cmp(fmv) <= 0 {
		lower, branch = sale, GFSale
	}
	if actual.Cmp(lower) >= 0 {
		return actual, GFActual
	}
	return lower, branch
}

// Lot is what a transfer consumes: units of one purchase (or of a merged
// scheme's carried-over lot: its original date and cost).
type Lot struct {
	ID         string
	Type       SchemeType
	Bought     fund.Date
	Units      fund.Units  // units in the lot before this sale
	Cost       fund.Amount // cost of those units, stamp duty included
	FMVPerUnit *fund.NAV   // NAV of 31-Jan-2018 (or the last before it); equity lots bought before 1-Feb-2018
}

// Sale is one transfer (a redemption or a switch-out) of Units at NAV on
// Date; ExitLoad is its total load in rupees.
type Sale struct {
	Date     fund.Date
	Units    fund.Units
	NAV      fund.NAV
	ExitLoad fund.Amount
}

// LotGain is the gain on the part of one lot a sale consumed. All amounts
// are rounded half-up to the paisa per lot.
type LotGain struct {
	LotID         string          `json:"lot_id,omitempty"`
	SchemeType    SchemeType      `json:"scheme_type"`
	Bought        fund.Date       `json:"bought"`
	Sold          fund.Date       `json:"sold"`
	Units         fund.Units      `json:"units"`
	NAV           fund.NAV        `json:"nav"` // the sale's
	Term          Term            `json:"term"`
	LongAfter     int             `json:"long_after_months"`
	RateSection   string          `json:"rate_section"`
	RatePct       string          `json:"rate_pct"` // "" for slab
	CostActual    fund.Amount     `json:"cost_actual"`
	FMVPerUnit    *fund.NAV       `json:"fmv_per_unit_2018_01_31,omitempty"`
	FMV           *fund.Amount    `json:"fmv_2018_01_31,omitempty"` // units × FMV per unit
	Grandfathered string          `json:"grandfathered,omitempty"`  // actual | fmv | sale_value
	CostUsed      fund.Amount     `json:"cost_used"`
	SaleGross     fund.Amount     `json:"sale_gross"`
	ExitLoad      fund.Amount     `json:"exit_load"`
	SaleValue     fund.Amount     `json:"sale_value"`
	Gain          fund.Amount     `json:"gain"`
	Indexation    bool            `json:"indexation_allowed,omitempty"`
	Rule          string          `json:"rule"`
	ratePct       decimal.Decimal // for sums by rate
}

// Use is the part of a lot a sale consumed, with the actual cost of those
// units as the caller's books have it (the ledger's lot consumption, or
// ConsumeFIFO's pro-rata share).
type Use struct {
	Lot        Lot
	Units      fund.Units
	CostActual fund.Amount
	ExitLoad   fund.Amount // this lot's share of the sale's load
}

// ErrNotEnoughUnits: a sale of more units than the lots hold.
var ErrNotEnoughUnits = errors.New("sale is larger than the lots")

// ConsumeFIFO takes s.Units from lots oldest first (by Bought, input order
// on ties; lots must be sorted so already, as the ledger keeps them) and
// splits the sale's exit load over them pro rata by units. Each lot's
// actual cost is cost × used / units, its load share load × used / sold,
// both half-up to the paisa (a lot used whole keeps its whole cost).
func ConsumeFIFO(lots []Lot, s Sale) ([]Use, error) {
	if s.Units.Sign() <= 0 {
		return nil, errors.New("sale units must be positive")
	}
	left := s.Units
	var out []Use
	for i, l := range lots {
		if i > 0 && l.Bought.Before(lots[i-1].Bought) {
			return nil, fmt.Errorf("lots must be oldest first: lot %d (%s) is before lot %d (%s)", i+1, l.Bought, i, lots[i-1].Bought)
		}
		if left.Sign() <= 0 {
			break
		}
		if l.Units.Sign() <= 0 {
			continue
		}
		u := l.Units
		if left.Cmp(u) < 0 {
			u = left
		}
		left = left.Sub(u)
		cost := l.Cost
		if !u.Equal(l.Units) {
			c, err := fund.AmountFromRatio(l.Cost.Decimal().Mul(u.Decimal()), l.Units.Decimal(), fund.RoundHalfUp)
			if err != nil {
				return nil, err
			}
			cost = c
		}
		load, err := fund.AmountFromRatio(s.ExitLoad.Decimal().Mul(u.Decimal()), s.Units.Decimal(), fund.RoundHalfUp)
		if err != nil {
			return nil, err
		}
		out = append(out, Use{Lot: l, Units: u, CostActual: cost, ExitLoad: load})
	}
	if left.Sign() > 0 {
		return nil, fmt.Errorf("%w: %s units short", ErrNotEnoughUnits, left)
	}
	return out, nil
}

// Gain classifies and computes the gain on one use of a lot by a sale at
// nav on sold, under the rules of table in force then.
func Gain(table []CGRule, u Use, sold fund.Date, nav fund.NAV) (LotGain, error) {
	r, err := Rule(table, u.Lot.Type, u.Lot.Bought, sold)
	if err != nil {
		return LotGain{}, err
	}
	if sold.Before(u.Lot.Bought) {
		return LotGain{}, fmt.Errorf("lot bought %s after the sale on %s", u.Lot.Bought, sold)
	}
	g := LotGain{
		LotID: u.Lot.ID, SchemeType: u.Lot.Type, Bought: u.Lot.Bought, Sold: sold, Units: u.Units, NAV: nav,
		LongAfter: r.LongAfterMonths, CostActual: u.CostActual, ExitLoad: u.ExitLoad, Rule: r.Source,
	}
	g.SaleGross = u.Units.Value(nav) // half-up to the paisa
	g.SaleValue = g.SaleGross.Sub(u.ExitLoad)
	g.CostUsed = u.CostActual
	g.Term, g.RateSection, g.ratePct = Short, r.ShortSection, r.ShortRatePct
	if IsLongTerm(u.Lot.Bought, sold, r.LongAfterMonths) {
		g.Term, g.RateSection, g.ratePct, g.Indexation = Long, r.LongSection, r.LongRatePct, r.Indexation
		if r.Grandfathered && u.Lot.Bought.Before(GrandfatherBefore) {
			if u.Lot.FMVPerUnit == nil {
				return LotGain{}, fmt.Errorf("lot bought %s (before %s) needs fmv_2018_01_31", u.Lot.Bought, GrandfatherBefore)
			}
			fmv := u.Units.Value(*u.Lot.FMVPerUnit)
			g.FMV, g.FMVPerUnit = &fmv, u.Lot.FMVPerUnit
			g.CostUsed, g.Grandfathered = Grandfathered(u.CostActual, fmv, g.SaleGross)
		}
	}
	if !g.ratePct.IsZero() {
		g.RatePct = g.ratePct.String()
	}
	g.Gain = g.SaleValue.Sub(g.CostUsed)
	return g, nil
}

// Realise is a whole sale: FIFO over lots, then each lot's gain.
func Realise(table []CGRule, lots []Lot, s Sale) ([]LotGain, error) {
	uses, err := ConsumeFIFO(lots, s)
	if err != nil {
		return nil, err
	}
	out := make([]LotGain, 0, len(uses))
	for _, u := range uses {
		g, err := Gain(table, u, s.Date, s.NAV)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Totals sums gains by section and term.
type Totals struct {
	SaleValue fund.Amount    `json:"sale_value"`
	CostUsed  fund.Amount    `json:"cost_used"`
	Gain      fund.Amount    `json:"gain"`
	BySection []SectionTotal `json:"by_section"`
}

// SectionTotal is the sum of the gains taxed under one section at one rate.
type SectionTotal struct {
	Section string      `json:"rate_section"`
	RatePct string      `json:"rate_pct"`
	Term    Term        `json:"term"`
	Gain    fund.Amount `json:"gain"`
}

// Sum totals gs, by section in the order first met.
func Sum(gs []LotGain) Totals {
	var t Totals
	idx := map[string]int{}
	for _, g := range gs {
		t.SaleValue = t.SaleValue.Add(g.SaleValue)
		t.CostUsed = t.CostUsed.Add(g.CostUsed)
		t.Gain = t.Gain.Add(g.Gain)
		k := g.RateSection + "|" + g.RatePct + "|" + string(g.Term)
		i, ok := idx[k]
		if !ok {
			i = len(t.BySection)
			idx[k] = i
			t.BySection = append(t.BySection, SectionTotal{Section: g.RateSection, RatePct: g.RatePct, Term: g.Term})
		}
		t.BySection[i].Gain = t.BySection[i].Gain.Add(g.Gain)
	}
	return t
}
