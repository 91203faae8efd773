package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
)

// The set-based allocate pass's SQL: a batch's legs, its facts and its
// writes, each a statement over arrays (unnest), never one per leg.

// LockLegs reads legs ids, and the switch-in legs of the switch-outs among
// them, locked for update in id order.
func (t Tx) LockLegs(ctx context.Context, ids []string) ([]ledger.Leg, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// The switch-in is found through the request both legs belong to
	// (indexed), not by the switch id (not indexed).
	rows, err := t.tx.Query(ctx, `SELECT `+legColumns+` FROM orders WHERE id IN (
			SELECT unnest($1::text[])
			UNION SELECT i.id FROM orders o JOIN orders i ON i.request_id = o.request_id AND i.kind = 'switch_in' AND i.switch_id = o.switch_id
			WHERE o.id = ANY($1) AND o.kind = 'switch_out')
		ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Leg, error) { return scanLeg(r) })
}

// AllotFacts reads a batch's NAVs, schemes, holdings and open lots and
// reserves ids, in one round trip (a batch of set queries).
func (t Tx) AllotFacts(ctx context.Context, q ledger.FactsQuery) (ledger.Facts, error) {
	f := ledger.Facts{NAVs: map[ledger.NAVKey]decimal.Decimal{}, Scales: map[string]int32{}, Categories: map[string]string{},
		Slabs: map[string][]fund.LoadSlab{}, Holdings: map[ledger.HoldingKey]ledger.HoldingState{}, Lots: map[ledger.HoldingKey][]ledger.StoredLot{}}
	b := &pgx.Batch{}
	// The ids come from the columns' own sequences, ascending, so rows
	// written with them sort as the per-leg path's do.
	b.Queue(`SELECT now(),
			ARRAY(SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id')) FROM generate_series(1, $1)),
			ARRAY(SELECT nextval(pg_get_serial_sequence('holding_lots', 'id')) FROM generate_series(1, $2))`, q.TxIDs, q.LotIDs).
		QueryRow(func(r pgx.Row) error { return r.Scan(&f.Now, &f.TxIDs, &f.LotIDs) })
	if len(q.NAVs) > 0 {
		schemes, dates := make([]string, len(q.NAVs)), make([]time.Time, len(q.NAVs))
		for i, k := range q.NAVs {
			schemes[i], dates[i] = k.Scheme, k.Date.Time()
		}
		b.Queue(`SELECT n.scheme_code, n.nav_date, n.nav FROM navs n
			JOIN unnest($1::text[], $2::date[]) AS k(s, d) ON n.scheme_code = k.s AND n.nav_date = k.d`, schemes, dates).
			Query(func(rows pgx.Rows) error {
				var s string
				var d time.Time
				var n decimal.Decimal
				_, err := pgx.ForEachRow(rows, []any{&s, &d, &n}, func() error {
					f.NAVs[ledger.NAVKey{Scheme: s, Date: fund.DateOf(d)}] = n
					return nil
				})
				return err
			})
	}
	if len(q.Schemes) > 0 {
		b.Queue(`SELECT k.s, coalesce(t.units_scale, 3), c.category FROM unnest($1::text[]) AS k(s)
			LEFT JOIN scheme_terms t ON t.scheme_code = k.s LEFT JOIN schemes c ON c.code = k.s`, q.Schemes).
			Query(func(rows pgx.Rows) error {
				var s string
				var scale int32
				var cat *string
				_, err := pgx.ForEachRow(rows, []any{&s, &scale, &cat}, func() error {
					f.Scales[s] = scale
					if cat != nil {
						f.Categories[s] = *cat
					}
					return nil
				})
				return err
			})
		b.Queue(`SELECT scheme_code, valid_from, days_below, rate_pct FROM scheme_loads WHERE scheme_code = ANY($1)`, q.Schemes).
			Query(func(rows pgx.Rows) error {
				var s string
				var d time.Time
				var sl fund.LoadSlab
				_, err := pgx.ForEachRow(rows, []any{&s, &d, &sl.DaysBelow, &sl.RatePct}, func() error {
					sl.ValidFrom = fund.DateOf(d)
					f.Slabs[s] = append(f.Slabs[s], sl)
					return nil
				})
				return err
			})
	}
	if len(q.Holdings) > 0 {
		folios, schemes := holdingKeys(q.Holdings)
		b.Queue(`SELECT h.folio_no, h.scheme_code, h.units, h.invested FROM holdings h
			JOIN unnest($1::text[], $2::text[]) AS k(f, s) ON h.folio_no = k.f AND h.scheme_code = k.s`, folios, schemes).
			Query(func(rows pgx.Rows) error {
				var k ledger.HoldingKey
				var h ledger.HoldingState
				_, err := pgx.ForEachRow(rows, []any{&k.Folio, &k.Scheme, &h.Units, &h.Invested}, func() error {
					f.Holdings[k] = h
					return nil
				})
				return err
			})
	}
	if len(q.Lots) > 0 {
		folios, schemes := holdingKeys(q.Lots)
		// The amount paid is the lot's ledger transaction's (as OpenLots).
		b.Queue(`SELECT l.folio_no, l.scheme_code, l.id, l.nav_date, l.units, l.units_remaining, t.amount, l.cost FROM holding_lots l
			JOIN unnest($1::text[], $2::text[]) AS k(f, s) ON l.folio_no = k.f AND l.scheme_code = k.s
			JOIN ledger_transactions t ON t.id = l.ledger_tx_id
			WHERE l.units_remaining > 0`, folios, schemes).
			Query(func(rows pgx.Rows) error {
				var k ledger.HoldingKey
				var l ledger.StoredLot
				var d time.Time
				_, err := pgx.ForEachRow(rows, []any{&k.Folio, &k.Scheme, &l.ID, &d, &l.Units, &l.Remaining, &l.Paid, &l.Cost}, func() error {
					l.NAVDate = fund.DateOf(d)
					f.Lots[k] = append(f.Lots[k], l)
					return nil
				})
				return err
			})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return f, err
	}
	return f, nil
}

func holdingKeys(ks []ledger.HoldingKey) (folios, schemes []string) {
	folios, schemes = make([]string, len(ks)), make([]string, len(ks))
	for i, k := range ks {
		folios[i], schemes[i] = k.Folio, k.Scheme
	}
	return folios, schemes
}

// WriteAllotments writes a batch's rows, one set statement per table, in
// one round trip.
func (t Tx) WriteAllotments(ctx context.Context, w ledger.AllotWrites) error {
	b := &pgx.Batch{}
	if len(w.Txs) > 0 {
		queueTxs(b, w.Txs)
	}
	if len(w.NewLots) > 0 {
		n := len(w.NewLots)
		ids, txs := make([]int64, n), make([]int64, n)
		folios, schemes, dates := make([]string, n), make([]string, n), make([]time.Time, n)
		navs, units, rem, cost := make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n)
		for i, l := range w.NewLots {
			ids[i], txs[i], folios[i], schemes[i], dates[i] = l.ID, l.TxID, l.Folio, l.Scheme, l.NAVDate.Time()
			navs[i], units[i], rem[i], cost[i] = l.NAV, l.Units, l.Remaining, l.Cost
		}
		b.Queue(`INSERT INTO holding_lots (id, folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::date[], $6::numeric[], $7::numeric[], $8::numeric[], $9::numeric[])`,
			ids, folios, schemes, txs, dates, navs, units, rem, cost)
	}
	if len(w.Lots) > 0 {
		n := len(w.Lots)
		ids, rem, cost := make([]int64, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n)
		for i, l := range w.Lots {
			ids[i], rem[i], cost[i] = l.ID, l.Remaining, l.Cost
		}
		// What is left of each lot as the batch left it (the folio's lock
		// is held), the cost by fund.LotCost.
		b.Queue(`UPDATE holding_lots l SET units_remaining = x.rem, cost = x.cost
			FROM unnest($1::bigint[], $2::numeric[], $3::numeric[]) AS x(id, rem, cost) WHERE l.id = x.id`, ids, rem, cost)
	}
	if len(w.Consumptions) > 0 {
		n := len(w.Consumptions)
		txs, lots, days := make([]int64, n), make([]int64, n), make([]int32, n)
		units, rates, loads := make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n)
		for i, c := range w.Consumptions {
			txs[i], lots[i], days[i] = c.TxID, c.LotID, int32(c.DaysHeld)
			units[i], rates[i], loads[i] = c.Units.Decimal(), c.RatePct, c.ExitLoad.Decimal()
		}
		b.Queue(`INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::numeric[], $4::int[], $5::numeric[], $6::numeric[])`,
			txs, lots, units, days, rates, loads)
	}
	if len(w.Holdings) > 0 {
		n := len(w.Holdings)
		folios, schemes, last := make([]string, n), make([]string, n), make([]int64, n)
		units, inv := make([]decimal.Decimal, n), make([]decimal.Decimal, n)
		for i, h := range w.Holdings {
			folios[i], schemes[i], last[i], units[i], inv[i] = h.Folio, h.Scheme, h.LastTxID, h.Units, h.Invested
		}
		// Each holding as the batch left it (its folio's lock is held).
		b.Queue(`INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::bigint[])
			ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = excluded.units, invested = excluded.invested,
				last_tx_id = excluded.last_tx_id, updated_at = now()`, folios, schemes, units, inv, last)
	}
	if len(w.Statuses) > 0 {
		queueStatuses(b, w.Statuses)
	}
	if len(w.Breaks) > 0 {
		n := len(w.Breaks)
		pays, orders, reasons, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, x := range w.Breaks {
			pays[i], orders[i], reasons[i], details[i] = x.PaymentID, x.OrderID, x.Reason, x.Detail
		}
		b.Queue(`INSERT INTO payment_breaks (payment_id, order_id, reason, detail)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (payment_id, reason) DO NOTHING`,
			pays, orders, reasons, details)
		b.Queue(`UPDATE payments SET match_status = 'break', updated_at = now() WHERE id = ANY($1)`, pays)
	}
	if len(w.Alerts) > 0 {
		n := len(w.Alerts)
		kinds, subjects, details := make([]string, n), make([]string, n), make([]string, n)
		for i, a := range w.Alerts {
			kinds[i], subjects[i], details[i] = a.Kind, a.Subject, a.Detail
		}
		// As sinks/postgres.RaiseAlertTx, for a set (one per kind and subject).
		b.Queue(`INSERT INTO alerts (kind, subject, detail) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
			ON CONFLICT (kind, subject) WHERE resolved_at IS NULL DO UPDATE SET detail = excluded.detail`, kinds, subjects, details)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("allotments: %w", err)
	}
	return nil
}

// queueTxs queues ledger transactions with their ids and their postings.
func queueTxs(b *pgx.Batch, txs []ledger.TxWrite) {
	n := len(txs)
	ids := make([]int64, n)
	orders, kinds, folios, schemes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	switches, payments := make([]*string, n), make([]*string, n)
	dates := make([]time.Time, n)
	navs, units, amounts, duty, load, net := make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n),
		make([]decimal.Decimal, n), make([]decimal.Decimal, n), make([]decimal.Decimal, n)
	var ptx []int64
	var pseq []int16
	var paccount, passet []string
	var pamount []decimal.Decimal
	for i, x := range txs {
		a := x.A
		ids[i], orders[i], kinds[i], folios[i], schemes[i], dates[i] = x.ID, x.OrderID, x.Kind, a.Folio, a.Scheme, a.NAVDate.Time()
		if a.SwitchID != "" {
			s := a.SwitchID
			switches[i] = &s
		}
		if a.PaymentID != "" {
			p := a.PaymentID
			payments[i] = &p
		}
		navs[i], units[i], amounts[i] = a.NAV.Decimal(), a.Units.Decimal(), a.Amount.Decimal()
		duty[i], load[i], net[i] = a.StampDuty.Decimal(), a.ExitLoad.Decimal(), a.Net.Decimal()
		for j, p := range a.Postings {
			ptx, pseq, paccount, passet, pamount = append(ptx, x.ID), append(pseq, int16(j)), append(paccount, p.Account), append(passet, p.Asset), append(pamount, p.Amount)
		}
	}
	b.Queue(`INSERT INTO ledger_transactions (id, order_id, switch_id, kind, folio_no, scheme_code, nav_date, nav,
			units, amount, stamp_duty, exit_load, net_amount, payment_id)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::date[], $8::numeric[],
			$9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::text[])`,
		ids, orders, switches, kinds, folios, schemes, dates, navs, units, amounts, duty, load, net, payments)
	b.Queue(`INSERT INTO ledger_postings (tx_id, seq, account, asset, amount)
		SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::text[], $5::numeric[])`, ptx, pseq, paccount, passet, pamount)
}

// queueStatuses queues the legs' new statuses: each leg's status and
// reason, its ledger transaction when it got one, its NAV-date decision
// when it carries one (as SetStatus writes them).
func queueStatuses(b *pgx.Batch, cs []ledger.StatusChange) {
	n := len(cs)
	ids, statuses, reasons := make([]string, n), make([]string, n), make([]string, n)
	txs := make([]*int64, n)
	hasNAV := make([]bool, n)
	dates, funds := make([]*time.Time, n), make([]*time.Time, n)
	rules, whys := make([]string, n), make([]string, n)
	payments, amounts := make([]*string, n), make([]*string, n)
	for i, c := range cs {
		ids[i], statuses[i], reasons[i] = c.ID, string(c.Status), c.Reason
		if c.TxID != 0 {
			tx := c.TxID
			txs[i] = &tx
		}
		if d := c.NAV; d != nil {
			date := d.Date
			hasNAV[i], dates[i], funds[i], rules[i], whys[i], payments[i] = true, &date, d.FundsAt, d.Rule, d.Reason, d.PaymentID
			if d.Amount != nil {
				a := d.Amount.String()
				amounts[i] = &a
			}
		}
	}
	b.Queue(`UPDATE orders o SET status = x.status, reason = x.reason, updated_at = now(),
			ledger_tx_id = coalesce(x.tx, o.ledger_tx_id),
			nav_date = CASE WHEN x.has_nav THEN x.nav_date ELSE o.nav_date END,
			nav_rule = CASE WHEN x.has_nav THEN x.nav_rule ELSE o.nav_rule END,
			nav_reason = CASE WHEN x.has_nav THEN x.nav_reason ELSE o.nav_reason END,
			funds_at = CASE WHEN x.has_nav THEN x.funds_at ELSE o.funds_at END,
			payment_id = CASE WHEN x.has_nav THEN x.payment_id ELSE o.payment_id END,
			amount = CASE WHEN x.has_nav THEN x.amount::numeric ELSE o.amount END
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bool[], $6::date[], $7::text[], $8::text[],
			$9::timestamptz[], $10::text[], $11::text[]) AS x(id, status, reason, tx, has_nav, nav_date, nav_rule, nav_reason, funds_at, payment_id, amount)
		WHERE o.id = x.id`, ids, statuses, reasons, txs, hasNAV, dates, rules, whys, funds, payments, amounts)
}
