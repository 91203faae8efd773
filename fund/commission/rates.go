package commission

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// Plan is a scheme's plan. Only regular plans pay commission: a direct plan
// earns nothing whatever the brokerage table says (SEBI: direct plans have no
// distribution expense).
type Plan int

const (
	Regular Plan = iota + 1
	Direct
)

// String returns "regular" or "direct".
func (p Plan) String() string {
	switch p {
	case Regular:
		return "regular"
	case Direct:
		return "direct"
	}
	return fmt.Sprintf("Plan(%d)", int(p))
}

// ParsePlan accepts "regular"/"direct" (any case, optionally followed by
// " plan", as AMFI names them).
func ParsePlan(s string) (Plan, error) {
	switch strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), " plan") {
	case "regular":
		return Regular, nil
	case "direct":
		return Direct, nil
	}
	return 0, fmt.Errorf("plan %q: want regular or direct", s)
}

// Slab is one AUM band of a slabbed trail: from FromAUM (inclusive) upward,
// up to the next slab's FromAUM, the trail is TrailPct % a year. The band the
// AUM falls in sets the rate for the WHOLE AUM (a band rate, not a marginal
// one, as AMC brokerage letters state it).
type Slab struct {
	FromAUM  decimal.Decimal
	TrailPct decimal.Decimal
}

// Structure is one effective-dated brokerage structure of a scheme and plan:
// in force from From until the next structure of the same scheme and plan.
type Structure struct {
	Scheme string
	Plan   Plan
	From   fund.Date
	// TrailPct is the trail in % a year, used when Slabs is empty.
	TrailPct decimal.Decimal
	// Slabs, when present, replace TrailPct: ascending FromAUM, the first 0.
	Slabs []Slab
	// UpfrontPct is SEBI's permitted upfronting of trail (% of the SIP
	// instalment) for small SIPs of new investors; UpfrontMaxSIP is the
	// largest monthly instalment eligible; ClawbackDays the period within
	// which a redemption claws the upfront back.
	UpfrontPct    decimal.Decimal
	UpfrontMaxSIP fund.Amount
	ClawbackDays  int
	// FirstSIPAmount is the platform's fixed event commission on a folio's
	// first SIP instalment in the scheme (zero: none).
	FirstSIPAmount fund.Amount
	// ReferralAmount is the platform's fixed referral commission on a new
	// investor's first purchase in the scheme through the ARN (zero: none).
	ReferralAmount fund.Amount
}

var hundred = decimal.New(100, 0)

// Validate checks one structure on its own.
func (s Structure) Validate() error {
	if s.Scheme == "" {
		return errors.New("scheme is empty")
	}
	if s.Plan != Regular && s.Plan != Direct {
		return errors.New("plan must be regular or direct")
	}
	if s.From.IsZero() {
		return errors.New("effective-from date is missing")
	}
	if err := pct("trail", s.TrailPct); err != nil {
		return err
	}
	for i, sl := range s.Slabs {
		if err := pct("slab trail", sl.TrailPct); err != nil {
			return err
		}
		if i == 0 && !sl.FromAUM.IsZero() {
			return errors.New("the first AUM slab must start at 0")
		}
		if i > 0 && sl.FromAUM.Cmp(s.Slabs[i-1].FromAUM) <= 0 {
			return fmt.Errorf("AUM slabs must ascend: %s after %s", sl.FromAUM, s.Slabs[i-1].FromAUM)
		}
	}
	if err := pct("upfront", s.UpfrontPct); err != nil {
		return err
	}
	if s.UpfrontMaxSIP.IsNegative() || s.FirstSIPAmount.IsNegative() || s.ReferralAmount.IsNegative() {
		return errors.New("amounts must not be negative")
	}
	if s.ClawbackDays < 0 || (s.UpfrontPct.Sign() > 0 && s.ClawbackDays == 0) {
		return errors.New("an upfront needs a positive clawback period")
	}
	return nil
}

func pct(what string, p decimal.Decimal) error {
	if p.IsNegative() || p.Cmp(hundred) > 0 {
		return fmt.Errorf("%s %% %s outside 0..100", what, p)
	}
	return nil
}

type schemePlan struct {
	scheme string
	plan   Plan
}

// Table is a validated set of brokerage structures, looked up by scheme,
// plan and date. The zero Table has no structures.
type Table struct {
	by map[schemePlan][]Structure // ascending From
}

// NewTable validates every structure and refuses two for the same scheme,
// plan and date (which one would be in force is ambiguous).
func NewTable(structs []Structure) (*Table, error) {
	t := &Table{by: map[schemePlan][]Structure{}}
	for i, s := range structs {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("structure %d (%s %s from %s): %w", i+1, s.Scheme, s.Plan, s.From, err)
		}
		k := schemePlan{s.Scheme, s.Plan}
		t.by[k] = append(t.by[k], s)
	}
	for k, ss := range t.by {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].From.Before(ss[j].From) })
		for i := 1; i < len(ss); i++ {
			if ss[i].From == ss[i-1].From {
				return nil, fmt.Errorf("%s %s: two structures from %s", k.scheme, k.plan, ss[i].From)
			}
		}
	}
	return t, nil
}

// Structures returns every structure, by scheme, plan and date.
func (t *Table) Structures() []Structure {
	var out []Structure
	for _, ss := range t.by {
		out = append(out, ss...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Scheme != b.Scheme {
			return a.Scheme < b.Scheme
		}
		if a.Plan != b.Plan {
			return a.Plan < b.Plan
		}
		return a.From.Before(b.From)
	})
	return out
}

// InForce returns the structure of scheme and plan in force on day.
func (t *Table) InForce(scheme string, plan Plan, day fund.Date) (Structure, bool) {
	if t == nil {
		return Structure{}, false
	}
	ss := t.by[schemePlan{scheme, plan}]
	i := sort.Search(len(ss), func(i int) bool { return ss[i].From.After(day) }) - 1
	if i < 0 {
		return Structure{}, false
	}
	return ss[i], true
}

// TrailPct returns the trail % a year for a holding of scheme and plan worth
// aum on day: 0 for a direct plan (whatever the table says) or when no
// structure is in force; otherwise the structure's rate, or the rate of the
// AUM slab aum falls in.
func (t *Table) TrailPct(scheme string, plan Plan, day fund.Date, aum decimal.Decimal) decimal.Decimal {
	if plan != Regular {
		return decimal.Zero
	}
	s, ok := t.InForce(scheme, plan, day)
	if !ok {
		return decimal.Zero
	}
	return s.trailFor(aum)
}

func (s Structure) trailFor(aum decimal.Decimal) decimal.Decimal {
	if len(s.Slabs) == 0 {
		return s.TrailPct
	}
	r := s.Slabs[0].TrailPct
	for _, sl := range s.Slabs[1:] {
		if aum.Cmp(sl.FromAUM) < 0 {
			break
		}
		r = sl.TrailPct
	}
	return r
}

// Band is one AUM band of the regular-plan trail in force on a day: a
// holding of Scheme worth at least FromAUM and, unless Open, less than ToAUM
// accrues TrailPct % a year. A flat rate is one open band from 0.
type Band struct {
	Scheme   string
	FromAUM  decimal.Decimal
	ToAUM    decimal.Decimal
	Open     bool
	TrailPct decimal.Decimal
}

// BandsOn returns TrailPct as a table for day: the bands of every regular
// plan structure in force, by scheme and FromAUM. A holding of a scheme with
// no band, or of a direct plan, accrues 0 (as TrailPct says). The set-based
// accrual joins each holding to its band by its AUM instead of calling
// TrailPct per holding.
func (t *Table) BandsOn(day fund.Date) []Band {
	if t == nil {
		return nil
	}
	var out []Band
	for k := range t.by {
		if k.plan != Regular {
			continue
		}
		s, ok := t.InForce(k.scheme, k.plan, day)
		if !ok {
			continue
		}
		if len(s.Slabs) == 0 {
			out = append(out, Band{Scheme: k.scheme, FromAUM: decimal.Zero, Open: true, TrailPct: s.TrailPct})
			continue
		}
		for i, sl := range s.Slabs {
			b := Band{Scheme: k.scheme, FromAUM: sl.FromAUM, Open: i == len(s.Slabs)-1, TrailPct: sl.TrailPct}
			if i == 0 {
				b.FromAUM = decimal.Zero // trailFor: the first slab's rate below the second slab, whatever its FromAUM
			}
			if !b.Open {
				b.ToAUM = s.Slabs[i+1].FromAUM
			}
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scheme != out[j].Scheme {
			return out[i].Scheme < out[j].Scheme
		}
		return out[i].FromAUM.LessThan(out[j].FromAUM)
	})
	return out
}
