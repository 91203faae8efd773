package schedule

import (
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// StepUp is a plan's yearly increase of its instalment amount: by a fixed
// Amount each completed year, or by Pct percent a year, compounded. The zero
// StepUp is none.
type StepUp struct {
	Amount *fund.Amount    // added once per completed year (> 0)
	Pct    decimal.Decimal // percent a year, compounded (0 < Pct ≤ 100)
}

// MaxStepUpYears bounds the years a step-up compounds over (k in AmountAt):
// beyond it the exact power gets needlessly long.
const MaxStepUpYears = 100

// StepUpRounding is the named rounding of a percentage step-up: the amount
// base × (1 + Pct/100)^k is computed exactly (decimal multiplication loses
// nothing) and rounded once, half-up, to the paisa. Rounding each year
// instead would drift from the exact value by up to a paisa a year; rounding
// once gives every instalment the amount an auditor computes by hand.
const StepUpRounding = fund.RoundHalfUp

// IsZero reports whether there is no step-up.
func (s StepUp) IsZero() bool { return s.Amount == nil && s.Pct.IsZero() }

// Validate checks that there is at most one kind of step-up and that it is
// positive (a percentage at most 100, as plans.step_up_pct allows).
func (s StepUp) Validate() error {
	switch {
	case s.Amount != nil && !s.Pct.IsZero():
		return invalid(ReasonStepUp, "step-up by amount and by percent: give one")
	case s.Amount != nil && s.Amount.Sign() <= 0:
		return invalid(ReasonStepUp, "step-up amount %s: want more than zero", s.Amount)
	case s.Pct.Sign() < 0 || s.Pct.GreaterThan(decimal.NewFromInt(100)):
		return invalid(ReasonStepUp, "step-up %s%%: want more than 0 and at most 100", s.Pct)
	}
	return nil
}

// YearsCompleted returns the number of whole years from anchor to d (0
// when d is before anchor's first anniversary). An anniversary is anchor's
// month and day in a later year; a 29 February anchor's anniversary in a
// common year is 28 February (the month-end clamp of the monthly rule, so
// a monthly plan on the 29th steps up on its 13th instalment every year).
func YearsCompleted(anchor, d fund.Date) int {
	k := d.Year - anchor.Year
	if k > 0 && anniversary(anchor, k).After(d) {
		k--
	}
	return max(k, 0)
}

func anniversary(anchor fund.Date, k int) fund.Date {
	return clampToMonthEnd(monthIndex(anchor)+12*k, anchor.Day)
}

// AmountAt returns the instalment amount for a nominal date: base + k ×
// Amount, or base × (1 + Pct/100)^k rounded by StepUpRounding, where k is
// YearsCompleted(anchor, nominal). The caller picks the anchor: the plan's
// start, or the effective date of the version that set base.
func (s StepUp) AmountAt(base fund.Amount, anchor, nominal fund.Date) (fund.Amount, error) {
	if err := s.Validate(); err != nil {
		return fund.Amount{}, err
	}
	k := YearsCompleted(anchor, nominal)
	if k > MaxStepUpYears {
		return fund.Amount{}, invalid(ReasonStepUp, "step-up over %d years (from %s to %s): at most %d", k, anchor, nominal, MaxStepUpYears)
	}
	switch {
	case k == 0 || s.IsZero():
		return base, nil
	case s.Amount != nil:
		return base.Add(fund.AmountFromPaise(s.Amount.Paise() * int64(k))), nil
	}
	factor := decimal.NewFromInt(1).Add(s.Pct.Shift(-2))
	v := base.Decimal()
	for range k {
		v = v.Mul(factor) // exact: no division, no precision limit
	}
	a, err := fund.AmountFromDecimal(v, StepUpRounding)
	if err != nil {
		return fund.Amount{}, fmt.Errorf("step-up: %w", err)
	}
	return a, nil
}
