package fund

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// RequestKind is what an order request asks for.
type RequestKind string

// Order request kinds, as written in the request's "type" field.
const (
	ReqPurchase   RequestKind = "purchase"
	ReqRedemption RequestKind = "redemption"
	ReqSwitch     RequestKind = "switch" // a redemption of one scheme and a purchase of another, linked by the request id
	ReqCancel     RequestKind = "cancel" // cancels another request's legs that are not allotted yet
)

// OrderRequest is an order as a platform places it (Kafka orders.placed or
// HTTP). Its ID is chosen by the client and is the idempotency key: the same
// request sent twice is one order.
//
// Exactly one of Amount, Units and AllUnits says how much a redemption or a
// switch takes out; a purchase gives Amount, the gross amount paid (stamp
// duty included).
type OrderRequest struct {
	ID           string           `json:"order_id"`
	Kind         RequestKind      `json:"type"`
	InvestorID   string           `json:"investor_id,omitempty"`
	Folio        string           `json:"folio,omitempty"`
	SchemeCode   string           `json:"scheme_code,omitempty"`
	ToSchemeCode string           `json:"to_scheme_code,omitempty"` // switch: the scheme switched into
	Amount       *Amount          `json:"amount,omitempty"`         // rupees as a string: "5000.00"
	Units        *decimal.Decimal `json:"units,omitempty"`          // as a string: "10.500"; at most MaxUnitsScale decimals
	AllUnits     bool             `json:"all_units,omitempty"`
	Currency     string           `json:"currency,omitempty"`        // INR (the default)
	PaymentRef   string           `json:"payment_ref,omitempty"`     // the gateway order id the payment will carry
	PlacedAt     time.Time        `json:"placed_at"`                 // the application's time stamp, RFC 3339 with an offset
	TargetID     string           `json:"target_order_id,omitempty"` // cancel: the request to cancel
	ARN          string           `json:"arn,omitempty"`             // the distributor it came through (ARN-12345); "" direct
	EUIN         string           `json:"euin,omitempty"`            // the distributor's employee (E123456); needs an ARN
}

// InvalidOrderError says why an order request cannot be accepted: a stable
// Reason code and a Detail a person can act on.
type InvalidOrderError struct {
	Reason string // e.g. "missing_field", "bad_amount"
	Detail string
}

func (e *InvalidOrderError) Error() string { return "invalid order: " + e.Reason + ": " + e.Detail }

func invalid(reason, format string, args ...any) error {
	return &InvalidOrderError{Reason: reason, Detail: SafeText(fmt.Sprintf(format, args...))}
}

func invalidInput(e *InputError) error { return &InvalidOrderError{Reason: e.Reason, Detail: e.Detail} }

// MaxOrderRequestBytes bounds an order request's JSON.
const MaxOrderRequestBytes = 16 << 10

// DecodeOrderRequest parses one order request (JSON) strictly: unknown
// fields, trailing data, numbers where strings are expected and a body over
// MaxOrderRequestBytes are errors. Amounts and units are JSON strings so that
// nothing on the way parses them as binary floating point.
//
// A body that is not a JSON object or has no usable order_id gives an error
// that is not an *InvalidOrderError (there is no id to answer to); a request
// with an id that breaks a rule gives the request as far as it was decoded
// together with an *InvalidOrderError, so the rejection can be recorded
// under its id.
func DecodeOrderRequest(b []byte) (OrderRequest, error) {
	if len(b) > MaxOrderRequestBytes {
		return OrderRequest{}, fmt.Errorf("order request of %d bytes: over the %d-byte limit", len(b), MaxOrderRequestBytes)
	}
	// The id first, leniently, so that a request with a bad field can still
	// be rejected under its id.
	var idOnly struct {
		ID json.RawMessage `json:"order_id"`
	}
	if err := json.Unmarshal(b, &idOnly); err != nil {
		return OrderRequest{}, fmt.Errorf("order request is not a JSON object: %w", err)
	}
	var id string
	if err := json.Unmarshal(idOnly.ID, &id); err != nil || !validID(id) {
		return OrderRequest{}, fmt.Errorf("order request has no valid order_id (want 1 to 64 of A-Z a-z 0-9 . _ : -), got %s", clip(string(idOnly.ID)))
	}
	// encoding/json would turn bytes that are not UTF-8 into U+FFFD without a
	// word: refuse them instead of storing something the client did not send.
	if !utf8.Valid(b) {
		return OrderRequest{ID: id}, invalid(ReasonBadEncoding, "the request is not valid UTF-8")
	}
	var r OrderRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return OrderRequest{ID: id}, invalid("bad_json", "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return OrderRequest{ID: id}, invalid("bad_json", "data after the JSON object")
	}
	r.ID = id
	return r, r.Validate()
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	if s == "" {
		return "nothing"
	}
	return s
}

// validID accepts client ids of 1..64 characters from A-Z a-z 0-9 . _ : -.
// '#' is kept out: it joins a switch id to its leg names.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// validCode accepts scheme codes, folio numbers and investor ids: 1..64
// characters, the same alphabet as ids plus '/'.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-' || c == '/') {
			return false
		}
	}
	return true
}

// Validate checks the rules of a request of its kind and fills defaults
// (currency INR). It returns an *InvalidOrderError. It also checks that
// every value can be stored (CheckText, CheckAmount, CheckUnits): a request
// that passes never fails its transaction for its content.
func (r *OrderRequest) Validate() error {
	if !validID(r.ID) {
		return invalid("bad_order_id", "order_id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", r.ID)
	}
	if err := r.checkStorable(); err != nil {
		return err
	}
	if r.PlacedAt.IsZero() {
		return invalid("missing_field", "placed_at (the application's time stamp, RFC 3339) is required")
	}
	if y := r.PlacedAt.UTC().Year(); y < 2000 || y > 2999 {
		return invalid("bad_time", "placed_at %s is not a plausible time stamp", r.PlacedAt.Format(time.RFC3339))
	}
	if r.Currency == "" {
		r.Currency = "INR"
	}
	if r.Currency != "INR" {
		return invalid("bad_currency", "currency %q: only INR is accepted", r.Currency)
	}
	if r.Kind == ReqCancel {
		if !validID(r.TargetID) {
			return invalid("missing_field", "a cancel needs target_order_id, the id of the request to cancel")
		}
		if r.TargetID == r.ID {
			return invalid("bad_target", "a cancel cannot cancel itself")
		}
		if r.Amount != nil || r.Units != nil || r.AllUnits || r.SchemeCode != "" || r.ToSchemeCode != "" {
			return invalid("bad_field", "a cancel carries only order_id, target_order_id and placed_at (and optionally folio, investor_id)")
		}
		return nil
	}
	if r.TargetID != "" {
		return invalid("bad_field", "target_order_id is only for cancels")
	}
	if err := r.checkDistributor(); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"investor_id", r.InvestorID}, {"folio", r.Folio}, {"scheme_code", r.SchemeCode}} {
		if !validCode(f.v) {
			return invalid("missing_field", "%s %q: want 1 to 64 of A-Z a-z 0-9 . _ : - /", f.name, f.v)
		}
	}
	if r.Amount != nil && r.Amount.Sign() <= 0 {
		return invalid("bad_amount", "amount %s must be positive", r.Amount)
	}
	if r.Units != nil {
		if r.Units.Sign() <= 0 {
			return invalid("bad_units", "units %s must be positive", r.Units)
		}
		if -r.Units.Exponent() > MaxUnitsScale && !r.Units.Equal(r.Units.Truncate(MaxUnitsScale)) {
			return invalid("bad_units", "units %s: more than %d decimals", r.Units, MaxUnitsScale)
		}
		if e := CheckUnits("units", *r.Units); e != nil {
			return invalidInput(e)
		}
	}
	if r.Amount != nil {
		if e := CheckAmount("amount", r.Amount.Decimal()); e != nil {
			return invalidInput(e)
		}
	}
	switch r.Kind {
	case ReqPurchase:
		if r.Amount == nil || r.Units != nil || r.AllUnits {
			return invalid("bad_quantity", "a purchase gives amount (the gross amount paid) and nothing else")
		}
		if r.ToSchemeCode != "" {
			return invalid("bad_field", "to_scheme_code is only for switches")
		}
	case ReqRedemption, ReqSwitch:
		n := 0
		if r.Amount != nil {
			n++
		}
		if r.Units != nil {
			n++
		}
		if r.AllUnits {
			n++
		}
		if n != 1 {
			return invalid("bad_quantity", "a %s gives exactly one of amount, units or all_units", r.Kind)
		}
		if r.PaymentRef != "" {
			return invalid("bad_field", "payment_ref is only for purchases")
		}
		if r.Kind == ReqSwitch {
			if !validCode(r.ToSchemeCode) {
				return invalid("missing_field", "a switch needs to_scheme_code")
			}
			if r.ToSchemeCode == r.SchemeCode {
				return invalid("bad_field", "a switch into the scheme it leaves (%s)", r.SchemeCode)
			}
		} else if r.ToSchemeCode != "" {
			return invalid("bad_field", "to_scheme_code is only for switches")
		}
	case "":
		return invalid("missing_field", "type is required: purchase, redemption, switch or cancel")
	default:
		return invalid("bad_type", "type %q: want purchase, redemption, switch or cancel", r.Kind)
	}
	return nil
}

// checkDistributor checks the optional ARN and EUIN: AMFI's forms "ARN-"
// and 1 to 9 digits, "E" and 6 digits; an EUIN only with an ARN.
func (r *OrderRequest) checkDistributor() error {
	if r.ARN != "" && !prefixDigits(r.ARN, "ARN-", 1, 9) {
		return invalid("bad_arn", "arn %q: want ARN- and 1 to 9 digits", r.ARN)
	}
	if r.EUIN != "" && !prefixDigits(r.EUIN, "E", 6, 6) {
		return invalid("bad_euin", "euin %q: want E and 6 digits", r.EUIN)
	}
	if r.EUIN != "" && r.ARN == "" {
		return invalid("bad_euin", "euin %s without an arn", r.EUIN)
	}
	return nil
}

func prefixDigits(s, prefix string, lo, hi int) bool {
	d, ok := strings.CutPrefix(s, prefix)
	if !ok || len(d) < lo || len(d) > hi {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// checkStorable refuses text the database cannot hold, before any rule
// looks at it (the ranges of amount and units are checked with their
// other rules).
func (r *OrderRequest) checkStorable() error {
	for _, f := range []struct{ name, v string }{{"type", string(r.Kind)}, {"investor_id", r.InvestorID}, {"folio", r.Folio},
		{"scheme_code", r.SchemeCode}, {"to_scheme_code", r.ToSchemeCode}, {"currency", r.Currency},
		{"payment_ref", r.PaymentRef}, {"target_order_id", r.TargetID}, {"arn", r.ARN}, {"euin", r.EUIN}} {
		if e := CheckText(f.name, f.v); e != nil {
			return invalidInput(e)
		}
	}
	return nil
}

// Canonical returns the request's canonical JSON (what its fingerprint and
// stored body are made of): the same request written with other spacing,
// field order or time-zone offset gives the same bytes.
func (r OrderRequest) Canonical() []byte {
	c := r
	c.PlacedAt = r.PlacedAt.UTC()
	if c.Units != nil {
		u := c.Units.Truncate(MaxUnitsScale) // Validate refused more decimals; normalises "1.50" vs "1.5"
		u = decimal.RequireFromString(u.String())
		c.Units = &u
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // unreachable: every field marshals
	}
	return b
}

// Fingerprint is the hex SHA-256 of Canonical: two requests with the same id
// and the same fingerprint are the same request.
func (r OrderRequest) Fingerprint() string {
	s := sha256.Sum256(r.Canonical())
	return hex.EncodeToString(s[:])
}

// OrderStatus is the state of one order leg. It moves forward only.
type OrderStatus string

// Order leg states.
const (
	AwaitingPayment OrderStatus = "awaiting_payment" // purchase placed, funds not realised
	AwaitingLeg     OrderStatus = "awaiting_leg"     // switch-in waiting for its switch-out
	PendingNAV      OrderStatus = "pending_nav"      // NAV date decided, waiting for that NAV
	Allotted        OrderStatus = "allotted"
	Cancelled       OrderStatus = "cancelled"
	Rejected        OrderStatus = "rejected"
)

// Final reports whether the status can no longer change.
func (s OrderStatus) Final() bool { return s == Allotted || s == Cancelled || s == Rejected }

// OrderLeg is one executable part of a request: a purchase or redemption is
// one leg with the request's id; a switch is a switch_out leg "ID#out" and a
// switch_in leg "ID#in".
type OrderLeg struct {
	ID         string
	RequestID  string
	SwitchID   string // the switch request's id on both legs; "" otherwise
	Kind       TxKind // Purchase, Redemption, SwitchOut, SwitchIn
	InvestorID string
	Folio      string
	SchemeCode string
	Amount     *Amount
	Units      *decimal.Decimal
	AllUnits   bool
	Currency   string
	PaymentRef string
	PlacedAt   time.Time
	ARN, EUIN  string // the distributor it came through ("" direct)
}

// SwitchOutLeg and SwitchInLeg name the legs of switch request id.
func SwitchOutLeg(id string) string { return id + "#out" }

// SwitchInLeg names the purchase leg of switch request id.
func SwitchInLeg(id string) string { return id + "#in" }

// Legs returns the legs a valid request creates (none for a cancel).
func (r OrderRequest) Legs() []OrderLeg {
	base := OrderLeg{RequestID: r.ID, InvestorID: r.InvestorID, Folio: r.Folio, SchemeCode: r.SchemeCode,
		Amount: r.Amount, Units: r.Units, AllUnits: r.AllUnits, Currency: r.Currency, PlacedAt: r.PlacedAt, ARN: r.ARN, EUIN: r.EUIN}
	switch r.Kind {
	case ReqPurchase:
		l := base
		l.ID, l.Kind, l.PaymentRef = r.ID, Purchase, r.PaymentRef
		return []OrderLeg{l}
	case ReqRedemption:
		l := base
		l.ID, l.Kind = r.ID, Redemption
		return []OrderLeg{l}
	case ReqSwitch:
		out := base
		out.ID, out.Kind, out.SwitchID = SwitchOutLeg(r.ID), SwitchOut, r.ID
		in := OrderLeg{ID: SwitchInLeg(r.ID), RequestID: r.ID, SwitchID: r.ID, Kind: SwitchIn, InvestorID: r.InvestorID,
			Folio: r.Folio, SchemeCode: r.ToSchemeCode, Currency: r.Currency, PlacedAt: r.PlacedAt, ARN: r.ARN, EUIN: r.EUIN}
		return []OrderLeg{out, in}
	}
	return nil
}

// OrderIntake is an order request as a connector received it: decoded, or
// refused by a rule (Invalid, with at least Req.ID), with its bytes, where
// it came from and when we received it.
type OrderIntake struct {
	Req     OrderRequest
	Invalid *InvalidOrderError
	Source  string // "kafka:<topic>/<partition>/<offset>" or "http"
	Raw     []byte
	Pos     Origin // where a Kafka message was (for quarantine); zero for HTTP

	// ReceivedAt is our receipt time (our clock, not the client's).
	ReceivedAt time.Time
	// At is the order's effective time, the one the cut-off rules run on
	// (EffectiveTime of Req.PlacedAt and ReceivedAt); TimeSource says which
	// it is. Req.PlacedAt stays as sent: it is part of the request's
	// fingerprint, so a redelivery is still the same request.
	At         time.Time
	TimeSource TimeSource
}

// Receipt is how a connector received an order: from where, when by our
// clock, and how far before that a client's placed_at may lie to be used.
type Receipt struct {
	Source  string        // "kafka:<topic>/<partition>/<offset>" or "http"
	At      time.Time     // our receipt time
	MaxSkew time.Duration // see EffectiveTime
}

// Legs returns the legs of the request, time-stamped with the effective
// time.
func (in OrderIntake) Legs() []OrderLeg {
	legs := in.Req.Legs()
	if !in.At.IsZero() {
		for i := range legs {
			legs[i].PlacedAt = in.At
		}
	}
	return legs
}

// IntakeOf decodes raw bytes into an intake received as rc says. ok is
// false when the bytes do not even carry a usable order id (err says why):
// such a message can only be quarantined.
func IntakeOf(raw []byte, rc Receipt) (in OrderIntake, ok bool, err error) {
	r, err := DecodeOrderRequest(raw)
	in = OrderIntake{Req: r, Source: rc.Source, Raw: raw, ReceivedAt: rc.At}
	in.At, in.TimeSource = EffectiveTime(r.PlacedAt, rc.At, rc.MaxSkew)
	if err == nil {
		return in, true, nil
	}
	if ie, isInvalid := err.(*InvalidOrderError); isInvalid {
		in.Invalid = ie
		// What a refused request is recorded and announced with must be
		// storable too (its folio keys the orders.status event).
		for _, f := range []*string{&in.Req.InvestorID, &in.Req.Folio, &in.Req.SchemeCode, &in.Req.ToSchemeCode,
			&in.Req.Currency, &in.Req.PaymentRef, &in.Req.TargetID} {
			*f = SafeText(*f)
		}
		in.Req.Kind = RequestKind(SafeText(string(in.Req.Kind)))
		return in, true, nil
	}
	return in, false, err
}
