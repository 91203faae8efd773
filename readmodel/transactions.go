package readmodel

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Transactions returns up to limit of a folio's ledger transactions, newest
// first, with ids below before (0: from the newest).
func (s *Store) Transactions(ctx context.Context, folio string, before int64, limit int) ([]LedgerTx, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.PG.Query(ctx, `SELECT `+txColumns+` FROM ledger_transactions t
		WHERE t.folio_no = $1 AND t.id < $2 ORDER BY t.id DESC LIMIT $3`, folio, before, limit)
	if err != nil {
		return nil, fmt.Errorf("transactions of %s: %w", folio, err)
	}
	defer rows.Close()
	out := []LedgerTx{}
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TxFolio returns the folio of a ledger transaction.
func (s *Store) TxFolio(ctx context.Context, id int64) (string, error) {
	var folio string
	err := s.PG.QueryRow(ctx, `SELECT folio_no FROM ledger_transactions WHERE id = $1`, id).Scan(&folio)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("transaction %d: %w", id, ErrNotFound)
	}
	return folio, err
}

// Lineage is the chain from a ledger transaction back to where each of its
// numbers came from.
type Lineage struct {
	Transaction LedgerTx      `json:"transaction"`
	Order       OrderLink     `json:"order"`
	Payment     *PaymentLink  `json:"payment"` // nil for redemptions and switch-outs
	NAV         *NAVLink      `json:"nav"`     // nil if the NAV row is missing (it never should be)
	Audit       []AuditLink   `json:"audit"`   // audit_log rows of the transaction, its order and its payment
	Postings    []PostingLink `json:"postings"`
}

// OrderLink is the order leg the transaction allotted.
type OrderLink struct {
	ID        string     `json:"id"`
	RequestID string     `json:"request_id"`
	Kind      string     `json:"kind"`
	Status    string     `json:"status"`
	Source    string     `json:"source"` // kafka:<topic>/<partition>/<offset> or http
	PlacedAt  time.Time  `json:"placed_at"`
	FundsAt   *time.Time `json:"funds_at"`
	NAVRule   string     `json:"nav_rule"`
	NAVReason string     `json:"nav_reason"`
}

// PaymentLink is the payment that funded a purchase and the webhook event
// that realised it.
type PaymentLink struct {
	ID              string          `json:"id"`
	Gateway         string          `json:"gateway"`
	Status          string          `json:"status"`
	Amount          decimal.Decimal `json:"amount"`
	RealisedAt      *time.Time      `json:"realised_at"`
	WebhookEventID  string          `json:"webhook_event_id"`
	WebhookType     string          `json:"webhook_event_type"`
	WebhookReceived *time.Time      `json:"webhook_received_at"`
	WebhookSHA256   string          `json:"webhook_body_sha256"` // of the signed bytes as stored
}

// NAVLink is the NAV row applied and the file line it was loaded from: the
// value as published (NAV, what navs.nav keeps) and the NAV the platform
// applied to it (Applied, by Rule: fund.AppliedNAV), which is the
// transaction's NAV.
type NAVLink struct {
	Scheme     string          `json:"scheme_code"`
	Date       fund.Date       `json:"nav_date"`
	NAV        decimal.Decimal `json:"nav"`         // as published
	Applied    decimal.Decimal `json:"nav_applied"` // as used: fund.AppliedNAV(NAV)
	Rule       string          `json:"nav_rule"`
	SourceFile string          `json:"source_file"`
	SHA256     string          `json:"source_sha256"`
	Line       int             `json:"source_line"`
	LoadedAt   time.Time       `json:"loaded_at"`
}

// AuditLink is one audit_log row.
type AuditLink struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Entity   string    `json:"entity"`
	EntityID string    `json:"entity_id"`
	Action   string    `json:"action"`
	Hash     string    `json:"hash"`
}

// PostingLink is one double-entry posting of the transaction.
type PostingLink struct {
	Account string          `json:"account"`
	Asset   string          `json:"asset"`
	Amount  decimal.Decimal `json:"amount"`
}

// Lineage follows a ledger transaction to its sources. ErrNotFound: no
// such transaction.
func (s *Store) Lineage(ctx context.Context, id int64) (*Lineage, error) {
	var l Lineage
	var payID, gateway, payStatus, eventID, eventType, bodySHA *string
	var payAmount decimal.NullDecimal
	var realised, received *time.Time
	var navFile, navSHA *string
	var navLine *int32
	var navValue decimal.NullDecimal
	var navLoaded *time.Time
	row := s.PG.QueryRow(ctx, `SELECT `+txColumns+`,
			o.id, o.request_id, o.kind, o.status, r.source, o.placed_at, o.funds_at, o.nav_rule, o.nav_reason,
			p.id, p.gateway, p.status, p.amount, p.realised_at, p.realised_event_id, i.event_type, i.received_at,
			encode(sha256(i.body), 'hex'),
			n.nav_date, n.nav, n.source_file, n.source_sha256, n.source_line, n.loaded_at
		FROM ledger_transactions t
		JOIN orders o ON o.id = t.order_id
		JOIN order_requests r ON r.id = o.request_id
		LEFT JOIN payments p ON p.id = t.payment_id
		LEFT JOIN inbox i ON i.source = p.gateway AND i.event_id = p.realised_event_id
		LEFT JOIN nav_lineage n ON n.scheme_code = t.scheme_code AND n.nav_date = t.nav_date
		WHERE t.id = $1`, id)
	var t LedgerTx
	var d time.Time
	var navDateP *time.Time
	err := row.Scan(&t.ID, &t.OrderID, &t.SwitchID, &t.Kind, &t.Folio, &t.Scheme, &d, &t.NAV, &t.Units,
		&t.Amount, &t.StampDuty, &t.ExitLoad, &t.Net, &t.PaymentID, &t.PostedAt,
		&l.Order.ID, &l.Order.RequestID, &l.Order.Kind, &l.Order.Status, &l.Order.Source, &l.Order.PlacedAt, &l.Order.FundsAt,
		&l.Order.NAVRule, &l.Order.NAVReason,
		&payID, &gateway, &payStatus, &payAmount, &realised, &eventID, &eventType, &received, &bodySHA,
		&navDateP, &navValue, &navFile, &navSHA, &navLine, &navLoaded)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("transaction %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("lineage of %d: %w", id, err)
	}
	t.NAVDate = fund.DateOf(d)
	l.Transaction = t
	if payID != nil {
		l.Payment = &PaymentLink{ID: *payID, Gateway: deref(gateway), Status: deref(payStatus), Amount: payAmount.Decimal,
			RealisedAt: realised, WebhookEventID: deref(eventID), WebhookType: deref(eventType), WebhookReceived: received,
			WebhookSHA256: deref(bodySHA)}
	}
	if navDateP != nil {
		l.NAV = &NAVLink{Scheme: t.Scheme, Date: fund.DateOf(*navDateP), NAV: navValue.Decimal, Rule: fund.AppliedNAVRule,
			SourceFile: deref(navFile), SHA256: deref(navSHA), Line: int(*navLine), LoadedAt: *navLoaded}
		if l.NAV.Applied, err = applied(navValue.Decimal); err != nil {
			return nil, fmt.Errorf("lineage of %d: %w", id, err)
		}
	}
	// The entities the money path audits: ledger_tx, order (each leg),
	// order_request and payment (sinks/postgres), by their ids.
	paymentID := ""
	if l.Payment != nil {
		paymentID = l.Payment.ID
	}
	b := &pgx.Batch{}
	l.Audit, l.Postings = []AuditLink{}, []PostingLink{}
	b.Queue(`SELECT seq, at, entity, entity_id, action, hash FROM audit_log
		WHERE (entity = 'ledger_tx' AND entity_id = $1) OR (entity = 'order' AND entity_id = $2)
		   OR (entity = 'order_request' AND entity_id = $3) OR (entity = 'payment' AND entity_id = $4)
		ORDER BY seq`, strconv.FormatInt(t.ID, 10), l.Order.ID, l.Order.RequestID, paymentID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var a AuditLink
			if err := rows.Scan(&a.Seq, &a.At, &a.Entity, &a.EntityID, &a.Action, &a.Hash); err != nil {
				return err
			}
			l.Audit = append(l.Audit, a)
		}
		return rows.Err()
	})
	b.Queue(`SELECT account, asset, amount FROM ledger_postings WHERE tx_id = $1 ORDER BY seq`, id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var p PostingLink
			if err := rows.Scan(&p.Account, &p.Asset, &p.Amount); err != nil {
				return err
			}
			l.Postings = append(l.Postings, p)
		}
		return rows.Err()
	})
	if err := s.PG.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("lineage of %d: %w", id, err)
	}
	return &l, nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}
