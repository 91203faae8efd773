package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/tax"
)

var _ tax.MergerStore = (*Store)(nil)

// DeclareMerger implements tax.MergerStore.
func (s *Store) DeclareMerger(ctx context.Context, m tax.MergerDecl) (bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO scheme_mergers (id, from_scheme, to_scheme, merge_date, nav_from, nav_to, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		m.ID, m.From, m.To, m.Date.Time(), m.NAVFrom.Decimal(), m.NAVTo.Decimal(), m.Source)
	if err != nil {
		return false, fmt.Errorf("tax: declare merger %s: %w", m.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	have, err := s.Merger(ctx, m.ID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("%w: %s has merged already", tax.ErrMergerConflict, m.From)
		}
		return false, err
	}
	if have.From != m.From || have.To != m.To || have.Date != m.Date || !have.NAVFrom.Equal(m.NAVFrom) || !have.NAVTo.Equal(m.NAVTo) {
		return false, fmt.Errorf("%w: %s is %s → %s on %s at %s/%s", tax.ErrMergerConflict, m.ID, have.From, have.To, have.Date, have.NAVFrom, have.NAVTo)
	}
	return false, nil
}

// Merger implements tax.MergerStore (pgx.ErrNoRows: none).
func (s *Store) Merger(ctx context.Context, id string) (tax.MergerDecl, error) {
	var m tax.MergerDecl
	var on time.Time
	var nf, nt decimal.Decimal
	var scale int16
	err := s.Pool.QueryRow(ctx, `SELECT m.id, m.from_scheme, m.to_scheme, m.merge_date, m.nav_from, m.nav_to, m.source,
			coalesce((SELECT units_scale FROM scheme_terms WHERE scheme_code = m.to_scheme), 3)
		FROM scheme_mergers m WHERE m.id = $1`, id).Scan(&m.ID, &m.From, &m.To, &on, &nf, &nt, &m.Source, &scale)
	if err != nil {
		return m, fmt.Errorf("tax: merger %s: %w", id, err)
	}
	m.Date, m.ToScale = fund.DateOf(on), int32(scale)
	if m.NAVFrom, err = fund.NAVFromDecimal(nf, fund.NoRounding); err != nil {
		return m, err
	}
	m.NAVTo, err = fund.NAVFromDecimal(nt, fund.NoRounding)
	return m, err
}

// MergerFolios implements tax.MergerStore.
func (s *Store) MergerFolios(ctx context.Context, m tax.MergerDecl) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT folio_no FROM holding_lots WHERE scheme_code = $1 AND units_remaining > 0 ORDER BY 1`, m.From)
	if err != nil {
		return nil, fmt.Errorf("tax: folios of %s: %w", m.From, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RedirectPlans implements tax.MergerStore: SIPs and SWPs of From, and
// STPs into or out of it, now name To (an STP that would switch To into
// itself is completed: there is nothing left to move).
func (s *Store) RedirectPlans(ctx context.Context, m tax.MergerDecl) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE plans SET
				scheme_code = CASE WHEN scheme_code = $1 THEN $2 ELSE scheme_code END,
				to_scheme_code = CASE WHEN to_scheme_code = $1 THEN $2 ELSE to_scheme_code END,
				updated_at = now()
			WHERE status IN ('active', 'paused') AND (scheme_code = $1 OR to_scheme_code = $1)
			RETURNING id`, m.From, m.To)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE plans SET status = 'completed', status_reason = 'scheme_merged', updated_at = now()
			WHERE status IN ('active', 'paused') AND kind = 'stp' AND scheme_code = to_scheme_code`); err != nil {
			return err
		}
		n = int64(len(ids))
		if n == 0 {
			return nil
		}
		return postgres.AppendAudits(ctx, tx, "", []postgres.AuditEntry{{Entity: "scheme_merger", ID: m.ID, Action: "plans_redirected",
			Payload: map[string]any{"from": m.From, "to": m.To, "plans": ids}}})
	})
	if err != nil {
		return 0, fmt.Errorf("tax: redirect plans of %s: %w", m.From, err)
	}
	return n, nil
}

// MergeFolio implements tax.MergerStore.
func (s *Store) MergeFolio(ctx context.Context, m tax.MergerDecl, folio string, plan func([]tax.OpenLot) (tax.MergePlan, error)) (bool, error) {
	written := false
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// step 3 of the ledger's lock order: the folio (its lots and
		// holdings are written under it)
		var investor string
		if err := tx.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1 FOR NO KEY UPDATE`, folio).Scan(&investor); err != nil {
			return fmt.Errorf("lock folio: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM merger_folios WHERE merger_id = $1 AND folio_no = $2)`, m.ID, folio).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		lots, err := openLots(ctx, tx, m, folio)
		if err != nil {
			return err
		}
		if len(lots) == 0 {
			return nil // redeemed in between: nothing to carry
		}
		p, err := plan(lots)
		if err != nil {
			return err
		}
		if err := writeMerger(ctx, tx, m, folio, investor, p); err != nil {
			return err
		}
		written = true
		return nil
	})
	return written, err
}

// openLots reads the folio's open lots of From, tax date first, with their
// FMV of 31-Jan-2018 per unit: the lot's own (carried before), else From's
// NAV then, for lots acquired before 1-Feb-2018.
func openLots(ctx context.Context, tx pgx.Tx, m tax.MergerDecl, folio string) ([]tax.OpenLot, error) {
	rows, err := tx.Query(ctx, `SELECT l.id, coalesce(l.acquired_on, l.nav_date), l.nav_date, l.units_remaining, l.cost, l.fmv_2018,
			coalesce((SELECT units_scale FROM scheme_terms WHERE scheme_code = l.scheme_code), 3)
		FROM holding_lots l WHERE l.folio_no = $1 AND l.scheme_code = $2 AND l.units_remaining > 0
		ORDER BY 2, 3, 1`, folio, m.From)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tax.OpenLot
	for rows.Next() {
		var l tax.OpenLot
		var bought, on time.Time
		var units, cost decimal.Decimal
		var fmv *decimal.Decimal
		var scale int16
		if err := rows.Scan(&l.ID, &bought, &on, &units, &cost, &fmv, &scale); err != nil {
			return nil, err
		}
		l.Bought, l.NAVDate = fund.DateOf(bought), fund.DateOf(on)
		if l.NAVDate.After(m.Date) {
			return nil, fmt.Errorf("lot %d of %s was allotted on %s, after the merger date %s", l.ID, m.From, l.NAVDate, m.Date)
		}
		if l.Units, err = fund.UnitsFromDecimal(units, int32(scale), fund.NoRounding); err != nil {
			return nil, fmt.Errorf("lot %d: %w", l.ID, err)
		}
		if l.Cost, err = fund.AmountFromDecimal(cost, fund.NoRounding); err != nil {
			return nil, fmt.Errorf("lot %d: %w", l.ID, err)
		}
		if fmv != nil {
			n, err := fund.NAVFromDecimal(*fmv, fund.NoRounding)
			if err != nil {
				return nil, fmt.Errorf("lot %d: %w", l.ID, err)
			}
			l.FMV = &n
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var fmv *fund.NAV
	looked := false
	for i := range out {
		if out[i].FMV != nil || !out[i].Bought.Before(ftax.GrandfatherBefore) {
			continue
		}
		if !looked {
			looked = true
			var nav decimal.Decimal
			err := tx.QueryRow(ctx, `SELECT nav FROM navs WHERE scheme_code = $1 AND nav_date <= $2 ORDER BY nav_date DESC LIMIT 1`,
				m.From, ftax.FMVDate.Time()).Scan(&nav)
			switch {
			case errors.Is(err, pgx.ErrNoRows): // no FMV: gains on the carried lot will say so
			case err != nil:
				return nil, err
			default:
				n, err := fund.AppliedNAV(nav)
				if err != nil {
					return nil, err
				}
				fmv = &n
			}
		}
		out[i].FMV = fmv
	}
	return out, nil
}

// writeMerger writes one folio's merger under the folio's lock: the
// request, the out leg (order, ledger transaction, postings, consumptions
// of every lot taken), one in leg per carried lot (order, ledger
// transaction at the lot's cost, postings, the lot with its tax date), the
// holdings, the merger_folios row, then outbox and audit (step 7, last).
func writeMerger(ctx context.Context, tx pgx.Tx, m tax.MergerDecl, folio, investor string, p tax.MergePlan) error {
	req := "MRG-" + m.ID + "-" + folio
	body, _ := json.Marshal(map[string]string{"merger": m.ID, "folio": folio, "from": m.From, "to": m.To, "date": m.Date.String(),
		"nav_from": m.NAVFrom.String(), "nav_to": m.NAVTo.String(), "units_from": p.UnitsFrom.String()})
	sum := sha256.Sum256(body)
	now := time.Now().UTC()
	at := now.Format(time.RFC3339Nano)
	if err := lpg.Requests.Insert(ctx, tx, lpg.RequestRow{ID: req, Kind: "merger", Body: string(body), BodySHA256: hex.EncodeToString(sum[:]),
		Source: "merger:" + m.ID, Status: "accepted", ReceivedAt: now}); err != nil {
		return err
	}
	var events []fund.TransactionCompleted
	var audits []postgres.AuditEntry
	leg := func(orderID, kind, scheme string, nav fund.NAV, units fund.Units, cost fund.Amount, postings []fund.Posting) (int64, error) {
		var txID int64
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id'))`).Scan(&txID); err != nil {
			return 0, err
		}
		u := units.Decimal()
		if err := lpg.Orders.Insert(ctx, tx, lpg.OrderRow{ID: orderID, RequestID: req, Kind: kind, InvestorID: investor, Folio: folio, Scheme: scheme,
			Units: &u, PlacedAt: now, Status: fund.Allotted, NAVDate: m.Date, NAVRule: "merger",
			NAVReason: fmt.Sprintf("merger %s: %s into %s on %s at %s / %s", m.ID, m.From, m.To, m.Date, m.NAVFrom, m.NAVTo), TxID: txID}); err != nil {
			return 0, err
		}
		// the amount is the cost carried: a merger is no cash flow and
		// changes no investor's cost (a lot's cost is its transaction's)
		if err := lpg.Transactions.Insert(ctx, tx, lpg.TxRow{ID: txID, OrderID: orderID, Kind: kind, Folio: folio, Scheme: scheme, NAVDate: m.Date,
			NAV: nav.Decimal(), Units: u, Amount: cost.Decimal(), Net: cost.Decimal(), PostedAt: now}); err != nil {
			return 0, err
		}
		if err := fund.CheckPostings(postings); err != nil {
			return 0, fmt.Errorf("%s postings: %w", orderID, err)
		}
		for i, ps := range postings {
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_postings (tx_id, seq, account, asset, amount) VALUES ($1, $2, $3, $4, $5)`,
				txID, i, ps.Account, ps.Asset, ps.Amount); err != nil {
				return 0, fmt.Errorf("posting %d: %w", i, err)
			}
		}
		e := fund.TransactionCompleted{EventID: fund.TopicTransactions + ":" + orderID, TxID: txID, OrderID: orderID, RequestID: req, SwitchID: req,
			Kind: kind, Folio: folio, InvestorID: investor, SchemeCode: scheme, NAVDate: m.Date.String(), NAV: nav.String(), Units: units.String(),
			Amount: cost.String(), StampDuty: "0.00", ExitLoad: "0.00", NetAmount: cost.String(), PlacedAt: at, PostedAt: at}
		events = append(events, e)
		audits = append(audits, postgres.AuditEntry{Entity: "ledger_tx", ID: fmt.Sprint(txID), Action: "posted", Payload: e})
		return txID, nil
	}

	// the out leg: every lot of From, and the residue's value from From's cash
	outPostings := []fund.Posting{
		{Account: fund.AccountFolio(folio), Asset: fund.AssetUnits(m.From), Amount: p.UnitsFrom.Decimal().Neg()},
		{Account: fund.AccountSchemeUnits(m.From), Asset: fund.AssetUnits(m.From), Amount: p.UnitsFrom.Decimal()},
	}
	if !p.Residue.IsZero() {
		outPostings = append(outPostings,
			fund.Posting{Account: fund.AccountSchemeCash(m.From), Asset: fund.AssetINR, Amount: p.Residue.Decimal().Neg()},
			fund.Posting{Account: fund.AccountMergerResidue(m.ID), Asset: fund.AssetINR, Amount: p.Residue.Decimal()})
	}
	outID, err := leg(req+"#out", fund.KindMergerOut, m.From, m.NAVFrom, p.UnitsFrom, p.Cost, outPostings)
	if err != nil {
		return err
	}
	for _, l := range p.Taken {
		if _, err := tx.Exec(ctx, `INSERT INTO lot_consumptions (ledger_tx_id, lot_id, units, days_held, load_rate_pct, exit_load)
			VALUES ($1, $2, $3, $4, 0, 0)`, outID, l.ID, l.Units.Decimal(), m.Date.DaysSince(l.NAVDate)); err != nil {
			return fmt.Errorf("lot %d: %w", l.ID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE holding_lots SET units_remaining = 0, cost = 0 WHERE id = $1`, l.ID); err != nil {
			return fmt.Errorf("lot %d: %w", l.ID, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE holdings SET units = units - $3, invested = invested - $4, last_tx_id = $5, updated_at = now()
		WHERE folio_no = $1 AND scheme_code = $2`, folio, m.From, p.UnitsFrom.Decimal(), p.Cost.Decimal(), outID); err != nil {
		return fmt.Errorf("holding of %s: %w", m.From, err)
	}
	// the in legs: one per carried lot, its acquisition date and FMV kept
	var lastIn int64
	for i, c := range p.Carried {
		in, err := leg(fmt.Sprintf("%s#in%d", req, i+1), fund.KindMergerIn, m.To, m.NAVTo, c.Units, c.Cost, []fund.Posting{
			{Account: fund.AccountFolio(folio), Asset: fund.AssetUnits(m.To), Amount: c.Units.Decimal()},
			{Account: fund.AccountSchemeUnits(m.To), Asset: fund.AssetUnits(m.To), Amount: c.Units.Decimal().Neg()},
		})
		if err != nil {
			return err
		}
		var fmv *decimal.Decimal
		if c.FMV != nil {
			d := c.FMV.Decimal()
			fmv = &d
		}
		if _, err := tx.Exec(ctx, `INSERT INTO holding_lots (folio_no, scheme_code, ledger_tx_id, nav_date, nav, units, units_remaining, cost,
				acquired_on, fmv_2018, carried_from)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)`, folio, m.To, in, m.Date.Time(), m.NAVTo.Decimal(), c.Units.Decimal(),
			c.Cost.Decimal(), c.Bought.Time(), fmv, c.SourceID); err != nil {
			return fmt.Errorf("carried lot of %d: %w", c.SourceID, err)
		}
		lastIn = in
	}
	if _, err := tx.Exec(ctx, `INSERT INTO holdings (folio_no, scheme_code, units, invested, last_tx_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (folio_no, scheme_code) DO UPDATE SET units = holdings.units + excluded.units,
			invested = holdings.invested + excluded.invested, last_tx_id = excluded.last_tx_id, updated_at = now()`,
		folio, m.To, p.UnitsTo.Decimal(), p.Cost.Decimal(), lastIn); err != nil {
		return fmt.Errorf("holding of %s: %w", m.To, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO merger_folios (merger_id, folio_no, lots, units_from, units_to, cost, residue, out_tx_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, m.ID, folio, len(p.Taken), p.UnitsFrom.Decimal(), p.UnitsTo.Decimal(),
		p.Cost.Decimal(), p.Residue.Decimal(), outID); err != nil {
		return fmt.Errorf("merger folio: %w", err)
	}
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`,
			e.EventID, fund.TopicTransactions, folio, string(b)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	audits = append(audits, postgres.AuditEntry{Entity: "merger_folio", ID: m.ID + ":" + folio, Action: "merged", Payload: map[string]string{
		"from": m.From, "to": m.To, "units_from": p.UnitsFrom.String(), "units_to": p.UnitsTo.String(), "cost": p.Cost.String(), "residue": p.Residue.String()}})
	return postgres.AppendAudits(ctx, tx, "", audits)
}
