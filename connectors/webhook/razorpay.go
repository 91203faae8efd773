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
}

type rzPayment struct {
	ID        string          `json:"id"`
	Entity    string          `json:"entity"`
	Amount    json.RawMessage `json:"amount"` // paise, a JSON integer
	Currency  string          `json:"currency"`
	Status    string          `json:"status"`
	OrderID   *string         `json:"order_id"`
	Method    string          `json:"method"`
	Notes     json.RawMessage `json:"notes"` // an object, or [] when empty
	CreatedAt json.Number     `json:"created_at"`
}

// ParseRazorpay turns a verified Razorpay webhook body into a payment event.
// payment is nil for an event that is not about a payment (it is stored and
// ignored); err says why a body that claims to be a payment event cannot be
// used (it is stored as failed, with err as the reason). eventID is the
// delivery's id header.
//
// The payment's state is taken from the payment entity's status, not from
// the event name (Razorpay's own SDK fixture is a "payment.authorized" event
// whose entity is already "captured"). Amounts are integer paise. Our order
// id is read from notes.order_id; the gateway order id from order_id. The
// event time is the envelope's created_at (the funds time of a capture).
// eventType is always storable text (fund.SafeText); a payment whose values
// the stores cannot hold (fund.PaymentEvent.Check) is an error.
func ParseRazorpay(body []byte, eventID string) (eventType string, payment *fund.PaymentEvent, err error) {
	var ev rzEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return "", nil, fmt.Errorf("not a Razorpay event: %v", err)
	}
	if e := fund.CheckText("event", ev.Event); e != nil {
		return fund.SafeText(ev.Event), nil, e
	}
	if ev.Entity != "event" || ev.Event == "" {
		return ev.Event, nil, fmt.Errorf("not a Razorpay event: entity %q, event %q", ev.Entity, ev.Event)
	}
	var pl rzPayload
	if len(ev.Payload) > 0 {
		if err := json.Unmarshal(ev.Payload, &pl); err != nil {
			return ev.Event, nil, fmt.Errorf("%s: payload: %v", ev.Event, err)
		}
	}
	if pl.Payment == nil {
		return ev.Event, nil, nil
	}
	p := pl.Payment.Entity
	if p.ID == "" || p.Entity != "payment" {
		return ev.Event, nil, fmt.Errorf("%s: payment entity without an id", ev.Event)
	}
	paise, err := strconv.ParseInt(string(p.Amount), 10, 64) // a JSON string ("100") or 1e2 does not parse
	if err != nil || paise < 0 {
		return ev.Event, nil, fmt.Errorf("%s: payment %s: amount %q is not a whole number of paise", ev.Event, p.ID, string(p.Amount))
	}
	st, err := fund.ParsePaymentStatus(p.Status)
	if err != nil {
		return ev.Event, nil, fmt.Errorf("%s: payment %s: %v", ev.Event, p.ID, err)
	}
	if len(p.Currency) != 3 {
		return ev.Event, nil, fmt.Errorf("%s: payment %s: currency %q", ev.Event, p.ID, p.Currency)
	}
	out := &fund.PaymentEvent{Gateway: "razorpay", EventID: eventID, EventType: ev.Event, PaymentID: p.ID,
		Amount: fund.AmountFromPaise(paise), Currency: p.Currency, Method: p.Method, Status: st}
	if p.OrderID != nil {
		out.GatewayOrderID = *p.OrderID
	}
	if len(p.Notes) > 0 && p.Notes[0] == '{' {
		var notes map[string]any
		if err := json.Unmarshal(p.Notes, &notes); err == nil {
			if s, ok := notes["order_id"].(string); ok {
				out.NotesOrderID = s
			}
		}
	}
	if ev.CreatedAt != "" {
		sec, err := strconv.ParseInt(string(ev.CreatedAt), 10, 64)
		if err != nil || sec <= 0 {
			return ev.Event, nil, fmt.Errorf("%s: created_at %q is not a unix time", ev.Event, string(ev.CreatedAt))
		}
		out.EventAt = time.Unix(sec, 0).UTC()
	}
	if e := out.Check(); e != nil {
		return ev.Event, nil, fmt.Errorf("%s: payment: %w", ev.Event, e)
	}
	return ev.Event, out, nil
}
