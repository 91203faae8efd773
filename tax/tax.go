// Package tax is the investors' tax service: realised capital gains per
// investor and financial year, scheme-wise and lot-wise, from the lots and
// lot consumptions the ledger keeps, with fund/tax's rules (the same code as
// `fundflow check gains`); the CSV and ITR Schedule 112A exports of them.
//
// It reads only: every number comes from the ledger's rows (the lot as
// bought, the units each redemption or switch-out took from it, the exit
// load it paid) and the NAV of 31-Jan-2018 for grandfathering.
package tax

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
)

// Disposal is one lot consumption by a redemption or switch-out: the lot as
// bought and the units the transfer took from it.
type Disposal struct {
	InvestorID string
	Folio      string
	Scheme     string
	SchemeName string
	ISIN       string
	Category   string
	UnitsScale int32

	TxID int64
	Kind string // redemption | switch_out
	Sold fund.Date
	NAV  fund.NAV

	LotID      int64
	Bought     fund.Date
	LotUnits   fund.Units  // units allotted to the lot
	LotPaid    fund.Amount // what the lot cost, stamp duty included
	UsedBefore fund.Units  // units earlier transfers took from the lot
	Units      fund.Units  // units this transfer took
	ExitLoad   fund.Amount // the load this lot paid (the ledger's, by its slab)
	// A lot carried over by a scheme merger: Bought is the merged lot's
	// acquisition date, LotPaid its cost, FMV its 31-Jan-2018 value per
	// unit of this scheme (nil: none was known).
	Carried bool
	FMV     *fund.NAV
}

// Store reads the ledger.
type Store interface {
	// Disposals calls fn for every lot consumption of a redemption or
	// switch-out priced in [from, to], of one investor (every investor when
	// investor is ""), ordered by investor, folio, scheme, transaction and
	// lot (oldest first).
	Disposals(ctx context.Context, investor string, from, to fund.Date, fn func(Disposal) error) error
	// NAVOnOrBefore is the scheme's NAV on d or the last one before it
	// (ok false: none).
	NAVOnOrBefore(ctx context.Context, scheme string, d fund.Date) (nav fund.NAV, on fund.Date, ok bool, err error)
	// InvestorExists reports whether the investor is known.
	InvestorExists(ctx context.Context, investor string) (bool, error)
	// TypeOverrides are the schemes' effective-dated tax characters where
	// the category does not decide (scheme_tax_types).
	TypeOverrides(ctx context.Context) ([]ftax.TypeOverride, error)
}

// ErrUnknownInvestor: no such investor.
var ErrUnknownInvestor = errors.New("tax: unknown investor")

// Service computes capital-gains statements.
type Service struct {
	Store      Store
	Rules      []ftax.CGRule       // nil: ftax.CGRules
	Categories []ftax.CategoryRule // nil: ftax.CategoryRules
}

// LotLine is one lot of a transfer, with where it came from.
type LotLine struct {
	Folio        string `json:"folio"`
	TxID         int64  `json:"ledger_tx_id"`
	Kind         string `json:"kind"`
	ftax.LotGain        // lot_id is the ledger's holding_lots.id
}

// SchemeGains are one scheme's transfers in the year.
type SchemeGains struct {
	Scheme     string          `json:"scheme_code"`
	Name       string          `json:"scheme_name"`
	ISIN       string          `json:"isin"`
	SchemeType ftax.SchemeType `json:"scheme_type"`
	FMVDate    *fund.Date      `json:"fmv_nav_date,omitempty"` // the NAV date grandfathering used
	Lots       []LotLine       `json:"lots"`
	Totals     ftax.Totals     `json:"totals"`
}

// Statement is an investor's realised gains in one financial year.
type Statement struct {
	InvestorID    string        `json:"investor_id"`
	FY            ftax.FY       `json:"fy"`
	From          fund.Date     `json:"from"`
	To            fund.Date     `json:"to"`
	Schemes       []SchemeGains `json:"schemes"`
	Totals        ftax.Totals   `json:"totals"`
	LTCGExemption fund.Amount   `json:"ltcg_112a_exemption"`
	// Taxable112A is the year's 112A gains less the exemption (not below 0).
	Taxable112A fund.Amount `json:"ltcg_112a_taxable"`
	// Problems are the lots left out, and why: the totals are incomplete
	// while there is one.
	Problems []string `json:"problems,omitempty"`
}

// Statement is one investor's statement for fy (empty schemes when nothing
// was transferred).
func (s *Service) Statement(ctx context.Context, investor string, fy ftax.FY) (*Statement, error) {
	if investor == "" {
		return nil, ErrUnknownInvestor
	}
	ok, err := s.Store.InvestorExists(ctx, investor)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrUnknownInvestor
	}
	var st *Statement
	if err := s.Each(ctx, investor, fy, func(x *Statement) error { st = x; return nil }); err != nil {
		return nil, err
	}
	if st == nil {
		st = s.newStatement(investor, fy)
		s.finish(st)
	}
	return st, nil
}

// Each streams the statements of fy of one investor (every investor with
// a transfer in the year when investor is ""), one at a time: memory holds
// one investor's year, whatever the population.
func (s *Service) Each(ctx context.Context, investor string, fy ftax.FY, fn func(*Statement) error) error {
	fmv := map[string]fmvAt{} // per scheme: the grandfathering NAV, read once
	overrides, err := s.Store.TypeOverrides(ctx)
	if err != nil {
		return err
	}
	var cur *Statement
	var sg *SchemeGains
	flush := func() error {
		if cur == nil {
			return nil
		}
		s.finish(cur)
		err := fn(cur)
		cur, sg = nil, nil
		return err
	}
	err = s.Store.Disposals(ctx, investor, fy.First(), fy.Last(), func(d Disposal) error {
		if cur != nil && cur.InvestorID != d.InvestorID {
			if err := flush(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = s.newStatement(d.InvestorID, fy)
		}
		if sg == nil || sg.Scheme != d.Scheme {
			sg = nil
			for i := range cur.Schemes {
				if cur.Schemes[i].Scheme == d.Scheme {
					sg = &cur.Schemes[i]
				}
			}
			if sg == nil {
				cur.Schemes = append(cur.Schemes, SchemeGains{Scheme: d.Scheme, Name: d.SchemeName, ISIN: d.ISIN, SchemeType: s.typeOf(d, overrides)})
				sg = &cur.Schemes[len(cur.Schemes)-1]
			}
		}
		// the character in force on the transfer's date (an override may
		// start within the year: the scheme's header shows its first)
		line, err := s.line(ctx, d, s.typeOf(d, overrides), fmv)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// one lot's bad data (no NAV for grandfathering, a rule
			// missing) is named in the statement; it does not stop the
			// investor's statement nor the others'
			cur.Problems = append(cur.Problems, fmt.Sprintf("folio %s, ledger transaction %d, lot %d: %v", d.Folio, d.TxID, d.LotID, err))
			return nil
		}
		if line.FMV != nil {
			f := fmv[d.Scheme].on
			sg.FMVDate = &f
		}
		sg.Lots = append(sg.Lots, line)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

type fmvAt struct {
	nav fund.NAV
	on  fund.Date
	ok  bool
}

func (s *Service) newStatement(investor string, fy ftax.FY) *Statement {
	return &Statement{InvestorID: investor, FY: fy, From: fy.First(), To: fy.Last(), Schemes: []SchemeGains{}}
}

// typeOf is the scheme's tax character on the transfer's date: the
// override in force then, else what its category implies.
func (s *Service) typeOf(d Disposal, overrides []ftax.TypeOverride) ftax.SchemeType {
	if t, ok := ftax.TypeOn(overrides, d.Scheme, d.Sold); ok {
		return t
	}
	cats := s.Categories
	if cats == nil {
		cats = ftax.CategoryRules
	}
	return ftax.TypeOfCategory(cats, d.Category)
}

// line is one disposal's gain. The actual cost of the units taken is the
// ledger's own rule (fund.LotCost before − after, as ledger/rules cut it),
// so the statement's costs add up to what the lot lost.
func (s *Service) line(ctx context.Context, d Disposal, ty ftax.SchemeType, fmv map[string]fmvAt) (LotLine, error) {
	before := d.LotUnits.Sub(d.UsedBefore)
	after := before.Sub(d.Units)
	if after.Sign() < 0 {
		return LotLine{}, fmt.Errorf("the lot's consumptions (%s + %s) exceed its units %s", d.UsedBefore, d.Units, d.LotUnits)
	}
	cost := fund.LotCost(d.LotPaid, d.LotUnits, before).Sub(fund.LotCost(d.LotPaid, d.LotUnits, after))
	lot := ftax.Lot{ID: fmt.Sprint(d.LotID), Type: ty, Bought: d.Bought, Units: d.LotUnits, Cost: d.LotPaid}
	switch {
	case ty != ftax.Equity || !d.Bought.Before(ftax.GrandfatherBefore):
	case d.FMV != nil:
		lot.FMVPerUnit = d.FMV
	case d.Carried: // this scheme's NAV of 2018 is not the FMV of units carried into it
		return LotLine{}, fmt.Errorf("lot %d was carried by a merger from a lot bought %s with no FMV of %s", d.LotID, d.Bought, ftax.FMVDate)
	default:
		f, ok := fmv[d.Scheme]
		if !ok {
			nav, on, found, err := s.Store.NAVOnOrBefore(ctx, d.Scheme, ftax.FMVDate)
			if err != nil {
				return LotLine{}, err
			}
			f = fmvAt{nav, on, found}
			fmv[d.Scheme] = f
		}
		if !f.ok {
			return LotLine{}, fmt.Errorf("no NAV of %s on or before %s for grandfathering", d.Scheme, ftax.FMVDate)
		}
		lot.FMVPerUnit = &f.nav
	}
	rules := s.Rules
	if rules == nil {
		rules = ftax.CGRules
	}
	g, err := ftax.Gain(rules, ftax.Use{Lot: lot, Units: d.Units, CostActual: cost, ExitLoad: d.ExitLoad}, d.Sold, d.NAV)
	if err != nil {
		return LotLine{}, err
	}
	return LotLine{Folio: d.Folio, TxID: d.TxID, Kind: d.Kind, LotGain: g}, nil
}

// finish sums the schemes and the year and applies the 112A exemption.
func (s *Service) finish(st *Statement) {
	var all []ftax.LotGain
	for i := range st.Schemes {
		gs := make([]ftax.LotGain, len(st.Schemes[i].Lots))
		for j, l := range st.Schemes[i].Lots {
			gs[j] = l.LotGain
		}
		st.Schemes[i].Totals = ftax.Sum(gs)
		all = append(all, gs...)
	}
	st.Totals = ftax.Sum(all)
	st.LTCGExemption = ftax.LTCGExemption(ftax.LTCGExemptions, st.FY)
	var ltcg fund.Amount
	for _, t := range st.Totals.BySection {
		if t.Section == ftax.Sec112A {
			ltcg = ltcg.Add(t.Gain)
		}
	}
	if taxable := ltcg.Sub(st.LTCGExemption); taxable.Sign() > 0 {
		st.Taxable112A = taxable
	}
}

// ErrTypeConflict: the scheme has another tax type from that date.
var ErrTypeConflict = errors.New("tax: the scheme has another tax type from that date")

// ErrUnknownScheme: no scheme has that code, so a tax type for it would
// be a row no transfer ever reads (a typo kept silently).
var ErrUnknownScheme = errors.New("tax: no scheme has that code")

// TypeStore keeps the effective-dated scheme tax types.
type TypeStore interface {
	// SetTypeOverride refuses a code no scheme has (ErrUnknownScheme).
	SetTypeOverride(ctx context.Context, o ftax.TypeOverride, source string) (created bool, err error)
}
