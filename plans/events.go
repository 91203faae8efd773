package plans

import (
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
	return topic + ":" + planID + ":" + due.String()
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
		NominalDate:      f.NominalDate.String(),
		DueDate:          f.DueDate.String(),
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
