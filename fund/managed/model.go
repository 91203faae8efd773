package managed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// Profiles a questionnaire scores an investor into.
const (
	Conservative = "conservative"
	Moderate     = "moderate"
	Aggressive   = "aggressive"
)

var hundred = decimal.NewFromInt(100)

// Model is a model portfolio: target weights over schemes for a risk
// profile, one version of it effective from a date.
type Model struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	Profile   string    `json:"profile"`
	Effective fund.Date `json:"effective"`
	Schemes   []Target  `json:"schemes"`
}

// Target is one scheme of a model: its weight in percent and the scheme's
// purchase rules. A purchase must be at least Min and exceed it by a whole
// number of Multiple ("₹500 and in multiples of ₹100 thereafter", as offer
// documents say); a zero Multiple means any paisa.
type Target struct {
	Scheme   string          `json:"scheme"`
	Weight   decimal.Decimal `json:"weight"`
	Min      fund.Amount     `json:"min"`
	Multiple fund.Amount     `json:"multiple"`
}

// ErrWeights is returned (wrapped) for a model whose weights do not sum to
// exactly 100 %.
var ErrWeights = errors.New("model weights do not sum to 100")

// Validate refuses a model that cannot be invested: no schemes, a weight not
// in (0, 100], weights not summing to exactly 100, a scheme twice, a
// negative minimum or multiple, an unknown profile, a version below 1.
func (m Model) Validate() error {
	if m.ID == "" {
		return errors.New("model: id is empty")
	}
	if m.Version < 1 {
		return fmt.Errorf("model %s: version %d is below 1", m.ID, m.Version)
	}
	switch m.Profile {
	case Conservative, Moderate, Aggressive:
	default:
		return fmt.Errorf("model %s: profile %q is not conservative, moderate or aggressive", m.ID, m.Profile)
	}
	if m.Effective.IsZero() {
		return fmt.Errorf("model %s: effective date is missing", m.ID)
	}
	if len(m.Schemes) == 0 {
		return fmt.Errorf("model %s: no schemes", m.ID)
	}
	seen := map[string]bool{}
	sum := decimal.Zero
	for i, t := range m.Schemes {
		if t.Scheme == "" {
			return fmt.Errorf("model %s: scheme %d has no code", m.ID, i+1)
		}
		if seen[t.Scheme] {
			return fmt.Errorf("model %s: scheme %s is listed twice", m.ID, t.Scheme)
		}
		seen[t.Scheme] = true
		if t.Weight.Sign() <= 0 || t.Weight.GreaterThan(hundred) {
			return fmt.Errorf("model %s: scheme %s weight %s is not in (0, 100]", m.ID, t.Scheme, t.Weight)
		}
		if t.Min.IsNegative() || t.Multiple.IsNegative() {
			return fmt.Errorf("model %s: scheme %s has a negative minimum or multiple", m.ID, t.Scheme)
		}
		sum = sum.Add(t.Weight)
	}
	if !sum.Equal(hundred) {
		return fmt.Errorf("model %s: %w (they sum to %s)", m.ID, ErrWeights, sum)
	}
	return nil
}

// ParseModel reads a model from JSON (unknown fields refused) and validates
// it: a model that does not sum to 100 % is refused at load.
func ParseModel(b []byte) (Model, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Model
	if err := dec.Decode(&m); err != nil {
		return Model{}, fmt.Errorf("model: %w", err)
	}
	if dec.More() {
		return Model{}, errors.New("model: trailing data after the object")
	}
	if err := m.Validate(); err != nil {
		return Model{}, err
	}
	return m, nil
}

// Leg is the amount a split invests in one scheme.
type Leg struct {
	Scheme string      `json:"scheme"`
	Amount fund.Amount `json:"amount"`
}

// Leftover is what a scheme's ideal share could not invest, and why.
type Leftover struct {
	Scheme string      `json:"scheme"`
	Amount fund.Amount `json:"amount"`
	Reason string      `json:"reason"`
}

// Reasons a share is not (wholly) invested.
const (
	ReasonBelowMin = "below_minimum" // the share is less than the scheme's minimum purchase
	ReasonMultiple = "multiple"      // the part of the share beyond the scheme's multiple
)

// Split is a deposit split over a model: the purchases and what stays in
// the wallet. Σ Legs + Σ Leftovers = the deposit, exactly.
type Split struct {
	Legs      []Leg       `json:"legs"`
	Leftover  fund.Amount `json:"leftover"`
	Leftovers []Leftover  `json:"leftovers,omitempty"`
}

// SplitDeposit splits amount over m's weights: the ideal shares by
// Distribute (largest remainder, so they sum to the deposit), then each
// share brought DOWN to its scheme's multiple; a share below the scheme's
// minimum is not invested at all. What is not invested stays in the wallet
// as a leftover with its reason; it is not moved to other schemes, which
// would bend the model's weights. m must be valid.
func SplitDeposit(amount fund.Amount, m Model) (Split, error) {
	if err := m.Validate(); err != nil {
		return Split{}, err
	}
	if amount.Sign() <= 0 {
		return Split{}, fmt.Errorf("split: deposit %s is not positive", amount)
	}
	w := make([]decimal.Decimal, len(m.Schemes))
	for i, t := range m.Schemes {
		w[i] = t.Weight
	}
	shares, err := Distribute(amount, w)
	if err != nil {
		return Split{}, fmt.Errorf("split: %w", err)
	}
	var s Split
	for i, t := range m.Schemes {
		share := shares[i]
		if share.Cmp(t.Min) < 0 || share.IsZero() {
			if !share.IsZero() {
				s.Leftovers = append(s.Leftovers, Leftover{t.Scheme, share, ReasonBelowMin})
			}
			continue
		}
		inv := share
		if !t.Multiple.IsZero() {
			// Whole multiples above the minimum: min + floor((share−min)/multiple)×multiple.
			over := share.Sub(t.Min).Decimal()
			k, _ := over.QuoRem(t.Multiple.Decimal(), 0) // exact, truncated: over ≥ 0
			inv, _ = fund.AmountFromDecimal(t.Min.Decimal().Add(k.Mul(t.Multiple.Decimal())), fund.NoRounding)
		}
		if d := share.Sub(inv); !d.IsZero() {
			s.Leftovers = append(s.Leftovers, Leftover{t.Scheme, d, ReasonMultiple})
		}
		s.Legs = append(s.Legs, Leg{t.Scheme, inv})
	}
	for _, l := range s.Leftovers {
		s.Leftover = s.Leftover.Add(l.Amount)
	}
	return s, nil
}
