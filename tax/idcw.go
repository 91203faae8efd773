package tax

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
)

// Option is how a scheme pays its IDCW.
type Option string

const (
	Payout   Option = "payout"
	Reinvest Option = "reinvest"
)

// Declared is a declaration as stored: fund/tax's with the NAV date of the
// reinvestment and the scheme's option.
type Declared struct {
	ftax.Declaration
	NAVDate fund.Date
	Option  Option
	Source  string
}

// Holder is a folio holding the scheme at the end of the record date (the
// ledger replayed to it: lots acquired by then less what transfers dated by
// then took, as readmodel's PositionsAt does).
type Holder struct {
	Folio, InvestorID, AMC string
	Resident               bool // tax residence India: 194K, else 196A
	Units                  fund.Units
}

// CreditPlan is one folio's credit as decided: what the store writes in one
// transaction.
type CreditPlan struct {
	Holder   Holder
	Decl     Declared
	Gross    fund.Amount
	TDS      ftax.TDS
	Reinvest *ftax.Reinvestment // Reinvest option: the units bought with the net
	Postings []fund.Posting
}

// ErrDeclarationConflict: another declaration under the id, or one for the
// same scheme and record date.
var ErrDeclarationConflict = errors.New("tax: a different IDCW declaration exists")

// IDCWStore keeps declarations and writes credits through the ledger's
// tables and lock order.
type IDCWStore interface {
	// Declare stores d (created false: the same declaration is there).
	Declare(ctx context.Context, d Declared) (created bool, err error)
	Declaration(ctx context.Context, id string) (Declared, error)
	// Holders are the folios with units of scheme at the end of the date.
	Holders(ctx context.Context, scheme string, recordDate fund.Date) ([]Holder, error)
	// ExNAV is the scheme's NAV on date and its units scale (ok false: no
	// NAV yet).
	ExNAV(ctx context.Context, scheme string, date fund.Date) (nav fund.NAV, scale int32, ok bool, err error)
	// Credit writes one folio's credit in one transaction, unless it was
	// written before (written false): it locks the investor's folios (the
	// ledger's step 3, folio order), reads the investor's IDCW from the AMC
	// earlier in the credit's FY, asks decide for the plan, then writes the
	// order leg, the ledger transaction, its postings, the lot and holding
	// (reinvestment), the credit row, the outbox events and the audit rows.
	Credit(ctx context.Context, d Declared, h Holder, decide func(priorFY fund.Amount) (CreditPlan, error)) (written bool, err error)
	// Credits are an investor's credits in [from, to].
	Credits(ctx context.Context, investor string, from, to fund.Date) ([]ftax.Credit, error)
}

// IDCW runs declarations.
type IDCW struct {
	Store   IDCWStore
	TDS     []ftax.TDSRule // nil: ftax.TDSRules
	Workers int            // folios credited at once, an investor's one after another (0: DefaultWorkers)
}

func (s *IDCW) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return DefaultWorkers
}

// Declare checks and stores a declaration; its NAV date is the ex-date or
// the next business day of cal.
func (s *IDCW) Declare(ctx context.Context, d ftax.Declaration, opt Option, source string, cal *fund.Calendar) (Declared, bool, error) {
	if err := d.Check(); err != nil {
		return Declared{}, false, err
	}
	if opt != Payout && opt != Reinvest {
		return Declared{}, false, fmt.Errorf("option %q: payout or reinvest", opt)
	}
	if d.ID == "" {
		d.ID = d.Scheme + "-" + d.RecordDate.String()
	}
	navDate, err := ftax.ExNAVDate(d.ExDate, cal)
	if err != nil {
		return Declared{}, false, err
	}
	dd := Declared{Declaration: d, NAVDate: navDate, Option: opt, Source: source}
	created, err := s.Store.Declare(ctx, dd)
	return dd, created, err
}

// RunResult counts what a run did.
type RunResult struct {
	Declaration string `json:"declaration"`
	Holders     int    `json:"holders"`
	Credited    int    `json:"credited"`
	Already     int    `json:"already_credited"`
	Nothing     int    `json:"nothing_to_credit,omitempty"`
}

// ErrNoExNAV: the reinvestment's NAV has not landed yet; run again later.
var ErrNoExNAV = errors.New("tax: the ex-IDCW NAV is not there yet")

// Run credits every holder of the declaration, each folio exactly once
// (a second run, or one after a crash, credits only those not yet done).
func (s *IDCW) Run(ctx context.Context, id string) (RunResult, error) {
	res := RunResult{Declaration: id}
	d, err := s.Store.Declaration(ctx, id)
	if err != nil {
		return res, err
	}
	hs, err := s.Store.Holders(ctx, d.Scheme, d.RecordDate)
	if err != nil {
		return res, err
	}
	res.Holders = len(hs)
	var nav fund.NAV
	var scale int32
	if d.Option == Reinvest {
		var ok bool
		if nav, scale, ok, err = s.Store.ExNAV(ctx, d.Scheme, d.NAVDate); err != nil {
			return res, err
		}
		if !ok {
			return res, fmt.Errorf("%w: %s on %s", ErrNoExNAV, d.Scheme, d.NAVDate)
		}
	}
	var mu sync.Mutex
	err = eachKeyed(ctx, s.workers(), hs, func(h Holder) string { return h.InvestorID }, func(ctx context.Context, h Holder) error {
		if d.Gross(h.Units).IsZero() { // fewer units than earn a paisa: nothing to credit
			mu.Lock()
			res.Nothing++
			mu.Unlock()
			return nil
		}
		written, err := s.Store.Credit(ctx, d, h, func(prior fund.Amount) (CreditPlan, error) {
			return s.plan(d, h, prior, nav, scale)
		})
		if err != nil {
			return fmt.Errorf("idcw %s, folio %s: %w", id, h.Folio, err)
		}
		mu.Lock()
		if written {
			res.Credited++
		} else {
			res.Already++
		}
		mu.Unlock()
		return nil
	})
	return res, err
}

// plan decides one folio's credit: gross, TDS on it, and the payout or the
// reinvestment, with its postings (INR: the scheme's cash pays the gross,
// the TDS to tax:tds:<section>, the net to the investor's payout account
// or, reinvested, the stamp duty to tax:stamp_duty and the rest back into
// the scheme's cash; UNITS: the new units to the folio).
func (s *IDCW) plan(d Declared, h Holder, prior fund.Amount, nav fund.NAV, scale int32) (CreditPlan, error) {
	table := s.TDS
	if table == nil {
		table = ftax.TDSRules
	}
	gross := d.Gross(h.Units)
	t, err := ftax.TDSOn(table, h.Resident, d.ExDate, prior, gross)
	if err != nil {
		return CreditPlan{}, err
	}
	p := CreditPlan{Holder: h, Decl: d, Gross: gross, TDS: t}
	add := func(account, asset string, a fund.Amount) {
		if !a.IsZero() {
			p.Postings = append(p.Postings, fund.Posting{Account: account, Asset: asset, Amount: a.Decimal()})
		}
	}
	add(fund.AccountSchemeCash(d.Scheme), fund.AssetINR, gross.Neg())
	add("tax:tds:"+t.Section, fund.AssetINR, t.Tax)
	var r ftax.Reinvestment
	if d.Option == Reinvest {
		r = ftax.Reinvest(t.Net, nav, scale, d.NAVDate)
	}
	// a net too small to buy a unit at the scale is paid out
	if d.Option == Payout || r.Units.Sign() <= 0 {
		add(fund.AccountPayout(h.Folio), fund.AssetINR, t.Net)
	} else {
		p.Reinvest = &r
		add(fund.AccountStampDuty, fund.AssetINR, r.Duty)
		add(fund.AccountSchemeCash(d.Scheme), fund.AssetINR, r.Invested)
		p.Postings = append(p.Postings,
			fund.Posting{Account: fund.AccountFolio(h.Folio), Asset: fund.AssetUnits(d.Scheme), Amount: r.Units.Decimal()},
			fund.Posting{Account: fund.AccountSchemeUnits(d.Scheme), Asset: fund.AssetUnits(d.Scheme), Amount: r.Units.Decimal().Neg()})
	}
	if len(p.Postings) > 0 {
		if err := fund.CheckPostings(p.Postings); err != nil {
			return CreditPlan{}, err
		}
	}
	return p, nil
}

// TDSSummary is an investor's IDCW TDS in fy (Form 16A's data).
func (s *IDCW) TDSSummary(ctx context.Context, investor string, fy ftax.FY) (ftax.TDSSummary, error) {
	cs, err := s.Store.Credits(ctx, investor, fy.First(), fy.Last())
	if err != nil {
		return ftax.TDSSummary{}, err
	}
	return ftax.SummariseTDS(fy, cs), nil
}

// API is what the HTTP API serves: capital gains, TDS summaries and IDCW
// declarations, on the money path's calendar.
type API struct {
	Gains    *Service
	IDCW     *IDCW
	Mergers  *Mergers
	Types    TypeStore
	Contacts ContactStore
	Calendar *fund.Calendar
}

// ContactStore reads the name and address a statement is addressed to.
type ContactStore interface {
	Contact(ctx context.Context, investor string) (name, address string, err error)
}

// Contact is the investor's name and address (ContactStore).
func (a *API) Contact(ctx context.Context, investor string) (string, string, error) {
	return a.Contacts.Contact(ctx, investor)
}

// NewAPI is API over one store.
func NewAPI(store interface {
	Store
	IDCWStore
	MergerStore
	TypeStore
	ContactStore
}, cal *fund.Calendar) *API {
	return &API{Gains: &Service{Store: store}, IDCW: &IDCW{Store: store}, Mergers: &Mergers{Store: store}, Types: store, Contacts: store, Calendar: cal}
}

// Statement is Service.Statement.
func (a *API) Statement(ctx context.Context, investor string, fy ftax.FY) (*Statement, error) {
	return a.Gains.Statement(ctx, investor, fy)
}

// TDSSummary is IDCW.TDSSummary for a known investor (ErrUnknownInvestor).
func (a *API) TDSSummary(ctx context.Context, investor string, fy ftax.FY) (ftax.TDSSummary, error) {
	ok, err := a.Gains.Store.InvestorExists(ctx, investor)
	if err != nil {
		return ftax.TDSSummary{}, err
	}
	if !ok {
		return ftax.TDSSummary{}, ErrUnknownInvestor
	}
	return a.IDCW.TDSSummary(ctx, investor, fy)
}

// DeclareIDCW is IDCW.Declare on the API's calendar.
func (a *API) DeclareIDCW(ctx context.Context, d ftax.Declaration, opt Option, source string) (Declared, bool, error) {
	return a.IDCW.Declare(ctx, d, opt, source, a.Calendar)
}
