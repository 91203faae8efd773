package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Rules are the pure decisions the ledger asks for under its locks
// (ledger/rules implements them; cmd/fundflow wires them in).
type Rules interface {
	// Match says whether captured payment p can realise leg (in status st,
	// already realised by payment paidBy, "" if none): "" or a break reason.
	Match(leg fund.OrderLeg, st fund.OrderStatus, paidBy string, p fund.PaymentEvent) (reason, detail string)
	// Allot decides one leg's allotment (or its rejection).
	Allot(in fund.AllotInput) (fund.Allocation, error)
}

// AuditFunc appends audit_log rows, in order, in the caller's transaction
// (AppendAudits with an actor, e.g. LedgerAudit).
type AuditFunc func(ctx context.Context, tx pgx.Tx, rows []AuditEntry) error

// LedgerAudit is the money path's AuditFunc: AppendAudits with no actor
// (the entity's own pipeline is in each row's payload).
func LedgerAudit(ctx context.Context, tx pgx.Tx, rows []AuditEntry) error {
	return AppendAudits(ctx, tx, "", rows)
}

// Ledger is the money path's state in Postgres: orders, payments, the
// double-entry ledger, lots, holdings and the outbox. Every method that
// changes state does so in one transaction.
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
// folio's lock; step 7 is always last.
type Ledger struct {
	Pool     *pgxpool.Pool
	Rules    Rules
	Calendar *fund.Calendar // business days for the applicable-NAV rules; nil: weekends only
	Audit    AuditFunc      // nil: no audit rows
	Gateway  string         // the payment gateway purchases are paid through; default "razorpay"
	Now      func() time.Time
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Ledger) gateway() string {
	if l.Gateway == "" {
		return "razorpay"
	}
	return l.Gateway
}

// Event topics of the outbox: fund's definitions, named here for the
// ledger's callers.
const (
	TopicTransactions = fund.TopicTransactions
	TopicOrderStatus  = fund.TopicOrderStatus
)

// work is one transaction of the ledger: the tx and what to write at its end
// (outbox rows, audit rows) so that the audit chain's head is held as briefly
// as possible.
type work struct {
	ctx      context.Context
	tx       pgx.Tx
	l        *Ledger
	events   []outboxEvent
	audits   []AuditEntry
	allotted []string              // legs allotted in this transaction
	locked   map[string]bool       // folios locked in this transaction
	keyed    map[string]bool       // match keys locked in this transaction
	found    map[string]foundOrder // payment id → its order, looked up before the locks (ReceiveMany)
}

type outboxEvent struct {
	id, topic, key string
	payload        any
}

func (w *work) emit(topic, eventID, key string, payload any) {
	w.events = append(w.events, outboxEvent{eventID, topic, key, payload})
}

func (w *work) audit(entity, id, action string, payload any) {
	if w.l.Audit != nil {
		w.audits = append(w.audits, AuditEntry{entity, id, action, payload})
	}
}

// inTx runs fn in one transaction and writes its outbox and audit rows last.
func (l *Ledger) inTx(ctx context.Context, fn func(w *work) error) (*work, error) {
	var w *work
	err := pgx.BeginFunc(ctx, l.Pool, func(tx pgx.Tx) error {
		w = &work{ctx: ctx, tx: tx, l: l, locked: map[string]bool{}, keyed: map[string]bool{}}
		if err := fn(w); err != nil {
			return err
		}
		return w.flush()
	})
	return w, classify(err)
}

func (w *work) flush() error {
	if len(w.events) > 0 {
		ids := make([]string, len(w.events))
		topics := make([]string, len(w.events))
		keys := make([]string, len(w.events))
		payloads := make([]string, len(w.events))
		for i, e := range w.events {
			b, err := json.Marshal(e.payload)
			if err != nil {
				return fmt.Errorf("outbox %s: %w", e.id, err)
			}
			ids[i], topics[i], keys[i], payloads[i] = e.id, e.topic, e.key, string(b)
		}
		if _, err := w.tx.Exec(w.ctx, `INSERT INTO outbox (event_id, topic, key, payload)
			SELECT e, t, k, p FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(e, t, k, p, n) ORDER BY n
			ON CONFLICT (event_id) DO NOTHING`, ids, topics, keys, payloads); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if len(w.audits) > 0 {
		return w.l.Audit(w.ctx, w.tx, w.audits)
	}
	return nil
}

// lockFolios takes the folio rows' locks in folio order (step 3 of the
// lock order on Ledger). Folios already locked in this transaction are
// skipped.
func (w *work) lockFolios(folios ...string) error {
	var todo []string
	for _, f := range folios {
		if !w.locked[f] {
			todo = append(todo, f)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	sort.Strings(todo)
	todo = dedupSorted(todo)
	rows, err := w.tx.Query(w.ctx, `SELECT folio_no FROM folios WHERE folio_no = ANY($1) ORDER BY folio_no FOR NO KEY UPDATE`, todo)
	if err != nil {
		return fmt.Errorf("lock folios: %w", err)
	}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return err
		}
		w.locked[f] = true
	}
	rows.Close()
	return rows.Err()
}

// lockMatchKeys serialises the two sides of payment matching (an order being
// placed, a payment arriving) on the keys that join them, so whichever
// commits second sees the other. Step 2 of the lock order on Ledger.
func (w *work) lockMatchKeys(keys ...string) error {
	var ks []string
	for _, k := range keys {
		if k != "" && !w.keyed[k] {
			ks = append(ks, "match:"+k)
			w.keyed[k] = true
		}
	}
	if len(ks) == 0 {
		return nil
	}
	sort.Strings(ks)
	ks = dedupSorted(ks)
	// unnest keeps the array's (sorted) order, so the locks are taken in it.
	_, err := w.tx.Exec(w.ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, ks)
	if err != nil {
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

// legRow is an order leg as stored.
type legRow struct {
	fund.OrderLeg
	Status    fund.OrderStatus
	Reason    string
	NAVDate   *time.Time
	FundsAt   *time.Time
	PaymentID *string
	TxID      *int64

	// A NAV-date decision made in this transaction and not written yet: it
	// is written with the leg's next status (pending_nav, or allotted at
	// once when the NAV is there), saving a statement per order.
	decided         bool
	navRule, navWhy string
	amountChanged   bool // switch-in: amount set from its switch-out
}

const legColumns = `id, request_id, coalesce(switch_id, ''), kind, investor_id, folio_no, scheme_code, amount, units, all_units,
	currency, payment_ref, placed_at, status, reason, nav_date, funds_at, payment_id, ledger_tx_id`

func scanLeg(row pgx.Row) (legRow, error) {
	var r legRow
	var kind, status string
	var amount, units *decimal.Decimal
	if err := row.Scan(&r.ID, &r.RequestID, &r.SwitchID, &kind, &r.InvestorID, &r.Folio, &r.SchemeCode, &amount, &units, &r.AllUnits,
		&r.Currency, &r.PaymentRef, &r.PlacedAt, &status, &r.Reason, &r.NAVDate, &r.FundsAt, &r.PaymentID, &r.TxID); err != nil {
		return r, err
	}
	k, err := fund.ParseTxKind(kind)
	if err != nil {
		return r, err
	}
	r.Kind, r.Status, r.Units = k, fund.OrderStatus(status), units
	if amount != nil {
		a, err := fund.AmountFromDecimal(*amount, fund.NoRounding)
		if err != nil {
			return r, err
		}
		r.Amount = &a
	}
	return r, nil
}

// leg reads one leg, locked for update (the caller holds its folio's lock).
func (w *work) leg(id string) (legRow, error) {
	r, err := scanLeg(w.tx.QueryRow(w.ctx, `SELECT `+legColumns+` FROM orders WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return r, fmt.Errorf("order %s: %w", id, err)
	}
	return r, nil
}

// setStatus moves a leg to status st (with the columns in set) and emits
// orders.status and an audit row. A leg that ends without an allotment has
// its money settled here (settleUnallotted), whatever path ended it.
func (w *work) setStatus(r *legRow, st fund.OrderStatus, reason string, navDate *fund.Date, txID int64, extra string, args ...any) error {
	if err := w.persist(r, st, reason, extra, args...); err != nil {
		return err
	}
	w.announce(r, navDate, txID)
	return w.settleUnallotted(r)
}

// persist writes a leg's status (and a NAV-date decision made in memory).
func (w *work) persist(r *legRow, st fund.OrderStatus, reason string, extra string, args ...any) error {
	q := `UPDATE orders SET status = $2, reason = $3, updated_at = now()`
	all := []any{r.ID, string(st), reason}
	if r.decided {
		n := len(all) + len(args)
		q += fmt.Sprintf(`, nav_date = $%d, nav_rule = $%d, nav_reason = $%d, funds_at = $%d, payment_id = $%d, amount = $%d`, n+1, n+2, n+3, n+4, n+5, n+6)
		var amount any
		if r.Amount != nil {
			amount = r.Amount.Decimal()
		}
		args = append(append([]any{}, args...), *r.NAVDate, r.navRule, r.navWhy, r.FundsAt, r.PaymentID, amount)
	}
	if _, err := w.tx.Exec(w.ctx, q+extra+` WHERE id = $1`, append(all, args...)...); err != nil {
		return fmt.Errorf("order %s → %s: %w", r.ID, st, err)
	}
	r.Status, r.Reason, r.decided = st, reason, false
	return nil
}

// announce emits orders.status and an audit row for a leg's current status.
func (w *work) announce(r *legRow, navDate *fund.Date, txID int64) {
	st, reason := r.Status, r.Reason
	ev := fund.OrderStatusChanged{EventID: TopicOrderStatus + ":" + r.ID + ":" + string(st), OrderID: r.ID, RequestID: r.RequestID,
		SwitchID: r.SwitchID, Kind: r.Kind.String(), Folio: r.Folio, SchemeCode: r.SchemeCode, Status: string(st), Reason: reason,
		TxID: txID, At: w.l.now().UTC().Format(time.RFC3339Nano)}
	if navDate != nil {
		ev.NAVDate = navDate.String()
	}
	w.emit(TopicOrderStatus, ev.EventID, r.Folio, ev)
	w.audit("order", r.ID, string(st), ev)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// category returns a scheme's category ("" if unknown) for the NAV rules.
func (w *work) category(scheme string) (string, bool, error) {
	var c string
	err := w.tx.QueryRow(w.ctx, `SELECT category FROM schemes WHERE code = $1`, scheme).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return c, err == nil, err
}

// decideNAVDate decides a leg's applicable NAV date (fund.ApplicableNAVDate
// on the scheme's category and the calendar) and moves it to pending_nav:
// announced now, written with the leg's next write (tryAllot makes it,
// pending or allotted). paymentID is the payment that realised the funds
// ("" for redemptions).
func (w *work) decideNAVDate(r *legRow, fundsAt time.Time, paymentID string) error {
	cat, _, err := w.category(r.SchemeCode)
	if err != nil {
		return err
	}
	dec, err := fund.ApplicableNAVDate(fund.CategoryRuleFor(cat), r.Kind, r.PlacedAt, fundsAt, w.l.Calendar)
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
	t := dec.Date.Time()
	r.NAVDate, r.navRule, r.navWhy, r.decided = &t, dec.Rule, dec.Reason, true
	r.Status, r.Reason = fund.PendingNAV, ""
	w.announce(r, &dec.Date, 0)
	return nil
}
