package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// holdColumns are what a leg read says of its holds (legColumns ends with
// them): the source of an open hold, and the investor restriction that
// blocks the leg's kind as {source, reason, detail} (NULL: none). Both are
// index lookups (order_holds_open, the restrictions' key). A bank
// restriction holds redemptions only (ledger.Restriction.Blocks).
const holdColumns = `coalesce((SELECT h.source FROM order_holds h WHERE h.order_id = orders.id AND h.closed_at IS NULL ORDER BY h.source LIMIT 1), ''),
	(SELECT ARRAY[r.source, r.reason, r.detail] FROM investor_restrictions r WHERE r.investor_id = orders.investor_id
		AND CASE orders.kind WHEN 'redemption' THEN r.blocks_redemption
			WHEN 'switch_in' THEN r.source <> 'bank' AND (r.blocks_purchase OR r.blocks_redemption)
			WHEN 'switch_out' THEN r.source <> 'bank' AND (r.blocks_purchase OR r.blocks_redemption)
			ELSE r.blocks_purchase OR (r.blocks_new_folio -- a folio with no allotment yet is being opened
				AND NOT EXISTS (SELECT 1 FROM ledger_transactions lt WHERE lt.folio_no = orders.folio_no)) END
		ORDER BY r.source LIMIT 1)`

func blockedRestriction(investor string, a []string) *ledger.Restriction {
	if len(a) != 3 {
		return nil
	}
	return &ledger.Restriction{InvestorID: investor, Source: a[0], Reason: a[1], Detail: a[2]}
}

const holdSelect = `SELECT id, order_id, investor_id, source, reason, detail, case_ref, raised_by, raised_at, closed_at,
	coalesce(closed_by, ''), coalesce(resolution, ''), note FROM order_holds`

func scanHold(r pgx.Row) (ledger.Hold, error) {
	var h ledger.Hold
	err := r.Scan(&h.ID, &h.OrderID, &h.InvestorID, &h.Source, &h.Reason, &h.Detail, &h.CaseRef, &h.RaisedBy, &h.RaisedAt,
		&h.ClosedAt, &h.ClosedBy, &h.Resolution, &h.Note)
	return h, err
}

func collectHolds(rows pgx.Rows, err error) ([]ledger.Hold, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Hold, error) { return scanHold(r) })
}

// InsertHold inserts an open hold, or returns the open one of the same leg
// and source.
func (t Tx) InsertHold(ctx context.Context, h ledger.HoldRequest, investorID string) (ledger.Hold, bool, error) {
	got, err := scanHold(t.tx.QueryRow(ctx, `INSERT INTO order_holds (order_id, investor_id, source, reason, detail, case_ref, raised_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (order_id, source) WHERE closed_at IS NULL DO NOTHING
		RETURNING id, order_id, investor_id, source, reason, detail, case_ref, raised_by, raised_at, closed_at,
			coalesce(closed_by, ''), coalesce(resolution, ''), note`,
		h.OrderID, investorID, h.Source, h.Reason, h.Detail, h.CaseRef, h.By))
	if err == nil {
		return got, true, nil
	}
	if !errNoRows(err) {
		return got, false, err
	}
	got, err = scanHold(t.tx.QueryRow(ctx, holdSelect+` WHERE order_id = $1 AND source = $2 AND closed_at IS NULL`, h.OrderID, h.Source))
	return got, false, err
}

// HoldOrder is the leg of hold id.
func (t Tx) HoldOrder(ctx context.Context, id int64) (string, error) {
	var o string
	err := t.tx.QueryRow(ctx, `SELECT order_id FROM order_holds WHERE id = $1`, id).Scan(&o)
	if errNoRows(err) {
		return "", fmt.Errorf("hold %d: %w", id, ledger.ErrNoHold)
	}
	return o, err
}

// CloseHold closes an open hold.
func (t Tx) CloseHold(ctx context.Context, id int64, by, resolution, note string) (ledger.Hold, error) {
	h, err := scanHold(t.tx.QueryRow(ctx, `UPDATE order_holds SET closed_at = now(), closed_by = $2, resolution = $3, note = $4
		WHERE id = $1 AND closed_at IS NULL
		RETURNING id, order_id, investor_id, source, reason, detail, case_ref, raised_by, raised_at, closed_at,
			coalesce(closed_by, ''), coalesce(resolution, ''), note`, id, by, resolution, note))
	if !errNoRows(err) {
		return h, err
	}
	var closed bool
	if err := t.tx.QueryRow(ctx, `SELECT closed_at IS NOT NULL FROM order_holds WHERE id = $1`, id).Scan(&closed); errNoRows(err) {
		return h, ledger.ErrNoHold
	} else if err != nil {
		return h, err
	}
	return h, ledger.ErrHoldClosed
}

// CloseOpenHolds releases every open hold of a leg.
func (t Tx) CloseOpenHolds(ctx context.Context, orderID, by, note string) ([]ledger.Hold, error) {
	return collectHolds(t.tx.Query(ctx, `UPDATE order_holds SET closed_at = now(), closed_by = $2, resolution = 'released', note = $3
		WHERE order_id = $1 AND closed_at IS NULL
		RETURNING id, order_id, investor_id, source, reason, detail, case_ref, raised_by, raised_at, closed_at,
			coalesce(closed_by, ''), coalesce(resolution, ''), note`, orderID, by, note))
}

// OpenHoldSource is the source of an open hold of a leg ("" none).
func (t Tx) OpenHoldSource(ctx context.Context, orderID string) (string, error) {
	var s string
	err := t.tx.QueryRow(ctx, `SELECT coalesce(min(source), '') FROM order_holds WHERE order_id = $1 AND closed_at IS NULL`, orderID).Scan(&s)
	return s, err
}

// OpenHoldsOf lists an investor's open holds of one source, in id order.
func (t Tx) OpenHoldsOf(ctx context.Context, investorID, source string) ([]ledger.Hold, error) {
	return collectHolds(t.tx.Query(ctx, holdSelect+` WHERE investor_id = $1 AND source = $2 AND closed_at IS NULL ORDER BY id`, investorID, source))
}

// UpsertRestriction writes an investor's restriction by its source.
func (t Tx) UpsertRestriction(ctx context.Context, r ledger.Restriction) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO investors (id) VALUES ($1) ON CONFLICT DO NOTHING`, r.InvestorID)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO investor_restrictions (investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by,
			blocks_new_folio)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (investor_id, source) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail,
			blocks_purchase = EXCLUDED.blocks_purchase, blocks_redemption = EXCLUDED.blocks_redemption,
			blocks_new_folio = EXCLUDED.blocks_new_folio,
			updated_by = EXCLUDED.updated_by, since = now()`,
		r.InvestorID, r.Source, r.Reason, r.Detail, r.BlocksPurchase, r.BlocksRedemption, r.By, r.BlocksNewFolio)
	return err
}

// RenameOpenHolds sets the reason and detail of an investor's open holds
// of source.
func (t Tx) RenameOpenHolds(ctx context.Context, investorID, source, reason, detail string) error {
	_, err := t.tx.Exec(ctx, `UPDATE order_holds SET reason = $3, detail = $4
		WHERE investor_id = $1 AND source = $2 AND closed_at IS NULL AND (reason, detail) IS DISTINCT FROM ($3, $4)`,
		investorID, source, reason, detail)
	return err
}

// DeleteRestriction removes an investor's restriction by source.
func (t Tx) DeleteRestriction(ctx context.Context, investorID, source string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM investor_restrictions WHERE investor_id = $1 AND source = $2`, investorID, source)
	return tag.RowsAffected() > 0, err
}

// FoliosOfInvestor lists an investor's folios.
func (t Tx) FoliosOfInvestor(ctx context.Context, investorID string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT folio_no FROM folios WHERE investor_id = $1 ORDER BY folio_no`, investorID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// OpenLegsOf reads an investor's legs that are not final, locked.
func (t Tx) OpenLegsOf(ctx context.Context, investorID string) ([]ledger.Leg, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+legColumns+` FROM orders
		WHERE investor_id = $1 AND status IN ('awaiting_payment', 'awaiting_leg', 'pending_nav') ORDER BY id FOR UPDATE`, investorID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Leg, error) { return scanLeg(r) })
}

// Holds lists holds, newest first.
func (s Store) Holds(ctx context.Context, f ledger.HoldFilter) ([]ledger.Hold, error) {
	hs, err := collectHolds(s.Pool.Query(ctx, holdSelect+` WHERE ($1 = '' OR order_id = $1) AND ($2 = '' OR investor_id = $2)
		AND ($3 = '' OR source = $3) AND (NOT $4 OR closed_at IS NULL) ORDER BY id DESC LIMIT $5`,
		f.OrderID, f.InvestorID, f.Source, f.OpenOnly, f.Limit))
	return hs, postgres.Classify(err)
}

// Restrictions lists an investor's restrictions.
func (s Store) Restrictions(ctx context.Context, investorID string) ([]ledger.Restriction, error) {
	rows, err := s.Pool.Query(ctx, `SELECT investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by, since,
		blocks_new_folio FROM investor_restrictions WHERE investor_id = $1 ORDER BY source`, investorID)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Restriction, error) {
		var x ledger.Restriction
		err := r.Scan(&x.InvestorID, &x.Source, &x.Reason, &x.Detail, &x.BlocksPurchase, &x.BlocksRedemption, &x.By, &x.Since, &x.BlocksNewFolio)
		return x, err
	})
	return out, postgres.Classify(err)
}

// FoliosOfInvestors lists the investors' folios, in folio order.
func (t Tx) FoliosOfInvestors(ctx context.Context, investorIDs []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT folio_no FROM folios WHERE investor_id = ANY($1) ORDER BY folio_no`, investorIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// OpenLegsOfFolios reads the folios' legs that are not final, locked, in
// id order (by folio: orders has no index on the investor).
func (t Tx) OpenLegsOfFolios(ctx context.Context, folios []string) ([]ledger.Leg, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+legColumns+` FROM orders
		WHERE folio_no = ANY($1) AND status IN ('awaiting_payment', 'awaiting_leg', 'pending_nav') ORDER BY id FOR UPDATE`, folios)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Leg, error) { return scanLeg(r) })
}

// restrictionColumns are rs as parallel arrays for unnest.
func restrictionColumns(rs []ledger.Restriction) []any {
	n := len(rs)
	inv, src, reason, detail, by := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	bp, br, bn := make([]bool, n), make([]bool, n), make([]bool, n)
	for i, r := range rs {
		inv[i], src[i], reason[i], detail[i], by[i], bp[i], br[i] = r.InvestorID, r.Source, r.Reason, r.Detail, r.By, r.BlocksPurchase, r.BlocksRedemption
		bn[i] = r.BlocksNewFolio
	}
	return []any{inv, src, reason, detail, bp, br, by, bn}
}

// UpsertRestrictions writes restrictions, one statement for all, in
// investor order (neighbouring index pages). The investors must have their
// row: the foreign key refuses the batch otherwise. (It no longer inserts
// the rows: the KYC gate, the one caller, restricts onboarded investors,
// and that insert cost a second index lookup per investor beside the
// foreign key's.)
func (t Tx) UpsertRestrictions(ctx context.Context, rs []ledger.Restriction) error {
	cols := restrictionColumns(rs)
	_, err := t.tx.Exec(ctx, `INSERT INTO investor_restrictions (investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by,
			blocks_new_folio)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::text[], $8::bool[]) ORDER BY 1, 2
		ON CONFLICT (investor_id, source) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail,
			blocks_purchase = EXCLUDED.blocks_purchase, blocks_redemption = EXCLUDED.blocks_redemption,
			blocks_new_folio = EXCLUDED.blocks_new_folio,
			updated_by = EXCLUDED.updated_by, since = now()`, cols...)
	return err
}

// RenameOpenHoldsMany sets, for each restriction, the reason and detail of
// its investor's open holds of its source.
func (t Tx) RenameOpenHoldsMany(ctx context.Context, rs []ledger.Restriction) error {
	cols := restrictionColumns(rs)
	_, err := t.tx.Exec(ctx, `UPDATE order_holds h SET reason = r.reason, detail = r.detail
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS r (investor_id, source, reason, detail)
		WHERE h.investor_id = r.investor_id AND h.source = r.source AND h.closed_at IS NULL
		  AND (h.reason, h.detail) IS DISTINCT FROM (r.reason, r.detail)`, cols[0], cols[1], cols[2], cols[3])
	return err
}

// DeleteRestrictions removes the investors' restrictions of source.
func (t Tx) DeleteRestrictions(ctx context.Context, investorIDs []string, source string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `DELETE FROM investor_restrictions WHERE investor_id = ANY($1) AND source = $2 RETURNING investor_id`, investorIDs, source)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// OpenHoldsOfMany lists the investors' open holds of source, in id order.
func (t Tx) OpenHoldsOfMany(ctx context.Context, investorIDs []string, source string) ([]ledger.Hold, error) {
	return collectHolds(t.tx.Query(ctx, holdSelect+` WHERE investor_id = ANY($1) AND source = $2 AND closed_at IS NULL ORDER BY id`, investorIDs, source))
}
