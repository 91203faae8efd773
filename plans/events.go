package plans

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// The steps of an instalment that are events on the outbox, topic
// <kind>.instalment.<step> (sip.instalment.due, stp.instalment.paid, …).
const (
	StepDue       = "due"       // generated, the pre-debit notification
	StepPresented = "presented" // sip: debit sent to the gateway; stp/swp: order placed
	StepPaid      = "paid"      // sip: debit captured
	StepFailed    = "failed"    // debit failed or order rejected (reason, detail)
	StepAllotted  = "allotted"  // the order's units are allotted
	StepInWallet  = "in_wallet" // into a wallet: its auto-invest bought nothing, the money stays there
)

// InstalmentEvent is the payload of every <kind>.instalment.<step> event:
// the contract shared by the instalment run, settlement and the ClickHouse
// facts. Every key is always present (empty string when it does not apply).
// Amount is a decimal string with two places; dates are YYYY-MM-DD; At is
// RFC 3339 UTC.
type InstalmentEvent struct {
	EventID          string `json:"event_id"`
	PlanID           string `json:"plan_id"`
	Kind             string `json:"kind"` // sip, stp, swp
	InvestorID       string `json:"investor_id"`
	FolioNo          string `json:"folio_no"`
	SchemeCode       string `json:"scheme_code"`
	ToSchemeCode     string `json:"to_scheme_code"`
	Seq              int    `json:"seq"`
	NominalDate      string `json:"nominal_date"`
	DueDate          string `json:"due_date"`
	Amount           string `json:"amount"`
	Status           string `json:"status"` // the plan_instalments status the step left
	Reason           string `json:"reason"`
	Detail           string `json:"detail"`
	GatewayOrderID   string `json:"gateway_order_id"`
	GatewayPaymentID string `json:"gateway_payment_id"`
	OrderID          string `json:"order_id"`
	At               string `json:"at"`
}

// InstalmentFacts is what an instalment event reports: the plan's identity
// and the instalment row as the step left it.
type InstalmentFacts struct {
	PlanID, Kind, InvestorID, FolioNo, SchemeCode, ToSchemeCode string
	Seq                                                         int
	NominalDate, DueDate                                        fund.Date
	Amount                                                      decimal.Decimal
	Status, Reason, Detail                                      string
	GatewayOrderID, GatewayPaymentID, OrderID                   string
}

// InstalmentTopic returns the outbox topic of step for a plan of kind.
func InstalmentTopic(kind, step string) string { return kind + ".instalment." + step }

// InstalmentEventID is the event id of step for the instalment (plan, due
// date): topic:plan_id:due_date, one per step, so a consumer dedupes on it
// and the outbox's unique event_id makes a repeated write a no-op.
func InstalmentEventID(topic, planID string, due fund.Date) string {
	return topic + ":" + planID + ":" + isoDate(due)
}

// isoDate is due.String() without fmt: the run formats millions of dates.
func isoDate(d fund.Date) string {
	if d.Year < 0 || d.Year > 9999 {
		return d.String()
	}
	var b [10]byte
	y, m, dd := d.Year, int(d.Month), d.Day
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[4], b[5], b[6] = '-', byte('0'+m/10), byte('0'+m%10)
	b[7], b[8], b[9] = '-', byte('0'+dd/10), byte('0'+dd%10)
	return string(b[:])
}

// AppendJSON appends e's JSON, byte for byte what json.Marshal(e) gives,
// without reflection (the instalment run writes a million of them).
func (e *InstalmentEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"event_id":`...)
	b = appendJSONString(b, e.EventID)
	for _, f := range [...]struct{ k, v string }{
		{`,"plan_id":`, e.PlanID}, {`,"kind":`, e.Kind}, {`,"investor_id":`, e.InvestorID},
		{`,"folio_no":`, e.FolioNo}, {`,"scheme_code":`, e.SchemeCode}, {`,"to_scheme_code":`, e.ToSchemeCode},
	} {
		b = append(b, f.k...)
		b = appendJSONString(b, f.v)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(e.Seq), 10)
	for _, f := range [...]struct{ k, v string }{
		{`,"nominal_date":`, e.NominalDate}, {`,"due_date":`, e.DueDate}, {`,"amount":`, e.Amount},
		{`,"status":`, e.Status}, {`,"reason":`, e.Reason}, {`,"detail":`, e.Detail},
		{`,"gateway_order_id":`, e.GatewayOrderID}, {`,"gateway_payment_id":`, e.GatewayPaymentID},
		{`,"order_id":`, e.OrderID}, {`,"at":`, e.At},
	} {
		b = append(b, f.k...)
		b = appendJSONString(b, f.v)
	}
	return append(b, '}')
}

// appendJSONString quotes s as encoding/json does: plain printable ASCII
// as is, anything else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// NewInstalmentEvent returns the topic, the outbox key (the folio) and the
// payload of step for the instalment f, stamped at.
func NewInstalmentEvent(step string, f InstalmentFacts, at time.Time) (topic, key string, ev InstalmentEvent) {
	topic = InstalmentTopic(f.Kind, step)
	return topic, f.FolioNo, InstalmentEvent{
		EventID:          InstalmentEventID(topic, f.PlanID, f.DueDate),
		PlanID:           f.PlanID,
		Kind:             f.Kind,
		InvestorID:       f.InvestorID,
		FolioNo:          f.FolioNo,
		SchemeCode:       f.SchemeCode,
		ToSchemeCode:     f.ToSchemeCode,
		Seq:              f.Seq,
		NominalDate:      isoDate(f.NominalDate),
		DueDate:          isoDate(f.DueDate),
		Amount:           f.Amount.StringFixed(2),
		Status:           f.Status,
		Reason:           f.Reason,
		Detail:           f.Detail,
		GatewayOrderID:   f.GatewayOrderID,
		GatewayPaymentID: f.GatewayPaymentID,
		OrderID:          f.OrderID,
		At:               at.UTC().Format(time.RFC3339),
	}
}
