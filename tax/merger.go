package tax

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
)

// MergerDecl is a scheme merger as declared: units of From become units of
// To on Date at NAVFrom / NAVTo (a plan or option change is declared the
// same way).
type MergerDecl struct {
	ID, From, To   string
	Date           fund.Date
	NAVFrom, NAVTo fund.NAV
	Source         string
	ToScale        int32 // the units scale of To (read, not declared)
}

// OpenLot is an open lot of the merged scheme as the ledger holds it:
// Bought is its tax date (the acquisition date it carries, else its NAV
// date), Units what is left of it and Cost the cost of that (the ledger's
// fund.LotCost), FMV its 31-Jan-2018 value per unit of From (nil: none).
type OpenLot struct {
	ID      int64
	Bought  fund.Date
	NAVDate fund.Date
	Units   fund.Units
	Cost    fund.Amount
	FMV     *fund.NAV
}

// CarriedLot is one new lot of To: from the lot SourceID, with the tax
// date, cost and FMV (per unit of To) it carries.
type CarriedLot struct {
	SourceID int64
	Bought   fund.Date
	Units    fund.Units
	Cost     fund.Amount
	FMV      *fund.NAV
}

// MergePlan is one folio's merger, decided: the lots of From it takes, the
// lots of To it issues, and the residue.
type MergePlan struct {
	Taken     []OpenLot
	Carried   []CarriedLot
	UnitsFrom fund.Units
	UnitsTo   fund.Units
	Cost      fund.Amount // Σ carried cost = Σ taken cost
	Residue   fund.Amount // value of the fraction of a unit of To left by the truncation, half-up to the paisa
}

// ErrMergerConflict: another merger under the id, or one for the scheme.
var ErrMergerConflict = errors.New("tax: a different merger of the scheme exists")

// MergerStore keeps mergers and writes each folio's in one transaction.
type MergerStore interface {
	DeclareMerger(ctx context.Context, m MergerDecl) (created bool, err error)
	Merger(ctx context.Context, id string) (MergerDecl, error)
	// MergerFolios are the folios with open lots of the merged scheme.
	MergerFolios(ctx context.Context, m MergerDecl) ([]string, error)
	// MergeFolio locks the folio, reads its open lots of From (tax date
	// first), asks plan for the merger and writes it: the out leg taking
	// every lot, one in leg and lot per carried lot, postings, holdings,
	// the residue, the merger_folios row, outbox and audit (written false:
	// done before).
	MergeFolio(ctx context.Context, m MergerDecl, folio string, plan func([]OpenLot) (MergePlan, error)) (written bool, err error)
	// RedirectPlans points the live SIPs, STPs and SWPs of From at To.
	RedirectPlans(ctx context.Context, m MergerDecl) (int64, error)
}

// Mergers runs mergers.
type Mergers struct {
	Store   MergerStore
	Workers int // folios merged at once (0: DefaultWorkers)
}

func (s *Mergers) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return DefaultWorkers
}

// Declare checks and stores a merger.
func (s *Mergers) Declare(ctx context.Context, m MergerDecl) (MergerDecl, bool, error) {
	switch {
	case m.From == "" || m.To == "":
		return m, false, &InputError{"from", "merger: from and to are needed"}
	case m.From == m.To:
		return m, false, &InputError{"to", "merger: a scheme cannot merge into itself"}
	case m.Date.IsZero():
		return m, false, &InputError{"date", "merger: the date is needed"}
	case m.NAVFrom.Decimal().Sign() <= 0:
		return m, false, &InputError{"nav_from", "merger: both NAVs must be positive"}
	case m.NAVTo.Decimal().Sign() <= 0:
		return m, false, &InputError{"nav_to", "merger: both NAVs must be positive"}
	}
	if m.ID == "" {
		m.ID = m.From + "-" + m.To + "-" + m.Date.String()
	}
	created, err := s.Store.DeclareMerger(ctx, m)
	return m, created, err
}

// MergeResult counts what a run did.
type MergeResult struct {
	Merger     string `json:"merger"`
	Folios     int    `json:"folios"`
	Merged     int    `json:"merged"`
	Already    int    `json:"already_merged"`
	Redirected int64  `json:"plans_redirected"`
}

// Run merges every folio holding From, each exactly once (a second run, or
// one after a crash, merges only those not done), then redirects the plans.
func (s *Mergers) Run(ctx context.Context, id string) (MergeResult, error) {
	res := MergeResult{Merger: id}
	m, err := s.Store.Merger(ctx, id)
	if err != nil {
		return res, err
	}
	folios, err := s.Store.MergerFolios(ctx, m)
	if err != nil {
		return res, err
	}
	res.Folios = len(folios)
	var mu sync.Mutex
	// each folio on its own (one transaction, its own lock): any order
	err = eachKeyed(ctx, s.workers(), folios, func(f string) string { return f }, func(ctx context.Context, f string) error {
		written, err := s.Store.MergeFolio(ctx, m, f, func(lots []OpenLot) (MergePlan, error) { return PlanMerge(m, lots) })
		if err != nil {
			return fmt.Errorf("merger %s, folio %s: %w", id, f, err)
		}
		mu.Lock()
		if written {
			res.Merged++
		} else {
			res.Already++
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return res, err
	}
	// after the folios: a plan redirected first would buy To with units of
	// From still open (harmless), but this way a crash leaves plans alone
	// until every holding moved
	if res.Redirected, err = s.Store.RedirectPlans(ctx, m); err != nil {
		return res, err
	}
	return res, nil
}

// PlanMerge decides one folio's merger with ftax.Carry: the folio's units
// of To are Σ units × NAVFrom / NAVTo truncated at To's scale, shared over
// the lots by largest remainder; each lot keeps its tax date and cost. A
// lot that gets no unit of To (a sliver) hands its cost to the carried lot
// before it (after it, when it is the first), so the folio's cost is
// unchanged. The residue is Σ units × NAVFrom − units of To × NAVTo.
func PlanMerge(m MergerDecl, lots []OpenLot) (MergePlan, error) {
	if len(lots) == 0 {
		return MergePlan{}, errors.New("merger: no open lots")
	}
	in := make([]ftax.Lot, len(lots))
	p := MergePlan{Taken: lots}
	cost := fund.Amount{}
	p.UnitsFrom = lots[0].Units.Sub(lots[0].Units) // zero at From's scale
	for i, l := range lots {
		in[i] = ftax.Lot{ID: fmt.Sprint(l.ID), Bought: l.Bought, Units: l.Units, Cost: l.Cost, FMVPerUnit: l.FMV}
		p.UnitsFrom = p.UnitsFrom.Add(l.Units)
		cost = cost.Add(l.Cost)
	}
	carried, total, err := ftax.Carry(ftax.Merger{From: m.From, To: m.To, Date: m.Date, NAVFrom: m.NAVFrom, NAVTo: m.NAVTo, ToScale: m.ToScale}, in)
	if err != nil {
		return MergePlan{}, err
	}
	p.UnitsTo, p.Cost = total, cost
	residue := p.UnitsFrom.Decimal().Mul(m.NAVFrom.Decimal()).Sub(total.Decimal().Mul(m.NAVTo.Decimal()))
	if p.Residue, err = fund.AmountFromDecimal(residue, fund.RoundHalfUp); err != nil {
		return MergePlan{}, err
	}
	var orphan fund.Amount // cost of slivers waiting for a lot
	for i, c := range carried {
		if c.Units.Sign() == 0 {
			if n := len(p.Carried); n > 0 {
				p.Carried[n-1].Cost = p.Carried[n-1].Cost.Add(c.Cost)
			} else {
				orphan = orphan.Add(c.Cost)
			}
			continue
		}
		p.Carried = append(p.Carried, CarriedLot{SourceID: lots[i].ID, Bought: c.Bought, Units: c.Units, Cost: c.Cost.Add(orphan), FMV: c.FMVPerUnit})
		orphan = fund.Amount{}
	}
	if len(p.Carried) == 0 {
		return MergePlan{}, fmt.Errorf("merger: %s units of %s are less than one unit step of %s", p.UnitsFrom, m.From, m.To)
	}
	return p, nil
}

// InputError is a merger or a scheme tax type asked for wrongly: Field
// names what (as the API's body spells it), the message says why.
type InputError struct{ Field, Msg string }

func (e *InputError) Error() string { return e.Msg }

// MergeRequest is a merger as asked for (the CLI's flags, the API's body):
// a nil NAV is that scheme's NAV on Date.
type MergeRequest struct {
	ID, From, To   string
	Date           fund.Date
	NAVFrom, NAVTo *fund.NAV
	Source         string
}

// Merged is a merger declared (or found declared: Declared false) and run.
type Merged struct {
	Decl     MergerDecl
	Declared bool
	Run      MergeResult
}

// Merge declares a merger and runs it, the one path of `fundflow tax
// merge` and POST /v1/tax/mergers: each scheme's NAV on the date unless
// given (*InputError when it has none), then Mergers.Declare
// (ErrMergerConflict for another merger of the scheme, *InputError for a
// bad declaration) and Mergers.Run, which merges each folio exactly once,
// so asking again after a crash or a timeout finishes the work.
func (a *API) Merge(ctx context.Context, r MergeRequest) (Merged, error) {
	if r.From == "" || r.To == "" {
		f := "from"
		if r.From != "" {
			f = "to"
		}
		return Merged{}, &InputError{f, "merger: from and to are needed"}
	}
	if r.Date.IsZero() {
		return Merged{}, &InputError{"date", "merger: the date is needed"}
	}
	navs := map[string]fund.NAV{}
	for _, s := range []struct {
		code, field string
		given       *fund.NAV
	}{{r.From, "nav_from", r.NAVFrom}, {r.To, "nav_to", r.NAVTo}} {
		if s.given != nil {
			navs[s.field] = *s.given
			continue
		}
		n, on, ok, err := a.Gains.Store.NAVOnOrBefore(ctx, s.code, r.Date)
		if err != nil {
			return Merged{}, err
		}
		if !ok || on != r.Date {
			return Merged{}, &InputError{s.field, fmt.Sprintf("%s has no NAV on %s: give nav_from/nav_to", s.code, r.Date)}
		}
		navs[s.field] = n
	}
	m, created, err := a.Mergers.Declare(ctx, MergerDecl{ID: r.ID, From: r.From, To: r.To, Date: r.Date,
		NAVFrom: navs["nav_from"], NAVTo: navs["nav_to"], Source: r.Source})
	if err != nil {
		return Merged{}, err
	}
	res, err := a.Mergers.Run(ctx, m.ID)
	if err != nil {
		return Merged{}, err
	}
	return Merged{Decl: m, Declared: created, Run: res}, nil
}

// SetSchemeType stores a scheme's tax character from a date (TypeStore):
// ErrTypeConflict for another type or reason on that date,
// ErrUnknownScheme for a code no scheme has, *InputError for a bad one.
func (a *API) SetSchemeType(ctx context.Context, o ftax.TypeOverride, source string) (bool, error) {
	switch {
	case o.Scheme == "":
		return false, &InputError{"scheme", "scheme: the scheme code is needed"}
	case o.From.IsZero():
		return false, &InputError{"from", "from: the date the type is in force from is needed"}
	case strings.TrimSpace(o.Reason) == "":
		return false, &InputError{"reason", "reason: say why"}
	}
	if _, err := ftax.ParseSchemeType(string(o.Type)); err != nil {
		return false, &InputError{"type", "type: equity, debt or other"}
	}
	return a.Types.SetTypeOverride(ctx, o, source)
}
