package fraud

import (
	"errors"
	"fmt"
	"slices"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/fundflow/fundflow/fund"
)

// Topics the evaluation reads.
const (
	TopicInvestorsChanged = "investors.changed"     // the KYC engineer's contract (notes/events-contract.md)
	TopicPayments         = fund.TopicPaymentStatus // a payment's new status: PaymentStatus (the ledger emits it)
	TopicAlertRaised      = "fraud.alert.raised"
)

// ErrIgnored: the message is well formed but no rule looks at it (an
// order's later status, a captured payment); it moves the position and
// nothing else.
var ErrIgnored = errors.New("no rule looks at this event")

// InvestorChanged is the investors.changed payload.
type InvestorChanged struct {
	EventID       string            `json:"event_id"`
	InvestorID    string            `json:"investor_id"`
	ChangeSeq     int64             `json:"change_seq"`
	Fields        []string          `json:"fields"`
	Fingerprints  map[string]string `json:"fingerprints"`
	KYCStatus     string            `json:"kyc_status"`
	Channel       string            `json:"channel"`
	EffectiveFrom string            `json:"effective_from"`
	At            string            `json:"at"`
}

// PaymentStatus is a payment's status change as the fraud stream reads it
// (payments.status, emitted by the ledger with the payment row, keyed by
// investor).
type PaymentStatus = fund.PaymentStatusChanged

// OrderPlaced is the fraud stream's view of a new order leg: an
// orders.status event of a leg's first status, with what the rules need
// that the event does not carry (the investor, the value, the holdings)
// filled in from the ledger (pgstore.Enrich), or by the generator.
type OrderPlaced struct {
	fund.OrderStatusChanged
	InvestorID string `json:"investor_id,omitempty"`
	Value      string `json:"value,omitempty"`    // the order's value in rupees (a redemption by units at the latest NAV)
	Holdings   string `json:"holdings,omitempty"` // the investor's holdings value before it
}

// placedStatus: the status a leg is first announced with, by kind (a
// purchase waits for its payment, a redemption goes to pending_nav, a
// switch-in waits for its switch-out); later statuses are ignored.
func placedStatus(kind, status string) bool {
	switch kind {
	case "purchase":
		return status == "awaiting_payment"
	case "redemption", "switch_out":
		return status == "pending_nav"
	}
	return false
}

// Decode types one message of the fraud stream. lineage is where it came
// from (kafka:<topic>/<partition>/<offset>). A malformed message is an
// error naming the field (quarantine); ErrIgnored is a message no rule
// reads.
func Decode(topic string, value []byte, lineage string) (Event, error) {
	switch topic {
	case TopicInvestorsChanged:
		var p InvestorChanged
		if err := strictJSON(value, &p); err != nil {
			return Event{}, err
		}
		if p.EventID == "" || p.InvestorID == "" {
			return Event{}, errors.New("event_id and investor_id are required")
		}
		at, err := parseAt("effective_from", p.EffectiveFrom)
		if err != nil {
			return Event{}, err
		}
		for f := range p.Fingerprints {
			if !slices.Contains(p.Fields, f) {
				return Event{}, fmt.Errorf("fingerprints.%s: a fingerprint of a field the change did not touch", f)
			}
		}
		return Event{ID: p.EventID, Lineage: lineage, Kind: EventProfile, InvestorID: p.InvestorID, At: at,
			Fields: p.Fields, Fingerprints: p.Fingerprints}, nil
	case TopicPayments:
		var p PaymentStatus
		if err := strictJSON(value, &p); err != nil {
			return Event{}, err
		}
		if p.EventID == "" {
			return Event{}, errors.New("event_id is required")
		}
		// Only failed payments are read, and only those of a known investor:
		// an unmatched payment without notes.investor_id is no one's.
		if p.Status != "failed" || p.InvestorID == "" {
			return Event{}, ErrIgnored
		}
		at, err := parseAt("at", p.At)
		if err != nil {
			return Event{}, err
		}
		amt, err := parseExact(p.Amount)
		if err != nil {
			return Event{}, fmt.Errorf("amount: %w", err)
		}
		return Event{ID: p.EventID, Lineage: lineage, Kind: EventPayment, InvestorID: p.InvestorID, FolioNo: p.FolioNo,
			OrderID: p.OrderID, At: at, Amount: amt, PaymentFailed: true}, nil
	case fund.TopicOrderStatus:
		var p OrderPlaced
		if err := jsonv2.Unmarshal(value, &p, v1Like); err != nil {
			return Event{}, fmt.Errorf("not an orders.status event: %w", err)
		}
		if p.EventID == "" || p.OrderID == "" {
			return Event{}, errors.New("event_id and order_id are required")
		}
		if !placedStatus(p.Kind, p.Status) {
			return Event{}, ErrIgnored
		}
		at, err := parseAt("at", p.At)
		if err != nil {
			return Event{}, err
		}
		ev := Event{ID: p.EventID, Lineage: lineage, Kind: EventOrder, InvestorID: p.InvestorID, FolioNo: p.Folio,
			OrderID: p.OrderID, OrderKind: p.Kind, At: at}
		if p.Value != "" {
			if ev.Amount, err = parseExact(p.Value); err != nil {
				return Event{}, fmt.Errorf("value: %w", err)
			}
		}
		if p.Holdings != "" {
			if ev.Holdings, err = fund.ParseAmount(p.Holdings); err != nil {
				return Event{}, fmt.Errorf("holdings: %w", err)
			}
		}
		return ev, nil
	}
	return Event{}, fmt.Errorf("topic %q is not one the fraud evaluation reads", topic)
}

// NeedsEnrich: an order event the ledger must fill in (investor, value,
// holdings) before the rules see it.
func (e Event) NeedsEnrich() bool { return e.Kind == EventOrder && e.InvestorID == "" }

func strictJSON(b []byte, v any) error {
	if err := jsonv2.Unmarshal(b, v, v1Like); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}

// v1Like: what encoding/json accepted, on the faster decoder (names in
// any case, a repeated name's last value, invalid UTF-8 replaced).
var v1Like = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

func parseAt(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time", field, s)
	}
	if err := CheckTime(t); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err) // a window keeps Unix nanoseconds
	}
	return t.UTC(), nil
}

// parseExact parses an amount a window keeps as integer paise: more than
// two decimals (fund.ErrTooManyDecimals) or more paise than an int64 holds
// is refused (the message is quarantined), never rounded.
func parseExact(s string) (fund.Amount, error) {
	a, err := fund.ParseAmount(s)
	if err != nil {
		return fund.Amount{}, err
	}
	if _, err := PaiseOf(a); err != nil {
		return fund.Amount{}, err
	}
	return a, nil
}
