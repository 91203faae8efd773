package plans

import (
	"context"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
)

// SettleStore is what settling needs of the store.
type SettleStore interface {
	// FailedDebits lists (at most limit) presented SIP instalments whose
	// debit failed at the gateway while their purchase order still waits
	// for its payment.
	FailedDebits(ctx context.Context, limit int) ([]RunInstalment, error)
	// InSettleTx runs fn in one transaction.
	InSettleTx(ctx context.Context, fn func(SettleTx) error) error
}

// SettleTx is one settlement transaction: each method one set-based
// statement over the ledger's orders and payments, returning the
// instalments it moved (with their new status, reason and detail).
type SettleTx interface {
	// DebitsFailed: presented SIP instalments whose payment failed (and
	// whose order was not realised) → failed with the gateway's
	// error_code and error_description.
	DebitsFailed(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// Paid: presented SIP instalments whose order was realised by a
	// captured payment → paid.
	Paid(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// Allotted: presented or paid instalments whose order's legs are all
	// allotted → allotted.
	Allotted(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// WalletPaid: presented SIP instalments into a wallet whose debit's
	// captured payment the wallet credited as a deposit → paid.
	WalletPaid(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// WalletBroken: presented SIP instalments into a wallet whose captured
	// payment the wallet could not credit (closed or unknown: a
	// payment_breaks row) → failed with the break's reason; the money is
	// the break's to resolve, never lost.
	WalletBroken(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// WalletInvested: paid SIP instalments into a wallet whose deposit's
	// auto-invest run is placed and finished (each purchase allotted, or
	// refused or ended and its amount refunded to the wallet), with
	// something allotted → allotted.
	WalletInvested(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// WalletKept: the same, finished with nothing allotted (every purchase
	// refunded, or none to place) → in_wallet, with the reason: the money
	// is in the wallet, a successful debit, not a failure.
	WalletKept(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// WalletRefundedElsewhere: the same, finished with nothing allotted
	// and at least one purchase's money refunded outside the wallet (its
	// refund-due break resolved by operations, to the bank, before the
	// auto-invest sweep) → failed, reason refunded_elsewhere: the money is
	// not in the wallet, and the instalment invested nothing, as a scheme
	// SIP whose order the ledger ended.
	WalletRefundedElsewhere(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// OrdersFailed: presented or paid instalments with an order leg
	// rejected or cancelled → failed with the ledger's reason.
	OrdersFailed(ctx context.Context, at time.Time) ([]RunInstalment, error)
	// RecountFailures sets consecutive_failures of the SIP plans named: the
	// failed instalments after the last paid or allotted one, by due date.
	RecountFailures(ctx context.Context, planIDs []string, at time.Time) error
	// CancelPlans cancels the live plans whose mandate was cancelled or
	// rejected (mandate_cancelled) and the SIPs with maxFailures
	// consecutive failures (failed_debits); their due instalments not
	// claimed by a presentation (no idempotency key) are dropped.
	CancelPlans(ctx context.Context, at time.Time, maxFailures int) ([]CancelledPlan, error)
	// Complete completes the live plans whose instalments are all
	// generated (generated_all) and final; it returns how many.
	Complete(ctx context.Context, at time.Time) (int, error)
	// ResumeElapsed sets paused plans whose pauses are over (an instalment
	// after the last paused one exists) active again, each with an
	// audit_log row; it returns how many.
	ResumeElapsed(ctx context.Context, at time.Time) (int, error)
	// WriteEvents writes outbox rows (an event id seen before is skipped).
	WriteEvents(ctx context.Context, evs []ledger.Event) error
}

// CancelledPlan is a plan settlement cancelled.
type CancelledPlan struct {
	PlanID, Kind, InvestorID, Folio, Reason string
	Dropped                                 int // due instalments dropped
}

// Reasons an instalment into a wallet ends in_wallet.
const (
	ReasonOrdersRefunded  = "orders_refunded"   // every purchase refused or ended, its amount back in the wallet
	ReasonNothingToInvest = "nothing_to_invest" // the run placed nothing (its leftover's reason when it has one)
)

// ReasonRefundedElsewhere fails an instalment into a wallet whose
// purchases bought nothing and whose money (some of it) operations
// refunded outside the wallet: the break's resolution is its record.
const ReasonRefundedElsewhere = "refunded_elsewhere"

// Reasons a plan is cancelled by settlement.
const (
	ReasonFailedDebits     = "failed_debits"
	ReasonMandateCancelled = "mandate_cancelled"
)

// SettleStats counts what one settlement pass did.
type SettleStats struct {
	Paid            int64 `json:"paid"`
	Allotted        int64 `json:"allotted"`
	Failed          int64 `json:"failed"`
	InWallet        int64 `json:"in_wallet,omitempty"`        // SIP instalments into a wallet whose auto-invest bought nothing
	OrdersCancelled int64 `json:"orders_cancelled,omitempty"` // purchase orders of failed debits cancelled on the ledger
	PlansCancelled  int64 `json:"plans_cancelled,omitempty"`
	PlansCompleted  int64 `json:"plans_completed,omitempty"`
	PlansResumed    int64 `json:"plans_resumed,omitempty"` // paused plans whose pause ran its course
}

// Settle moves presented instalments on from what the ledger's orders and
// payments say: paid, allotted or failed, each with its event in the same
// transaction; it recounts the SIPs' consecutive failed debits, cancels the
// plans over Config.MaxFailures or whose mandate ended, and completes the
// bounded plans that are done. A failed debit's purchase order is cancelled
// on the ledger first, so that no order waits for ever (a capture that
// still comes is the ledger's cancelled_after_payment break: refund due).
func (s *Service) Settle(ctx context.Context) (SettleStats, error) {
	var st SettleStats
	n, err := s.cancelFailedDebits(ctx)
	st.OrdersCancelled = n
	if err != nil {
		return st, err
	}
	err = s.Store.InSettleTx(ctx, func(tx SettleTx) error {
		st = SettleStats{OrdersCancelled: n}
		at := s.now()
		var evs []ledger.Event
		recount := map[string]bool{}
		steps := []struct {
			status string
			run    func(context.Context, time.Time) ([]RunInstalment, error)
			count  *int64
		}{
			{"failed", tx.DebitsFailed, &st.Failed},
			{"paid", tx.Paid, &st.Paid},
			{"paid", tx.WalletPaid, &st.Paid},
			{"failed", tx.WalletBroken, &st.Failed},
			{"allotted", tx.Allotted, &st.Allotted},
			{"allotted", tx.WalletInvested, &st.Allotted},
			{InstInWallet, tx.WalletKept, &st.InWallet},
			{"failed", tx.WalletRefundedElsewhere, &st.Failed},
			{"failed", tx.OrdersFailed, &st.Failed},
		}
		for _, step := range steps {
			moved, err := step.run(ctx, at)
			if err != nil {
				return fmt.Errorf("instalments → %s: %w", step.status, err)
			}
			*step.count += int64(len(moved))
			for _, in := range moved {
				in.Status = step.status
				evs = append(evs, s.instalmentEvent(in, step.status))
				if in.Kind == "sip" {
					recount[in.PlanID] = true
				}
			}
		}
		if len(recount) > 0 {
			ids := make([]string, 0, len(recount))
			for id := range recount {
				ids = append(ids, id)
			}
			if err := tx.RecountFailures(ctx, ids, at); err != nil {
				return fmt.Errorf("consecutive failures: %w", err)
			}
		}
		cancelled, err := tx.CancelPlans(ctx, at, s.Config.Defaults().MaxFailures)
		if err != nil {
			return fmt.Errorf("cancel plans: %w", err)
		}
		st.PlansCancelled = int64(len(cancelled))
		for _, c := range cancelled {
			evs = append(evs, s.cancelledEvent(c, at))
		}
		resumed, err := tx.ResumeElapsed(ctx, at)
		if err != nil {
			return fmt.Errorf("resume plans: %w", err)
		}
		st.PlansResumed = int64(resumed)
		done, err := tx.Complete(ctx, at)
		if err != nil {
			return fmt.Errorf("complete plans: %w", err)
		}
		st.PlansCompleted = int64(done)
		if len(evs) == 0 {
			return nil
		}
		return tx.WriteEvents(ctx, evs)
	})
	if err != nil {
		return st, fmt.Errorf("settle: %w", err)
	}
	return st, nil
}

// cancelFailedDebits cancels the purchase orders of failed debits. The
// cancel's id is the instalment's, so a second run's is a duplicate.
func (s *Service) cancelFailedDebits(ctx context.Context) (int64, error) {
	var n int64
	for {
		ins, err := s.Store.FailedDebits(ctx, presentBatch)
		if err != nil {
			return n, fmt.Errorf("settle: failed debits: %w", err)
		}
		progressed := false
		for _, in := range ins {
			at := s.now()
			req := fund.OrderRequest{ID: "cancel-" + in.Key, Kind: fund.ReqCancel, TargetID: in.OrderID, InvestorID: in.InvestorID,
				Folio: in.Folio, PlacedAt: at}
			p, err := s.Orders.Place(ctx, fund.OrderIntake{Req: req, Source: "plans:" + in.PlanID, ReceivedAt: at, At: at, TimeSource: fund.TimeReceived})
			if err != nil {
				return n, fmt.Errorf("settle: cancel order %s of a failed debit: %w", in.OrderID, err)
			}
			if p.Outcome == ledger.OutcomeAccepted {
				n++
				progressed = true
			} else {
				s.log().Warn("settle: order of a failed debit not cancelled", "order", in.OrderID, "outcome", p.Outcome, "reason", p.Reason)
			}
		}
		if len(ins) < presentBatch || !progressed {
			return n, nil
		}
	}
}

// PlanEvent is the payload of <kind>.cancelled.
type PlanEvent struct {
	EventID    string `json:"event_id"`
	PlanID     string `json:"plan_id"`
	Kind       string `json:"kind"`
	InvestorID string `json:"investor_id"`
	FolioNo    string `json:"folio_no"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	Dropped    int    `json:"dropped"` // due instalments the cancel dropped
	At         string `json:"at"`
}

// cancelledEvent is <kind>.cancelled for c, keyed by folio; its id is
// topic:plan (a plan is cancelled once).
func (s *Service) cancelledEvent(c CancelledPlan, at time.Time) ledger.Event {
	topic := c.Kind + ".cancelled"
	id := topic + ":" + c.PlanID
	return ledger.Event{ID: id, Topic: topic, Key: c.Folio, Payload: PlanEvent{EventID: id, PlanID: c.PlanID, Kind: c.Kind,
		InvestorID: c.InvestorID, FolioNo: c.Folio, Status: "cancelled", Reason: c.Reason, Dropped: c.Dropped, At: at.UTC().Format(time.RFC3339)}}
}
