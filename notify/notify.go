// Package notify turns the platform's events into messages to investors:
// each event is planned (preferences → channels, templates → text) into one
// notification row per (event id, channel), and the deliverer sends the due
// rows through each channel's provider (SMTP, an SMS gateway, FCM) with
// retries, a dead letter after MaxAttempts, and receipts.
//
// Exactly once per (event id, channel): the row is unique on that pair, so
// planning an event twice adds nothing. A row is claimed ('sending',
// committed) before its send and recorded ('sent') after. A process that
// dies between the two leaves the row 'sending'; the next run (one runs at
// a time: the single-runner lock) asks the provider whether the message
// arrived (Confirmer: for email, a search by the Message-ID header, which is
// derived from event id and channel) and records it sent, or queues it
// again when it did not arrive (for SMS, a search of the gateway's messages
// to the number for the text with the message's reference, SMSRef). A
// provider that cannot be asked gets the row marked failed ("interrupted:
// outcome unknown"), never sent twice, and an operator replays it; or, by
// choice (Unconfirmed), queued to be sent again.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Channel is a way to reach an investor.
type Channel string

// The channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Push  Channel = "push"
)

// Channels lists every channel, in the order a notification's rows are made.
var Channels = []Channel{Email, SMS, Push}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == Email || c == SMS || c == Push }

// Status is a notification row's state.
type Status string

// The statuses of a notification row.
const (
	Queued    Status = "queued"
	Sending   Status = "sending" // claimed: handed (or about to be) to the provider
	Sent      Status = "sent"
	Delivered Status = "delivered" // the provider's receipt (DLR) says it arrived
	Failed    Status = "failed"
	Dead      Status = "dead"
)

// Notification is one message to one investor on one channel.
type Notification struct {
	ID         int64
	EventID    string
	Channel    Channel
	InvestorID string
	EventType  string
	Template   string // name@version
	Recipient  string // address, number or device token
	Subject    string
	Body       string
	Urgent     bool
	NotBefore  time.Time // quiet hours push a non-urgent message to their end
	Attempts   int
	// DigestEvent is set on a row sent inside a digest: the event id the
	// digest's Message-ID derives from ("digest:" + its first row's event).
	DigestEvent string
}

// MessageID is the stable Message-ID (without angle brackets) of a
// notification: the same (event, channel) always gets the same one, so the
// receiving side, and our crash reconciliation, can tell a resend.
func MessageID(eventID string, ch Channel) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + string(ch)))
	return hex.EncodeToString(h[:12]) + "." + string(ch) + "@fundflow.notify"
}

// SMSRef is the reference an SMS carries at its end, derived from the
// event as the Message-ID is: the same (event, SMS) always gets the same
// one, and two messages never share one however alike their texts. The
// gateway has no idempotency key and chooses the message id itself, so the
// reference in the text is what tells, after a crash, which of two
// identical texts to one number the gateway already has (TwilioConfirmer);
// an investor can quote it too.
func SMSRef(eventID string) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + string(SMS)))
	return strings.ToUpper(hex.EncodeToString(h[:5]))
}

// SMSText is the text an SMS goes out with: the body and its reference.
func SMSText(n Notification) string {
	return strings.TrimRight(n.Body, " \n") + " Ref " + SMSRef(n.EventID)
}

// Unconfirmed is what becomes of a row a killed run left 'sending' when its
// provider cannot be asked whether it arrived (an SMTP server without a
// search API): the at-most-once or the at-least-once side of the gap.
type Unconfirmed string

// The policies. UnconfirmedFail is the default: the contract is
// never twice, and a failed row is not lost (a dead letter an operator
// sees and replays). UnconfirmedResend suits a deployment where a late or
// missing message costs more than a duplicate: the resend carries the same
// Message-ID, which receiving systems that collapse duplicates use.
const (
	UnconfirmedFail   Unconfirmed = "fail"
	UnconfirmedResend Unconfirmed = "resend"
)

// DeadLetter is an event or a notification that could not be delivered,
// with the reason a person can act on.
type DeadLetter struct {
	EventID        string
	Channel        Channel // "" when the event itself could not be planned
	NotificationID int64   // 0 when no row was made
	Reason         string
	Payload        []byte
}

// Plan is what planning made of one event: its notifications, or the dead
// letter that says why it has none; neither when the investor opted out or
// the event is not one investors hear about.
type Plan struct {
	EventID string
	Rows    []Notification
	Dead    *DeadLetter
}

// PermanentError is a provider's answer that retrying cannot change (a bad
// address, a rejected request): the row goes to dead letter at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a provider asking us to wait (HTTP 429 with
// Retry-After): the backoff is at least After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says retrying is pointless.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
