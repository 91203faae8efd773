package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
)

// Investor is what the read model tells about an investor: where to reach
// them. PAN and bank account are never read here.
type Investor struct {
	ID, Name, Email, Phone string
}

// ReadModel is what planning reads besides the event.
type ReadModel interface {
	// Investor returns the investor, or ErrUnknownInvestor.
	Investor(ctx context.Context, id string) (Investor, error)
	// FolioInvestor returns the investor of a folio, or ErrUnknownInvestor.
	FolioInvestor(ctx context.Context, folio string) (string, error)
	// SchemeName returns a scheme's name ("" when unknown: the code is shown).
	SchemeName(ctx context.Context, code string) (string, error)
}

// ErrUnknownInvestor: the event names an investor (or folio) we do not know.
var ErrUnknownInvestor = errors.New("unknown investor")

// Common is in every message's data. Folio is masked.
type Common struct {
	InvestorName string
	Folio        string // masked: XXXXXX7890
}

// TransactionData is a transactions.completed message's data: every amount
// is already written as ₹ with Indian grouping, units and NAV as text.
type TransactionData struct {
	Common
	Kind       string // purchase, redemption, switch_out, switch_in
	SchemeName string
	Units      string
	NAV        string // ₹
	NAVDate    string
	Amount     string // ₹
	NetAmount  string // ₹
	StampDuty  string // ₹
	OrderID    string
}

// OrderStatusData is an orders.status message's data.
type OrderStatusData struct {
	Common
	Kind       string
	SchemeName string
	Status     string
	Reason     string
	OrderID    string
}

// InstalmentData is a SIP instalment message's data.
type InstalmentData struct {
	Common
	PlanID     string
	SchemeName string
	Amount     string // ₹
	DueDate    string
	Reason     string
}

// ProfileChangeData is an investors.changed message's data: which contact
// or bank details changed (never the values), for the investor to raise
// the alarm if it was not them.
type ProfileChangeData struct {
	Common
	Changed string // "bank account, mobile"
	At      string // IST, "05 Dec 2026 10:00 IST"
	// Majority: the change is a minor's 18th birthday (the KYC gate's
	// minor_attained_majority: tax_status on the KRA feed's channel), not
	// a contact or bank change. Transactions stop until the record is the
	// investor's own.
	Majority bool
}

// Planned is an event read and rendered-ready: whose it is, its kind, the
// template data and the values that must not appear in any message.
type Planned struct {
	Skip     bool // nothing to tell (no message, no dead letter)
	Investor Investor
	Kind     Kind
	Data     any
	Secrets  []string
}

// Spec is one event type the pipeline knows.
type Spec struct {
	Type   string
	Kind   Kind // the default; Build may make one event urgent
	Sample any  // a filled value of the data type, to check templates at load
	Build  func(ctx context.Context, payload []byte, rm ReadModel) (Planned, error)
}

// MalformedError: the event's payload cannot be read (dead letter).
type MalformedError struct{ Err error }

func (e *MalformedError) Error() string { return "malformed event: " + e.Err.Error() }
func (e *MalformedError) Unwrap() error { return e.Err }

func decode(payload []byte, v any, required ...string) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return &MalformedError{err}
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(payload, &m)
	for _, k := range required {
		if raw, ok := m[k]; !ok || string(raw) == `""` || string(raw) == "null" {
			return &MalformedError{fmt.Errorf("%s: required", k)}
		}
	}
	return nil
}

func amount(field, s string) (string, error) {
	a, err := fund.ParseAmount(s) // an event amount has 2 decimals: more is malformed, not rounded
	if err != nil {
		return "", &MalformedError{fmt.Errorf("%s: %w", field, err)}
	}
	return fund.FormatINR(a), nil
}

func schemeName(ctx context.Context, rm ReadModel, code string) (string, error) {
	n, err := rm.SchemeName(ctx, code)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "scheme " + code, nil
	}
	return n, nil
}

func common(ctx context.Context, rm ReadModel, investorID, folio string) (Common, Investor, error) {
	inv, err := rm.Investor(ctx, investorID)
	if err != nil {
		return Common{}, Investor{}, err
	}
	return Common{InvestorName: inv.Name, Folio: pii.Mask(folio)}, inv, nil
}

var specs = []Spec{
	{
		Type: fund.TopicTransactions, Kind: Kind{Regulatory: true}, // SEBI: every allotment is confirmed to the investor
		Sample: TransactionData{Common{"A", "XXXX1"}, "purchase", "S", "1.000", "₹1.0000", "2026-01-01", "₹1.00", "₹1.00", "₹0.00", "O"},
		Build: func(ctx context.Context, payload []byte, rm ReadModel) (Planned, error) {
			var e fund.TransactionCompleted
			if err := decode(payload, &e, "event_id", "investor_id", "folio", "scheme_code", "nav", "units", "amount"); err != nil {
				return Planned{}, err
			}
			c, inv, err := common(ctx, rm, e.InvestorID, e.Folio)
			if err != nil {
				return Planned{}, err
			}
			d := TransactionData{Common: c, Kind: e.Kind, NAVDate: e.NAVDate, OrderID: e.OrderID}
			if d.SchemeName, err = schemeName(ctx, rm, e.SchemeCode); err != nil {
				return Planned{}, err
			}
			nav, err := fund.ParseNAV(e.NAV)
			if err != nil {
				return Planned{}, &MalformedError{fmt.Errorf("nav: %w", err)}
			}
			d.NAV = "₹" + nav.String()
			if _, err := fund.ParseUnits(e.Units, 9); err != nil {
				return Planned{}, &MalformedError{fmt.Errorf("units: %w", err)}
			}
			d.Units = e.Units
			for _, f := range []struct {
				name, in string
				out      *string
			}{{"amount", e.Amount, &d.Amount}, {"net_amount", e.NetAmount, &d.NetAmount}, {"stamp_duty", e.StampDuty, &d.StampDuty}} {
				if f.in == "" {
					f.in = "0"
				}
				if *f.out, err = amount(f.name, f.in); err != nil {
					return Planned{}, err
				}
			}
			return Planned{Investor: inv, Kind: Kind{Regulatory: true}, Data: d, Secrets: []string{e.Folio}}, nil
		},
	},
	{
		Type: fund.TopicOrderStatus, Kind: Kind{},
		Sample: OrderStatusData{Common{"A", "XXXX1"}, "purchase", "S", "rejected", "R", "O"},
		Build: func(ctx context.Context, payload []byte, rm ReadModel) (Planned, error) {
			var e fund.OrderStatusChanged
			if err := decode(payload, &e, "event_id", "folio", "status"); err != nil {
				return Planned{}, err
			}
			id, err := rm.FolioInvestor(ctx, e.Folio)
			if err != nil {
				return Planned{}, err
			}
			c, inv, err := common(ctx, rm, id, e.Folio)
			if err != nil {
				return Planned{}, err
			}
			d := OrderStatusData{Common: c, Kind: e.Kind, Status: e.Status, Reason: e.Reason, OrderID: e.OrderID}
			if d.SchemeName, err = schemeName(ctx, rm, e.SchemeCode); err != nil {
				return Planned{}, err
			}
			// A rejected order (a failed payment among the reasons) cannot wait for the morning.
			k := Kind{Urgent: e.Status == string(fund.Rejected)}
			return Planned{Investor: inv, Kind: k, Data: d, Secrets: []string{e.Folio}}, nil
		},
	},
	{
		// The investor master's change event (contract: notes/events-contract.md).
		// A change of bank account, mobile or email is a security notice: urgent
		// (a mule swap happens at night) and not optable.
		Type: "investors.changed", Kind: Kind{Urgent: true, Regulatory: true},
		Sample: ProfileChangeData{Common{"A", ""}, "bank account", "05 Dec 2026 10:00 IST", false},
		Build: func(ctx context.Context, payload []byte, rm ReadModel) (Planned, error) {
			var e struct {
				EventID    string   `json:"event_id"`
				InvestorID string   `json:"investor_id"`
				Fields     []string `json:"fields"`
				Channel    string   `json:"channel"`
				At         string   `json:"at"`
			}
			if err := decode(payload, &e, "event_id", "investor_id", "at"); err != nil {
				return Planned{}, err
			}
			at, err := time.Parse(time.RFC3339Nano, e.At)
			if err != nil {
				return Planned{}, &MalformedError{fmt.Errorf("at: %w", err)}
			}
			var changed []string
			majority := false
			for _, f := range e.Fields {
				switch f {
				case "bank_account", "mobile", "email":
					changed = append(changed, strings.ReplaceAll(f, "_", " "))
				case "tax_status":
					// Only the KYC gate changes tax_status on the KRA feed's
					// channel: a minor turned 18 (investors.Gate.Majority).
					majority = e.Channel == channelKRAFeed
				}
			}
			if majority {
				c, inv, err := common(ctx, rm, e.InvestorID, "")
				if err != nil {
					return Planned{}, err
				}
				d := ProfileChangeData{Common: c, At: at.In(IST).Format("02 Jan 2006 15:04 IST"), Majority: true}
				return Planned{Investor: inv, Kind: Kind{Urgent: true, Regulatory: true}, Data: d}, nil
			}
			if len(changed) == 0 {
				return Planned{Skip: true}, nil // a change investors are not told about (address, name…)
			}
			c, inv, err := common(ctx, rm, e.InvestorID, "")
			if err != nil {
				return Planned{}, err
			}
			d := ProfileChangeData{Common: c, Changed: strings.Join(changed, ", "), At: at.In(IST).Format("02 Jan 2006 15:04 IST")}
			return Planned{Investor: inv, Kind: Kind{Urgent: true, Regulatory: true}, Data: d}, nil
		},
	},
	instalmentSpec("sip.instalment.due", Kind{Regulatory: true}), // the pre-debit notice a mandate requires
	instalmentSpec("sip.instalment.failed", Kind{Urgent: true}),  // a failed debit
	instalmentSpec("sip.instalment.allotted", Kind{}),
}

// channelKRAFeed is investors.ChannelKRAFeed (the investor master's
// contract, notes/events-contract.md), not imported: notify reads events,
// not the investors package.
const channelKRAFeed = "kra_feed"

// instalmentEvent is the part of plans.InstalmentEvent (the plans
// service's outbox contract) a message needs.
type instalmentEvent struct {
	EventID    string `json:"event_id"`
	PlanID     string `json:"plan_id"`
	InvestorID string `json:"investor_id"`
	FolioNo    string `json:"folio_no"`
	SchemeCode string `json:"scheme_code"`
	DueDate    string `json:"due_date"`
	Amount     string `json:"amount"`
	Reason     string `json:"reason"`
}

func instalmentSpec(topic string, k Kind) Spec {
	return Spec{
		Type: topic, Kind: k,
		Sample: InstalmentData{Common{"A", "XXXX1"}, "P", "S", "₹1.00", "2026-01-01", "R"},
		Build: func(ctx context.Context, payload []byte, rm ReadModel) (Planned, error) {
			var e instalmentEvent
			if err := decode(payload, &e, "event_id", "plan_id", "investor_id", "folio_no", "scheme_code", "amount"); err != nil {
				return Planned{}, err
			}
			c, inv, err := common(ctx, rm, e.InvestorID, e.FolioNo)
			if err != nil {
				return Planned{}, err
			}
			d := InstalmentData{Common: c, PlanID: e.PlanID, DueDate: e.DueDate, Reason: e.Reason}
			if d.SchemeName, err = schemeName(ctx, rm, e.SchemeCode); err != nil {
				return Planned{}, err
			}
			if d.Amount, err = amount("amount", e.Amount); err != nil {
				return Planned{}, err
			}
			return Planned{Investor: inv, Kind: k, Data: d, Secrets: []string{e.FolioNo}}, nil
		},
	}
}

// Specs lists the event types the pipeline knows.
func Specs() []Spec { return specs }

// SpecOf returns the spec of an event type.
func SpecOf(eventType string) (Spec, bool) {
	i := slices.IndexFunc(specs, func(s Spec) bool { return s.Type == eventType })
	if i < 0 {
		return Spec{}, false
	}
	return specs[i], true
}

// SpecTypes lists the known event types.
func SpecTypes() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Type
	}
	return out
}

// Topics is the SQL-ready list of topics the pipeline consumes.
func Topics() string { return strings.Join(SpecTypes(), ",") }
