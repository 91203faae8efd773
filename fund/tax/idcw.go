package tax

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Declaration is an IDCW (dividend) declared by a scheme: ₹ PerUnit on
// every unit held at the end of the record date, paid or reinvested at the
// ex-IDCW NAV of the ex-date.
type Declaration struct {
	ID         string
	Scheme     string
	AMC        string
	RecordDate fund.Date
	ExDate     fund.Date
	PerUnit    decimal.Decimal // rupees per unit, as declared (may have more than 2 decimals)
}

// Check validates a declaration: a positive rate with at most 4 decimals,
// an ex-date not before the record date, the scheme named.
func (d Declaration) Check() error {
	switch {
	case d.Scheme == "":
		return errors.New("scheme: required")
	case d.RecordDate.IsZero():
		return errors.New("record_date: required")
	case d.ExDate.IsZero():
		return errors.New("ex_date: required")
	case d.ExDate.Before(d.RecordDate):
		return fmt.Errorf("ex_date %s: before the record date %s", d.ExDate, d.RecordDate)
	case d.PerUnit.Sign() <= 0:
		return errors.New("per_unit: must be positive")
	case !d.PerUnit.Equal(d.PerUnit.Truncate(4)):
		return fmt.Errorf("per_unit %s: at most 4 decimals", d.PerUnit)
	}
	return nil
}

// Gross is units × per unit, half-up to the paisa.
func (d Declaration) Gross(units fund.Units) fund.Amount {
	a, err := fund.AmountFromDecimal(units.Decimal().Mul(d.PerUnit), fund.RoundHalfUp)
	if err != nil {
		panic(err) // unreachable: half-up never fails
	}
	return a
}

// ExNAVDate is the NAV date a reinvestment is allotted at: the ex-date, or
// the first business day after it when the ex-date is a holiday (no NAV is
// struck on a holiday).
func ExNAVDate(exDate fund.Date, cal *fund.Calendar) (fund.Date, error) {
	return cal.BusinessDayOnOrAfter(exDate)
}

// TDS is the tax deducted from one IDCW credit.
type TDS struct {
	Section    string      `json:"section"`  // 194K or 196A
	RatePct    string      `json:"rate_pct"` // the effective rate (196A: with cess)
	Threshold  fund.Amount `json:"threshold"`
	PriorFY    fund.Amount `json:"prior_fy"` // the investor's IDCW from the AMC earlier in the FY
	Gross      fund.Amount `json:"gross"`
	Tax        fund.Amount `json:"tds"`
	Net        fund.Amount `json:"net"`
	Why        string      `json:"why"`
	Rule       string      `json:"rule"`
	ratePctDec decimal.Decimal
}

// TDSOn is the TDS on a credit of gross on date to a resident or not,
// after priorFY of IDCW from the same AMC earlier in the financial year,
// by the rule in force on the date: 194K deducts RatePct of the whole
// credit once the year's total with it exceeds the threshold (credits
// before the crossing stay untaxed: TDS is deducted at the time of credit
// or payment, not revisited); 196A deducts from the first rupee, the rate
// plus the cess on it. The tax is rounded half-up to the paisa.
func TDSOn(table []TDSRule, resident bool, on fund.Date, priorFY, gross fund.Amount) (TDS, error) {
	r, err := TDSRuleFor(table, resident, on)
	if err != nil {
		return TDS{}, err
	}
	rate := r.RatePct.Add(r.RatePct.Mul(r.CessPct).Div(decimal.NewFromInt(100)))
	t := TDS{Section: r.Section, RatePct: rate.String(), Threshold: r.Threshold, PriorFY: priorFY, Gross: gross, Rule: r.Source, ratePctDec: rate}
	total := priorFY.Add(gross)
	if total.Cmp(r.Threshold) <= 0 {
		t.Net = gross
		t.Why = fmt.Sprintf("the FY's IDCW from the AMC, %s with this credit, does not exceed %s", total, r.Threshold)
		return t, nil
	}
	tax, err := fund.AmountFromRatio(gross.Decimal().Mul(rate), decimal.NewFromInt(100), fund.RoundHalfUp)
	if err != nil {
		return TDS{}, err
	}
	t.Tax, t.Net = tax, gross.Sub(tax)
	if r.Threshold.IsZero() {
		t.Why = fmt.Sprintf("%s: from the first rupee at %s %%", r.Section, rate)
	} else {
		t.Why = fmt.Sprintf("the FY's IDCW from the AMC, %s with this credit, exceeds %s: %s %% of the credit", total, r.Threshold, rate)
	}
	return t, nil
}

// TDSSummary is one investor's TDS in a financial year by section and AMC
// (Form 16A's data).
type TDSSummary struct {
	FY    FY          `json:"fy"`
	Lines []TDSLine   `json:"lines"`
	Gross fund.Amount `json:"gross"`
	Tax   fund.Amount `json:"tds"`
}

// TDSLine sums one AMC's credits under one section.
type TDSLine struct {
	AMC     string      `json:"amc"`
	Section string      `json:"section"`
	Credits int         `json:"credits"`
	Gross   fund.Amount `json:"gross"`
	Tax     fund.Amount `json:"tds"`
}

// Credit is one IDCW credit as paid: for the summary.
type Credit struct {
	Date fund.Date
	AMC  string
	TDS  TDS
}

// SummariseTDS sums the credits of fy (others are ignored), by AMC and
// section in the order first met.
func SummariseTDS(fy FY, credits []Credit) TDSSummary {
	s := TDSSummary{FY: fy, Lines: []TDSLine{}}
	idx := map[[2]string]int{}
	for _, c := range credits {
		if !fy.Contains(c.Date) {
			continue
		}
		k := [2]string{c.AMC, c.TDS.Section}
		i, ok := idx[k]
		if !ok {
			i = len(s.Lines)
			idx[k] = i
			s.Lines = append(s.Lines, TDSLine{AMC: c.AMC, Section: c.TDS.Section})
		}
		s.Lines[i].Credits++
		s.Lines[i].Gross = s.Lines[i].Gross.Add(c.TDS.Gross)
		s.Lines[i].Tax = s.Lines[i].Tax.Add(c.TDS.Tax)
		s.Gross = s.Gross.Add(c.TDS.Gross)
		s.Tax = s.Tax.Add(c.TDS.Tax)
	}
	return s
}

// Reinvestment is an IDCW reinvested: the net credit buys units at the
// ex-IDCW NAV, stamp duty taken out (fund.Allot with IDCWReinvest), a new
// lot dated the NAV date.
type Reinvestment struct {
	NAVDate fund.Date
	NAV     fund.NAV
	fund.Allotment
}

// Reinvest allots net at nav on navDate (ExNAVDate of the ex-date).
func Reinvest(net fund.Amount, nav fund.NAV, unitsScale int32, navDate fund.Date) Reinvestment {
	return Reinvestment{NAVDate: navDate, NAV: nav, Allotment: fund.Allot(net, nav, unitsScale, navDate, fund.IDCWReinvest)}
}
