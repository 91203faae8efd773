package ledger

import (
	"context"
	"fmt"

	"github.com/fundflow/fundflow/fund"
)

// InboxEvent is one webhook delivery whose signature checked out.
type InboxEvent struct {
	Source    string // "razorpay"
	EventID   string // X-Razorpay-Event-Id (or "sha256:<body hash>" when the header was missing)
	EventType string
	Body      []byte             // the exact signed bytes
	Payment   *fund.PaymentEvent // nil: not a payment event, or not parseable (ParseError)
	Mandate   *fund.MandateEvent // nil: not a mandate (token.*) event
	Problem   string             // why the event cannot be applied ("" if it can)
}

// Receipt says what Receive did with an event.
type Receipt struct {
	Duplicate bool     // the event id was in the inbox already: nothing changed
	Status    string   // inbox status: applied, ignored, failed
	Reason    string   // for ignored and failed
	Allotted  []string // order legs allotted in the same transaction
}

// reasonPaymentRefunded rejects a leg whose payment the gateway refunded.
const reasonPaymentRefunded = "payment_refunded"

// Receive stores a webhook event in the inbox and applies it, in one
// transaction: the payment moves forward (never back), a captured payment
// realises its order (or records a break), and an order whose NAV is already
// there is allotted at once. The same event id again changes nothing. An
// event that cannot be applied is still stored (status failed, with the
// reason) so that the gateway gets its 2xx and an operator sees it.
func (s *Service) Receive(ctx context.Context, ev InboxEvent) (Receipt, error) {
	var rc Receipt
	t, err := s.inTx(ctx, func(t *txn) error {
		rc = Receipt{}
		// Stored as applied (what nearly every event becomes); corrected
		// below when it is not.
		inserted, err := t.db.InsertInbox(ctx, ev)
		if err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		if !inserted {
			rc.Duplicate = true
			return nil
		}
		rc.Status, rc.Reason, err = t.apply(ev)
		if err != nil || rc.Status == "applied" {
			return err
		}
		return t.db.SetInboxStatus(ctx, ev.Source, ev.EventID, rc.Status, rc.Reason)
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("receive %s event %s: %w", ev.Source, ev.EventID, err)
	}
	rc.Allotted = t.allotted
	return rc, nil
}

// apply decides what a stored event does: a problem fails it, a payment
// or a mandate event is applied, anything else is ignored. It returns the
// inbox status and reason.
func (t *txn) apply(ev InboxEvent) (status, reason string, err error) {
	switch {
	case ev.Problem != "":
		return "failed", ev.Problem, nil
	case ev.Payment != nil:
		return t.applyPayment(*ev.Payment, ev.EventID)
	case ev.Mandate != nil:
		return t.applyMandate(*ev.Mandate, ev.EventID)
	}
	return "ignored", "not a payment or mandate event", nil
}

// applyPayment moves the payment forward and, when captured, realises its
// order. It returns the inbox status and reason.
func (t *txn) applyPayment(p fund.PaymentEvent, eventID string) (status, reason string, err error) {
	if p.EventAt.IsZero() {
		p.EventAt = t.svc.now()
	}
	if err := t.lockMatchKeys(p.NotesOrderID, p.GatewayOrderID, p.TokenID); err != nil {
		return "", "", err
	}
	// A payment made with a mandate tells the mandate its customer and
	// investor (mandates.go), whatever becomes of the payment.
	if err := t.linkMandate(p); err != nil {
		return "", "", err
	}
	// Which order: the one the payment was matched to before, else the one
	// notes.order_id names, else the one waiting on the gateway order id.
	f, ok := t.found[p.PaymentID]
	if !ok {
		if f, err = t.db.FindOrder(t.ctx, p); err != nil {
			return "", "", fmt.Errorf("find order of payment %s: %w", p.PaymentID, err)
		}
	}
	var leg legRow
	if _, waits := t.deferredBy[f.ID]; waits && f.ID != "" {
		// Realised earlier in this batch and not allotted yet: allot first,
		// so this event sees the leg as it is.
		if err := t.allotDeferred(); err != nil {
			return "", "", err
		}
	}
	if f.ID != "" {
		if err := t.lockFolios(f.Folio); err != nil {
			return "", "", err
		}
		if leg, err = t.leg(f.ID); err != nil {
			return "", "", err
		}
	}
	// Forward only: the row changes only if the new state ranks higher.
	adv, ahead := t.advanced[p.PaymentID]
	if ahead {
		delete(t.advanced, p.PaymentID)
	} else if adv, err = t.db.AdvancePayment(t.ctx, p, f.ID, eventID); err != nil {
		return "", "", fmt.Errorf("payment %s: %w", p.PaymentID, err)
	}
	if !adv.Advanced {
		return "ignored", fmt.Sprintf("stale: payment %s is already past %s", p.PaymentID, p.Status), nil
	}
	t.audit("payment", p.PaymentID, string(p.Status), map[string]any{"event_id": eventID, "order_id": f.ID,
		"amount": p.Amount.String(), "currency": p.Currency, "status": p.Status})
	if f.ID == "" {
		t.announcePayment(p, nil)
		return "applied", "", nil
	}
	t.announcePayment(p, &leg.Leg)
	switch p.Status {
	case fund.PaymentCaptured:
		return "applied", "", t.realisePurchase(&leg, p)
	case fund.PaymentRefunded:
		if leg.Status == fund.Allotted {
			return "applied", "", t.breakPayment(p.PaymentID, leg.ID, fund.BreakRefundAfterAllot,
				fmt.Sprintf("payment %s was refunded after order %s was allotted", p.PaymentID, leg.ID))
		}
		if adv.PrevRank == fund.PaymentCaptured.Rank() && !leg.Status.Final() && leg.PaymentID != nil && *leg.PaymentID == p.PaymentID {
			return "applied", "", t.setStatus(&leg, fund.Rejected, reasonPaymentRefunded, nil, 0)
		}
	}
	return "applied", "", nil
}

// realisePurchase applies a captured payment to its order: a break if the
// rules say no, else the order's NAV date is decided and it is allotted if
// that NAV is there.
func (t *txn) realisePurchase(leg *legRow, p fund.PaymentEvent) error {
	paidBy := ""
	if leg.PaymentID != nil {
		paidBy = *leg.PaymentID
	}
	if reason, detail := t.svc.rules().Match(leg.OrderLeg, leg.Status, paidBy, p); reason != "" {
		return t.breakPayment(p.PaymentID, leg.ID, reason, detail)
	}
	if paidBy == p.PaymentID {
		return nil // realised by this payment already
	}
	if err := t.decideNAVDate(leg, p.EventAt, p.PaymentID); err != nil {
		return err
	}
	if t.deferAllot {
		t.deferred = append(t.deferred, *leg)
		t.deferredBy[leg.ID] = t.event
		return nil
	}
	return t.tryAllotLeg(leg)
}

// breakPayment records why a payment cannot realise an order.
func (t *txn) breakPayment(paymentID, orderID, reason, detail string) error {
	if err := t.db.BreakPayment(t.ctx, paymentID, orderID, reason, detail); err != nil {
		return fmt.Errorf("payment break %s: %w", paymentID, err)
	}
	t.audit("payment", paymentID, "break", map[string]string{"order_id": orderID, "reason": reason, "detail": detail})
	return nil
}

// matchWaiting is called when a purchase leg is placed: payments that
// arrived before it (unmatched, found by notes.order_id or the gateway order
// id) are matched now, a captured one realising it. The caller holds the
// match keys and the folio lock.
func (t *txn) matchWaiting(leg *legRow) error {
	ps, err := t.db.WaitingPayments(t.ctx, leg.ID, leg.PaymentRef)
	if err != nil {
		return fmt.Errorf("payments waiting for %s: %w", leg.ID, err)
	}
	for _, p := range ps {
		if err := t.db.MatchPayment(t.ctx, p.ID, leg.ID); err != nil {
			return err
		}
		if fund.PaymentStatus(p.Status) != fund.PaymentCaptured {
			continue
		}
		ev := fund.PaymentEvent{Gateway: t.svc.gateway(), EventID: p.EventID, EventAt: p.At, PaymentID: p.ID, GatewayOrderID: p.GatewayOrderID,
			NotesOrderID: p.NotesOrderID, Amount: p.Amount, Currency: p.Currency, Method: p.Method, Status: fund.PaymentCaptured}
		if err := t.realisePurchase(leg, ev); err != nil {
			return err
		}
	}
	return nil
}

// MatchUnmatched matches captured payments still unmatched to orders that
// exist now (a safety net: the match-key locks make the webhook and the
// order placement see each other). It returns how many it matched.
func (s *Service) MatchUnmatched(ctx context.Context) (int, error) {
	items, err := s.Store.UnmatchedCaptured(ctx, 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		_, err := s.inTx(ctx, func(t *txn) error {
			if err := t.lockMatchKeys(it.ID, it.PaymentRef); err != nil {
				return err
			}
			if err := t.lockFolios(it.Folio); err != nil {
				return err
			}
			leg, err := t.leg(it.ID)
			if err != nil {
				return err
			}
			return t.matchWaiting(&leg)
		})
		if err != nil {
			return n, fmt.Errorf("match payments of %s: %w", it.ID, err)
		}
		n++
	}
	return n, nil
}
