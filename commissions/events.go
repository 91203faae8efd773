package commissions

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/pipelines"
)

// TxEvent is a transactions.completed event as the commission engine needs
// it: the event id and the ledger transaction it names (the facts are read
// from the ledger, not trusted from the message).
type TxEvent struct {
	EventID string
	TxID    int64
}

// EventResult counts what a batch wrote.
type EventResult struct {
	Lines     int // commission lines written
	Skipped   int // lines written before (a redelivered event)
	Published int // commission.calculated events
	Unknown   int // events naming no ledger transaction
}

// EventStore applies a batch of events in one transaction.
type EventStore interface {
	Table(ctx context.Context) (*commission.Table, error)
	Hierarchy(ctx context.Context) (*commission.Hierarchy, error)
	ApplyEvents(ctx context.Context, tb *commission.Table, h *commission.Hierarchy, evs []TxEvent) (EventResult, error)
}

// DecodeTxEvent types a transactions.completed payload; a malformed one is
// a *pipelines.RejectError (quarantined, the flow goes on).
func DecodeTxEvent(payload []byte) (TxEvent, error) {
	var tc fund.TransactionCompleted
	if err := json.Unmarshal(payload, &tc); err != nil {
		return TxEvent{}, pipelines.Reject("commission_event_invalid", "transactions.completed: %v", err)
	}
	if tc.EventID == "" || tc.TxID <= 0 {
		return TxEvent{}, pipelines.Reject("commission_event_invalid", "transactions.completed: event_id and a positive tx_id are required")
	}
	return TxEvent{EventID: tc.EventID, TxID: tc.TxID}, nil
}

// EventSink computes a batch's event commissions (EventStore.ApplyEvents
// with the brokerage table and hierarchy in force now); idempotent on
// redelivery, so the source commits its offsets or marks after it.
type EventSink struct {
	Store EventStore
	// OnResult, when set, sees every batch's counts (logs, tests).
	OnResult func(EventResult)
}

// Write implements pipelines.Sink.
func (s *EventSink) Write(ctx context.Context, b pipelines.Batch[TxEvent]) error {
	if len(b.Items) == 0 {
		return nil
	}
	tb, err := s.Store.Table(ctx)
	if err != nil {
		return fmt.Errorf("event commissions: brokerage table: %w", err)
	}
	h, err := s.Store.Hierarchy(ctx)
	if err != nil {
		return fmt.Errorf("event commissions: hierarchy: %w", err)
	}
	res, err := s.Store.ApplyEvents(ctx, tb, h, b.Items)
	if err != nil {
		return fmt.Errorf("event commissions: %w", err)
	}
	if s.OnResult != nil {
		s.OnResult(res)
	}
	return nil
}

// EventDay is a day's event amounts of one kind through one ARN, as posted
// to its bucket.
type EventDay struct {
	Day    fund.Date
	Bucket string
	ARN    string
	Kind   commission.EventKind
	Amount fund.Amount
	// SplitDay is a clawback's upfront's day: the hierarchy of that day
	// splits it (commission.EventBucketDay.SplitDay).
	SplitDay fund.Date
}

// Fact is one row of the analysts' commission facts (ClickHouse
// commission_facts): a day's accruals or event amounts of one kind by ARN,
// bucket, scheme and AMC, or a month's payout figure of a payee (Bucket the
// payee, Day the month's first day).
type Fact struct {
	Day      fund.Date
	Kind     string
	ARN      string
	Bucket   string
	Scheme   string
	AMC      string
	Holdings int
	AUM      decimal.Decimal
	Basis    decimal.Decimal
	Amount   decimal.Decimal
}
