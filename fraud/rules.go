// Package fraud holds the fraud rules and their pure evaluation: a rule
// set parsed from YAML (versioned, checked by `fundflow lint`), and each
// rule's decision over one event and the window state of its scope key.
// No I/O here: the streaming job (jobs/fraud) keeps the state in Postgres
// and acts on the firings.
package fraud

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
)

// Kind is what a rule looks for.
type Kind string

const (
	// KindRedemptionVelocity: more than max_count redemptions in window.
	KindRedemptionVelocity Kind = "redemption_velocity"
	// KindAccountTakeover: a redemption of at least min_pct % of the
	// holdings within window of a change of one of fields.
	KindAccountTakeover Kind = "account_takeover"
	// KindSharedContact: one bank account, mobile or email (by its keyed
	// fingerprint) on more than max_investors investors within window (mules).
	KindSharedContact Kind = "shared_contact"
	// KindRoundTrip: a redemption of at least min_pct % of the purchases
	// made within window, when those purchases are themselves at least
	// min_pct % of the holdings (the money out is the money just put in).
	KindRoundTrip Kind = "round_trip"
	// KindFailedPayments: more than max_count failed payments in window
	// (card testing).
	KindFailedPayments Kind = "failed_payments"
	// KindStructuring: min_count purchases in window each in
	// [amount - band, amount): just under the PAN-mandatory threshold.
	KindStructuring Kind = "structuring"
)

// Scope is what a rule's window is kept per.
type Scope string

const (
	ScopeInvestor Scope = "investor"
	ScopeFolio    Scope = "folio"
	ScopeBank     Scope = "bank"
	ScopeMobile   Scope = "mobile"
	ScopeEmail    Scope = "email"
)

// Action is what a firing does besides the alert.
type Action string

const (
	ActionAlert Action = "alert"
	// ActionHold also holds the triggering order leg (ledger.PlaceHold).
	ActionHold Action = "hold"
)

// Rule is one checked rule.
type Rule struct {
	ID           string
	Kind         Kind
	Description  string
	Scope        Scope
	Window       time.Duration
	Action       Action
	MaxCount     int             // redemption_velocity, failed_payments
	MinCount     int             // structuring
	MinPct       decimal.Decimal // account_takeover, round_trip (percent, e.g. 80)
	Fields       []string        // account_takeover: the profile fields whose change opens the window
	MaxInvestors int             // shared_contact
	Amount       fund.Amount     // structuring: the PAN-mandatory threshold
	Band         fund.Amount     // structuring: how far under it counts
}

// RuleSet is a versioned rule file.
type RuleSet struct {
	Version int
	Rules   []Rule
}

// Rule returns the rule with id.
func (rs *RuleSet) Rule(id string) (Rule, bool) {
	for _, r := range rs.Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

//go:embed rules.yaml
var shippedRules []byte

// Shipped is the rule set that ships with fundflow (fraud/rules.yaml), the
// thresholds the generator's clean stream raises no alert at.
func Shipped() *RuleSet {
	rs, err := ParseRules("fraud/rules.yaml", shippedRules)
	if err != nil {
		panic(err) // a test parses it; it cannot be bad in a build
	}
	return rs
}

// the YAML shape; pointers tell "absent" from zero.
type ruleFile struct {
	Version int        `yaml:"version"`
	Rules   []ruleYAML `yaml:"rules"`
}

type ruleYAML struct {
	ID          string         `yaml:"id"`
	Kind        string         `yaml:"kind"`
	Description string         `yaml:"description"`
	Scope       string         `yaml:"scope"`
	Window      time.Duration  `yaml:"window"`
	Action      string         `yaml:"action"`
	Thresholds  thresholdsYAML `yaml:"thresholds"`
}

type thresholdsYAML struct {
	MaxCount     *int     `yaml:"max_count"`
	MinCount     *int     `yaml:"min_count"`
	MinPct       *string  `yaml:"min_pct"`
	Fields       []string `yaml:"fields"`
	MaxInvestors *int     `yaml:"max_investors"`
	Amount       *string  `yaml:"amount"`
	Band         *string  `yaml:"band"`
}

// what each kind needs and allows.
var kinds = map[Kind]struct {
	scopes     []Scope
	thresholds []string // required, exactly these
	hold       bool     // the triggering event is an order leg that can be held
}{
	KindRedemptionVelocity: {[]Scope{ScopeInvestor, ScopeFolio}, []string{"max_count"}, true},
	KindAccountTakeover:    {[]Scope{ScopeInvestor, ScopeFolio}, []string{"min_pct", "fields"}, true},
	KindSharedContact:      {[]Scope{ScopeBank, ScopeMobile, ScopeEmail}, []string{"max_investors"}, false},
	KindRoundTrip:          {[]Scope{ScopeInvestor, ScopeFolio}, []string{"min_pct"}, true},
	KindFailedPayments:     {[]Scope{ScopeInvestor, ScopeFolio}, []string{"max_count"}, false},
	KindStructuring:        {[]Scope{ScopeInvestor, ScopeFolio}, []string{"min_count", "amount", "band"}, true},
}

// ProfileFields are the investors.changed fields account_takeover may watch.
var ProfileFields = []string{"bank_account", "mobile", "email", "nominee", "address"}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// maxWindow: a year of state per key is the most any rule here needs.
const maxWindow = 366 * 24 * time.Hour

// CurrentVersion is the newest rule-file version this build reads.
const CurrentVersion = 1

// LoadRules reads and checks a rule file.
func LoadRules(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fraud rules: %w", err)
	}
	return ParseRules(path, data)
}

// ParseRules decodes and checks a rule file; every problem is a
// config.FieldError naming the field and its line (*config.Errors).
func ParseRules(name string, data []byte) (*RuleSet, error) {
	var f ruleFile
	doc, errs := config.DecodeStrict(data, &f)
	if !doc.Parsed() {
		return nil, &config.Errors{File: name, List: errs}
	}
	rs := &RuleSet{Version: f.Version}
	var verrs []config.FieldError
	add := func(path, format string, args ...any) {
		verrs = append(verrs, config.FieldError{Path: path, Line: doc.Line(path), Msg: fmt.Sprintf(format, args...)})
	}
	if f.Version < 1 || f.Version > CurrentVersion {
		add("version", "must be 1..%d (the rule-file format this build reads), got %d", CurrentVersion, f.Version)
	}
	if len(f.Rules) == 0 {
		add("rules", "no rules: list at least one (see fraud/rules.yaml)")
	}
	seen := map[string]int{}
	for i, y := range f.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		r, rerrs := y.check(p)
		for _, e := range rerrs {
			add(e.Path, "%s", e.Msg)
		}
		if j, dup := seen[y.ID]; dup && y.ID != "" {
			add(p+".id", "%q is also the id of rules[%d]: an alert id is rule + event, so ids must be unique", y.ID, j)
		}
		seen[y.ID] = i
		rs.Rules = append(rs.Rules, r)
	}
	errs = append(errs, verrs...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b config.FieldError) int { return a.Line - b.Line })
		return nil, &config.Errors{File: name, List: errs}
	}
	return rs, nil
}

func (y ruleYAML) check(p string) (Rule, []config.FieldError) {
	var errs []config.FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, config.FieldError{Path: p + "." + path, Msg: fmt.Sprintf(format, args...)})
	}
	r := Rule{ID: y.ID, Kind: Kind(y.Kind), Description: y.Description, Scope: Scope(y.Scope), Window: y.Window, Action: Action(y.Action)}
	if !idRe.MatchString(y.ID) {
		add("id", "%q is not a rule id (lower-case letters, digits, - and _, at most 63, e.g. ato-redemption)", y.ID)
	}
	spec, ok := kinds[r.Kind]
	if !ok {
		add("kind", "%q is not a rule kind (one of %s)", y.Kind, kindNames())
	}
	if ok && !slices.Contains(spec.scopes, r.Scope) {
		add("scope", "%q is not a scope of a %s rule (one of %s)", y.Scope, y.Kind, joinScopes(spec.scopes))
	}
	if r.Window <= 0 || r.Window > maxWindow {
		add("window", "must be between 1s and 8784h (a year), got %s", r.Window)
	}
	switch r.Action {
	case ActionAlert:
	case ActionHold:
		if ok && !spec.hold {
			add("action", "a %s rule fires on a profile change or a failed payment, not on an order leg: nothing to hold; use alert", y.Kind)
		}
	default:
		add("action", "%q is not an action (alert or hold)", y.Action)
	}
	t := y.Thresholds
	present := map[string]bool{
		"max_count": t.MaxCount != nil, "min_count": t.MinCount != nil, "min_pct": t.MinPct != nil,
		"fields": t.Fields != nil, "max_investors": t.MaxInvestors != nil, "amount": t.Amount != nil, "band": t.Band != nil,
	}
	if ok {
		for _, k := range spec.thresholds {
			if !present[k] {
				add("thresholds."+k, "a %s rule needs thresholds.%s", y.Kind, k)
			}
		}
		for _, k := range sortedKeys(present) {
			if present[k] && !slices.Contains(spec.thresholds, k) {
				add("thresholds."+k, "a %s rule does not use thresholds.%s (it takes %s)", y.Kind, k, strings.Join(spec.thresholds, ", "))
			}
		}
	}
	if t.MaxCount != nil {
		if r.MaxCount = *t.MaxCount; r.MaxCount < 0 || r.MaxCount > 1_000_000 {
			add("thresholds.max_count", "must be between 0 and 1000000, got %d", r.MaxCount)
		}
	}
	if t.MinCount != nil {
		if r.MinCount = *t.MinCount; r.MinCount < 1 || r.MinCount > 1_000_000 {
			add("thresholds.min_count", "must be between 1 and 1000000, got %d", r.MinCount)
		}
	}
	if t.MaxInvestors != nil {
		if r.MaxInvestors = *t.MaxInvestors; r.MaxInvestors < 1 || r.MaxInvestors > 1_000_000 {
			add("thresholds.max_investors", "must be between 1 and 1000000 (one investor per account is normal), got %d", r.MaxInvestors)
		}
	}
	if t.MinPct != nil {
		d, err := decimal.NewFromString(strings.TrimSpace(*t.MinPct))
		if err != nil || d.Sign() <= 0 || d.GreaterThan(decimal.NewFromInt(100)) {
			add("thresholds.min_pct", "%q is not a percentage above 0 and at most 100 (e.g. 80 or 62.5)", *t.MinPct)
		} else {
			r.MinPct = d
		}
	}
	if t.Fields != nil {
		if len(t.Fields) == 0 {
			add("thresholds.fields", "list at least one of %s", strings.Join(ProfileFields, ", "))
		}
		for j, fld := range t.Fields {
			if !slices.Contains(ProfileFields, fld) {
				add(fmt.Sprintf("thresholds.fields[%d]", j), "%q is not a profile field (one of %s)", fld, strings.Join(ProfileFields, ", "))
			}
		}
		r.Fields = t.Fields
	}
	if t.Amount != nil {
		a, err := fund.ParseAmount(strings.TrimSpace(*t.Amount))
		if err != nil || a.Sign() <= 0 {
			add("thresholds.amount", "%q is not an amount in rupees above 0 with at most 2 decimals (e.g. 50000)", *t.Amount)
		} else {
			r.Amount = a
		}
	}
	if t.Band != nil {
		b, err := fund.ParseAmount(strings.TrimSpace(*t.Band))
		if err != nil || b.Sign() <= 0 {
			add("thresholds.band", "%q is not an amount in rupees above 0 with at most 2 decimals (e.g. 5000)", *t.Band)
		} else if t.Amount != nil && r.Amount.Sign() > 0 && b.Cmp(r.Amount) > 0 {
			add("thresholds.band", "%s is more than thresholds.amount (%s): the band is how far under the threshold counts", b, r.Amount)
		} else {
			r.Band = b
		}
	}
	return r, errs
}

func kindNames() string {
	var ks []string
	for k := range kinds {
		ks = append(ks, string(k))
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

func joinScopes(ss []Scope) string {
	var b []string
	for _, s := range ss {
		b = append(b, string(s))
	}
	return strings.Join(b, ", ")
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
