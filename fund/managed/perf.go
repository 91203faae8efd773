package managed

import (
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// PerfTerms are an account's performance-fee terms.
type PerfTerms struct {
	// Percent of the gain above the high-water mark (and hurdle) charged.
	Percent decimal.Decimal `json:"percent"`
	// HurdlePercent, when positive, is the return a period must make over
	// its starting value before any fee: the fee is on the gain above
	// max(HWM, start × (1 + hurdle/100)).
	HurdlePercent decimal.Decimal `json:"hurdle_pct"`
}

// Period is one crystallisation period (a year, or up to an exit).
type Period struct {
	Start fund.Amount `json:"start"` // the account's value at the period's start (after the last fee)
	End   fund.Amount `json:"end"`   // its value at crystallisation, before this period's fee
}

// Crystallisation is one period's performance fee.
type Crystallisation struct {
	HWMBefore fund.Amount `json:"hwm_before"`
	Threshold fund.Amount `json:"threshold"` // max(HWM, hurdle value)
	Gain      fund.Amount `json:"gain"`      // end − threshold, or 0
	Invoice   Invoice     `json:"invoice"`
	HWMAfter  fund.Amount `json:"hwm_after"`
}

// CrystallisePerfFee computes one period's performance fee: Percent of the
// gain of End above the threshold max(hwm, Start × (1 + hurdle)), rounded
// DOWN to the paisa (never above the stated rate), with GST. The high-water
// mark becomes max(hwm, End): the highest value the account reached at a
// crystallisation, so it never falls, and the fee itself does not lower it
// (the account must earn the fee back before paying again). Values are
// expected net of the account's deposits and withdrawals (the caller
// adjusts them).
func CrystallisePerfFee(t PerfTerms, hwm fund.Amount, p Period) (Crystallisation, error) {
	if t.Percent.IsNegative() || t.Percent.GreaterThan(hundred) {
		return Crystallisation{}, fmt.Errorf("performance fee: %s%% is not in [0, 100]", t.Percent)
	}
	if t.HurdlePercent.IsNegative() {
		return Crystallisation{}, fmt.Errorf("performance fee: hurdle %s%% is negative", t.HurdlePercent)
	}
	if hwm.IsNegative() || p.Start.IsNegative() || p.End.IsNegative() {
		return Crystallisation{}, fmt.Errorf("performance fee: negative value")
	}
	threshold := hwm
	if t.HurdlePercent.Sign() > 0 {
		// The hurdle value is rounded UP to the paisa: the account must
		// clear the whole hurdle before a fee.
		h, err := fund.AmountFromRatio(p.Start.Decimal().Mul(hundred.Add(t.HurdlePercent)), hundred, fund.RoundUp)
		if err != nil {
			return Crystallisation{}, fmt.Errorf("performance fee: %w", err)
		}
		if h.Cmp(threshold) > 0 {
			threshold = h
		}
	}
	c := Crystallisation{HWMBefore: hwm, Threshold: threshold, HWMAfter: hwm}
	if p.End.Cmp(threshold) > 0 {
		c.Gain = p.End.Sub(threshold)
	}
	fee, err := fund.AmountFromRatio(c.Gain.Decimal().Mul(t.Percent), hundred, fund.RoundDown)
	if err != nil {
		return Crystallisation{}, fmt.Errorf("performance fee: %w", err)
	}
	c.Invoice = NewInvoice(fee)
	if p.End.Cmp(hwm) > 0 {
		c.HWMAfter = p.End
	}
	return c, nil
}

// CheckFeeTerms refuses fee terms the fee engine cannot apply: an AUM
// rate or performance percent outside [0, 100], a negative hurdle, no
// effective date. A wallet's terms and a pool's are checked by it.
func CheckFeeTerms(from fund.Date, aumPct, perfPct, hurdlePct decimal.Decimal) error {
	if _, err := NewRateTable(Rate{From: from, Percent: aumPct}); err != nil {
		return err
	}
	_, err := CrystallisePerfFee(PerfTerms{Percent: perfPct, HurdlePercent: hurdlePct}, fund.Amount{}, Period{})
	return err
}
