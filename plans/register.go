package plans

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
)

// RegisterStore is what registration reads and writes.
type RegisterStore interface {
	// PlanByClientID returns the plan registered under clientID and the
	// fingerprint of its request (found false: none).
	PlanByClientID(ctx context.Context, clientID string) (p Plan, fingerprint string, found bool, err error)
	// RegistrationFacts reads what the checks of req need.
	RegistrationFacts(ctx context.Context, req RegisterRequest) (RegistrationFacts, error)
	// InsertPlan stores a new plan, its version 1 and its audit row in one
	// transaction. When the client id is taken (a concurrent registration)
	// it stores nothing and returns inserted false with the plan already
	// there and its fingerprint.
	InsertPlan(ctx context.Context, np NewPlan) (p Plan, fingerprint string, inserted bool, err error)
}

// RegisterRequest is a plan as a client registers it (POST /v1/plans).
// Amounts and the step-up percentage are JSON strings.
type RegisterRequest struct {
	ClientID     string `json:"client_id"` // the idempotency key
	Kind         Kind   `json:"kind"`
	InvestorID   string `json:"investor_id"`
	Folio        string `json:"folio"`
	SchemeCode   string `json:"scheme_code"`              // sip: bought; stp: switched out of; swp: redeemed
	ToSchemeCode string `json:"to_scheme_code,omitempty"` // stp only
	MandateID    string `json:"mandate_id,omitempty"`     // sip only
	// WalletID makes a SIP a wallet's: each instalment is a deposit into
	// the wallet, invested by its auto-invest model into folio (the
	// wallet's auto-invest folio); scheme_code is then empty.
	WalletID     string       `json:"wallet_id,omitempty"`
	Amount       *fund.Amount `json:"amount"`
	Frequency    Frequency    `json:"frequency"`
	DayOfMonth   *int         `json:"day_of_month,omitempty"` // monthly, quarterly
	Weekday      *Weekday     `json:"weekday,omitempty"`      // weekly: mon … sun
	StartDate    *fund.Date   `json:"start_date"`
	EndDate      *fund.Date   `json:"end_date,omitempty"`    // inclusive, compared with nominal dates
	Instalments  *int         `json:"instalments,omitempty"` // a count of nominal dates; neither: perpetual
	StepUpAmount *fund.Amount `json:"step_up_amount,omitempty"`
	StepUpPct    *Percent     `json:"step_up_pct,omitempty"`
}

// MaxRegisterBytes bounds a registration request's JSON.
const MaxRegisterBytes = 16 << 10

// DecodeRegisterRequest parses a registration strictly, the way
// fund.DecodeOrderRequest parses an order: unknown fields, trailing data,
// numbers where strings are expected (amounts, the percentage), bytes that
// are not UTF-8 and a body over MaxRegisterBytes are refused (*Error,
// Malformed), then Validate runs.
func DecodeRegisterRequest(b []byte) (RegisterRequest, error) {
	var r RegisterRequest
	if len(b) > MaxRegisterBytes {
		return r, refuse(Malformed, CodeBadJSON, "a registration is at most %d bytes, got %d", MaxRegisterBytes, len(b))
	}
	// encoding/json would turn bytes that are not UTF-8 into U+FFFD without
	// a word: refuse them instead of storing what the client did not send.
	if !utf8.Valid(b) {
		return r, refuse(Malformed, CodeBadEncoding, "the request is not valid UTF-8")
	}
	if err := DecodeJSON(b, &r); err != nil {
		return RegisterRequest{}, err
	}
	return r, r.Validate()
}

// DecodeJSON decodes one JSON object into v strictly: no unknown field,
// nothing after it; a failure is an *Error (Malformed, bad_json).
func DecodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse(Malformed, CodeBadJSON, "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse(Malformed, CodeBadJSON, "data after the JSON object")
	}
	return nil
}

var (
	clientIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	codeRe     = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,64}$`) // investor ids, folios, scheme codes, mandate ids
)

// Validate checks the request's own rules (the ones that need no
// database): every refusal is an *Error of kind Refused.
func (r *RegisterRequest) Validate() error {
	for _, f := range []struct{ name, v string }{{"client_id", r.ClientID}, {"kind", string(r.Kind)}, {"investor_id", r.InvestorID},
		{"folio", r.Folio}, {"scheme_code", r.SchemeCode}, {"to_scheme_code", r.ToSchemeCode}, {"mandate_id", r.MandateID},
		{"wallet_id", r.WalletID}, {"frequency", string(r.Frequency)}} {
		if e := fund.CheckText(f.name, f.v); e != nil {
			return refuse(Refused, e.Reason, "%s", e.Detail)
		}
	}
	if !clientIDRe.MatchString(r.ClientID) {
		return refuse(Refused, CodeBadClientID, "client_id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", r.ClientID)
	}
	switch r.Kind {
	case SIP, STP, SWP:
	case "":
		return refuse(Refused, CodeMissingField, "kind is required: sip, stp or swp")
	default:
		return refuse(Refused, CodeBadKind, "kind %q: want sip, stp or swp", r.Kind)
	}
	codes := []struct{ name, v string }{{"investor_id", r.InvestorID}, {"folio", r.Folio}, {"scheme_code", r.SchemeCode}}
	if r.WalletID != "" {
		if r.Kind != SIP || r.SchemeCode != "" {
			return refuse(Refused, CodeBadField, "wallet_id is only for a sip, and names no scheme_code (the wallet's model splits each instalment)")
		}
		codes[2] = struct{ name, v string }{"wallet_id", r.WalletID}
	}
	for _, f := range codes {
		if !codeRe.MatchString(f.v) {
			return refuse(Refused, CodeMissingField, "%s %q: want 1 to 64 of A-Z a-z 0-9 . _ : - /", f.name, f.v)
		}
	}
	if err := r.validateKind(); err != nil {
		return err
	}
	if r.Amount == nil {
		return refuse(Refused, CodeMissingField, "amount is required (rupees, as a string: \"5000.00\")")
	}
	if r.Amount.Sign() <= 0 {
		return refuse(Refused, CodeBadAmount, "amount %s must be positive", r.Amount)
	}
	if e := fund.CheckAmount("amount", r.Amount.Decimal()); e != nil {
		return refuse(Refused, e.Reason, "%s", e.Detail)
	}
	if err := r.validateDay(); err != nil {
		return err
	}
	if r.StartDate == nil {
		return refuse(Refused, CodeMissingField, "start_date is required (YYYY-MM-DD)")
	}
	if r.EndDate != nil && r.Instalments != nil {
		return refuse(Refused, CodeBadField, "give end_date or instalments, not both (neither: perpetual)")
	}
	if r.Instalments != nil && (*r.Instalments < 1 || *r.Instalments > schedule.MaxCount) {
		return refuse(Refused, CodeBadInstalments, "instalments %d: want 1 to %d", *r.Instalments, schedule.MaxCount)
	}
	if r.EndDate != nil && r.EndDate.Before(*r.StartDate) {
		return refuse(Refused, CodeEndBeforeStart, "end_date %s is before start_date %s", r.EndDate, r.StartDate)
	}
	if err := r.validateStepUp(); err != nil {
		return err
	}
	// Whatever the schedule package refuses (years out of range) is refused
	// here too, so that registration never stores a plan it cannot schedule.
	if err := r.spec().Validate(); err != nil {
		return refuse(Refused, string(schedule.ReasonOf(err)), "%v", err)
	}
	return nil
}

func (r *RegisterRequest) validateKind() error {
	if r.Kind == STP {
		if !codeRe.MatchString(r.ToSchemeCode) {
			return refuse(Refused, CodeMissingField, "an stp needs to_scheme_code, the scheme switched into")
		}
		if r.ToSchemeCode == r.SchemeCode {
			return refuse(Refused, CodeBadField, "an stp into the scheme it leaves (%s)", r.SchemeCode)
		}
	} else if r.ToSchemeCode != "" {
		return refuse(Refused, CodeBadField, "to_scheme_code is only for stp")
	}
	if r.Kind == SIP {
		if !codeRe.MatchString(r.MandateID) {
			return refuse(Refused, CodeMissingField, "a sip needs mandate_id, the mandate it debits")
		}
	} else if r.MandateID != "" {
		return refuse(Refused, CodeBadField, "mandate_id is only for sip (stp and swp move units, not money from a bank)")
	}
	return nil
}

func (r *RegisterRequest) validateDay() error {
	switch r.Frequency {
	case Monthly, Quarterly:
		if r.DayOfMonth == nil {
			return refuse(Refused, CodeMissingField, "a %s plan needs day_of_month (1 to 31)", r.Frequency)
		}
		if *r.DayOfMonth < 1 || *r.DayOfMonth > 31 {
			return refuse(Refused, CodeBadDay, "day_of_month %d: want 1 to 31", *r.DayOfMonth)
		}
		if r.Weekday != nil {
			return refuse(Refused, CodeBadField, "weekday is only for weekly plans")
		}
	case Weekly:
		if r.Weekday == nil {
			return refuse(Refused, CodeMissingField, "a weekly plan needs weekday (mon … sun)")
		}
		if r.DayOfMonth != nil {
			return refuse(Refused, CodeBadField, "day_of_month is only for monthly and quarterly plans")
		}
	case Daily:
		if r.DayOfMonth != nil || r.Weekday != nil {
			return refuse(Refused, CodeBadField, "a daily plan has no day_of_month or weekday")
		}
	case "":
		return refuse(Refused, CodeMissingField, "frequency is required: daily, weekly, monthly or quarterly")
	default:
		return refuse(Refused, CodeBadFrequency, "frequency %q: want daily, weekly, monthly or quarterly", r.Frequency)
	}
	return nil
}

func (r *RegisterRequest) validateStepUp() error {
	switch {
	case r.StepUpAmount != nil && r.StepUpPct != nil:
		return refuse(Refused, CodeBadStepUp, "give step_up_amount or step_up_pct, not both")
	case r.StepUpAmount != nil:
		if r.StepUpAmount.Sign() <= 0 {
			return refuse(Refused, CodeBadStepUp, "step_up_amount %s must be positive", r.StepUpAmount)
		}
		if e := fund.CheckAmount("step_up_amount", r.StepUpAmount.Decimal()); e != nil {
			return refuse(Refused, e.Reason, "%s", e.Detail)
		}
	case r.StepUpPct != nil:
		d := r.StepUpPct.Decimal()
		if d.Sign() <= 0 || d.GreaterThan(decimal.NewFromInt(100)) || !d.Equal(d.Truncate(PctScale)) {
			return refuse(Refused, CodeBadStepUp, "step_up_pct %s: want more than 0 and at most 100, with at most %d decimals", d, PctScale)
		}
	}
	return nil
}

// spec is the request's schedule.
func (r *RegisterRequest) spec() schedule.Spec {
	s := schedule.Spec{Frequency: schedule.Frequency(r.Frequency)}
	if r.StartDate != nil {
		s.Start = *r.StartDate
	}
	if r.EndDate != nil {
		s.End = *r.EndDate
	}
	if r.Instalments != nil {
		s.Count = *r.Instalments
	}
	if r.DayOfMonth != nil {
		s.Day = *r.DayOfMonth
	}
	if r.Weekday != nil {
		s.Weekday = time.Weekday(*r.Weekday)
	}
	return s
}

// Canonical is the request's canonical JSON: the same request written with
// other spacing, field order or amount notation ("5000" and "5000.00")
// gives the same bytes.
func (r RegisterRequest) Canonical() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // unreachable: every field marshals
	}
	return b
}

// Fingerprint is the hex SHA-256 of Canonical (plans.body_sha256).
func (r RegisterRequest) Fingerprint() string {
	s := sha256.Sum256(r.Canonical())
	return hex.EncodeToString(s[:])
}

// RegistrationFacts are the rows a registration is checked against.
type RegistrationFacts struct {
	FolioFound bool
	FolioOwner string
	Schemes    map[string]bool // scheme_code and to_scheme_code: known
	Terms      *Terms          // nil: the scheme does not offer the kind at the frequency
	Mandate    *Mandate        // sip; nil: unknown
	Wallet     *WalletFacts    // a SIP into a wallet; nil: unknown
}

// WalletFacts are what registering a SIP into a wallet needs of it.
type WalletFacts struct {
	InvestorID, Status string
	Folio              string // its auto-invest folio ("": it does not auto-invest)
}

// WalletSIPTerms are a wallet SIP's rules in place of a scheme's: whole
// rupees from ₹100 (each scheme's own minimum is the auto-invest split's
// business; what it cannot buy stays in the wallet), any day, the first
// instalment at least 2 days out (its pre-debit notice goes 24 h before).
var WalletSIPTerms = Terms{MinAmount: decimal.NewFromInt(100), Multiple: decimal.NewFromInt(1), MinFirstGapDays: 2, MinInstalments: 1}

// Terms is a scheme_plan_terms row.
type Terms struct {
	MinAmount       decimal.Decimal
	Multiple        decimal.Decimal
	AllowedDays     []int // nil: 1-31
	MinFirstGapDays int
	MinInstalments  int
}

// Mandate is what registration needs of a mandates row.
type Mandate struct {
	ID         string
	InvestorID string // "" until linked to an investor
	Status     string
	MaxAmount  *decimal.Decimal
	StartsOn   *fund.Date
	ExpiresOn  *fund.Date
}

// NewPlan is a checked registration, ready to store.
type NewPlan struct {
	ID          string
	Req         RegisterRequest
	Fingerprint string
	At          time.Time
	First       fund.Date // the first nominal date (version 1's effective_from)
}

// Register registers a plan. The same request again (same client_id, same
// fingerprint) returns the plan it made and Duplicate; another request under
// a used client_id is a Conflict. A request that breaks a rule stores
// nothing and returns an *Error naming it.
//
// The mandate's limit is checked against the amount as registered, not the
// stepped-up amounts of later years: a perpetual plan with a step-up
// outgrows any limit in time, and the investor raises the mandate when it
// does (an instalment over the limit fails at presentation with the
// gateway's reason).
func (s *Service) Register(ctx context.Context, req RegisterRequest) (Plan, Outcome, error) {
	if err := req.Validate(); err != nil {
		return Plan{}, 0, err
	}
	fp := req.Fingerprint()
	if p, got, found, err := s.Store.PlanByClientID(ctx, req.ClientID); err != nil {
		return Plan{}, 0, fmt.Errorf("register %s: %w", req.ClientID, err)
	} else if found {
		return sameRequest(p, got, fp)
	}
	facts, err := s.Store.RegistrationFacts(ctx, req)
	if err != nil {
		return Plan{}, 0, fmt.Errorf("register %s: %w", req.ClientID, err)
	}
	now := s.now()
	first, err := s.check(req, facts, fund.DateOf(now.In(fund.IST())))
	if err != nil {
		return Plan{}, 0, err
	}
	id, err := newPlanID()
	if err != nil {
		return Plan{}, 0, err
	}
	p, got, inserted, err := s.Store.InsertPlan(ctx, NewPlan{ID: id, Req: req, Fingerprint: fp, At: now, First: first})
	if err != nil {
		return Plan{}, 0, fmt.Errorf("register %s: %w", req.ClientID, err)
	}
	if !inserted {
		return sameRequest(p, got, fp)
	}
	return p, Created, nil
}

func sameRequest(p Plan, stored, fp string) (Plan, Outcome, error) {
	if stored != fp {
		return Plan{}, 0, refuse(Conflict, CodeClientIDConflict, "client_id %q was used for another registration (plan %s)", p.ClientID, p.ID)
	}
	return p, Duplicate, nil
}

// check runs the rules that need the database's rows, in the order a
// client fixes them: where (folio, scheme), what the scheme accepts, when,
// then the mandate. It returns the first nominal date.
func (s *Service) check(req RegisterRequest, f RegistrationFacts, today fund.Date) (fund.Date, error) {
	if !f.FolioFound {
		return fund.Date{}, refuse(Refused, CodeUnknownFolio, "folio %q does not exist", req.Folio)
	}
	if f.FolioOwner != req.InvestorID {
		return fund.Date{}, refuse(Refused, CodeFolioMismatch, "folio %q is not investor %q's", req.Folio, req.InvestorID)
	}
	for _, code := range []string{req.SchemeCode, req.ToSchemeCode} {
		if code != "" && !f.Schemes[code] {
			return fund.Date{}, refuse(Refused, CodeUnknownScheme, "scheme %q does not exist", code)
		}
	}
	t := f.Terms
	if req.WalletID != "" {
		w := f.Wallet
		switch {
		case w == nil:
			return fund.Date{}, refuse(Refused, CodeUnknownWallet, "wallet %q does not exist", req.WalletID)
		case w.InvestorID != req.InvestorID:
			return fund.Date{}, refuse(Refused, CodeWalletNotOwn, "wallet %q is not investor %q's", req.WalletID, req.InvestorID)
		case w.Status != "open":
			return fund.Date{}, refuse(Refused, CodeWalletClosed, "wallet %q is %s", req.WalletID, w.Status)
		case w.Folio != req.Folio:
			return fund.Date{}, refuse(Refused, CodeWalletNotInvested, "wallet %q auto-invests into folio %q, not %q", req.WalletID, w.Folio, req.Folio)
		}
		wt := WalletSIPTerms
		t = &wt
	}
	if t == nil {
		return fund.Date{}, refuse(Refused, CodeNotOffered, "scheme %s does not offer a %s %s", req.SchemeCode, req.Frequency, req.Kind)
	}
	if err := checkAmount(req, t); err != nil {
		return fund.Date{}, err
	}
	if err := checkDay(req, t); err != nil {
		return fund.Date{}, err
	}
	first, ok, err := schedule.First(req.spec(), s.Calendar)
	if err != nil {
		return fund.Date{}, refuse(Refused, string(schedule.ReasonOf(err)), "%v", err)
	}
	if !ok {
		return fund.Date{}, refuse(Refused, CodeTooFew, "the plan has no instalment between %s and its end", req.StartDate)
	}
	if earliest := today.AddDays(t.MinFirstGapDays); first.Nominal.Before(earliest) {
		return fund.Date{}, refuse(Refused, CodeTooSoon, "the first instalment would be on %s; the scheme needs %d days from registration (%s): start on or after %s",
			first.Nominal, t.MinFirstGapDays, today, earliest)
	}
	if t.MinInstalments > 1 {
		if last, bounded, err := schedule.Last(req.spec()); err != nil {
			return fund.Date{}, err
		} else if bounded && last.Seq < t.MinInstalments {
			return fund.Date{}, refuse(Refused, CodeTooFew, "the plan has %d instalments; the scheme needs at least %d", last.Seq, t.MinInstalments)
		}
	}
	if req.Kind == SIP {
		if err := checkMandate(req, f.Mandate, first.Nominal); err != nil {
			return fund.Date{}, err
		}
	}
	return first.Nominal, nil
}

func checkAmount(req RegisterRequest, t *Terms) error {
	amt := req.Amount.Decimal()
	if amt.LessThan(t.MinAmount) {
		return refuse(Refused, CodeBelowMinimum, "amount %s is below the scheme's minimum %s", req.Amount, t.MinAmount.StringFixed(fund.AmountScale))
	}
	if !amt.Mod(t.Multiple).IsZero() {
		return refuse(Refused, CodeNotMultiple, "amount %s is not a multiple of %s", req.Amount, t.Multiple.StringFixed(fund.AmountScale))
	}
	return nil
}

func checkDay(req RegisterRequest, t *Terms) error {
	if req.DayOfMonth != nil && t.AllowedDays != nil && !slices.Contains(t.AllowedDays, *req.DayOfMonth) {
		return refuse(Refused, CodeDayNotAllowed, "day %d is not one the scheme allows (%v)", *req.DayOfMonth, t.AllowedDays)
	}
	return nil
}

func checkMandate(req RegisterRequest, m *Mandate, first fund.Date) error {
	switch {
	case m == nil:
		return refuse(Refused, CodeUnknownMandate, "mandate %q does not exist", req.MandateID)
	case m.InvestorID != req.InvestorID:
		return refuse(Refused, CodeMandateNotOwn, "mandate %q is not investor %q's", req.MandateID, req.InvestorID)
	case m.Status != "confirmed":
		return refuse(Refused, CodeMandateNotActive, "mandate %q is %s, not confirmed", req.MandateID, m.Status)
	case m.MaxAmount != nil && m.MaxAmount.LessThan(req.Amount.Decimal()):
		return refuse(Refused, CodeMandateLimit, "mandate %q allows at most %s a debit; the amount is %s", req.MandateID, m.MaxAmount.StringFixed(fund.AmountScale), req.Amount)
	case m.StartsOn != nil && m.StartsOn.After(first):
		return refuse(Refused, CodeMandateNotStarted, "mandate %q starts on %s, after the first instalment (%s)", req.MandateID, m.StartsOn, first)
	case m.ExpiresOn != nil && !m.ExpiresOn.After(first):
		return refuse(Refused, CodeMandateExpires, "mandate %q expires on %s, not after the first instalment (%s)", req.MandateID, m.ExpiresOn, first)
	}
	return nil
}

func newPlanID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("plan id: %w", err)
	}
	return "pl_" + hex.EncodeToString(b), nil
}
