// Package ledger is the money path as a service: orders placed (Place,
// PlaceOrders) and cancelled, payment webhooks received (Receive,
// ReceiveMany: group commit), payments matched (MatchUnmatched) and
// realised legs allotted (AllotPending), switches linked, and the money of
// every leg that ends without an allotment settled. It owns the order and
// payment state machines and the lock order (on Service), asks ledger/rules
// for the pure decisions and keeps its state through the Store it defines
// (ledger/pgstore implements it with SQL).
package ledger

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger/rules"
)

// Rules are the pure decisions the ledger asks for under its locks
// (ledger/rules implements them).
type Rules interface {
	// Match says whether captured payment p can realise leg (in status st,
	// already realised by payment paidBy, "" if none): "" or a break reason.
	Match(leg fund.OrderLeg, st fund.OrderStatus, paidBy string, p fund.PaymentEvent) (reason, detail string)
	// Allot decides one leg's allotment (or its rejection).
	Allot(in fund.AllotInput) (fund.Allocation, error)
}

// Service is the money path: orders, payments, the double-entry ledger,
// lots, holdings and the outbox. Every method that changes state does so in
// one transaction of its Store.
//
// Lock order. This is the one place it is written down: the README points
// here, and the header of sql/postgres/003_orders_ledger.sql is historical
// (it leaves out the match keys, and migrations cannot be edited). Every
// transaction that changes state takes its locks in this order, so
// concurrent callers never deadlock each other:
//
//  1. inbox rows, by event id (webhooks: the INSERT of the event);
//  2. match keys: transaction-scoped advisory locks, sorted, on the keys
//     that join an order to its payment (our order id, the gateway's order
//     id), so an order being placed and its payment arriving serialise
//     (lockMatchKeys);
//  3. folio rows, FOR NO KEY UPDATE, in folio_no order (lockFolios); the
//     folio is the unit of serialisation of the ledger;
//  4. order rows, FOR UPDATE (leg);
//  5. payment rows, FOR UPDATE;
//  6. the folio's holdings and lots, written under the folio's lock;
//  7. last, at commit time, the outbox rows and the audit chain's head
//     (flush), so the head is held as briefly as possible.
//
// A transaction may skip a step. Match keys and folios are taken before the
// rows they cover; the rows of steps 4-6 are only touched under their
// folio's lock; step 7 is always last. The set-based allocate pass
// (AllotPending) takes step 3 for its whole batch in one statement, then
// step 4 for all the batch's legs (and their switch-in legs) in one
// statement, and writes steps 6 and 7 at the end.
type Service struct {
	Store    Store
	Rules    Rules          // nil: rules.Rules
	Calendar *fund.Calendar // business days for the applicable-NAV rules; nil: weekends only
	Audit    bool           // append audit_log rows for every change
	Gateway  string         // the payment gateway purchases are paid through; default "razorpay"
	Sealer   Sealer         // seals mandates' bank account numbers; nil: only their masked form is kept
	Now      func() time.Time
	// AllotWorkers is how many allocate batches run at once (AllotPending);
	// 0 or 1: one at a time.
	AllotWorkers int
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) gateway() string {
	if s.Gateway == "" {
		return "razorpay"
	}
	return s.Gateway
}

// GatewayName is the gateway purchases are paid through (their money
// leaves gateway:<it>).
func (s *Service) GatewayName() string { return s.gateway() }

func (s *Service) rules() Rules {
	if s.Rules == nil {
		return rules.Rules{}
	}
	return s.Rules
}

// Alert kinds the money path raises when money needs a person.
const (
	AlertRefundDue    = "refund_due"      // a captured payment's order ended without an allotment
	AlertSwitchPayout = "switch_paid_out" // a switch-in failed: its switch-out's money was paid out instead
)

// txn is one transaction of the ledger: the store's Tx and what to write at
// its end (outbox rows, audit rows) so that the audit chain's head is held
// as briefly as possible.
type txn struct {
	ctx      context.Context
	db       Tx
	svc      *Service
	events   []Event
	audits   []AuditEntry
	allotted []string          // legs allotted in this transaction
	locked   map[string]bool   // folios locked in this transaction
	keyed    map[string]bool   // match keys locked in this transaction
	found    map[string]LegRef // payment id → its order, looked up before the locks (ReceiveMany)
	// ReceiveMany: legs read (locked) for the whole batch at once, each
	// used by its first read and dropped by any write of legs.
	readAhead map[string]Leg
	// ReceiveMany: payments already moved forward, by payment id
	// (advanceAhead)
	advanced map[string]PaymentAdvance
	// schemes' categories read in this transaction (a batch asks once
	// per scheme, not once per leg)
	categories map[string]string

	// ReceiveMany: legs realised by this batch's payments, allotted
	// together, set-based, before the batch commits (allotDeferred).
	deferAllot bool
	deferred   []legRow
	deferredBy map[string]int // leg id → the event (index in the batch) that realised it
	event      int            // the event being applied
}

func (t *txn) emit(topic, eventID, key string, payload any) {
	t.events = append(t.events, Event{ID: eventID, Topic: topic, Key: key, Payload: payload})
}

func (t *txn) audit(entity, id, action string, payload any) {
	if t.svc.Audit {
		t.audits = append(t.audits, AuditEntry{entity, id, action, payload})
	}
}

// inTx runs fn in one transaction and writes its outbox and audit rows last.
func (s *Service) inTx(ctx context.Context, fn func(t *txn) error) (*txn, error) {
	var t *txn
	err := s.Store.InTx(ctx, func(db Tx) error {
		t = &txn{ctx: ctx, db: db, svc: s, locked: map[string]bool{}, keyed: map[string]bool{}}
		if err := fn(t); err != nil {
			return err
		}
		return t.flush()
	})
	return t, err
}

func (t *txn) flush() error {
	if len(t.events) > 0 {
		if err := t.db.WriteOutbox(t.ctx, t.events); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if len(t.audits) > 0 {
		return t.db.AppendAudit(t.ctx, t.audits)
	}
	return nil
}

// lockFolios takes the folio rows' locks in folio order (step 3 of the
// lock order on Service). Folios already locked in this transaction are
// skipped.
func (t *txn) lockFolios(folios ...string) error {
	var todo []string
	for _, f := range folios {
		if !t.locked[f] {
			todo = append(todo, f)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	sort.Strings(todo)
	locked, err := t.db.LockFolios(t.ctx, dedupSorted(todo))
	if err != nil {
		return fmt.Errorf("lock folios: %w", err)
	}
	for _, f := range locked {
		t.locked[f] = true
	}
	return nil
}

// lockMatchKeys serialises the two sides of payment matching (an order being
// placed, a payment arriving) on the keys that join them, so whichever
// commits second sees the other. Step 2 of the lock order on Service.
func (t *txn) lockMatchKeys(keys ...string) error {
	var ks []string
	for _, k := range keys {
		if k != "" && !t.keyed[k] {
			ks = append(ks, "match:"+k)
			t.keyed[k] = true
		}
	}
	if len(ks) == 0 {
		return nil
	}
	sort.Strings(ks)
	if err := t.db.LockMatchKeys(t.ctx, dedupSorted(ks)); err != nil {
		return fmt.Errorf("lock match keys: %w", err)
	}
	return nil
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// legRow is an order leg as stored, with a NAV-date decision made in this
// transaction and not written yet: it is written with the leg's next status
// (pending_nav, or allotted at once when the NAV is there), saving a
// statement per order.
type legRow struct {
	Leg
	decided         bool
	navRule, navWhy string
}

// leg reads one leg, locked for update (the caller holds its folio's lock).
func (t *txn) leg(id string) (legRow, error) {
	if l, ok := t.readAhead[id]; ok {
		delete(t.readAhead, id)
		return legRow{Leg: l}, nil
	}
	l, err := t.db.Leg(t.ctx, id)
	if err != nil {
		return legRow{Leg: l}, fmt.Errorf("order %s: %w", id, err)
	}
	return legRow{Leg: l}, nil
}

// setStatus moves a leg to status st (recording txID when it was allotted)
// and emits orders.status and an audit row. A leg that ends without an
// allotment has its money settled here (settleUnallotted), whatever path
// ended it.
func (t *txn) setStatus(r *legRow, st fund.OrderStatus, reason string, navDate *fund.Date, txID int64) error {
	if st.Final() && r.OnHold != "" {
		if err := t.endHolds(r, "order "+string(st)+": "+reason); err != nil {
			return err
		}
	}
	if err := t.persist(r, st, reason, txID); err != nil {
		return err
	}
	t.announce(r, navDate, txID)
	return t.settleUnallotted(r)
}

// persist writes a leg's status (and a NAV-date decision made in memory).
func (t *txn) persist(r *legRow, st fund.OrderStatus, reason string, txID int64) error {
	c := StatusChange{ID: r.ID, Status: st, Reason: reason, TxID: txID}
	if r.decided {
		c.NAV = &NAVDecision{Date: *r.NAVDate, Rule: r.navRule, Reason: r.navWhy, FundsAt: r.FundsAt, PaymentID: r.PaymentID}
		if r.Amount != nil {
			a := r.Amount.Decimal()
			c.NAV.Amount = &a
		}
	}
	delete(t.readAhead, r.ID)
	if err := t.db.SetStatus(t.ctx, c); err != nil {
		return fmt.Errorf("order %s → %s: %w", r.ID, st, err)
	}
	r.Status, r.Reason, r.decided = st, reason, false
	return nil
}

// announce emits orders.status and an audit row for a leg's current status.
func (t *txn) announce(r *legRow, navDate *fund.Date, txID int64) {
	st, reason := r.Status, r.Reason
	ev := fund.OrderStatusChanged{EventID: fund.TopicOrderStatus + ":" + r.ID + ":" + string(st), OrderID: r.ID, RequestID: r.RequestID,
		SwitchID: r.SwitchID, Kind: r.Kind.String(), Folio: r.Folio, SchemeCode: r.SchemeCode, Status: string(st), Reason: reason,
		TxID: txID, At: t.svc.now().UTC().Format(time.RFC3339Nano)}
	if navDate != nil {
		ev.NAVDate = navDate.String()
	}
	t.emit(fund.TopicOrderStatus, ev.EventID, r.Folio, ev)
	t.audit("order", r.ID, string(st), ev)
}

// category is the scheme's category, read once per transaction.
func (t *txn) category(scheme string) (string, error) {
	if c, ok := t.categories[scheme]; ok {
		return c, nil
	}
	c, _, err := t.db.Category(t.ctx, scheme)
	if err != nil {
		return "", err
	}
	if t.categories == nil {
		t.categories = map[string]string{}
	}
	t.categories[scheme] = c
	return c, nil
}

// decideNAVDate decides a leg's applicable NAV date (fund.ApplicableNAVDate
// on the scheme's category and the calendar) and moves it to pending_nav:
// announced now, written with the leg's next write (tryAllot makes it,
// pending or allotted). paymentID is the payment that realised the funds
// ("" for redemptions).
func (t *txn) decideNAVDate(r *legRow, fundsAt time.Time, paymentID string) error {
	cat, err := t.category(r.SchemeCode)
	if err != nil {
		return err
	}
	dec, err := fund.ApplicableNAVDate(fund.CategoryRuleFor(cat), r.Kind, r.PlacedAt, fundsAt, t.svc.Calendar)
	if err != nil {
		return fmt.Errorf("order %s: %w", r.ID, err)
	}
	if r.Kind.IssuesUnits() {
		f := fundsAt
		r.FundsAt = &f
	}
	if paymentID != "" {
		r.PaymentID = &paymentID
	}
	d := dec.Date.Time()
	r.NAVDate, r.navRule, r.navWhy, r.decided = &d, dec.Rule, dec.Reason, true
	r.Status, r.Reason = fund.PendingNAV, ""
	t.announce(r, &dec.Date, 0)
	return nil
}
