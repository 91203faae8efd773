// Package pgstore is the ledger's Store in PostgreSQL: the SQL of the money
// path (inbox, order requests and legs, payments, ledger transactions and
// postings, lots, holdings, outbox, alerts, the audit chain) and nothing
// else. The decisions are the ledger package's; every method here is one
// round trip (PostAllotment and PostTransaction: two, the second a batch;
// AllotFacts and WriteAllotments, the set-based allocate pass's: one batch
// of set statements each, see allotset.go).
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Store is the ledger's state in the database behind Pool.
type Store struct{ Pool *pgxpool.Pool }

// New returns the Store of pool.
func New(pool *pgxpool.Pool) Store { return Store{Pool: pool} }

var _ ledger.Store = Store{}

// InTx runs fn in one transaction.
func (s Store) InTx(ctx context.Context, fn func(ledger.Tx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(Tx{tx})
	}))
}

// UnmatchedCaptured lists captured payments still unmatched whose order
// exists now.
func (s Store) UnmatchedCaptured(ctx context.Context, limit int) ([]ledger.LegRef, error) {
	rows, err := s.Pool.Query(ctx, `SELECT o.id, o.folio_no, o.payment_ref FROM payments p
		JOIN orders o ON o.kind = 'purchase' AND (o.id = p.notes_order_id OR (p.gateway_order_id <> '' AND o.payment_ref = p.gateway_order_id))
		WHERE p.match_status = 'unmatched' AND p.status = 'captured' ORDER BY o.folio_no LIMIT $1`, limit)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.LegRef, error) {
		var it ledger.LegRef
		err := r.Scan(&it.ID, &it.Folio, &it.PaymentRef)
		return it, err
	})
	return out, postgres.Classify(err)
}

// PendingWithNAV lists pending_nav legs whose NAV has landed.
func (s Store) PendingWithNAV(ctx context.Context, afterFolio, afterID string, limit int) ([]ledger.LegRef, error) {
	rows, err := s.Pool.Query(ctx, `SELECT o.id, o.folio_no FROM orders o
		JOIN navs n ON n.scheme_code = o.scheme_code AND n.nav_date = o.nav_date
		WHERE o.status = 'pending_nav' AND (o.folio_no, o.id) > ($1, $2)
		AND NOT EXISTS (SELECT 1 FROM order_holds h WHERE h.order_id = o.id AND h.closed_at IS NULL)
		ORDER BY o.folio_no, o.id LIMIT $3`, afterFolio, afterID, limit)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.LegRef, error) {
		var it ledger.LegRef
		err := r.Scan(&it.ID, &it.Folio)
		return it, err
	})
	return out, postgres.Classify(err)
}

// CountPendingNAV counts the legs waiting for their NAV.
func (s Store) CountPendingNAV(ctx context.Context) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE status = 'pending_nav'`).Scan(&n)
	return n, postgres.Classify(err)
}

// Tx is one transaction of the Store.
type Tx struct{ tx pgx.Tx }

var _ ledger.Tx = Tx{}

func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// LockMatchKeys takes transaction-scoped advisory locks on keys, in the
// order given.
func (t Tx) LockMatchKeys(ctx context.Context, keys []string) error {
	// unnest keeps the array's order, so the locks are taken in it.
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, keys)
	return err
}

// LockFolios locks the folio rows (FOR NO KEY UPDATE) in folio order; it
// returns the folios that exist.
func (t Tx) LockFolios(ctx context.Context, folios []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT folio_no FROM folios WHERE folio_no = ANY($1) ORDER BY folio_no FOR NO KEY UPDATE`, folios)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// InsertInbox stores an event as applied unless its id is there already.
func (t Tx) InsertInbox(ctx context.Context, ev ledger.InboxEvent) (bool, error) {
	var inserted bool
	err := t.tx.QueryRow(ctx, `INSERT INTO inbox (source, event_id, event_type, body, status, applied_at) VALUES ($1, $2, $3, $4, 'applied', now())
		ON CONFLICT (source, event_id) DO NOTHING RETURNING true`, ev.Source, ev.EventID, ev.EventType, ev.Body).Scan(&inserted)
	if errNoRows(err) {
		return false, nil
	}
	return inserted, err
}

// InsertInboxMany is InsertInbox of several events in one statement.
func (t Tx) InsertInboxMany(ctx context.Context, evs []ledger.InboxEvent) (map[string]bool, error) {
	srcs, eids, types, bodies := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([][]byte, len(evs))
	for j, ev := range evs {
		srcs[j], eids[j], types[j], bodies[j] = ev.Source, ev.EventID, ev.EventType, ev.Body
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO inbox (source, event_id, event_type, body, status, applied_at)
		SELECT s, e, t, b, 'applied', now() FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) AS x(s, e, t, b)
		ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id`, srcs, eids, types, bodies)
	if err != nil {
		return nil, err
	}
	inserted := map[string]bool{}
	var s, e string
	_, err = pgx.ForEachRow(rows, []any{&s, &e}, func() error {
		inserted[ledger.InboxKey(s, e)] = true
		return nil
	})
	return inserted, err
}

// SetInboxStatus corrects a stored event's status.
func (t Tx) SetInboxStatus(ctx context.Context, source, eventID, status, reason string) error {
	_, err := t.tx.Exec(ctx, `UPDATE inbox SET status = $3, reason = $4 WHERE source = $1 AND event_id = $2`, source, eventID, status, reason)
	return err
}

// FindOrder finds the order of a payment (without locks): the one it was
// matched to before, else the one notes.order_id names, else the one
// waiting on the gateway order id. (The empty-reference test is on the
// column, not on $3, so that a generic plan can use the partial index
// orders_payment_ref.)
func (t Tx) FindOrder(ctx context.Context, p fund.PaymentEvent) (ledger.LegRef, error) {
	var f ledger.LegRef
	err := t.tx.QueryRow(ctx, `SELECT o.id, o.folio_no FROM orders o WHERE o.id = (SELECT order_id FROM payments WHERE id = $1)
		UNION ALL (SELECT id, folio_no FROM orders WHERE id = $2)
		UNION ALL (SELECT id, folio_no FROM orders WHERE payment_ref = $3 AND payment_ref <> '' AND kind = 'purchase'
		           ORDER BY status = 'awaiting_payment' DESC, created_at LIMIT 1)
		LIMIT 1`, p.PaymentID, p.NotesOrderID, p.GatewayOrderID).Scan(&f.ID, &f.Folio)
	if err != nil && !errNoRows(err) {
		return f, err
	}
	return f, nil
}

// FindOrders is FindOrder's query for each payment, in one statement.
func (t Tx) FindOrders(ctx context.Context, ps []fund.PaymentEvent) (map[string]ledger.LegRef, error) {
	ids, notes, gws := make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		ids[i], notes[i], gws[i] = p.PaymentID, p.NotesOrderID, p.GatewayOrderID
	}
	rows, err := t.tx.Query(ctx, `SELECT p.id, f.id, f.folio_no FROM unnest($1::text[], $2::text[], $3::text[]) AS p(id, notes, gw)
		CROSS JOIN LATERAL (SELECT o.id, o.folio_no FROM orders o WHERE o.id = (SELECT order_id FROM payments WHERE id = p.id)
			UNION ALL (SELECT id, folio_no FROM orders WHERE id = p.notes)
			UNION ALL (SELECT id, folio_no FROM orders WHERE payment_ref = p.gw AND payment_ref <> '' AND kind = 'purchase'
			           ORDER BY status = 'awaiting_payment' DESC, created_at LIMIT 1)
			LIMIT 1) f`, ids, notes, gws)
	if err != nil {
		return nil, err
	}
	out := map[string]ledger.LegRef{}
	var pid string
	var f ledger.LegRef
	_, err = pgx.ForEachRow(rows, []any{&pid, &f.ID, &f.Folio}, func() error {
		out[pid] = f
		return nil
	})
	return out, err
}

const legColumns = `id, request_id, coalesce(switch_id, ''), kind, investor_id, folio_no, scheme_code, amount, units, all_units,
	currency, payment_ref, placed_at, status, reason, nav_date, funds_at, payment_id, ledger_tx_id, ` + holdColumns

// Leg reads one leg, locked for update.
func (t Tx) Leg(ctx context.Context, id string) (ledger.Leg, error) {
	return scanLeg(t.tx.QueryRow(ctx, `SELECT `+legColumns+` FROM orders WHERE id = $1 FOR UPDATE`, id))
}

// scanLeg scans a row of legColumns.
func scanLeg(row pgx.Row) (ledger.Leg, error) {
	var r ledger.Leg
	var kind, status string
	var amount, units *decimal.Decimal
	var blocked []string
	if err := row.Scan(&r.ID, &r.RequestID, &r.SwitchID,
		&kind, &r.InvestorID, &r.Folio, &r.SchemeCode, &amount, &units, &r.AllUnits,
		&r.Currency, &r.PaymentRef, &r.PlacedAt, &status, &r.Reason, &r.NAVDate, &r.FundsAt, &r.PaymentID, &r.TxID,
		&r.OnHold, &blocked); err != nil {
		return r, err
	}
	r.Blocked = blockedRestriction(r.InvestorID, blocked)
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

// FolioOf returns a leg's folio (read without a lock: folios never change).
func (t Tx) FolioOf(ctx context.Context, legID string) (string, error) {
	var f string
	err := t.tx.QueryRow(ctx, `SELECT folio_no FROM orders WHERE id = $1`, legID).Scan(&f)
	return f, err
}

// SetStatus writes a leg's status, with its NAV-date decision and ledger
// transaction when the change carries them.
func (t Tx) SetStatus(ctx context.Context, c ledger.StatusChange) error {
	q := `UPDATE orders SET status = $2, reason = $3, updated_at = now()`
	args := []any{c.ID, string(c.Status), c.Reason}
	if c.TxID != 0 {
		args = append(args, c.TxID)
		q += fmt.Sprintf(`, ledger_tx_id = $%d`, len(args))
	}
	if d := c.NAV; d != nil {
		n := len(args)
		q += fmt.Sprintf(`, nav_date = $%d, nav_rule = $%d, nav_reason = $%d, funds_at = $%d, payment_id = $%d, amount = $%d`, n+1, n+2, n+3, n+4, n+5, n+6)
		var amount any
		if d.Amount != nil {
			amount = *d.Amount
		}
		args = append(args, d.Date, d.Rule, d.Reason, d.FundsAt, d.PaymentID, amount)
	}
	_, err := t.tx.Exec(ctx, q+` WHERE id = $1`, args...)
	return err
}

// LegStates returns the legs of a request as a caller sees them ("X#out"
// before "X#in").
func (t Tx) LegStates(ctx context.Context, requestID string) ([]ledger.LegState, error) {
	// A leg with an open hold shows as held (under_review for fraud and
	// AML, with no reason): fund.HoldPublicStatus.
	rows, err := t.tx.Query(ctx, `SELECT o.id, o.kind, o.status, o.reason, coalesce(to_char(o.nav_date, 'YYYY-MM-DD'), ''), coalesce(o.ledger_tx_id, 0),
			coalesce(h.source, ''), coalesce(h.reason, '')
		FROM orders o LEFT JOIN LATERAL (SELECT source, reason FROM order_holds WHERE order_id = o.id AND closed_at IS NULL ORDER BY source LIMIT 1) h ON true
		WHERE o.request_id = $1 ORDER BY o.id DESC`, requestID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.LegState, error) {
		var s ledger.LegState
		var source, reason string
		err := r.Scan(&s.ID, &s.Kind, &s.Status, &s.Reason, &s.NAVDate, &s.TxID, &source, &reason)
		if source != "" {
			st, show := fund.HoldPublicStatus(source)
			s.Status, s.Reason = st, ""
			if show {
				s.HoldReason = reason
			}
		}
		return s, err
	})
}

// Category returns a scheme's category (found false: not in the master).
func (t Tx) Category(ctx context.Context, scheme string) (string, bool, error) {
	var c string
	err := t.tx.QueryRow(ctx, `SELECT category FROM schemes WHERE code = $1`, scheme).Scan(&c)
	if errNoRows(err) {
		return "", false, nil
	}
	return c, err == nil, err
}

// AdvancePayment upserts a payment, changing the row only if the new state
// ranks higher. A failed payment keeps the gateway's error_code and
// error_description; a recurring one the token it debited.
func (t Tx) AdvancePayment(ctx context.Context, p fund.PaymentEvent, orderID, eventID string) (ledger.PaymentAdvance, error) {
	var adv ledger.PaymentAdvance
	var prevOrder *string
	err := t.tx.QueryRow(ctx, advancePayment, advanceArgs(p, orderID, eventID)...).Scan(&adv.PrevRank, &prevOrder, &adv.Advanced)
	return adv, err
}

// AdvancePayments pipelines AdvancePayment's statement for each payment
// (pgx.Batch: one round trip).
func (t Tx) AdvancePayments(ctx context.Context, as []ledger.Advance) ([]ledger.PaymentAdvance, error) {
	out := make([]ledger.PaymentAdvance, len(as))
	if len(as) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	for i, a := range as {
		b.Queue(advancePayment, advanceArgs(a.Payment, a.OrderID, a.EventID)...).QueryRow(func(r pgx.Row) error {
			var prevOrder *string
			return r.Scan(&out[i].PrevRank, &prevOrder, &out[i].Advanced)
		})
	}
	return out, t.tx.SendBatch(ctx, b).Close()
}

func advanceArgs(p fund.PaymentEvent, orderID, eventID string) []any {
	var orderRef any
	if orderID != "" {
		orderRef = orderID
	}
	return []any{p.PaymentID, p.Gateway, orderRef, p.GatewayOrderID, p.NotesOrderID, p.Amount.Decimal(), p.Currency, p.Method,
		string(p.Status), p.Status.Rank(), p.EventAt, eventID, string(p.TimeSource),
		p.ErrorCode, p.ErrorDescription, p.TokenID}
}

// advancePayment moves a payment forward only: inserted, or updated when
// the new status ranks higher; it answers the previous rank and order and
// whether it changed.
const advancePayment = `WITH prev AS (SELECT status_rank, order_id FROM payments WHERE id = $1 FOR UPDATE),
		up AS (
			INSERT INTO payments AS p (id, gateway, order_id, gateway_order_id, notes_order_id, amount, currency, method, status, status_rank,
				realised_at, realised_event_id, last_event_id, last_event_at, match_status, realised_time_source,
				error_code, error_description, token_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
				CASE WHEN $9 = 'captured' THEN $11::timestamptz END, CASE WHEN $9 = 'captured' THEN $12 END, $12, $11,
				CASE WHEN $3::text IS NULL THEN 'unmatched' ELSE 'matched' END, CASE WHEN $9 = 'captured' THEN nullif($13::text, '') END,
				$14, $15, $16)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, status_rank = excluded.status_rank,
				realised_at = coalesce(p.realised_at, excluded.realised_at), realised_event_id = coalesce(p.realised_event_id, excluded.realised_event_id),
				realised_time_source = coalesce(p.realised_time_source, excluded.realised_time_source),
				last_event_id = excluded.last_event_id, last_event_at = excluded.last_event_at,
				order_id = coalesce(p.order_id, excluded.order_id),
				match_status = CASE WHEN p.match_status = 'unmatched' AND excluded.order_id IS NOT NULL THEN 'matched' ELSE p.match_status END,
				error_code = CASE WHEN excluded.error_code <> '' THEN excluded.error_code ELSE p.error_code END,
				error_description = CASE WHEN excluded.error_description <> '' THEN excluded.error_description ELSE p.error_description END,
				token_id = CASE WHEN p.token_id = '' THEN excluded.token_id ELSE p.token_id END,
				updated_at = now()
			WHERE p.status_rank < excluded.status_rank
			RETURNING 1)
		SELECT coalesce((SELECT status_rank FROM prev), -1), (SELECT order_id FROM prev), EXISTS (SELECT 1 FROM up)`

// BreakPayment records why a payment cannot realise an order and takes it
// out of "matched".
func (t Tx) BreakPayment(ctx context.Context, paymentID, orderID, reason, detail string) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO payment_breaks (payment_id, order_id, reason, detail) VALUES ($1, $2, $3, $4)
		ON CONFLICT (payment_id, reason) DO NOTHING`, paymentID, orderID, reason, detail); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE payments SET match_status = 'break', updated_at = now() WHERE id = $1`, paymentID)
	return err
}

// WaitingPayments returns the unmatched payments that name a leg (by
// notes.order_id or the gateway order id), locked, highest status first.
func (t Tx) WaitingPayments(ctx context.Context, legID, paymentRef string) ([]ledger.WaitingPayment, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, status, amount, currency, method, gateway_order_id, notes_order_id,
			coalesce(realised_event_id, last_event_id), coalesce(realised_at, last_event_at)
		FROM payments WHERE match_status = 'unmatched' AND (notes_order_id = $1 OR (gateway_order_id = $2 AND $2 <> ''))
		ORDER BY status_rank DESC, created_at FOR UPDATE`, legID, paymentRef)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.WaitingPayment, error) {
		var p ledger.WaitingPayment
		var d decimal.Decimal
		if err := r.Scan(&p.ID, &p.Status, &d, &p.Currency, &p.Method, &p.GatewayOrderID, &p.NotesOrderID, &p.EventID, &p.At); err != nil {
			return p, err
		}
		var err error
		p.Amount, err = fund.AmountFromDecimal(d, fund.NoRounding)
		return p, err
	})
}

// MatchPayment matches a payment to a leg.
func (t Tx) MatchPayment(ctx context.Context, paymentID, legID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE payments SET order_id = $2, match_status = 'matched', updated_at = now() WHERE id = $1`, paymentID, legID)
	return err
}

// AllotState reads a leg's NAV, its scheme's units scale and the folio's
// holding, in one statement.
func (t Tx) AllotState(ctx context.Context, scheme string, navDate fund.Date, folio string) (ledger.AllotState, error) {
	var st ledger.AllotState
	err := t.tx.QueryRow(ctx, `SELECT
			(SELECT nav FROM navs WHERE scheme_code = $1 AND nav_date = $2),
			coalesce((SELECT units_scale FROM scheme_terms WHERE scheme_code = $1), 3),
			(SELECT units FROM holdings WHERE folio_no = $3 AND scheme_code = $1)`,
		scheme, navDate.Time(), folio).Scan(&st.NAV, &st.Scale, &st.Held)
	return st, err
}

// OpenLots returns a holding's lots with units left, oldest first.
func (t Tx) OpenLots(ctx context.Context, folio, scheme string, scale int32) ([]fund.Lot, error) {
	// The amount paid is the lot's ledger transaction's: the cost basis is
	// always recomputed from the lot as bought (fund.LotCost).
	rows, err := t.tx.Query(ctx, `SELECT l.id, l.nav_date, l.units_remaining, t.amount, l.units FROM holding_lots l
		JOIN ledger_transactions t ON t.id = l.ledger_tx_id
		WHERE l.folio_no = $1 AND l.scheme_code = $2 AND l.units_remaining > 0 ORDER BY l.nav_date, l.id`, folio, scheme)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (fund.Lot, error) {
		var id int64
		var d time.Time
		var rem, paid, orig decimal.Decimal
		if err := r.Scan(&id, &d, &rem, &paid, &orig); err != nil {
			return fund.Lot{}, err
		}
		u, err := fund.UnitsFromDecimal(rem, scale, fund.NoRounding)
		if err != nil {
			return fund.Lot{}, fmt.Errorf("lot %d: %w", id, err)
		}
		bought, err := fund.UnitsFromDecimal(orig, scale, fund.NoRounding)
		if err != nil {
			return fund.Lot{}, fmt.Errorf("lot %d: %w", id, err)
		}
		c, err := fund.AmountFromDecimal(paid, fund.NoRounding)
		if err != nil {
			return fund.Lot{}, fmt.Errorf("lot %d: %w", id, err)
		}
		return fund.Lot{ID: id, NAVDate: fund.DateOf(d), Units: bought, Paid: c, Remaining: u}, nil
	})
}

// LoadSlabs returns a scheme's exit-load slabs.
func (t Tx) LoadSlabs(ctx context.Context, scheme string) ([]fund.LoadSlab, error) {
	rows, err := t.tx.Query(ctx, `SELECT valid_from, days_below, rate_pct FROM scheme_loads WHERE scheme_code = $1`, scheme)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (fund.LoadSlab, error) {
		var d time.Time
		var s fund.LoadSlab
		err := r.Scan(&d, &s.DaysBelow, &s.RatePct)
		s.ValidFrom = fund.DateOf(d)
		return s, err
	})
}

// PostAllotment writes one allotment: the ledger transaction, then in one
// batch its postings, the lot created or consumed and the holding.
func (t Tx) PostAllotment(ctx context.Context, orderID string, a fund.Allocation) (ledger.Posted, error) {
	b := &pgx.Batch{}
	p, err := t.postTx(ctx, orderID, a.Kind.String(), a, b)
	if err != nil {
		return p, err
	}
	delta, cost := a.Units.Decimal(), a.Amount.Decimal()
	if a.NewLot != nil {
		b.Queue(`INSERT INTO holding_lots (folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`, a.Folio, a.Scheme, p.TxID, a.NAVDate.Time(), a.NAV.Decimal(),
			a.NewLot.Units.Decimal(), a.NewLot.Paid.Decimal())
	} else {
		delta = delta.Neg()
		for _, u := range a.Used {
			// The lot keeps the cost of what is left of it (fund.LotCost),
			// set, not cut step by step.
			b.Queue(`UPDATE holding_lots SET units_remaining = units_remaining - $2, cost = $3 WHERE id = $1`,
				u.LotID, u.Units.Decimal(), u.CostLeft.Decimal())
			b.Queue(`INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
				VALUES ($1, $2, $3, $4, $5, $6)`, p.TxID, u.LotID, u.Units.Decimal(), u.DaysHeld, u.RatePct, u.ExitLoad.Decimal())
		}
	}
	if a.NewLot != nil {
		b.Queue(`INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = holdings.units + excluded.units,
				invested = holdings.invested + excluded.invested, last_tx_id = excluded.last_tx_id, updated_at = now()`,
			a.Folio, a.Scheme, delta, cost, p.TxID)
	} else {
		// A redemption's holding exists (the rules checked the units); an
		// upsert would check the negative delta as a row of its own. The
		// invested amount is the sum of its open lots' costs, as shown.
		b.Queue(`UPDATE holdings SET units = units + $3, last_tx_id = $4, updated_at = now(),
				invested = (SELECT coalesce(sum(cost), 0) FROM holding_lots
					WHERE folio_no = $1 AND scheme_code = $2 AND units_remaining > 0)
			WHERE folio_no = $1 AND scheme_code = $2`, a.Folio, a.Scheme, delta, p.TxID)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return p, fmt.Errorf("postings, lots, holding: %w", err)
	}
	return p, nil
}

// PostTransaction writes a ledger transaction and its postings only.
func (t Tx) PostTransaction(ctx context.Context, orderID, kind string, a fund.Allocation) (ledger.Posted, error) {
	b := &pgx.Batch{}
	p, err := t.postTx(ctx, orderID, kind, a, b)
	if err != nil {
		return p, err
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return p, fmt.Errorf("postings: %w", err)
	}
	return p, nil
}

// postTx inserts a ledger transaction for order leg orderID with a's facts
// and queues its postings in b.
func (t Tx) postTx(ctx context.Context, orderID, kind string, a fund.Allocation, b *pgx.Batch) (ledger.Posted, error) {
	var payment any
	if a.PaymentID != "" {
		payment = a.PaymentID
	}
	var switchID any
	if a.SwitchID != "" {
		switchID = a.SwitchID
	}
	var p ledger.Posted
	if err := t.tx.QueryRow(ctx, `INSERT INTO ledger_transactions (order_id, switch_id, kind, folio_no, scheme_code, nav_date, nav,
			units, amount, stamp_duty, exit_load, net_amount, payment_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id, posted_at`,
		orderID, switchID, kind, a.Folio, a.Scheme, a.NAVDate.Time(), a.NAV.Decimal(), a.Units.Decimal(),
		a.Amount.Decimal(), a.StampDuty.Decimal(), a.ExitLoad.Decimal(), a.Net.Decimal(), payment).Scan(&p.TxID, &p.PostedAt); err != nil {
		return p, fmt.Errorf("ledger transaction: %w", err)
	}
	queuePostings(b, p.TxID, a.Postings)
	return p, nil
}

// queuePostings queues a transaction's postings as one statement.
func queuePostings(b *pgx.Batch, txID int64, ps []fund.Posting) {
	seqs := make([]int16, len(ps))
	accounts := make([]string, len(ps))
	assets := make([]string, len(ps))
	amounts := make([]decimal.Decimal, len(ps))
	for i, p := range ps {
		seqs[i], accounts[i], assets[i], amounts[i] = int16(i), p.Account, p.Asset, p.Amount
	}
	b.Queue(`INSERT INTO ledger_postings (tx_id, seq, account, asset, amount)
		SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::text[], $5::numeric[])`, txID, seqs, accounts, assets, amounts)
}

// ClearingBalance is an account's INR balance.
func (t Tx) ClearingBalance(ctx context.Context, account string) (decimal.Decimal, error) {
	var bal decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE account = $1 AND asset = $2`,
		account, fund.AssetINR).Scan(&bal)
	return bal, err
}

// TxPrice returns the scheme, NAV date and NAV of a leg's ledger
// transaction.
func (t Tx) TxPrice(ctx context.Context, orderID string) (string, fund.Date, decimal.Decimal, error) {
	var scheme string
	var d time.Time
	var nav decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT scheme_code, nav_date, nav FROM ledger_transactions WHERE order_id = $1`, orderID).Scan(&scheme, &d, &nav)
	return scheme, fund.DateOf(d), nav, err
}

// RaiseAlert opens an alert in this transaction.
func (t Tx) RaiseAlert(ctx context.Context, kind, subject, detail string) error {
	return postgres.RaiseAlertTx(ctx, t.tx, kind, subject, detail)
}

// FoliosOfRequests returns the folios of the legs of requests ids.
func (t Tx) FoliosOfRequests(ctx context.Context, ids []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT folio_no FROM orders WHERE request_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// EnsureFolios creates the investors and folios named.
func (t Tx) EnsureFolios(ctx context.Context, folios, investors []string) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO investors (id) SELECT DISTINCT i FROM unnest($1::text[]) AS i ORDER BY i ON CONFLICT (id) DO NOTHING`, investors); err != nil {
		return fmt.Errorf("investors: %w", err)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO folios (folio_no, investor_id)
		SELECT DISTINCT ON (f) f, i FROM unnest($1::text[], $2::text[]) AS x(f, i) ORDER BY f
		ON CONFLICT (folio_no) DO NOTHING`, folios, investors); err != nil {
		return fmt.Errorf("folios: %w", err)
	}
	return nil
}

// FolioOwner returns a folio's investor.
func (t Tx) FolioOwner(ctx context.Context, folio string) (string, error) {
	var owner string
	err := t.tx.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, folio).Scan(&owner)
	return owner, err
}

// InsertRequest stores an order request unless its id is there already.
func (t Tx) InsertRequest(ctx context.Context, r ledger.StoredRequest) (bool, error) {
	var target any
	if r.TargetID != "" {
		target = r.TargetID
	}
	var inserted bool
	err := t.tx.QueryRow(ctx, `INSERT INTO order_requests (id, kind, body, body_sha256, source, status, reason, detail, target_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING true`,
		r.ID, r.Kind, r.Body, r.Fingerprint, r.Source, r.Status, r.Reason, r.Detail, target).Scan(&inserted)
	if errNoRows(err) {
		return false, nil
	}
	return inserted, err
}

// Request reads a stored request's fingerprint and outcome.
func (t Tx) Request(ctx context.Context, id string) (ledger.StoredRequest, error) {
	r := ledger.StoredRequest{ID: id}
	err := t.tx.QueryRow(ctx, `SELECT body_sha256, status, reason, detail FROM order_requests WHERE id = $1`, id).Scan(&r.Fingerprint, &r.Status, &r.Reason, &r.Detail)
	return r, err
}

// AcceptedRequestKind returns the kind of accepted request id.
func (t Tx) AcceptedRequestKind(ctx context.Context, id string) (string, bool, error) {
	var kind string
	err := t.tx.QueryRow(ctx, `SELECT kind FROM order_requests WHERE id = $1 AND status = 'accepted'`, id).Scan(&kind)
	if errNoRows(err) {
		return "", false, nil
	}
	return kind, err == nil, err
}

// RefuseRequest marks a stored request rejected.
func (t Tx) RefuseRequest(ctx context.Context, id, reason, detail string) error {
	_, err := t.tx.Exec(ctx, `UPDATE order_requests SET status = 'rejected', reason = $2, detail = $3 WHERE id = $1`, id, reason, detail)
	return err
}

// InsertLeg stores a new order leg.
func (t Tx) InsertLeg(ctx context.Context, l ledger.NewLeg) error {
	var amount, units, switchID, received any
	if l.Amount != nil {
		amount = l.Amount.Decimal()
	}
	if l.Units != nil {
		units = *l.Units
	}
	if l.SwitchID != "" {
		switchID = l.SwitchID
	}
	if !l.ReceivedAt.IsZero() {
		received = l.ReceivedAt
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO orders (id, request_id, switch_id, kind, investor_id, folio_no, scheme_code, amount, units,
			all_units, currency, payment_ref, placed_at, status, received_at, client_placed_at, time_source, arn, euin)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULLIF($18, ''), NULLIF($19, ''))`,
		l.ID, l.RequestID, switchID, l.Kind.String(), l.InvestorID, l.Folio, l.SchemeCode, amount, units,
		l.AllUnits, l.Currency, l.PaymentRef, l.PlacedAt, string(l.Status), received, l.ClientPlacedAt, l.TimeSource, l.ARN, l.EUIN)
	return err
}

// WriteOutbox inserts outbox rows in order, in one statement.
func (t Tx) WriteOutbox(ctx context.Context, events []ledger.Event) error {
	ids := make([]string, len(events))
	topics := make([]string, len(events))
	keys := make([]string, len(events))
	payloads := make([]string, len(events))
	for i, e := range events {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", e.ID, err)
		}
		ids[i], topics[i], keys[i], payloads[i] = e.ID, e.Topic, e.Key, string(b)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT e, t, k, p FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS x(e, t, k, p, n) ORDER BY n
		ON CONFLICT (event_id) DO NOTHING`, ids, topics, keys, payloads)
	return err
}

// AppendAudit appends audit rows, in order, with no actor (the entity's own
// pipeline is in each row's payload).
func (t Tx) AppendAudit(ctx context.Context, rows []ledger.AuditEntry) error {
	es := make([]postgres.AuditEntry, len(rows))
	for i, r := range rows {
		es[i] = postgres.AuditEntry{Entity: r.Entity, ID: r.ID, Action: r.Action, Payload: r.Payload}
	}
	return postgres.AppendAudits(ctx, t.tx, "", es)
}
