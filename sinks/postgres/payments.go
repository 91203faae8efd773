package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// InboxEvent is one webhook delivery whose signature checked out.
type InboxEvent struct {
	Source    string // "razorpay"
	EventID   string // X-Razorpay-Event-Id (or "sha256:<body hash>" when the header was missing)
	EventType string
	Body      []byte             // the exact signed bytes
	Payment   *fund.PaymentEvent // nil: not a payment event, or not parseable (ParseError)
	Problem   string             // why the event cannot be applied ("" if it can)
}

// Receipt says what Receive did with an event.
type Receipt struct {
	Duplicate bool     // the event id was in the inbox already: nothing changed
	Status    string   // inbox status: applied, ignored, failed
	Reason    string   // for ignored and failed
	Allotted  []string // order legs allotted in the same transaction
}

// Receive stores a webhook event in the inbox and applies it, in one
// transaction: the payment moves forward (never back), a captured payment
// realises its order (or records a break), and an order whose NAV is already
// there is allotted at once. The same event id again changes nothing. An
// event that cannot be applied is still stored (status failed, with the
// reason) so that the gateway gets its 2xx and an operator sees it.
func (l *Ledger) Receive(ctx context.Context, ev InboxEvent) (Receipt, error) {
	var rc Receipt
	w, err := l.inTx(ctx, func(w *work) error {
		rc = Receipt{}
		var inserted bool
		// Stored as applied (what nearly every event becomes); corrected
		// below when it is not.
		err := w.tx.QueryRow(ctx, `INSERT INTO inbox (source, event_id, event_type, body, status, applied_at) VALUES ($1, $2, $3, $4, 'applied', now())
			ON CONFLICT (source, event_id) DO NOTHING RETURNING true`, ev.Source, ev.EventID, ev.EventType, ev.Body).Scan(&inserted)
		if errNoRows(err) {
			rc.Duplicate = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		switch {
		case ev.Problem != "":
			rc.Status, rc.Reason = "failed", ev.Problem
		case ev.Payment == nil:
			rc.Status, rc.Reason = "ignored", "not a payment event"
		default:
			rc.Status, rc.Reason, err = w.applyPayment(*ev.Payment, ev.EventID)
			if err != nil {
				return err
			}
		}
		if rc.Status == "applied" {
			return nil
		}
		_, err = w.tx.Exec(ctx, `UPDATE inbox SET status = $3, reason = $4 WHERE source = $1 AND event_id = $2`,
			ev.Source, ev.EventID, rc.Status, rc.Reason)
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("receive %s event %s: %w", ev.Source, ev.EventID, err)
	}
	rc.Allotted = w.allotted
	return rc, nil
}

// applyPayment moves the payment forward and, when captured, realises its
// order. It returns the inbox status and reason.
func (w *work) applyPayment(p fund.PaymentEvent, eventID string) (status, reason string, err error) {
	if p.EventAt.IsZero() {
		p.EventAt = w.l.now()
	}
	if err := w.lockMatchKeys(p.NotesOrderID, p.GatewayOrderID); err != nil {
		return "", "", err
	}
	// Which order: the one the payment was matched to before, else the one
	// notes.order_id names, else the one waiting on the gateway order id.
	f, ok := w.found[p.PaymentID]
	if !ok {
		if f, err = w.findOrder(p); err != nil {
			return "", "", err
		}
	}
	legID, folio := f.leg, f.folio
	var leg legRow
	if legID != "" {
		if err := w.lockFolios(folio); err != nil {
			return "", "", err
		}
		if leg, err = w.leg(legID); err != nil {
			return "", "", err
		}
	}
	// Forward only: the row changes only if the new state ranks higher.
	var orderRef any
	if legID != "" {
		orderRef = legID
	}
	var prevRank int
	var prevOrder *string
	var advanced bool
	err = w.tx.QueryRow(w.ctx, `WITH prev AS (SELECT status_rank, order_id FROM payments WHERE id = $1 FOR UPDATE),
		up AS (
			INSERT INTO payments AS p (id, gateway, order_id, gateway_order_id, notes_order_id, amount, currency, method, status, status_rank,
				realised_at, realised_event_id, last_event_id, last_event_at, match_status, realised_time_source)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
				CASE WHEN $9 = 'captured' THEN $11::timestamptz END, CASE WHEN $9 = 'captured' THEN $12 END, $12, $11,
				CASE WHEN $3::text IS NULL THEN 'unmatched' ELSE 'matched' END, CASE WHEN $9 = 'captured' THEN nullif($13::text, '') END)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank,
				realised_at = coalesce(p.realised_at, excluded.realised_at), realised_event_id = coalesce(p.realised_event_id, excluded.realised_event_id),
				realised_time_source = coalesce(p.realised_time_source, excluded.realised_time_source),
				last_event_id = excluded.last_event_id, last_event_at = excluded.last_event_at,
				order_id = coalesce(p.order_id, excluded.order_id),
				match_status = CASE WHEN p.match_status = 'unmatched' AND excluded.order_id IS NOT NULL THEN 'matched' ELSE p.match_status END,
				updated_at = now()
			WHERE p.status_rank < excluded.status_rank
			RETURNING 1)
		SELECT coalesce((SELECT status_rank FROM prev), -1), (SELECT order_id FROM prev), EXISTS (SELECT 1 FROM up)`,
		p.PaymentID, p.Gateway, orderRef, p.GatewayOrderID, p.NotesOrderID, p.Amount.Decimal(), p.Currency, p.Method,
		string(p.Status), p.Status.Rank(), p.EventAt, eventID, string(p.TimeSource)).Scan(&prevRank, &prevOrder, &advanced)
	if err != nil {
		return "", "", fmt.Errorf("payment %s: %w", p.PaymentID, err)
	}
	if !advanced {
		return "ignored", fmt.Sprintf("stale: payment %s is already past %s", p.PaymentID, p.Status), nil
	}
	w.audit("payment", p.PaymentID, string(p.Status), map[string]any{"event_id": eventID, "order_id": legID,
		"amount": p.Amount.String(), "currency": p.Currency, "status": p.Status})
	if legID == "" {
		return "applied", "", nil
	}
	switch p.Status {
	case fund.PaymentCaptured:
		return "applied", "", w.realisePurchase(&leg, p, eventID)
	case fund.PaymentRefunded:
		if leg.Status == fund.Allotted {
			return "applied", "", w.breakPayment(p.PaymentID, leg.ID, fund.BreakRefundAfterAllot,
				fmt.Sprintf("payment %s was refunded after order %s was allotted", p.PaymentID, leg.ID))
		}
		if prevRank == fund.PaymentCaptured.Rank() && !leg.Status.Final() && leg.PaymentID != nil && *leg.PaymentID == p.PaymentID {
			return "applied", "", w.setStatus(&leg, fund.Rejected, reasonPaymentRefunded, nil, 0, "")
		}
	}
	return "applied", "", nil
}

// foundOrder is the order leg a payment belongs to ("" if none yet).
type foundOrder struct{ leg, folio string }

// findOrder finds the order of a payment (without locks): the one it was
// matched to before, else the one notes.order_id names, else the one
// waiting on the gateway order id. (The empty-reference test is on the
// column, not on $3, so that a generic plan can use the partial index
// orders_payment_ref.)
func (w *work) findOrder(p fund.PaymentEvent) (foundOrder, error) {
	var f foundOrder
	err := w.tx.QueryRow(w.ctx, `SELECT o.id, o.folio_no FROM orders o WHERE o.id = (SELECT order_id FROM payments WHERE id = $1)
		UNION ALL (SELECT id, folio_no FROM orders WHERE id = $2)
		UNION ALL (SELECT id, folio_no FROM orders WHERE payment_ref = $3 AND payment_ref <> '' AND kind = 'purchase'
		           ORDER BY status = 'awaiting_payment' DESC, created_at LIMIT 1)
		LIMIT 1`, p.PaymentID, p.NotesOrderID, p.GatewayOrderID).Scan(&f.leg, &f.folio)
	if err != nil && !errNoRows(err) {
		return f, fmt.Errorf("find order of payment %s: %w", p.PaymentID, err)
	}
	return f, nil
}

// realisePurchase applies a captured payment to its order: a break if the
// rules say no, else the order's NAV date is decided and it is allotted if
// that NAV is there.
func (w *work) realisePurchase(leg *legRow, p fund.PaymentEvent, eventID string) error {
	paidBy := ""
	if leg.PaymentID != nil {
		paidBy = *leg.PaymentID
	}
	if reason, detail := w.l.Rules.Match(leg.OrderLeg, leg.Status, paidBy, p); reason != "" {
		return w.breakPayment(p.PaymentID, leg.ID, reason, detail)
	}
	if paidBy == p.PaymentID {
		return nil // realised by this payment already
	}
	if err := w.decideNAVDate(leg, p.EventAt, p.PaymentID); err != nil {
		return err
	}
	return w.tryAllotLeg(leg)
}

// breakPayment records why a payment cannot realise an order.
func (w *work) breakPayment(paymentID, orderID, reason, detail string) error {
	if _, err := w.tx.Exec(w.ctx, `INSERT INTO payment_breaks (payment_id, order_id, reason, detail) VALUES ($1, $2, $3, $4)
		ON CONFLICT (payment_id, reason) DO NOTHING`, paymentID, orderID, reason, detail); err != nil {
		return fmt.Errorf("payment break %s: %w", paymentID, err)
	}
	if _, err := w.tx.Exec(w.ctx, `UPDATE payments SET match_status = 'break', updated_at = now() WHERE id = $1`, paymentID); err != nil {
		return err
	}
	w.audit("payment", paymentID, "break", map[string]string{"order_id": orderID, "reason": reason, "detail": detail})
	return nil
}

// matchWaiting is called when a purchase leg is placed: payments that
// arrived before it (unmatched, found by notes.order_id or the gateway order
// id) are matched now, a captured one realising it. The caller holds the
// match keys and the folio lock.
func (w *work) matchWaiting(leg *legRow) error {
	type pay struct {
		id, status, method, cur, gwOrder, notes, eventID string
		amount                                           fund.Amount
		at                                               time.Time
	}
	rows, err := w.tx.Query(w.ctx, `SELECT id, status, amount, currency, method, gateway_order_id, notes_order_id,
			coalesce(realised_event_id, last_event_id), coalesce(realised_at, last_event_at)
		FROM payments WHERE match_status = 'unmatched' AND (notes_order_id = $1 OR (gateway_order_id = $2 AND $2 <> ''))
		ORDER BY status_rank DESC, created_at FOR UPDATE`, leg.ID, leg.PaymentRef)
	if err != nil {
		return fmt.Errorf("payments waiting for %s: %w", leg.ID, err)
	}
	var ps []pay
	for rows.Next() {
		var p pay
		var d decimal.Decimal
		if err := rows.Scan(&p.id, &p.status, &d, &p.cur, &p.method, &p.gwOrder, &p.notes, &p.eventID, &p.at); err != nil {
			rows.Close()
			return err
		}
		if p.amount, err = fund.AmountFromDecimal(d, fund.NoRounding); err != nil {
			rows.Close()
			return err
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := w.tx.Exec(w.ctx, `UPDATE payments SET order_id = $2, match_status = 'matched', updated_at = now() WHERE id = $1`, p.id, leg.ID); err != nil {
			return err
		}
		if fund.PaymentStatus(p.status) != fund.PaymentCaptured {
			continue
		}
		ev := fund.PaymentEvent{Gateway: w.l.gateway(), EventID: p.eventID, EventAt: p.at, PaymentID: p.id, GatewayOrderID: p.gwOrder,
			NotesOrderID: p.notes, Amount: p.amount, Currency: p.cur, Method: p.method, Status: fund.PaymentCaptured}
		if err := w.realisePurchase(leg, ev, p.eventID); err != nil {
			return err
		}
	}
	return nil
}

// MatchUnmatched matches captured payments still unmatched to orders that
// exist now (a safety net: the match-key locks make the webhook and the
// order placement see each other). It returns how many it matched.
func (l *Ledger) MatchUnmatched(ctx context.Context) (int, error) {
	rows, err := l.Pool.Query(ctx, `SELECT o.id, o.folio_no, o.payment_ref FROM payments p
		JOIN orders o ON o.kind = 'purchase' AND (o.id = p.notes_order_id OR (p.gateway_order_id <> '' AND o.payment_ref = p.gateway_order_id))
		WHERE p.match_status = 'unmatched' AND p.status = 'captured' ORDER BY o.folio_no LIMIT 1000`)
	if err != nil {
		return 0, classify(err)
	}
	type item struct{ id, folio, ref string }
	var items []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.folio, &it.ref); err != nil {
			rows.Close()
			return 0, err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, classify(err)
	}
	n := 0
	for _, it := range items {
		_, err := l.inTx(ctx, func(w *work) error {
			if err := w.lockMatchKeys(it.id, it.ref); err != nil {
				return err
			}
			if err := w.lockFolios(it.folio); err != nil {
				return err
			}
			leg, err := w.leg(it.id)
			if err != nil {
				return err
			}
			return w.matchWaiting(&leg)
		})
		if err != nil {
			return n, fmt.Errorf("match payments of %s: %w", it.id, err)
		}
		n++
	}
	return n, nil
}
