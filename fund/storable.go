package fund

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// What the stores can hold. Input that breaks one of these can never be
// stored, however often it is sent again, so every connector (HTTP orders,
// Kafka orders, webhooks) checks it with the functions below BEFORE it opens
// a transaction, and refuses the input with a stable reason instead of
// failing the transaction (which a client or a consumer would retry forever).
//
// The limits are the column types of sql/postgres (003_orders_ledger.sql):
// money is numeric(18,2), units numeric(24,9). A test
// (TestStorableLimitsMatchColumns) reads the columns' precision and scale
// from the database and checks these constants against them.
const (
	AmountPrecision  = 18 // numeric(18,2): orders.amount, payments.amount, ledger amounts
	UnitsPrecision   = 24 // numeric(24,9): orders.units, holdings, lots
	UnitsColumnScale = 9
)

// Stable reasons of input that can never be stored.
const (
	ReasonBadEncoding = "bad_encoding" // not UTF-8, or a NUL character (Postgres text holds neither)
	ReasonOutOfRange  = "out_of_range" // a number the column cannot hold
)

var (
	// MaxAmount is the largest amount numeric(18,2) holds: 9999999999999999.99.
	MaxAmount = decimal.New(1, AmountPrecision-AmountScale).Sub(decimal.New(1, -AmountScale))
	// MaxUnits is the largest unit count numeric(24,9) holds.
	MaxUnits = decimal.New(1, UnitsPrecision-UnitsColumnScale).Sub(decimal.New(1, -UnitsColumnScale))
)

// InputError says why an input can never be stored: a stable Reason and a
// Detail a person can act on (itself safe to store).
type InputError struct {
	Reason string
	Detail string
}

func (e *InputError) Error() string { return e.Reason + ": " + e.Detail }

func inputErr(reason, format string, args ...any) *InputError {
	return &InputError{Reason: reason, Detail: SafeText(fmt.Sprintf(format, args...))}
}

// CheckText refuses a string that Postgres text cannot hold: invalid UTF-8
// or a NUL character. field names it in the detail.
func CheckText(field, s string) *InputError {
	if !utf8.ValidString(s) {
		return inputErr(ReasonBadEncoding, "%s %q is not valid UTF-8", field, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return inputErr(ReasonBadEncoding, "%s %q contains a NUL character", field, s)
	}
	return nil
}

// CheckAmount refuses an amount whose magnitude a money column cannot hold.
func CheckAmount(field string, d decimal.Decimal) *InputError {
	if d.Abs().GreaterThan(MaxAmount) {
		return inputErr(ReasonOutOfRange, "%s %s is beyond the largest amount stored (%s)", field, d.StringFixed(AmountScale), MaxAmount.StringFixed(AmountScale))
	}
	return nil
}

// CheckUnits refuses a unit count a units column cannot hold.
func CheckUnits(field string, d decimal.Decimal) *InputError {
	if d.Abs().GreaterThan(MaxUnits) {
		return inputErr(ReasonOutOfRange, "%s %s is beyond the largest unit count stored (%s)", field, d, MaxUnits)
	}
	if !d.Equal(d.Truncate(UnitsColumnScale)) {
		return inputErr(ReasonOutOfRange, "%s %s has more than %d decimals", field, d, UnitsColumnScale)
	}
	return nil
}

// SafeText makes s storable as text for a message or a reason: invalid
// UTF-8 becomes U+FFFD and a NUL becomes the two characters \0.
func SafeText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\0`)
}

// TimeSource says which clock an input's effective time came from.
type TimeSource string

// Time sources.
const (
	TimeClient   TimeSource = "client"   // the sender's time stamp, within the allowed skew of our receipt
	TimeReceived TimeSource = "received" // our receipt time: the sender's was missing, too old or after the receipt
)

// EffectiveTime decides the time an input counts as made: the sender's
// claimed time when it lies within maxSkew before our receipt time (never
// after it, whatever the skew), else the receipt time. SEBI's cut-off rules
// run on the time the platform received an order; a client's time stamp is
// only trusted as a more precise record of that within the skew. A zero
// receipt time (a caller that did not stamp one) keeps the claimed time.
func EffectiveTime(claimed, received time.Time, maxSkew time.Duration) (time.Time, TimeSource) {
	if received.IsZero() {
		return claimed, TimeClient
	}
	if claimed.IsZero() || claimed.After(received) || received.Sub(claimed) > maxSkew {
		return received, TimeReceived
	}
	return claimed, TimeClient
}
