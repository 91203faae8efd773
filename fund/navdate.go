package fund

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// IST returns India Standard Time, a fixed UTC+05:30 with no daylight saving,
// built with time.FixedZone so that no tzdata is needed.
func IST() *time.Location { return ist }

// ist is made once: a zone made per call was an allocation for every NAV
// row validated (nav.Today).
var ist = time.FixedZone("IST", 5*3600+30*60)

// CategoryRule selects the applicable-NAV rule set of a scheme category.
type CategoryRule int

const (
	// CategoryStandard: every scheme that is not liquid or overnight
	// (equity, debt, hybrid, index, FoF, …): 3:00 PM cut-off, NAV of the day.
	CategoryStandard CategoryRule = iota
	// CategoryLiquid: liquid and overnight schemes, whose NAV exists for
	// every calendar day: 1:30 PM purchase cut-off, NAV of the day before.
	CategoryLiquid
)

// String returns "standard" or "liquid".
func (c CategoryRule) String() string {
	switch c {
	case CategoryStandard:
		return "standard"
	case CategoryLiquid:
		return "liquid"
	}
	return fmt.Sprintf("CategoryRule(%d)", int(c))
}

// CategoryRuleFor maps a scheme category to its rule set. Free-text AMFI
// category names containing the word "Liquid" or "Overnight" (any case:
// "Open Ended Schemes(Debt Scheme - Liquid Fund)", "Debt Scheme - Overnight
// Fund", the 2017 "Open Ended Schemes (Liquid)") and exactly "liquid" or
// "overnight" give CategoryLiquid; anything else, including "", gives
// CategoryStandard. "Illiquid" does not count as "liquid".
func CategoryRuleFor(category string) CategoryRule {
	c := strings.ToLower(category)
	if containsWordPrefix(c, "liquid") || containsWordPrefix(c, "overnight") {
		return CategoryLiquid
	}
	return CategoryStandard
}

// containsWordPrefix reports whether w occurs in s not preceded by a letter.
func containsWordPrefix(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		k := i + j
		if k == 0 || !('a' <= s[k-1] && s[k-1] <= 'z') {
			return true
		}
		i = k + 1
	}
}

// Rule codes of NAVDateDecision.Rule: stable, for storage and APIs.
const (
	RulePurchase3PM         = "purchase_3pm"          // purchase/SIP/switch-in, non-liquid
	RuleLiquid130PM         = "liquid_1_30pm"         // purchase/SIP/switch-in, liquid and overnight
	RuleRedemption3PM       = "redemption_3pm"        // redemption/switch-out, non-liquid
	RuleLiquidRedemption3PM = "liquid_redemption_3pm" // redemption/switch-out, liquid and overnight
)

// Cut-off times, IST, as hour and minute. A moment exactly at the cut-off is
// NOT before it ("up to 3 PM" is read as "before 15:00:00").
const (
	cutoffHour, cutoffMinute             = 15, 0
	liquidCutoffHour, liquidCutoffMinute = 13, 30
)

// NAVDateDecision is the applicable NAV date of a transaction and why.
type NAVDateDecision struct {
	Date   Date   // the date whose NAV applies
	Rule   string // one of the Rule… codes
	Reason string // a sentence a person can check against the rule
}

// ErrFundsNotRealised is returned for a purchase, SIP or switch-in whose
// funds time is zero: without realised funds no NAV applies yet.
var ErrFundsNotRealised = errors.New("funds not realised")

// ApplicableNAVDate decides the date whose NAV a transaction gets, by the
// uniform cut-off rules of SEBI circular SEBI/HO/IMD/DF2/CIR/P/2020/175 of
// 17 Sep 2020 (in force 1 Feb 2021), consolidated in para 8.4 of the SEBI
// Master Circular for Mutual Funds of 27 Jun 2024 (para 8.4.5.4 as modified
// by SEBI/HO/IMD/PoD2/P/CIR/2025/56 of 22 Apr 2025). All times are taken in
// IST whatever their zone; a business day is one cal says is.
//
// order is the time-stamp of the application (T); funds is when the money
// was realised in the scheme's account and available for utilisation (F;
// ignored for redemptions and switch-outs). The circular gives a purchase
// the NAV of the business day on which both the application is time-stamped
// before the cut-off and the funds are available before the cut-off. Read as
// one rule: take the effective moment E = max(T, F) (funds realised before
// the order count from the order);
//
//   - purchase, SIP, switch-in, standard schemes ("purchase_3pm"): if E is on
//     a business day before 15:00 IST, the NAV of E's date; otherwise the NAV
//     of the next business day after E's date.
//   - the same for liquid and overnight schemes ("liquid_1_30pm"), whose NAVs
//     exist for every calendar day: if E is on a business day before 13:30
//     IST, the NAV of the calendar day before E's date; otherwise the NAV of
//     the calendar day before the next business day after E's date (Friday
//     10:00 → Thursday; Friday 14:00 or Saturday → Sunday).
//   - redemption and switch-out, standard schemes ("redemption_3pm"), by the
//     request time T alone: the business day of T if T is on a business day
//     before 15:00 IST, else the next business day.
//   - redemption and switch-out, liquid and overnight schemes
//     ("liquid_redemption_3pm"), para 8.4.5.4: if T is on a business day
//     before 15:00 IST, the NAV of the calendar day before the next business
//     day (Friday 14:00 → Sunday; Wednesday 14:00 → Wednesday); else the NAV
//     of the next business day (Friday 15:00 → Monday).
//
// Interpretations made here: an application on a non-business day counts as
// received after that day's cut-off; exactly 15:00:00 (13:30:00) is not
// before the cut-off; the 7:00 PM cut-off the 2025 circular allows for
// overnight-scheme redemptions made online is not applied (the channel is
// not an input). IDCW reinvestment has no order and no cut-off and is an
// error here, as is an invalid kind, a zero order time, a nil calendar, and
// (ErrFundsNotRealised) a purchase without a funds time.
func ApplicableNAVDate(cat CategoryRule, kind TxKind, order, funds time.Time, cal *Calendar) (NAVDateDecision, error) {
	if cal == nil {
		return NAVDateDecision{}, errors.New("applicable NAV date: no holiday calendar")
	}
	if cat != CategoryStandard && cat != CategoryLiquid {
		return NAVDateDecision{}, fmt.Errorf("applicable NAV date: unknown %v", cat)
	}
	if order.IsZero() {
		return NAVDateDecision{}, errors.New("applicable NAV date: no order time")
	}
	ist := IST()
	t := order.In(ist)
	switch kind {
	case Purchase, SIP, SwitchIn:
		if funds.IsZero() {
			return NAVDateDecision{}, fmt.Errorf("applicable NAV date of a %v: %w", kind, ErrFundsNotRealised)
		}
		f := funds.In(ist)
		e := t
		if f.After(t) {
			e = f
		}
		if cat == CategoryLiquid {
			return liquidPurchase(t, f, e, cal)
		}
		return standardPurchase(t, f, e, cal)
	case Redemption, SwitchOut:
		if cat == CategoryLiquid {
			return liquidRedemption(t, cal)
		}
		return standardRedemption(t, cal)
	case IDCWReinvest:
		return NAVDateDecision{}, errors.New("applicable NAV date: IDCW reinvestment has no order cut-off (it is allotted at the NAV of the IDCW record/ex date)")
	}
	return NAVDateDecision{}, fmt.Errorf("applicable NAV date: unknown %v", kind)
}

// beforeCutoff reports whether t (in IST) is on a business day and strictly
// before hh:mm IST that day; a day outside the calendar is an error.
func beforeCutoff(t time.Time, hh, mm int, cal *Calendar) (bool, error) {
	y, m, d := t.Date()
	ok, err := cal.IsBusinessDay(DateOf(t))
	return ok && t.Before(time.Date(y, m, d, hh, mm, 0, 0, t.Location())), err
}

func standardPurchase(t, f, e time.Time, cal *Calendar) (NAVDateDecision, error) {
	ed := DateOf(e)
	var nav Date
	var why string
	before, err := beforeCutoff(e, cutoffHour, cutoffMinute, cal)
	if err != nil {
		return NAVDateDecision{}, err
	}
	if before {
		nav = ed
		why = fmt.Sprintf("both in before the 15:00 cut-off on business day %s", dayName(ed))
	} else {
		nav, err = cal.NextBusinessDay(ed)
		if err != nil {
			return NAVDateDecision{}, err
		}
		why = fmt.Sprintf("%s → next business day %s", lateWhy(e, "15:00", cal), dayName(nav))
	}
	return NAVDateDecision{
		Date:   nav,
		Rule:   RulePurchase3PM,
		Reason: fmt.Sprintf("order %s; %s; %s → NAV of %s", at(t), fundsWhen(t, f), why, nav.DMY()),
	}, nil
}

func liquidPurchase(t, f, e time.Time, cal *Calendar) (NAVDateDecision, error) {
	ed := DateOf(e)
	var nav Date
	var why string
	before, err := beforeCutoff(e, liquidCutoffHour, liquidCutoffMinute, cal)
	if err != nil {
		return NAVDateDecision{}, err
	}
	if before {
		nav = ed.AddDays(-1)
		why = fmt.Sprintf("both in before the 13:30 cut-off on business day %s → the calendar day before", dayName(ed))
	} else {
		next, err := cal.NextBusinessDay(ed)
		if err != nil {
			return NAVDateDecision{}, err
		}
		nav = next.AddDays(-1)
		why = fmt.Sprintf("%s → the calendar day before the next business day %s", lateWhy(e, "13:30", cal), dayName(next))
	}
	return NAVDateDecision{
		Date:   nav,
		Rule:   RuleLiquid130PM,
		Reason: fmt.Sprintf("liquid/overnight order %s; %s; %s → NAV of %s (%s)", at(t), fundsWhen(t, f), why, nav.DMY(), nav.Weekday().String()[:3]),
	}, nil
}

func standardRedemption(t time.Time, cal *Calendar) (NAVDateDecision, error) {
	td := DateOf(t)
	var nav Date
	var why string
	before, err := beforeCutoff(t, cutoffHour, cutoffMinute, cal)
	if err != nil {
		return NAVDateDecision{}, err
	}
	if before {
		nav = td
		why = "before the 15:00 cut-off on a business day"
	} else {
		nav, err = cal.NextBusinessDay(td)
		if err != nil {
			return NAVDateDecision{}, err
		}
		why = fmt.Sprintf("%s → next business day %s", lateWhy(t, "15:00", cal), dayName(nav))
	}
	return NAVDateDecision{
		Date:   nav,
		Rule:   RuleRedemption3PM,
		Reason: fmt.Sprintf("redemption request %s %s → NAV of %s", at(t), why, nav.DMY()),
	}, nil
}

func liquidRedemption(t time.Time, cal *Calendar) (NAVDateDecision, error) {
	td := DateOf(t)
	var nav Date
	var why string
	before, err := beforeCutoff(t, cutoffHour, cutoffMinute, cal)
	if err != nil {
		return NAVDateDecision{}, err
	}
	if before {
		next, err := cal.NextBusinessDay(td)
		if err != nil {
			return NAVDateDecision{}, err
		}
		nav = next.AddDays(-1)
		why = fmt.Sprintf("before the 15:00 cut-off on a business day → the calendar day before the next business day %s", dayName(next))
	} else {
		nav, err = cal.NextBusinessDay(td)
		if err != nil {
			return NAVDateDecision{}, err
		}
		why = fmt.Sprintf("%s → the next business day %s", lateWhy(t, "15:00", cal), dayName(nav))
	}
	return NAVDateDecision{
		Date:   nav,
		Rule:   RuleLiquidRedemption3PM,
		Reason: fmt.Sprintf("liquid/overnight redemption request %s %s → NAV of %s (%s)", at(t), why, nav.DMY(), nav.Weekday().String()[:3]),
	}, nil
}

// lateWhy says why moment e missed the cut-off: a non-business day, or at or
// after the cut-off time.
func lateWhy(e time.Time, cutoff string, cal *Calendar) string {
	d := DateOf(e)
	switch {
	case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
		return fmt.Sprintf("%s is a weekend day", dayName(d))
	case cal.IsHoliday(d):
		return fmt.Sprintf("%s is a holiday", dayName(d))
	}
	return fmt.Sprintf("%s is not before the %s cut-off", clock(e), cutoff)
}

// fundsWhen describes the funds time f relative to the order time t.
func fundsWhen(t, f time.Time) string {
	switch {
	case !f.After(t):
		return "funds realised by then"
	case DateOf(f) == DateOf(t):
		return fmt.Sprintf("funds realised %s IST same day", clock(f))
	}
	return "funds realised " + at(f)
}

// at formats an IST moment as "14:59 IST on Fri 21-Aug-2026".
func at(t time.Time) string { return clock(t) + " IST on " + dayName(DateOf(t)) }

// dayName formats a date as "Fri 21-Aug-2026".
func dayName(d Date) string { return d.Weekday().String()[:3] + " " + d.DMY() }

// clock formats the time of day as 14:59, or 14:59:59(.5) when the seconds
// matter.
func clock(t time.Time) string {
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("15:04")
	}
	return t.Format("15:04:05.999999999")
}

// NAVDateAnswer is the applicable-NAV decision in a form for JSON output
// (the CLI and the API): dates ISO 8601, times RFC 3339 in IST.
type NAVDateAnswer struct {
	NAVDate      string `json:"nav_date"`       // 2026-08-21
	Rule         string `json:"rule"`           // purchase_3pm, liquid_1_30pm, redemption_3pm, liquid_redemption_3pm
	Reason       string `json:"reason"`         // the decision's sentence
	OrderTimeIST string `json:"order_time_ist"` // 2026-08-21T14:59:00+05:30
	FundsTimeIST string `json:"funds_time_ist"` // as given; "" for redemptions and switch-outs
	Category     string `json:"category"`       // the category as given
	Type         string `json:"type"`           // TxKind code: purchase, sip, …
}

// AnswerNAVDate decides the applicable NAV date for a scheme of the given
// category (free text, mapped by CategoryRuleFor) and returns it as a
// NAVDateAnswer. Errors are those of ApplicableNAVDate.
func AnswerNAVDate(category string, kind TxKind, order, funds time.Time, cal *Calendar) (NAVDateAnswer, error) {
	dec, err := ApplicableNAVDate(CategoryRuleFor(category), kind, order, funds, cal)
	if err != nil {
		return NAVDateAnswer{}, err
	}
	a := NAVDateAnswer{
		NAVDate:      dec.Date.String(),
		Rule:         dec.Rule,
		Reason:       dec.Reason,
		OrderTimeIST: order.In(IST()).Format(time.RFC3339Nano),
		Category:     category,
		Type:         kind.String(),
	}
	if kind.IssuesUnits() {
		a.FundsTimeIST = funds.In(IST()).Format(time.RFC3339Nano)
	}
	return a, nil
}
