// Package tax holds the Indian income-tax rules an investor's mutual-fund
// units meet: the capital-gains classification (holding period, section,
// rate) of a transfer, grandfathering of equity units bought before
// 1-Feb-2018, per-lot gains consumed first in, first out, and the TDS on IDCW
// (sections 194K and 196A).
//
// Every rule that a Budget changes is a row of a table below, effective-dated
// by the date of transfer (or of the credit, or by financial year), so the
// next Budget is a data change, not an `if`. The package is pure: no I/O, no
// clock; money, NAV and units are fund's decimal types.
package tax

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// SchemeType is the tax character of a scheme.
type SchemeType string

const (
	// Equity: an equity-oriented fund (≥ 65 % in listed domestic equity),
	// section 112A/111A.
	Equity SchemeType = "equity"
	// Debt: a "specified mutual fund" (section 50AA) when bought on or after
	// 1-Apr-2023; before that, taxed like Other.
	Debt SchemeType = "debt"
	// Other: hybrid, fund-of-funds, gold and international funds, and debt
	// bought before 1-Apr-2023: section 112 when long-term, slab otherwise.
	Other SchemeType = "other"
)

// ParseSchemeType accepts equity, debt or other.
func ParseSchemeType(s string) (SchemeType, error) {
	switch t := SchemeType(s); t {
	case Equity, Debt, Other:
		return t, nil
	}
	return "", fmt.Errorf("scheme_type %q: want equity, debt or other", s)
}

// Term is the short/long-term classification of a gain.
type Term string

const (
	Short Term = "short"
	Long  Term = "long"
)

// Section names under which a gain is taxed (the check command's
// rate_section values).
const (
	Sec111A = "111A" // equity, short-term
	Sec112A = "112A" // equity, long-term
	Sec50AA = "50AA" // debt bought on or after 1-Apr-2023: always short-term, at slab
	Sec112  = "112"  // other funds, long-term
	SecSlab = "slab" // other funds, short-term: the investor's slab rate
)

// CGRule is one row of the capital-gains table: for a scheme type, units
// acquired in [BoughtFrom, BoughtBefore) and transferred in
// [TransferFrom, TransferBefore) (a zero bound is open), a transfer is
// long-term when held more than LongAfterMonths months (0: never), and is
// taxed under the section and rate given for its term.
type CGRule struct {
	Type                         SchemeType
	BoughtFrom, BoughtBefore     fund.Date
	TransferFrom, TransferBefore fund.Date
	LongAfterMonths              int             // 0: always short-term
	ShortSection, LongSection    string          // LongSection empty when LongAfterMonths is 0
	ShortRatePct, LongRatePct    decimal.Decimal // zero with SecSlab/Sec50AA: the slab rate
	Indexation                   bool            // long-term cost may be indexed (CII)
	Grandfathered                bool            // 112A's cost for units bought before 1-Feb-2018
	Source                       string          // the provision, for a person checking the row
}

func d(y int, m time.Month, day int) fund.Date { return fund.NewDate(y, m, day) }

func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Dates the rules below turn on.
var (
	// Finance Act 2018 taxed equity LTCG (section 112A) from 1-Apr-2018;
	// before, it was exempt under 10(38). The table starts there.
	RulesStart = d(2018, time.April, 1)
	// GrandfatherBefore: equity units acquired before this date get 112A's
	// grandfathered cost (section 55(2)(ac)).
	GrandfatherBefore = d(2018, time.February, 1)
	// FMVDate is the date whose NAV is the grandfathering FMV (or the last
	// NAV before it).
	FMVDate = d(2018, time.January, 31)
	// Budget2024 (Finance (No. 2) Act 2024): new rates, 24-month threshold
	// and no indexation for transfers on or after 23-Jul-2024.
	Budget2024 = d(2024, time.July, 23)
	// SpecifiedMFFrom (Finance Act 2023, section 50AA): debt units bought on
	// or after 1-Apr-2023 are always short-term.
	SpecifiedMFFrom = d(2023, time.April, 1)
)

// CGRules is the capital-gains table. Rows must not overlap (TestRulesTable
// checks); Rule finds the one row in force.
var CGRules = []CGRule{
	{Type: Equity, TransferFrom: RulesStart, TransferBefore: Budget2024,
		LongAfterMonths: 12, ShortSection: Sec111A, LongSection: Sec112A,
		ShortRatePct: pct("15"), LongRatePct: pct("10"), Grandfathered: true,
		Source: "sections 111A, 112A (Finance Act 2018)"},
	{Type: Equity, TransferFrom: Budget2024,
		LongAfterMonths: 12, ShortSection: Sec111A, LongSection: Sec112A,
		ShortRatePct: pct("20"), LongRatePct: pct("12.5"), Grandfathered: true,
		Source: "sections 111A, 112A as amended by Finance (No. 2) Act 2024, from 23-Jul-2024"},

	{Type: Debt, BoughtFrom: SpecifiedMFFrom, TransferFrom: RulesStart,
		ShortSection: Sec50AA,
		Source:       "section 50AA (Finance Act 2023): specified mutual fund bought on or after 1-Apr-2023"},
	{Type: Debt, BoughtBefore: SpecifiedMFFrom, TransferFrom: RulesStart, TransferBefore: Budget2024,
		LongAfterMonths: 36, ShortSection: SecSlab, LongSection: Sec112,
		LongRatePct: pct("20"), Indexation: true,
		Source: "sections 2(42A), 112: 36 months, 20 % with indexation"},
	{Type: Debt, BoughtBefore: SpecifiedMFFrom, TransferFrom: Budget2024,
		LongAfterMonths: 24, ShortSection: SecSlab, LongSection: Sec112,
		LongRatePct: pct("12.5"),
		Source:      "sections 2(42A), 112 as amended from 23-Jul-2024: 24 months, 12.5 % without indexation"},

	{Type: Other, TransferFrom: RulesStart, TransferBefore: Budget2024,
		LongAfterMonths: 36, ShortSection: SecSlab, LongSection: Sec112,
		LongRatePct: pct("20"), Indexation: true,
		Source: "sections 2(42A), 112: 36 months, 20 % with indexation"},
	{Type: Other, TransferFrom: Budget2024,
		LongAfterMonths: 24, ShortSection: SecSlab, LongSection: Sec112,
		LongRatePct: pct("12.5"),
		Source:      "sections 2(42A), 112 as amended from 23-Jul-2024: 24 months, 12.5 % without indexation"},
}

// in reports whether x is in [from, before), a zero bound being open.
func in(x, from, before fund.Date) bool {
	if !from.IsZero() && x.Before(from) {
		return false
	}
	return before.IsZero() || x.Before(before)
}

// Rule returns the row of table in force for units of type t bought on
// bought and transferred on sold.
func Rule(table []CGRule, t SchemeType, bought, sold fund.Date) (CGRule, error) {
	for _, r := range table {
		if r.Type == t && in(bought, r.BoughtFrom, r.BoughtBefore) && in(sold, r.TransferFrom, r.TransferBefore) {
			return r, nil
		}
	}
	return CGRule{}, fmt.Errorf("no capital-gains rule for %s units bought %s and transferred %s (the table covers transfers from %s)", t, bought, sold, RulesStart)
}

// ------------------------------------------------------------------ FY

// FY is an Indian financial year, April to March, named by the year it
// starts in: FY{2025} is "2025-26", 1-Apr-2025 to 31-Mar-2026.
type FY struct{ Start int }

// FYOf is the financial year d falls in.
func FYOf(x fund.Date) FY {
	if x.Month >= time.April {
		return FY{x.Year}
	}
	return FY{x.Year - 1}
}

// ParseFY reads "2025-26" (the second part must be the next year's last two
// digits).
func ParseFY(s string) (FY, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok || len(a) != 4 || len(b) != 2 {
		return FY{}, fmt.Errorf("fy %q: want YYYY-YY, e.g. 2025-26", s)
	}
	y, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || y < 1900 || (y+1)%100 != n {
		return FY{}, fmt.Errorf("fy %q: want YYYY-YY with consecutive years, e.g. 2025-26", s)
	}
	return FY{y}, nil
}

// String is "2025-26".
func (f FY) String() string { return fmt.Sprintf("%04d-%02d", f.Start, (f.Start+1)%100) }

// First is 1 April of the year.
func (f FY) First() fund.Date { return d(f.Start, time.April, 1) }

// Last is 31 March of the next year.
func (f FY) Last() fund.Date { return d(f.Start+1, time.March, 31) }

// Contains reports whether x is in the year.
func (f FY) Contains(x fund.Date) bool { return !x.Before(f.First()) && !x.After(f.Last()) }

// MarshalText writes "2025-26".
func (f FY) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// ------------------------------------------------------------ by FY

// Exemption is the yearly 112A exemption: LTCG on equity units up to Amount
// in a financial year from FYFrom on is not taxed.
type Exemption struct {
	FYFrom int
	Amount fund.Amount
	Source string
}

// LTCGExemptions: ₹1 lakh from FY 2018-19; ₹1.25 lakh from FY 2024-25 (the
// Finance (No. 2) Act 2024 raised it for the whole year).
var LTCGExemptions = []Exemption{
	{FYFrom: 2018, Amount: fund.MustAmount("100000.00"), Source: "section 112A(1) proviso, Finance Act 2018"},
	{FYFrom: 2024, Amount: fund.MustAmount("125000.00"), Source: "section 112A as amended by Finance (No. 2) Act 2024"},
}

// LTCGExemption is the 112A exemption for fy (zero before FY 2018-19).
func LTCGExemption(table []Exemption, fy FY) fund.Amount {
	var best *Exemption
	for i, e := range table {
		if e.FYFrom <= fy.Start && (best == nil || e.FYFrom > best.FYFrom) {
			best = &table[i]
		}
	}
	if best == nil {
		return fund.Amount{}
	}
	return best.Amount
}

// TDSRule is one row of the IDCW TDS table: credits on or after From to a
// resident (194K) or a non-resident (196A) are taxed at RatePct (plus CessPct
// of the tax for 196A) once the financial year's IDCW from one AMC to the
// investor exceeds Threshold (zero: from the first rupee).
type TDSRule struct {
	Section   string
	Resident  bool
	From      fund.Date
	RatePct   decimal.Decimal
	CessPct   decimal.Decimal // health and education cess on the tax (196A); surcharge depends on income and is not known here
	Threshold fund.Amount
	Source    string
}

// TDSRules: 194K since 1-Apr-2020 (₹5,000, raised to ₹10,000 from
// 1-Apr-2025 by the Finance Act 2025); 196A 20 % plus 4 % cess.
var TDSRules = []TDSRule{
	{Section: "194K", Resident: true, From: d(2020, time.April, 1), RatePct: pct("10"),
		Threshold: fund.MustAmount("5000.00"), Source: "section 194K (Finance Act 2020)"},
	{Section: "194K", Resident: true, From: d(2025, time.April, 1), RatePct: pct("10"),
		Threshold: fund.MustAmount("10000.00"), Source: "section 194K as amended by Finance Act 2025"},
	{Section: "196A", Resident: false, From: d(2020, time.April, 1), RatePct: pct("20"), CessPct: pct("4"),
		Source: "section 196A: 20 % plus surcharge and 4 % health and education cess"},
}

// TDSRuleFor is the row in force on a credit's date for a resident or not.
func TDSRuleFor(table []TDSRule, resident bool, on fund.Date) (TDSRule, error) {
	var best *TDSRule
	for i, r := range table {
		if r.Resident == resident && !on.Before(r.From) && (best == nil || r.From.After(best.From)) {
			best = &table[i]
		}
	}
	if best == nil {
		return TDSRule{}, fmt.Errorf("no TDS rule on %s for resident=%v (IDCW TDS starts 1-Apr-2020)", on, resident)
	}
	return *best, nil
}

// CategoryRule maps an AMFI category (by prefix, case-insensitive) to a
// tax character. The first matching row wins, so the specific rows come
// first; a scheme whose category says nothing (index funds, ETFs, FoFs) is
// Other unless the scheme_tax_types table says otherwise.
type CategoryRule struct {
	Prefix string
	Type   SchemeType
}

// CategoryRules: equity schemes and the hybrids that hold ≥ 65 % equity
// (arbitrage, aggressive hybrid, equity savings) are equity-oriented; debt
// schemes (liquid, overnight, money market …) are debt; the rest is Other.
var CategoryRules = []CategoryRule{
	{"Hybrid Scheme - Arbitrage", Equity},
	{"Hybrid Scheme - Aggressive Hybrid", Equity},
	{"Hybrid Scheme - Equity Savings", Equity},
	{"Equity Scheme", Equity},
	{"Debt Scheme", Debt},
	{"Income", Debt},
	{"Money Market", Debt},
	{"Liquid", Debt},
	{"Gilt", Debt},
	{"ELSS", Equity},
	{"Growth", Equity},
}

// TypeOfCategory is the tax character an AMFI category implies (Other when
// no row matches).
func TypeOfCategory(table []CategoryRule, category string) SchemeType {
	c := strings.TrimSpace(strings.ToLower(category))
	for _, r := range table {
		if strings.HasPrefix(c, strings.ToLower(r.Prefix)) {
			return r.Type
		}
	}
	return Other
}

// TypeOverride says that from From on, Scheme's tax character is Type
// whatever its category says (an equity index fund, a fund of funds that
// qualifies, a scheme whose mandate changed). Rows are effective-dated:
// a change is a new row.
type TypeOverride struct {
	Scheme string
	From   fund.Date
	Type   SchemeType
	Reason string
}

// TypeOn is the override of scheme in force on date: the row with the
// latest From on or before it (ok false: none, the category decides).
func TypeOn(table []TypeOverride, scheme string, on fund.Date) (SchemeType, bool) {
	var best *TypeOverride
	for i := range table {
		r := &table[i]
		if r.Scheme == scheme && !r.From.After(on) && (best == nil || r.From.After(best.From)) {
			best = r
		}
	}
	if best == nil {
		return "", false
	}
	return best.Type, true
}
