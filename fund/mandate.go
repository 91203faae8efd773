package fund

import "time"

// MandateStatus is a mandate's state (sql/postgres/015_mandates.sql).
type MandateStatus string

// Mandate states: created → confirmed ⇄ paused → cancelled; created →
// rejected. Rejected and cancelled are final.
const (
	MandateCreated   MandateStatus = "created"
	MandateConfirmed MandateStatus = "confirmed"
	MandatePaused    MandateStatus = "paused"
	MandateRejected  MandateStatus = "rejected"
	MandateCancelled MandateStatus = "cancelled"
)

// Final reports whether no event can move the mandate any more.
func (s MandateStatus) Final() bool { return s == MandateRejected || s == MandateCancelled }

// Valid reports whether s is one of the five states.
func (s MandateStatus) Valid() bool {
	switch s {
	case MandateCreated, MandateConfirmed, MandatePaused, MandateRejected, MandateCancelled:
		return true
	}
	return false
}

// mandateNext lists where each state may go (a state may always be
// restated: a newer confirmed refreshes the limit and dates).
var mandateNext = map[MandateStatus][]MandateStatus{
	MandateCreated:   {MandateCreated, MandateConfirmed, MandatePaused, MandateRejected, MandateCancelled},
	MandateConfirmed: {MandateConfirmed, MandatePaused, MandateCancelled},
	MandatePaused:    {MandatePaused, MandateConfirmed, MandateCancelled},
}

// Mandate-step reasons: why an event changes nothing.
const (
	MandateStale     = "stale"      // older than the event that set the current state
	MandateFinal     = "final"      // the mandate is rejected or cancelled
	MandateNotAStep  = "not_a_step" // the machine has no such move (confirmed → rejected)
	MandateSameTime  = "same_time"  // as old as the current state's event, and not final: order unknown
	MandateBadStatus = "bad_status"
)

// MandateStep decides whether an event that says the mandate is next, at
// the gateway's time at, applies over the current state cur set by an event
// at curAt (cur "" : no mandate yet). Forward by time: an event older than
// curAt changes nothing; rejected and cancelled are final; otherwise the
// machine decides. At the same second (Razorpay's times are whole seconds)
// only a final state wins, so a confirmed and a paused of one second keep
// whichever came first. It returns "" or the reason the event is ignored.
func MandateStep(cur MandateStatus, curAt time.Time, next MandateStatus, at time.Time) (reason string) {
	if !next.Valid() {
		return MandateBadStatus
	}
	if cur == "" {
		return ""
	}
	if cur.Final() {
		return MandateFinal
	}
	if !curAt.IsZero() {
		if at.Before(curAt) {
			return MandateStale
		}
		if at.Equal(curAt) && !next.Final() && next != cur {
			return MandateSameTime
		}
	}
	for _, s := range mandateNext[cur] {
		if s == next {
			return ""
		}
	}
	return MandateNotAStep
}

// MandateEvent is one gateway notification about a mandate (a Razorpay
// recurring token: token.confirmed, token.rejected, token.paused,
// token.cancelled), typed at the connector boundary.
type MandateEvent struct {
	Gateway    string        // "razorpay"
	EventID    string        // X-Razorpay-Event-Id
	EventType  string        // "token.confirmed"
	EventAt    time.Time     // the envelope's created_at: orders the mandate's events
	TimeSource TimeSource    // the gateway's created_at or our receipt time (as for payments)
	TokenID    string        // token_… : the mandate's id
	CustomerID string        // cust_… when the entity carries it ("" otherwise: a payment with this token_id links it)
	InvestorID string        // notes.investor_id of the token, when the platform put it there
	Method     string        // emandate, upi, nach, card
	Status     MandateStatus // recurring_details.status
	Failure    string        // recurring_details.failure_reason
	MaxAmount  *Amount       // max_amount (paise on the wire); nil: not given
	StartsAt   time.Time     // start_time (zero: not given)
	ExpiresAt  time.Time     // expired_at (zero: not given)
	CreatedAt  time.Time     // the token's created_at
	Bank       string        // bank code (HDFC)
	// bank_details (e-mandate): the account number is PII, sealed before
	// it is stored.
	BeneficiaryName, AccountNumber, IFSC, AccountType string
}

// Check refuses an event the stores cannot hold.
func (m MandateEvent) Check() *InputError {
	for _, f := range []struct{ name, v string }{{"gateway", m.Gateway}, {"event id", m.EventID}, {"event", m.EventType},
		{"token id", m.TokenID}, {"customer_id", m.CustomerID}, {"notes.investor_id", m.InvestorID}, {"method", m.Method},
		{"failure_reason", m.Failure}, {"bank", m.Bank}, {"beneficiary_name", m.BeneficiaryName},
		{"account_number", m.AccountNumber}, {"ifsc", m.IFSC}, {"account_type", m.AccountType}} {
		if e := CheckText(f.name, f.v); e != nil {
			return e
		}
	}
	if !m.Status.Valid() {
		return inputErr("bad_status", "mandate status %q: want created, confirmed, paused, rejected or cancelled", m.Status)
	}
	if m.MaxAmount != nil {
		if m.MaxAmount.Sign() <= 0 {
			return inputErr(ReasonOutOfRange, "max_amount %s is not positive", m.MaxAmount)
		}
		return CheckAmount("max_amount", m.MaxAmount.Decimal())
	}
	return nil
}

// MaskTail hides all but the last 4 characters of an identifier shown to
// people (an account number, a PAN): "ABCDE1234F" → "XXXXXX234F". Values
// of 4 characters or fewer are hidden whole. One rule for the ledger's
// masked mandate accounts and the API's masked PII (internal/pii.Mask).
func MaskTail(v string) string {
	r := []rune(v)
	keep := 4
	if len(r) <= keep {
		keep = 0
	}
	for i := 0; i < len(r)-keep; i++ {
		r[i] = 'X'
	}
	return string(r)
}
