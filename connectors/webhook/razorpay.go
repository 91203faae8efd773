// Package webhook receives payment-gateway webhooks over HTTP in Razorpay's
// wire format: the body is signed with HMAC-SHA256 under the webhook secret
// (hex in X-Razorpay-Signature) and each event carries an id
// (X-Razorpay-Event-Id). A delivery whose signature does not verify is
// answered 401 and nothing of it is stored; a verified one is stored (and
// applied) by the Store before the 2xx, so a delivery the gateway saw
// acknowledged is never lost, and a redelivery changes nothing.
package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Razorpay's header names.
const (
	HeaderSignature = "X-Razorpay-Signature"
	HeaderEventID   = "X-Razorpay-Event-Id"
)

// Sign returns the hex HMAC-SHA256 of body under secret: what Razorpay puts
// in X-Razorpay-Signature (and what tests and the demo use to sign).
func Sign(body, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig (hex) is the HMAC-SHA256 of body under one of
// secrets (two during a rotation). The comparison is constant-time, and every
// secret is tried whatever the outcome, so the time taken says nothing about
// the signature or which secret matched. A signature that is not 64 hex
// digits never verifies.
func Verify(body []byte, sig string, secrets [][]byte) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		m := hmac.New(sha256.New, s)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// rzEvent is the envelope of a Razorpay webhook.
type rzEvent struct {
	Entity    string          `json:"entity"` // "event"
	AccountID string          `json:"account_id"`
	Event     string          `json:"event"` // payment.captured, …
	Contains  []string        `json:"contains"`
	Payload   json.RawMessage `json:"payload"`
	CreatedAt json.Number     `json:"created_at"` // unix seconds
}

type rzPayload struct {
	Payment *struct {
		Entity rzPayment `json:"entity"`
	} `json:"payment"`
	Token *struct {
		Entity rzToken `json:"entity"`
	} `json:"token"`
}

type rzPayment struct {
	ID               string          `json:"id"`
	Entity           string          `json:"entity"`
	Amount           json.RawMessage `json:"amount"` // paise, a JSON integer
	Currency         string          `json:"currency"`
	Status           string          `json:"status"`
	OrderID          *string         `json:"order_id"`
	Method           string          `json:"method"`
	Notes            json.RawMessage `json:"notes"` // an object, or [] when empty
	CreatedAt        json.Number     `json:"created_at"`
	CustomerID       *string         `json:"customer_id"`
	TokenID          *string         `json:"token_id"`
	ErrorCode        *string         `json:"error_code"`
	ErrorDescription *string         `json:"error_description"`
	ErrorReason      *string         `json:"error_reason"`
}

// rzToken is the token entity of the token.* webhooks (Razorpay API
// reference, "Recurring Payments → Webhooks": token.confirmed,
// token.rejected, token.cancelled, token.paused, for emandate, card, nach
// and upi; the same entity as GET /v1/customers/{id}/tokens in razorpay-go's
// documents/emandate.md). The documented samples carry no customer_id (it
// is read when present); the customer comes with the payments made with
// the token (payment.token_id, payment.customer_id).
type rzToken struct {
	ID               string  `json:"id"`     // token_…
	Entity           string  `json:"entity"` // "token"
	Method           string  `json:"method"` // emandate, upi, nach, card
	Bank             *string `json:"bank"`
	CustomerID       *string `json:"customer_id"`
	RecurringDetails *struct {
		Status        string  `json:"status"`         // initiated, confirmed, rejected, paused, cancelled
		FailureReason *string `json:"failure_reason"` // "Rejected by bank"
	} `json:"recurring_details"` // absent on some card tokens: the event name says
	MaxAmount   json.RawMessage `json:"max_amount"` // paise
	ExpiredAt   json.RawMessage `json:"expired_at"` // unix seconds
	StartTime   json.RawMessage `json:"start_time"` // unix seconds (upi)
	CreatedAt   json.RawMessage `json:"created_at"`
	BankDetails *struct {
		BeneficiaryName string `json:"beneficiary_name"`
		AccountNumber   string `json:"account_number"`
		IFSC            string `json:"ifsc"`
		AccountType     string `json:"account_type"`
	} `json:"bank_details"` // emandate
	Notes json.RawMessage `json:"notes"` // the registration order's token.notes: an object, or []
}

// Parsed is a verified webhook body, typed: at most one of Payment and
// Mandate is set (neither: an event the platform does not act on).
type Parsed struct {
	EventType string // always storable text (fund.SafeText)
	Payment   *fund.PaymentEvent
	Mandate   *fund.MandateEvent
}

// ParseRazorpay turns a verified Razorpay webhook body into a payment event
// (Parse, for callers that only want payments).
func ParseRazorpay(body []byte, eventID string) (eventType string, payment *fund.PaymentEvent, err error) {
	p, err := Parse(body, eventID)
	return p.EventType, p.Payment, err
}

// Parse turns a verified Razorpay webhook body into a payment or mandate
// event. Both are nil for an event that is about neither (it is stored and
// ignored); err says why a body that claims to be one cannot be used (it is
// stored as failed, with err as the reason). eventID is the delivery's id
// header.
//
// Payments: the state is taken from the payment entity's status, not from
// the event name (Razorpay's own SDK fixture is a "payment.authorized" event
// whose entity is already "captured"). Amounts are integer paise. Our order
// id is read from notes.order_id; the gateway order id from order_id; a
// recurring debit's token_id, customer_id, notes.investor_id and, for a
// failed one, error_code, error_description and error_reason (null or
// absent: ""). The event time is the envelope's created_at (the funds time
// of a capture).
//
// Mandates (token.*): the status is recurring_details.status ("initiated":
// created), or, when the entity has none (card tokens), the event name's
// (token.confirmed → confirmed); max_amount is paise; expired_at,
// start_time and created_at are unix seconds; bank_details is the
// e-mandate's account (its number is PII: the caller seals it). The event
// time is the envelope's created_at.
//
// A payment or mandate whose values the stores cannot hold (Check) is an
// error.
func Parse(body []byte, eventID string) (Parsed, error) {
	var ev rzEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return Parsed{}, fmt.Errorf("not a Razorpay event: %v", err)
	}
	if e := fund.CheckText("event", ev.Event); e != nil {
		return Parsed{EventType: fund.SafeText(ev.Event)}, e
	}
	out := Parsed{EventType: ev.Event}
	if ev.Entity != "event" || ev.Event == "" {
		return out, fmt.Errorf("not a Razorpay event: entity %q, event %q", ev.Entity, ev.Event)
	}
	var pl rzPayload
	if len(ev.Payload) > 0 {
		if err := json.Unmarshal(ev.Payload, &pl); err != nil {
			return out, fmt.Errorf("%s: payload: %v", ev.Event, err)
		}
	}
	var err error
	switch {
	case pl.Payment != nil:
		out.Payment, err = parsePayment(ev.Event, eventID, pl.Payment.Entity)
	case pl.Token != nil && strings.HasPrefix(ev.Event, "token."):
		out.Mandate, err = parseToken(ev.Event, eventID, pl.Token.Entity)
	default:
		return out, nil
	}
	if err != nil {
		return out, err
	}
	if ev.CreatedAt != "" {
		sec, err := strconv.ParseInt(string(ev.CreatedAt), 10, 64)
		if err != nil || sec <= 0 {
			out.Payment, out.Mandate = nil, nil
			return out, fmt.Errorf("%s: created_at %q is not a unix time", ev.Event, string(ev.CreatedAt))
		}
		at := time.Unix(sec, 0).UTC()
		if out.Payment != nil {
			out.Payment.EventAt = at
		} else {
			out.Mandate.EventAt = at
		}
	}
	return out, err
}

func parsePayment(event, eventID string, p rzPayment) (*fund.PaymentEvent, error) {
	if p.ID == "" || p.Entity != "payment" {
		return nil, fmt.Errorf("%s: payment entity without an id", event)
	}
	paise, err := strconv.ParseInt(string(p.Amount), 10, 64) // a JSON string ("100") or 1e2 does not parse
	if err != nil || paise < 0 {
		return nil, fmt.Errorf("%s: payment %s: amount %q is not a whole number of paise", event, p.ID, string(p.Amount))
	}
	st, err := fund.ParsePaymentStatus(p.Status)
	if err != nil {
		return nil, fmt.Errorf("%s: payment %s: %v", event, p.ID, err)
	}
	if len(p.Currency) != 3 {
		return nil, fmt.Errorf("%s: payment %s: currency %q", event, p.ID, p.Currency)
	}
	out := &fund.PaymentEvent{Gateway: "razorpay", EventID: eventID, EventType: event, PaymentID: p.ID,
		Amount: fund.AmountFromPaise(paise), Currency: p.Currency, Method: p.Method, Status: st,
		GatewayOrderID: str(p.OrderID), TokenID: str(p.TokenID), CustomerID: str(p.CustomerID),
		ErrorCode: str(p.ErrorCode), ErrorDescription: str(p.ErrorDescription), ErrorReason: str(p.ErrorReason)}
	notes := noteStrings(p.Notes)
	out.NotesOrderID, out.NotesInvestorID = notes["order_id"], notes["investor_id"]
	if e := out.Check(); e != nil {
		return nil, fmt.Errorf("%s: payment: %w", event, e)
	}
	return out, nil
}

// tokenEventStatus is the state a token.* event's name says.
var tokenEventStatus = map[string]fund.MandateStatus{
	"token.confirmed": fund.MandateConfirmed,
	"token.rejected":  fund.MandateRejected,
	"token.paused":    fund.MandatePaused,
	"token.cancelled": fund.MandateCancelled,
}

func parseToken(event, eventID string, tk rzToken) (*fund.MandateEvent, error) {
	if tk.ID == "" || tk.Entity != "token" {
		return nil, fmt.Errorf("%s: token entity without an id", event)
	}
	m := &fund.MandateEvent{Gateway: "razorpay", EventID: eventID, EventType: event, TokenID: tk.ID,
		CustomerID: str(tk.CustomerID), Method: tk.Method, Bank: str(tk.Bank)}
	m.Status = tokenEventStatus[event]
	if rd := tk.RecurringDetails; rd != nil && rd.Status != "" {
		m.Status = fund.MandateStatus(rd.Status)
		if rd.Status == "initiated" { // the bank is processing the registration
			m.Status = fund.MandateCreated
		}
		m.Failure = str(rd.FailureReason)
	}
	if m.Status == "" {
		return nil, fmt.Errorf("%s: token %s: no recurring_details.status", event, tk.ID)
	}
	paise, ok, err := unixOrPaise(tk.MaxAmount)
	if err != nil {
		return nil, fmt.Errorf("%s: token %s: max_amount %q is not a whole number of paise", event, tk.ID, string(tk.MaxAmount))
	}
	if ok && paise > 0 {
		a := fund.AmountFromPaise(paise)
		m.MaxAmount = &a
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		to   *time.Time
	}{{"expired_at", tk.ExpiredAt, &m.ExpiresAt}, {"start_time", tk.StartTime, &m.StartsAt}, {"created_at", tk.CreatedAt, &m.CreatedAt}} {
		sec, ok, err := unixOrPaise(f.raw)
		if err != nil {
			return nil, fmt.Errorf("%s: token %s: %s %q is not a unix time", event, tk.ID, f.name, string(f.raw))
		}
		if ok && sec > 0 {
			*f.to = time.Unix(sec, 0).UTC()
		}
	}
	if bd := tk.BankDetails; bd != nil {
		m.BeneficiaryName, m.AccountNumber, m.IFSC, m.AccountType = bd.BeneficiaryName, bd.AccountNumber, bd.IFSC, bd.AccountType
	}
	m.InvestorID = noteStrings(tk.Notes)["investor_id"]
	if e := m.Check(); e != nil {
		return nil, fmt.Errorf("%s: token: %w", event, e)
	}
	return m, nil
}

// unixOrPaise reads a JSON integer that may be null or absent (ok false).
func unixOrPaise(raw json.RawMessage) (v int64, ok bool, err error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("not a whole number")
	}
	return v, true, nil
}

// noteStrings reads the string values of a notes object ([] or anything
// else: none).
func noteStrings(raw json.RawMessage) map[string]string {
	out := map[string]string{}
	if len(raw) == 0 || raw[0] != '{' {
		return out
	}
	var notes map[string]any
	if err := json.Unmarshal(raw, &notes); err != nil {
		return out
	}
	for k, v := range notes {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
