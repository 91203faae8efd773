package plans

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
)

// Kind is what a plan does on each instalment.
type Kind string

// Plan kinds (plans.kind).
const (
	SIP Kind = "sip" // a purchase, debited from a mandate
	STP Kind = "stp" // a switch from scheme_code into to_scheme_code
	SWP Kind = "swp" // a redemption by amount
)

// Frequency is how often a plan's nominal dates come.
type Frequency string

// Frequencies (plans.frequency).
const (
	Daily     Frequency = "daily"
	Weekly    Frequency = "weekly"
	Monthly   Frequency = "monthly"
	Quarterly Frequency = "quarterly"
)

// Status is a plan's state (plans.status): active ⇄ paused → cancelled or
// completed, the last two final.
type Status string

// Plan states.
const (
	Active    Status = "active"
	Paused    Status = "paused"
	Cancelled Status = "cancelled"
	Completed Status = "completed"
)

// Final reports whether no change may touch a plan in s.
func (s Status) Final() bool { return s == Cancelled || s == Completed }

// Instalment states (plan_instalments.status; see 016_plans.sql).
const (
	InstDue       = "due"
	InstSkipped   = "skipped"
	InstDropped   = "dropped"
	InstPresented = "presented"
	InstPaid      = "paid"
	InstAllotted  = "allotted"
	InstFailed    = "failed"
	InstInWallet  = "in_wallet" // into a wallet: nothing invested, the money in the wallet (055)
)

// Weekday is a weekly plan's day, written mon … sun (as `fundflow check
// schedule --weekday` takes it) and stored 0 Sunday … 6 Saturday like
// time.Weekday.
type Weekday time.Weekday

var weekdayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday reads mon … sun.
func ParseWeekday(s string) (Weekday, error) {
	for i, n := range weekdayNames {
		if strings.EqualFold(s, n) {
			return Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("weekday %q: want one of mon, tue, wed, thu, fri, sat, sun", s)
}

func (w Weekday) String() string {
	if w < 0 || int(w) >= len(weekdayNames) {
		return fmt.Sprintf("weekday(%d)", int(w))
	}
	return weekdayNames[w]
}

// MarshalText writes mon … sun.
func (w Weekday) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText reads mon … sun (JSON: a string; a number is refused).
func (w *Weekday) UnmarshalText(b []byte) error {
	v, err := ParseWeekday(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// PctScale is the decimals of a yearly step-up percentage (numeric(7,4)).
const PctScale = 4

// Percent is a percentage such as "10.5" (JSON: a string, like amounts, so
// nothing on the way reads it as a binary float).
type Percent struct{ d decimal.Decimal }

// PercentOf wraps d.
func PercentOf(d decimal.Decimal) Percent { return Percent{d} }

// Decimal returns the value.
func (p Percent) Decimal() decimal.Decimal { return p.d }

func (p Percent) String() string { return p.d.StringFixed(PctScale) }

// MarshalText writes the value with PctScale decimals.
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a plain decimal ("10", "7.25").
func (p *Percent) UnmarshalText(b []byte) error {
	d, err := decimal.NewFromString(string(b))
	if err != nil || strings.ContainsAny(string(b), "eE") {
		return fmt.Errorf("%q is not a decimal percentage", b)
	}
	p.d = d
	return nil
}

// Plan is a registered plan with its terms now in force.
type Plan struct {
	ID           string       `json:"id"`
	ClientID     string       `json:"client_id"`
	Kind         Kind         `json:"kind"`
	InvestorID   string       `json:"investor_id"`
	Folio        string       `json:"folio"`
	SchemeCode   string       `json:"scheme_code"`
	ToSchemeCode string       `json:"to_scheme_code,omitempty"`
	MandateID    string       `json:"mandate_id,omitempty"`
	WalletID     string       `json:"wallet_id,omitempty"` // a SIP into this wallet (no scheme: its model splits each instalment)
	Frequency    Frequency    `json:"frequency"`
	StartDate    fund.Date    `json:"start_date"`
	EndDate      *fund.Date   `json:"end_date,omitempty"`
	Instalments  *int         `json:"instalments,omitempty"` // nominal dates; with EndDate nil too: perpetual
	StepUpAmount *fund.Amount `json:"step_up_amount,omitempty"`
	StepUpPct    *Percent     `json:"step_up_pct,omitempty"`
	Status       Status       `json:"status"`
	StatusReason string       `json:"status_reason,omitempty"`
	// ConsecutiveFailures counts the failed debits since the last good one.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	RegisteredAt        time.Time `json:"registered_at"`
	UpdatedAt           time.Time `json:"updated_at"`
	// Versions are the terms over time, oldest first: version 1 is the
	// registration; each modification adds one.
	Versions []Version `json:"versions"`
	// Pauses are the ranges of instalments skipped, oldest first.
	Pauses []Pause `json:"pauses,omitempty"`
}

// Current is the newest version (the terms that apply from its
// EffectiveFrom on).
func (p Plan) Current() Version {
	if len(p.Versions) == 0 {
		return Version{}
	}
	return p.Versions[len(p.Versions)-1]
}

// Version is a plan's amount and day from a nominal date on.
type Version struct {
	Version       int         `json:"version"`
	EffectiveFrom fund.Date   `json:"effective_from"` // the first nominal date it applies to
	Amount        fund.Amount `json:"amount"`         // before any step-up
	DayOfMonth    *int        `json:"day_of_month,omitempty"`
	Weekday       *Weekday    `json:"weekday,omitempty"`
}

// Pause skips the instalments numbered FromSeq..ToSeq (ToSeq = FromSeq-1:
// resumed before any was skipped).
type Pause struct {
	FromSeq int `json:"from_seq"`
	ToSeq   int `json:"to_seq"`
}

// Instalment is one row of a plan's history.
type Instalment struct {
	Seq              int         `json:"seq"`
	Nominal          fund.Date   `json:"nominal"`
	MergedNominal    *fund.Date  `json:"merged_nominal,omitempty"`
	Due              fund.Date   `json:"due"`
	Amount           fund.Amount `json:"amount"`
	Status           string      `json:"status"`
	Reason           string      `json:"reason,omitempty"`
	Detail           string      `json:"detail,omitempty"`
	NotifiedAt       *time.Time  `json:"notified_at,omitempty"`
	PresentedAt      *time.Time  `json:"presented_at,omitempty"`
	GatewayOrderID   string      `json:"gateway_order_id,omitempty"`
	GatewayPaymentID string      `json:"gateway_payment_id,omitempty"`
	OrderID          string      `json:"order_id,omitempty"`
	OrderStatus      string      `json:"order_status,omitempty"` // the ledger order's status (allotted, …)
	UpdatedAt        time.Time   `json:"updated_at"`
}

// Outcome says what a registration did.
type Outcome int

// Outcomes.
const (
	Created   Outcome = iota + 1 // a new plan
	Duplicate                    // the same request again: the plan it made
)

// ErrKind sorts errors the way a client must react to them.
type ErrKind int

// Error kinds (api answers 400, 422, 409, 404).
const (
	Malformed ErrKind = iota + 1 // the request cannot be read (JSON, encoding)
	Refused                      // a rule says no: the code says which
	Conflict                     // the plan's state says no (cancelled, paused), or the client id was used for another body
	NotFound                     // no such plan
)

// Error is a request the plans service refuses: a stable Code clients branch
// on, and a Detail a person can act on. Nothing was stored.
type Error struct {
	Kind   ErrKind
	Code   string
	Detail string
}

func (e *Error) Error() string { return "plans: " + e.Code + ": " + e.Detail }

func refuse(kind ErrKind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Detail: fund.SafeText(fmt.Sprintf(format, args...))}
}

// The stable codes of refused requests.
const (
	CodeBadJSON        = "bad_json"
	CodeBadEncoding    = fund.ReasonBadEncoding
	CodeOutOfRange     = fund.ReasonOutOfRange
	CodeMissingField   = "missing_field"
	CodeBadField       = "bad_field" // a field that does not belong to the plan's kind or frequency, or two that exclude each other
	CodeBadClientID    = "bad_client_id"
	CodeBadKind        = "bad_kind"
	CodeBadFrequency   = "bad_frequency"
	CodeBadAmount      = "bad_amount"
	CodeBadDay         = "bad_day"
	CodeBadInstalments = "bad_instalments"
	CodeBadStepUp      = "bad_step_up"
	CodeEndBeforeStart = "end_before_start"
	CodeUnknownScheme  = "unknown_scheme"
	CodeUnknownFolio   = "unknown_folio"
	// A SIP into a wallet: the wallet does not exist, is another
	// investor's, is closed, or does not auto-invest into the folio named.
	CodeUnknownWallet     = "unknown_wallet"
	CodeWalletNotOwn      = "wallet_not_investors"
	CodeWalletClosed      = "wallet_closed"
	CodeWalletNotInvested = "wallet_folio_mismatch"
	CodeFolioMismatch     = "folio_investor_mismatch"
	CodeNotOffered        = "plan_not_offered"
	CodeBelowMinimum      = "amount_below_minimum"
	CodeNotMultiple       = "amount_not_multiple"
	CodeDayNotAllowed     = "day_not_allowed"
	CodeTooSoon           = "first_instalment_too_soon"
	CodeTooFew            = "too_few_instalments"
	CodeUnknownMandate    = "unknown_mandate"
	CodeMandateNotActive  = "mandate_not_active"
	CodeMandateNotOwn     = "mandate_not_investors"
	CodeMandateLimit      = "mandate_limit_below_amount"
	CodeMandateNotStarted = "mandate_starts_after_first_instalment"
	CodeMandateExpires    = "mandate_expires_before_start"
	CodeClientIDConflict  = "client_id_conflict"
	CodePlanNotFound      = "plan_not_found"
	CodePlanCancelled     = "plan_cancelled" // cancelled or completed: no change applies
	CodePlanPaused        = "plan_paused"    // a pause is running: resume first
	CodePlanNotPaused     = "plan_not_paused"
	CodePauseTooLong      = "pause_too_long"
	CodeNothingToModify   = "nothing_to_modify"
	CodeNoInstalmentLeft  = "no_instalment_left" // the plan has no nominal date after the notice period
	CodeAlreadyGenerated  = "instalments_already_generated"
)

// Spec is the plan's schedule (fund/schedule): its frequency, start, end or
// count, and the day of version 1 with a Change for every later version that
// moved the day. A version effective on the start date itself (modified
// before the first instalment) replaces the starting day; of two versions
// effective on one date, the later one counts.
func (p Plan) Spec() schedule.Spec {
	s := schedule.Spec{Frequency: schedule.Frequency(p.Frequency), Start: p.StartDate}
	if p.EndDate != nil {
		s.End = *p.EndDate
	}
	if p.Instalments != nil {
		s.Count = *p.Instalments
	}
	for i, v := range p.Versions {
		day, wd := 0, time.Sunday
		if v.DayOfMonth != nil {
			day = *v.DayOfMonth
		}
		if v.Weekday != nil {
			wd = time.Weekday(*v.Weekday)
		}
		last := len(s.Changes) - 1
		switch {
		case i == 0 || !v.EffectiveFrom.After(p.StartDate):
			s.Day, s.Weekday, s.Changes = day, wd, nil
		case last >= 0 && s.Changes[last].From == v.EffectiveFrom:
			s.Changes[last] = schedule.Change{From: v.EffectiveFrom, Day: day, Weekday: wd}
		case last >= 0 && s.Changes[last].Day == day && s.Changes[last].Weekday == wd,
			last < 0 && s.Day == day && s.Weekday == wd:
			// an amount-only version: the day rule goes on
		default:
			s.Changes = append(s.Changes, schedule.Change{From: v.EffectiveFrom, Day: day, Weekday: wd})
		}
	}
	return s
}

// StepUp is the plan's yearly step-up (zero: none).
func (p Plan) StepUp() schedule.StepUp {
	var su schedule.StepUp
	if p.StepUpAmount != nil {
		a := *p.StepUpAmount
		su.Amount = &a
	}
	if p.StepUpPct != nil {
		su.Pct = p.StepUpPct.Decimal()
	}
	return su
}

// VersionAt is the version in force on nominal date d: the newest one
// effective on or before it (version 1 before its own first date).
func (p Plan) VersionAt(d fund.Date) Version {
	in := Version{}
	for i, v := range p.Versions {
		if i == 0 || !v.EffectiveFrom.After(d) {
			in = v
		}
	}
	return in
}

// AmountAt is the instalment amount of nominal date d: the base amount of
// the version in force, stepped up for every year completed since the
// plan's start date (a modification changes the base, not the years the
// step-up counts).
func (p Plan) AmountAt(d fund.Date) (fund.Amount, error) {
	return p.StepUp().AmountAt(p.VersionAt(d).Amount, p.StartDate, d)
}
