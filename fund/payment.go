package fund

import (
	"fmt"
	"time"
)

// PaymentStatus is a payment's state at the gateway.
type PaymentStatus string

// Payment states (Razorpay's names).
const (
	PaymentCreated    PaymentStatus = "created"
	PaymentAuthorized PaymentStatus = "authorized"
	PaymentFailed     PaymentStatus = "failed"
	PaymentCaptured   PaymentStatus = "captured" // the funds are realised
	PaymentRefunded   PaymentStatus = "refunded"
)

// Rank orders the states: a payment only ever moves to a higher rank, so a
// late or repeated event (an "authorized" after "captured") changes nothing.
// created 0 < authorized 1 < failed 2 < captured 3 < refunded 4; -1 for an
// unknown state.
func (s PaymentStatus) Rank() int {
	switch s {
	case PaymentCreated:
		return 0
	case PaymentAuthorized:
		return 1
	case PaymentFailed:
		return 2
	case PaymentCaptured:
		return 3
	case PaymentRefunded:
		return 4
	}
	return -1
}

// ParsePaymentStatus accepts the five states.
func ParsePaymentStatus(s string) (PaymentStatus, error) {
	p := PaymentStatus(s)
	if p.Rank() < 0 {
		return "", fmt.Errorf("payment status %q: want created, authorized, failed, captured or refunded", s)
	}
	return p, nil
}

// Advances reports whether moving from cur to next is a step forward (and
// so should be applied).
func (s PaymentStatus) Advances(next PaymentStatus) bool { return next.Rank() > s.Rank() }

// PaymentEvent is one gateway notification about one payment, typed at the
// connector boundary.
type PaymentEvent struct {
	Gateway        string        // "razorpay"
	EventID        string        // the gateway's event id (X-Razorpay-Event-Id)
	EventType      string        // "payment.captured"
	EventAt        time.Time     // when the gateway says the event happened (the funds time of a capture)
	PaymentID      string        // pay_…
	GatewayOrderID string        // order_… (the platform created it with the gateway; payment_ref of our order)
	NotesOrderID   string        // notes.order_id: our order id, when the platform put it there
	Amount         Amount        // rupees (converted from paise)
	Currency       string        // "INR"
	Method         string        // card, upi, netbanking, …
	Status         PaymentStatus // the payment entity's status (the event name is only a hint)
	// Recurring debits (payment.* of a payment made with a mandate): the
	// token debited, the gateway customer, notes.investor_id, and why a
	// failed payment failed (error_code, error_description, error_reason).
	TokenID, CustomerID, NotesInvestorID     string
	ErrorCode, ErrorDescription, ErrorReason string
	// TimeSource says whether EventAt is the gateway's created_at (within
	// the allowed age before our receipt) or our receipt time.
	TimeSource TimeSource
}

// PaymentBreak reasons: why a payment cannot realise the order it names.
const (
	BreakAmountMismatch   = "amount_mismatch"
	BreakCurrencyMismatch = "currency_mismatch"
	BreakNotPurchase      = "order_not_purchase"
	BreakOrderCancelled   = "order_cancelled"
	BreakOrderRejected    = "order_rejected"
	BreakAlreadyPaid      = "order_already_paid"
	BreakRefundAfterAllot = "refunded_after_allotment"
	BreakCancelledPaid    = "cancelled_after_payment"
	BreakRejectedPaid     = "rejected_after_payment" // the order was rejected after its payment was captured: refund due
)

// Check refuses an event the stores cannot hold (CheckText on every text
// field, CheckAmount on the amount): such an event can never be applied,
// however often the gateway redelivers it.
func (p PaymentEvent) Check() *InputError {
	for _, f := range []struct{ name, v string }{{"gateway", p.Gateway}, {"event id", p.EventID}, {"event", p.EventType},
		{"payment id", p.PaymentID}, {"order_id", p.GatewayOrderID}, {"notes.order_id", p.NotesOrderID},
		{"currency", p.Currency}, {"method", p.Method}, {"token_id", p.TokenID}, {"customer_id", p.CustomerID},
		{"notes.investor_id", p.NotesInvestorID}, {"error_code", p.ErrorCode}, {"error_description", p.ErrorDescription},
		{"error_reason", p.ErrorReason}} {
		if e := CheckText(f.name, f.v); e != nil {
			return e
		}
	}
	return CheckAmount("amount", p.Amount.Decimal())
}
