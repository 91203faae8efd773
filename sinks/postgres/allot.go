package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// tryAllot allots leg id if it is pending and its NAV is in navs; otherwise
// it leaves the leg as it is. The caller holds the leg's folio lock.
func (w *work) tryAllot(id string) error {
	r, err := w.leg(id)
	if err != nil {
		return err
	}
	return w.tryAllotLeg(&r)
}

// tryAllotLeg is tryAllot for a leg already read (and locked) in this
// transaction; a NAV-date decision still in memory is written either way.
func (w *work) tryAllotLeg(rp *legRow) error {
	r := *rp
	id := r.ID
	if !w.locked[r.Folio] {
		return fmt.Errorf("allot %s: folio %s is not locked", id, r.Folio)
	}
	if r.Status != fund.PendingNAV {
		return nil
	}
	navDate := fund.DateOf(*r.NAVDate)
	var nav *decimal.Decimal
	var scale int32
	var held *decimal.Decimal
	if err := w.tx.QueryRow(w.ctx, `SELECT
			(SELECT nav FROM navs WHERE scheme_code = $1 AND nav_date = $2),
			coalesce((SELECT units_scale FROM scheme_terms WHERE scheme_code = $1), 3),
			(SELECT units FROM holdings WHERE folio_no = $3 AND scheme_code = $1)`,
		r.SchemeCode, navDate.Time(), r.Folio).Scan(&nav, &scale, &held); err != nil {
		return fmt.Errorf("allot %s: read NAV and holding: %w", id, err)
	}
	if nav == nil {
		// Waits for the NAV: allocate runs again when it lands.
		if r.decided {
			return w.persist(rp, fund.PendingNAV, "", "")
		}
		return nil
	}
	// The platform's one NAV rule (the column keeps what the file said).
	n, err := fund.AppliedNAV(*nav)
	if err != nil {
		return fmt.Errorf("allot %s: NAV of %s on %s: %w", id, r.SchemeCode, navDate, err)
	}
	in := fund.AllotInput{Leg: r.OrderLeg, NAVDate: navDate, NAV: n, UnitsScale: scale, Gateway: w.l.gateway()}
	if r.PaymentID != nil {
		in.PaymentID = *r.PaymentID
	}
	in.Held = fund.MustUnits("0", scale)
	if held != nil {
		if in.Held, err = fund.UnitsFromDecimal(*held, scale, fund.NoRounding); err != nil {
			return fmt.Errorf("allot %s: holding: %w", id, err)
		}
	}
	if !r.Kind.IssuesUnits() {
		if in.Lots, err = w.openLots(r.Folio, r.SchemeCode, scale); err != nil {
			return err
		}
		if in.Slabs, err = w.loadSlabs(r.SchemeCode); err != nil {
			return err
		}
	}
	a, err := w.l.Rules.Allot(in)
	if err != nil {
		return err
	}
	if a.Reject != "" {
		err = w.rejectLeg(&r, a.Reject, a.RejectDetail)
	} else {
		err = w.writeAllotment(&r, a)
	}
	*rp = r
	return err
}

func (w *work) openLots(folio, scheme string, scale int32) ([]fund.Lot, error) {
	// The amount paid is the lot's ledger transaction's: the cost basis is
	// always recomputed from the lot as bought (fund.LotCost).
	rows, err := w.tx.Query(w.ctx, `SELECT l.id, l.nav_date, l.units_remaining, t.amount, l.units FROM holding_lots l
		JOIN ledger_transactions t ON t.id = l.ledger_tx_id
		WHERE l.folio_no = $1 AND l.scheme_code = $2 AND l.units_remaining > 0 ORDER BY l.nav_date, l.id`, folio, scheme)
	if err != nil {
		return nil, fmt.Errorf("lots of %s/%s: %w", folio, scheme, err)
	}
	defer rows.Close()
	var out []fund.Lot
	for rows.Next() {
		var id int64
		var d time.Time
		var rem, paid, orig decimal.Decimal
		if err := rows.Scan(&id, &d, &rem, &paid, &orig); err != nil {
			return nil, err
		}
		u, err := fund.UnitsFromDecimal(rem, scale, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", id, err)
		}
		bought, err := fund.UnitsFromDecimal(orig, scale, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", id, err)
		}
		c, err := fund.AmountFromDecimal(paid, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", id, err)
		}
		out = append(out, fund.Lot{ID: id, NAVDate: fund.DateOf(d), Units: bought, Paid: c, Remaining: u})
	}
	return out, rows.Err()
}

func (w *work) loadSlabs(scheme string) ([]fund.LoadSlab, error) {
	rows, err := w.tx.Query(w.ctx, `SELECT valid_from, days_below, rate_pct FROM scheme_loads WHERE scheme_code = $1`, scheme)
	if err != nil {
		return nil, fmt.Errorf("loads of %s: %w", scheme, err)
	}
	defer rows.Close()
	var out []fund.LoadSlab
	for rows.Next() {
		var d time.Time
		var s fund.LoadSlab
		if err := rows.Scan(&d, &s.DaysBelow, &s.RatePct); err != nil {
			return nil, err
		}
		s.ValidFrom = fund.DateOf(d)
		out = append(out, s)
	}
	return out, rows.Err()
}

// rejectLeg rejects a leg at allotment (and the switch-in of a rejected
// switch-out).
func (w *work) rejectLeg(r *legRow, reason, detail string) error {
	if err := w.setStatus(r, fund.Rejected, reason, nil, 0, ""); err != nil {
		return err
	}
	w.audit("order", r.ID, "rejected_detail", map[string]string{"reason": reason, "detail": detail})
	if r.Kind == fund.SwitchOut {
		in, err := w.leg(fund.SwitchInLeg(r.SwitchID))
		if err != nil {
			return err
		}
		if !in.Status.Final() {
			return w.setStatus(&in, fund.Rejected, "switch_out_rejected", nil, 0, "")
		}
	}
	return nil
}

// writeAllotment writes one allotment: the ledger transaction and its
// postings, the lot created or consumed, the holding, the leg's status and
// the events, all in the caller's transaction.
func (w *work) writeAllotment(r *legRow, a fund.Allocation) error {
	b := &pgx.Batch{}
	txID, postedAt, err := w.postTx(r.ID, a.Kind.String(), a, b)
	if err != nil {
		return err
	}
	delta, cost := a.Units.Decimal(), a.Amount.Decimal()
	if a.NewLot != nil {
		b.Queue(`INSERT INTO holding_lots (folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`, a.Folio, a.Scheme, txID, a.NAVDate.Time(), a.NAV.Decimal(),
			a.NewLot.Units.Decimal(), a.NewLot.Paid.Decimal())
	} else {
		delta = delta.Neg()
		for _, u := range a.Used {
			// The lot keeps the cost of what is left of it (fund.LotCost),
			// set, not cut step by step.
			b.Queue(`UPDATE holding_lots SET units_remaining = units_remaining - $2, cost = $3 WHERE id = $1`,
				u.LotID, u.Units.Decimal(), u.CostLeft.Decimal())
			b.Queue(`INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
				VALUES ($1, $2, $3, $4, $5, $6)`, txID, u.LotID, u.Units.Decimal(), u.DaysHeld, u.RatePct, u.ExitLoad.Decimal())
		}
	}
	if a.NewLot != nil {
		b.Queue(`INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = holdings.units + excluded.units,
				invested = holdings.invested + excluded.invested, last_tx_id = excluded.last_tx_id, updated_at = now()`,
			a.Folio, a.Scheme, delta, cost, txID)
	} else {
		// A redemption's holding exists (the rules checked the units); an
		// upsert would check the negative delta as a row of its own. The
		// invested amount is the sum of its open lots' costs, as shown.
		b.Queue(`UPDATE holdings SET units = units + $3, last_tx_id = $4, updated_at = now(),
				invested = (SELECT coalesce(sum(cost), 0) FROM holding_lots
					WHERE folio_no = $1 AND scheme_code = $2 AND units_remaining > 0)
			WHERE folio_no = $1 AND scheme_code = $2`, a.Folio, a.Scheme, delta, txID)
	}
	if err := w.tx.SendBatch(w.ctx, b).Close(); err != nil {
		return fmt.Errorf("allot %s: postings, lots, holding: %w", r.ID, err)
	}
	if err := w.setStatus(r, fund.Allotted, "", &a.NAVDate, txID, `, ledger_tx_id = $4`, txID); err != nil {
		return err
	}
	w.emitTx(r, a.Kind.String(), a, txID, postedAt)
	w.allotted = append(w.allotted, r.ID)
	if a.Kind == fund.SwitchOut {
		return w.switchIn(a)
	}
	return nil
}

// postTx inserts a ledger transaction (kind: a TxKind code, or
// fund.KindSwitchPayout) for order leg orderID with a's facts, and queues its
// postings in b; the caller sends b in the same transaction.
func (w *work) postTx(orderID, kind string, a fund.Allocation, b *pgx.Batch) (int64, time.Time, error) {
	if err := fund.CheckPostings(a.Postings); err != nil {
		return 0, time.Time{}, fmt.Errorf("post %s: %w", orderID, err)
	}
	var payment any
	if a.PaymentID != "" {
		payment = a.PaymentID
	}
	var switchID any
	if a.SwitchID != "" {
		switchID = a.SwitchID
	}
	var txID int64
	var postedAt time.Time
	if err := w.tx.QueryRow(w.ctx, `INSERT INTO ledger_transactions (order_id, switch_id, kind, folio_no, scheme_code, nav_date, nav,
			units, amount, stamp_duty, exit_load, net_amount, payment_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id, posted_at`,
		orderID, switchID, kind, a.Folio, a.Scheme, a.NAVDate.Time(), a.NAV.Decimal(), a.Units.Decimal(),
		a.Amount.Decimal(), a.StampDuty.Decimal(), a.ExitLoad.Decimal(), a.Net.Decimal(), payment).Scan(&txID, &postedAt); err != nil {
		return 0, time.Time{}, fmt.Errorf("post %s: ledger transaction: %w", orderID, err)
	}
	seqs := make([]int16, len(a.Postings))
	accounts := make([]string, len(a.Postings))
	assets := make([]string, len(a.Postings))
	amounts := make([]decimal.Decimal, len(a.Postings))
	for i, p := range a.Postings {
		seqs[i], accounts[i], assets[i], amounts[i] = int16(i), p.Account, p.Asset, p.Amount
	}
	b.Queue(`INSERT INTO ledger_postings (tx_id, seq, account, asset, amount)
		SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::text[], $5::numeric[])`, txID, seqs, accounts, assets, amounts)
	return txID, postedAt, nil
}

// emitTx emits transactions.completed and the audit row of a ledger
// transaction posted for leg r.
func (w *work) emitTx(r *legRow, kind string, a fund.Allocation, txID int64, postedAt time.Time) {
	ev := fund.TransactionCompleted{EventID: TopicTransactions + ":" + r.ID, TxID: txID, OrderID: r.ID, RequestID: r.RequestID, SwitchID: a.SwitchID,
		Kind: kind, Folio: a.Folio, InvestorID: r.InvestorID, SchemeCode: a.Scheme, NAVDate: a.NAVDate.String(),
		NAV: a.NAV.String(), Units: a.Units.String(), Amount: a.Amount.String(), StampDuty: a.StampDuty.String(),
		ExitLoad: a.ExitLoad.String(), NetAmount: a.Net.String(), PaymentID: a.PaymentID,
		PlacedAt: r.PlacedAt.UTC().Format(time.RFC3339Nano), PostedAt: postedAt.UTC().Format(time.RFC3339Nano)}
	w.emit(TopicTransactions, ev.EventID, a.Folio, ev)
	w.audit("ledger_tx", fmt.Sprint(txID), "posted", ev)
}

// switchIn releases the purchase leg of a switch once its switch-out is
// allotted: it buys with the switch-out's payout, its funds count from the
// switch request's time stamp.
func (w *work) switchIn(out fund.Allocation) error {
	in, err := w.leg(fund.SwitchInLeg(out.SwitchID))
	if err != nil {
		return err
	}
	if in.Status != fund.AwaitingLeg {
		return nil
	}
	if out.Net.Sign() <= 0 {
		return w.setStatus(&in, fund.Rejected, "nothing_to_switch", nil, 0, "")
	}
	amt := out.Net
	in.Amount = &amt // written with the decision
	if err := w.decideNAVDate(&in, in.PlacedAt, ""); err != nil {
		return err
	}
	return w.tryAllotLeg(&in)
}

// AllotResult counts what an allocate pass did.
type AllotResult struct {
	Allotted int `json:"allotted"` // legs allotted
	Matched  int `json:"matched"`  // payments matched to orders placed after them
	Waiting  int `json:"waiting"`  // legs still waiting for their NAV
}

// AllotPending allots every pending leg whose NAV has landed (and first
// matches captured payments still unmatched to orders placed since), in
// transactions of at most batch legs each, taking folio locks in folio
// order. nav-ingest calls it after a load; `fundflow run allocate` runs it
// on demand. Safe to run concurrently with everything else, and again.
func (l *Ledger) AllotPending(ctx context.Context, batch int) (AllotResult, error) {
	if batch <= 0 {
		batch = 100
	}
	var res AllotResult
	m, err := l.MatchUnmatched(ctx)
	if err != nil {
		return res, err
	}
	res.Matched = m
	lastFolio, lastID := "", ""
	for {
		type item struct{ id, folio string }
		var items []item
		rows, err := l.Pool.Query(ctx, `SELECT o.id, o.folio_no FROM orders o
			JOIN navs n ON n.scheme_code = o.scheme_code AND n.nav_date = o.nav_date
			WHERE o.status = 'pending_nav' AND (o.folio_no, o.id) > ($1, $2)
			ORDER BY o.folio_no, o.id LIMIT $3`, lastFolio, lastID, batch)
		if err != nil {
			return res, classify(err)
		}
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.id, &it.folio); err != nil {
				rows.Close()
				return res, err
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, classify(err)
		}
		if len(items) == 0 {
			break
		}
		lastFolio, lastID = items[len(items)-1].folio, items[len(items)-1].id
		w, err := l.inTx(ctx, func(w *work) error {
			folios := make([]string, len(items))
			for i, it := range items {
				folios[i] = it.folio
			}
			if err := w.lockFolios(folios...); err != nil {
				return err
			}
			for _, it := range items {
				if err := w.tryAllot(it.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("allocate: %w", err)
		}
		res.Allotted += len(w.allotted)
	}
	err = l.Pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE status = 'pending_nav'`).Scan(&res.Waiting)
	return res, classify(err)
}

// errNoRows reports whether err is pgx's "no rows".
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
