package readmodel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// OrderRequest is an order request as its investor sees it: accepted or
// refused, and each leg's status. A leg kept by a hold shows held with the
// hold's public reason (kyc_on_hold, …), or under_review with no reason
// for a fraud or AML hold: what rule fired is never shown.
type OrderRequest struct {
	ID         string     `json:"request_id"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"` // accepted, rejected
	Reason     string     `json:"reason,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
	Legs       []OrderLeg `json:"legs"`
}

// OrderLeg is one leg of an order request.
type OrderLeg struct {
	ID         string           `json:"order_id"`
	Kind       string           `json:"kind"`
	Folio      string           `json:"folio"`
	SchemeCode string           `json:"scheme_code"`
	Amount     *decimal.Decimal `json:"amount,omitempty"`
	Units      *decimal.Decimal `json:"units,omitempty"`
	Status     string           `json:"status"`
	Reason     string           `json:"reason,omitempty"`
	HoldReason string           `json:"hold_reason,omitempty"`
	NAVDate    string           `json:"nav_date,omitempty"`
	TxID       *int64           `json:"tx_id,omitempty"`
}

// OrderRequest reads order request id and its legs.
func (s *Store) OrderRequest(ctx context.Context, id string) (*OrderRequest, error) {
	o := OrderRequest{ID: id}
	err := s.PG.QueryRow(ctx, `SELECT kind, status, reason, received_at FROM order_requests WHERE id = $1`, id).
		Scan(&o.Kind, &o.Status, &o.Reason, &o.ReceivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	// The hold shown is the first open one by source; a leg that ended
	// has none (the ledger closes them).
	rows, err := s.PG.Query(ctx, `SELECT o.id, o.kind, o.folio_no, o.scheme_code, o.amount, o.units, o.status, o.reason,
			coalesce(to_char(o.nav_date, 'YYYY-MM-DD'), ''), o.ledger_tx_id, coalesce(h.source, ''), coalesce(h.reason, '')
		FROM orders o LEFT JOIN LATERAL (SELECT source, reason FROM order_holds WHERE order_id = o.id AND closed_at IS NULL ORDER BY source LIMIT 1) h ON true
		WHERE o.request_id = $1 ORDER BY o.id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("order %s legs: %w", id, err)
	}
	o.Legs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderLeg, error) {
		var l OrderLeg
		var source, reason string
		err := r.Scan(&l.ID, &l.Kind, &l.Folio, &l.SchemeCode, &l.Amount, &l.Units, &l.Status, &l.Reason, &l.NAVDate, &l.TxID, &source, &reason)
		if source != "" {
			st, show := fund.HoldPublicStatus(source)
			l.Status, l.Reason = st, ""
			if show {
				l.HoldReason = reason
			}
		}
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("order %s legs: %w", id, err)
	}
	if o.Legs == nil {
		o.Legs = []OrderLeg{}
	}
	return &o, nil
}
