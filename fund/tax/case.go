package tax

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fundflow/fundflow/fund"
)

// A Case is `fundflow check gains --case FILE.json`'s input: the lots held
// (oldest first after sorting by date) and one sale.
//
//	{"lots": [{"scheme_type": "equity", "bought": "2017-06-01", "units": "100.000",
//	           "cost": "10000.00", "fmv_2018_01_31": "120.5000"}],
//	 "sale": {"date": "2025-05-02", "units": "60.000", "nav": "150.0000", "exit_load": "0.00"}}
//
// Numbers may be JSON strings or JSON numbers; they are read as written
// (never through a float), and a value with more decimals than its kind
// allows (2 for rupees, 4 for a NAV, 9 for units) is an error naming the
// field.
type Case struct {
	Lots []Lot
	Sale Sale
}

// CaseError names the field of a case that is wrong.
type CaseError struct {
	Field  string // e.g. lots[2].bought
	Reason string
}

func (e *CaseError) Error() string { return e.Field + ": " + e.Reason }

// num is a JSON string or number, kept as its text.
type num struct {
	s   string
	set bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	n.set = true
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &n.s)
	}
	if string(b) == "null" {
		n.set = false
		return nil
	}
	n.s = string(b)
	return nil
}

type caseLotJSON struct {
	ID         string `json:"id"`
	SchemeType string `json:"scheme_type"`
	Bought     string `json:"bought"`
	Units      num    `json:"units"`
	Cost       num    `json:"cost"`
	FMV        num    `json:"fmv_2018_01_31"`
	Scheme     string `json:"scheme"` // informational (a merged scheme's lot keeps its first date and cost)
}

type caseSaleJSON struct {
	Date     string `json:"date"`
	Units    num    `json:"units"`
	NAV      num    `json:"nav"`
	ExitLoad num    `json:"exit_load"`
	Kind     string `json:"kind"` // informational: redemption | switch_out (taxed alike)
}

type caseJSON struct {
	Lots []caseLotJSON `json:"lots"`
	Sale *caseSaleJSON `json:"sale"`
}

// maxCaseBytes bounds a case file: support pastes one investor's lots.
const maxCaseBytes = 8 << 20

// ParseCase reads a case. Unknown keys are refused (a misspelt exit_load
// would silently be zero), as is trailing data.
func ParseCase(r io.Reader) (Case, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxCaseBytes+1))
	if err != nil {
		return Case{}, fmt.Errorf("case: %w", err)
	}
	if len(b) > maxCaseBytes {
		return Case{}, &CaseError{Field: "(file)", Reason: fmt.Sprintf("larger than %d bytes", maxCaseBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cj caseJSON
	if err := dec.Decode(&cj); err != nil {
		return Case{}, &CaseError{Field: jsonField(err), Reason: err.Error()}
	}
	if dec.More() {
		return Case{}, &CaseError{Field: "(file)", Reason: "data after the case's JSON object"}
	}
	var c Case
	if len(cj.Lots) == 0 {
		return Case{}, &CaseError{Field: "lots", Reason: "missing or empty: want at least one lot"}
	}
	if cj.Sale == nil {
		return Case{}, &CaseError{Field: "sale", Reason: "missing"}
	}
	for i, lj := range cj.Lots {
		f := fmt.Sprintf("lots[%d].", i)
		l, err := lj.lot(f)
		if err != nil {
			return Case{}, err
		}
		if l.ID == "" {
			l.ID = fmt.Sprint(i + 1)
		}
		c.Lots = append(c.Lots, l)
	}
	// FIFO: oldest first, the file's order on ties (a stable insertion sort:
	// a case has a handful of lots).
	for i := 1; i < len(c.Lots); i++ {
		for j := i; j > 0 && c.Lots[j].Bought.Before(c.Lots[j-1].Bought); j-- {
			c.Lots[j], c.Lots[j-1] = c.Lots[j-1], c.Lots[j]
		}
	}
	s, err := cj.Sale.sale()
	if err != nil {
		return Case{}, err
	}
	c.Sale = s
	return c, nil
}

func (lj caseLotJSON) lot(f string) (Lot, error) {
	var l Lot
	var err error
	l.ID = lj.ID
	if l.Type, err = ParseSchemeType(lj.SchemeType); err != nil {
		return Lot{}, &CaseError{Field: f + "scheme_type", Reason: "want equity, debt or other"}
	}
	if l.Bought, err = date(f+"bought", lj.Bought); err != nil {
		return Lot{}, err
	}
	if l.Units, err = units(f+"units", lj.Units); err != nil {
		return Lot{}, err
	}
	if l.Cost, err = amount(f+"cost", lj.Cost); err != nil {
		return Lot{}, err
	}
	if lj.FMV.set {
		v, err := nav(f+"fmv_2018_01_31", lj.FMV)
		if err != nil {
			return Lot{}, err
		}
		l.FMVPerUnit = &v
	}
	return l, nil
}

func (sj caseSaleJSON) sale() (Sale, error) {
	var s Sale
	var err error
	if s.Date, err = date("sale.date", sj.Date); err != nil {
		return Sale{}, err
	}
	if s.Units, err = units("sale.units", sj.Units); err != nil {
		return Sale{}, err
	}
	if s.NAV, err = nav("sale.nav", sj.NAV); err != nil {
		return Sale{}, err
	}
	if sj.ExitLoad.set {
		if s.ExitLoad, err = amount("sale.exit_load", sj.ExitLoad); err != nil {
			return Sale{}, err
		}
	}
	if k := sj.Kind; k != "" && k != "redemption" && k != "switch_out" {
		return Sale{}, &CaseError{Field: "sale.kind", Reason: "want redemption or switch_out"}
	}
	return s, nil
}

func date(field, s string) (fund.Date, error) {
	if s == "" {
		return fund.Date{}, &CaseError{Field: field, Reason: "missing: want YYYY-MM-DD"}
	}
	v, err := fund.ParseISODate(s)
	if err != nil || v.Year < 1900 || v.Year > 9999 {
		return fund.Date{}, &CaseError{Field: field, Reason: fmt.Sprintf("%q: want YYYY-MM-DD", s)}
	}
	return v, nil
}

func need(field string, n num) error {
	if !n.set || n.s == "" {
		return &CaseError{Field: field, Reason: "missing"}
	}
	return nil
}

func units(field string, n num) (fund.Units, error) {
	if err := need(field, n); err != nil {
		return fund.Units{}, err
	}
	// keep the units' own scale (3 or 4 decimals, as the RTA states them)
	sc := int32(0)
	if _, frac, ok := strings.Cut(n.s, "."); ok {
		sc = int32(len(frac))
	}
	if sc > fund.MaxUnitsScale {
		return fund.Units{}, &CaseError{Field: field, Reason: fmt.Sprintf("%q: more than %d decimals", n.s, fund.MaxUnitsScale)}
	}
	u, err := fund.ParseUnits(n.s, sc)
	if err != nil {
		return fund.Units{}, &CaseError{Field: field, Reason: err.Error()}
	}
	if u.Sign() <= 0 {
		return fund.Units{}, &CaseError{Field: field, Reason: "must be positive"}
	}
	if len(n.s) > 30 {
		return fund.Units{}, &CaseError{Field: field, Reason: "too large"}
	}
	return u, nil
}

func amount(field string, n num) (fund.Amount, error) {
	if err := need(field, n); err != nil {
		return fund.Amount{}, err
	}
	a, err := fund.ParseAmount(n.s)
	if err != nil {
		return fund.Amount{}, &CaseError{Field: field, Reason: err.Error() + " (rupees to the paisa)"}
	}
	if a.IsNegative() {
		return fund.Amount{}, &CaseError{Field: field, Reason: "must not be negative"}
	}
	if len(n.s) > 24 {
		return fund.Amount{}, &CaseError{Field: field, Reason: "too large"}
	}
	return a, nil
}

func nav(field string, n num) (fund.NAV, error) {
	if err := need(field, n); err != nil {
		return fund.NAV{}, err
	}
	v, err := fund.ParseNAV(n.s)
	if err != nil {
		return fund.NAV{}, &CaseError{Field: field, Reason: err.Error()}
	}
	if v.Decimal().Sign() <= 0 {
		return fund.NAV{}, &CaseError{Field: field, Reason: "must be positive"}
	}
	if len(n.s) > 24 {
		return fund.NAV{}, &CaseError{Field: field, Reason: "too large"}
	}
	return v, nil
}

// jsonField names where a decoding error is, as well as encoding/json says.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
	}
	return "(file)"
}

// Result is the check command's answer: each consumed lot's gain and the
// totals, with the financial year and its 112A exemption for context.
type Result struct {
	FY            FY          `json:"fy"`
	Sale          SaleJSON    `json:"sale"`
	Lots          []LotGain   `json:"lots"`
	Totals        Totals      `json:"totals"`
	LTCGExemption fund.Amount `json:"ltcg_112a_exemption_fy"`
	Note          string      `json:"note"`
}

// SaleJSON echoes the sale as read.
type SaleJSON struct {
	Date     fund.Date   `json:"date"`
	Units    fund.Units  `json:"units"`
	NAV      fund.NAV    `json:"nav"`
	ExitLoad fund.Amount `json:"exit_load"`
}

// Check computes a case with the statement's code (Realise on CGRules).
func Check(c Case) (Result, error) {
	gs, err := Realise(CGRules, c.Lots, c.Sale)
	if err != nil {
		return Result{}, err
	}
	fy := FYOf(c.Sale.Date)
	return Result{
		FY:            fy,
		Sale:          SaleJSON{c.Sale.Date, c.Sale.Units, c.Sale.NAV, c.Sale.ExitLoad},
		Lots:          gs,
		Totals:        Sum(gs),
		LTCGExemption: LTCGExemption(LTCGExemptions, fy),
		Note:          "gain = sale_value - cost_used per lot, half-up to the paisa; sale_value = sale_gross (units x nav) - the lot's share of exit_load (pro rata by units); grandfathered cost_used = max(cost_actual, min(fmv, sale_gross)); the 112A exemption is per financial year over all of the investor's equity LTCG, not applied here",
	}, nil
}
