package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// planEvent is the payload of a plan's <kind>.instalment.<step> (and
// <kind>.cancelled) outbox event as the facts read it: the wire format, not
// the plans service's Go type, so the facts depend on the contract alone.
type planEvent struct {
	EventID          string `json:"event_id"`
	PlanID           string `json:"plan_id"`
	Kind             string `json:"kind"`
	InvestorID       string `json:"investor_id"`
	FolioNo          string `json:"folio_no"`
	SchemeCode       string `json:"scheme_code"`
	ToSchemeCode     string `json:"to_scheme_code"`
	Seq              int64  `json:"seq"`
	NominalDate      string `json:"nominal_date"`
	DueDate          string `json:"due_date"`
	Amount           string `json:"amount"`
	Status           string `json:"status"`
	Reason           string `json:"reason"`
	Detail           string `json:"detail"`
	GatewayOrderID   string `json:"gateway_order_id"`
	GatewayPaymentID string `json:"gateway_payment_id"`
	OrderID          string `json:"order_id"`
	At               string `json:"at"`
}

// statusRank orders an instalment's statuses along its forward-only status
// machine (016_plans.sql): due → presented → paid → allotted, presented or
// paid → failed, due → skipped or dropped, paid → in_wallet (a wallet
// SIP whose auto-invest bought nothing). Within one second the higher
// rank is the later state.
var statusRank = map[string]uint64{"due": 1, "presented": 2, "paid": 3, "failed": 4, "allotted": 5, "in_wallet": 5, "skipped": 6, "dropped": 6}

var planKinds = []string{"sip", "stp", "swp"}

// PlanTopic reports whether topic is a systematic plan's event the facts
// take: <kind>.instalment.<step> or <kind>.cancelled, kind sip, stp or swp.
func PlanTopic(topic string) bool {
	kind, rest, ok := strings.Cut(topic, ".")
	if !ok || !slices.Contains(planKinds, kind) {
		return false
	}
	return rest == "cancelled" || strings.HasPrefix(rest, "instalment.")
}

// PlanFact is one plan_instalments row (bank and loaded_at are the sink's).
type PlanFact struct {
	PlanID, Kind, InvestorID, FolioNo, SchemeCode, ToSchemeCode string
	Seq                                                         uint32
	NominalDate, DueDate                                        fund.Date
	Amount                                                      decimal.Decimal
	Status, Reason, Detail                                      string
	GatewayOrderID, GatewayPaymentID, OrderID                   string
	EventID                                                     string
	At                                                          time.Time
	Version                                                     uint64
}

// DecodePlanFact reads a plan event's instalment fact. ok is false for an
// event about no instalment (a plan's cancellation without a due date, an
// event of another topic); an error says why a plan event is unusable
// (the facts relay quarantines it).
func DecodePlanFact(e fund.OutboxEvent) (f PlanFact, ok bool, err error) {
	if !PlanTopic(e.Topic) {
		return f, false, nil
	}
	var p planEvent
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return f, false, fmt.Errorf("payload: %w", err)
	}
	if p.DueDate == "" && strings.HasSuffix(e.Topic, ".cancelled") {
		return f, false, nil // the plan's, not an instalment's: its instalments report their own steps
	}
	f = PlanFact{PlanID: p.PlanID, Kind: p.Kind, InvestorID: p.InvestorID, FolioNo: p.FolioNo, SchemeCode: p.SchemeCode,
		ToSchemeCode: p.ToSchemeCode, Status: p.Status, Reason: p.Reason, Detail: p.Detail, GatewayOrderID: p.GatewayOrderID,
		GatewayPaymentID: p.GatewayPaymentID, OrderID: p.OrderID, EventID: p.EventID}
	if f.EventID == "" {
		f.EventID = e.EventID
	}
	if f.PlanID == "" || !slices.Contains(planKinds, f.Kind) {
		return f, false, fmt.Errorf("plan %q of kind %q: want a plan id and sip, stp or swp", p.PlanID, p.Kind)
	}
	if p.Seq < 1 || p.Seq > 1<<31 {
		return f, false, fmt.Errorf("seq %d: want 1 or more", p.Seq)
	}
	f.Seq = uint32(p.Seq)
	if f.DueDate, err = fund.ParseISODate(p.DueDate); err != nil {
		return f, false, fmt.Errorf("due_date: %w", err)
	}
	if f.NominalDate, err = fund.ParseISODate(p.NominalDate); err != nil {
		return f, false, fmt.Errorf("nominal_date: %w", err)
	}
	// Exact to the paisa, as the plans service writes it: never rounded here.
	if f.Amount, err = decimal.NewFromString(p.Amount); err != nil || f.Amount.Sign() <= 0 || f.Amount.Exponent() < -fund.AmountScale {
		return f, false, fmt.Errorf("amount %q: want a positive amount with at most %d decimals", p.Amount, fund.AmountScale)
	}
	rank, known := statusRank[f.Status]
	if !known {
		return f, false, fmt.Errorf("status %q is not an instalment status", f.Status)
	}
	if f.At, err = time.Parse(time.RFC3339Nano, p.At); err != nil {
		return f, false, fmt.Errorf("at: %w", err)
	}
	f.At = f.At.UTC().Truncate(time.Second)
	f.Version = uint64(f.At.Unix())*16 + rank
	return f, true, nil
}

// PlanBanks names the bank of each SIP plan's mandate (the events do not
// carry it). Plans it does not know are left out.
type PlanBanks interface {
	BankNames(ctx context.Context, planIDs []string) (map[string]string, error)
}

// PlanFacts copies the plans service's instalment events into the
// plan_instalments fact table, one row per (plan, due date) in its latest
// state (ReplacingMergeTree on the event's version: a batch copied twice,
// or events that arrive out of order, give the same rows after FINAL).
type PlanFacts struct {
	Conn  driver.Conn
	Banks PlanBanks        // required when a batch has SIP events
	Now   func() time.Time // loaded_at; default time.Now
}

// Name labels the sink's metrics.
func (PlanFacts) Name() string { return "clickhouse-plan-instalments" }

// Write inserts the batch's instalment facts as one block; other events are
// skipped. The facts relay's stage has quarantined the unusable ones, so
// an event that does not decode here fails the batch.
func (s PlanFacts) Write(ctx context.Context, b pipelines.Batch[fund.OutboxEvent]) error {
	var facts []PlanFact
	var sips []string
	for _, e := range b.Items {
		f, ok, err := DecodePlanFact(e)
		if err != nil {
			return fmt.Errorf("clickhouse: plan event %s: %w", e.EventID, err)
		}
		if !ok {
			continue
		}
		facts = append(facts, f)
		if f.Kind == "sip" {
			sips = append(sips, f.PlanID)
		}
	}
	if len(facts) == 0 {
		return nil
	}
	banks := map[string]string{}
	if len(sips) > 0 {
		slices.Sort(sips)
		var err error
		if banks, err = s.Banks.BankNames(ctx, slices.Compact(sips)); err != nil {
			return fmt.Errorf("clickhouse: plan instalments: banks: %w", err)
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loaded := now().UTC().Truncate(time.Second)
	batch, err := s.Conn.PrepareBatch(ctx, `INSERT INTO plan_instalments (plan_id, kind, investor_id, folio_no, scheme_code,
		to_scheme_code, bank, seq, nominal_date, due_date, amount, status, reason, detail, gateway_order_id, gateway_payment_id,
		order_id, event_id, event_at, version, loaded_at)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare plan instalments: %w", err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, f := range facts {
		if err := batch.Append(f.PlanID, f.Kind, f.InvestorID, f.FolioNo, f.SchemeCode, f.ToSchemeCode, banks[f.PlanID], f.Seq,
			f.NominalDate.Time(), f.DueDate.Time(), f.Amount, f.Status, f.Reason, f.Detail, f.GatewayOrderID, f.GatewayPaymentID,
			f.OrderID, f.EventID, f.At, f.Version, loaded); err != nil {
			return fmt.Errorf("clickhouse: append plan instalment %s %s: %w", f.PlanID, f.DueDate, err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send plan instalments: %w", err))
	}
	return nil
}
