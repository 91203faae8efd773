package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/wallet"
)

// factKinds maps the wallet's topics to wallet_facts.kind.
var factKinds = map[string]string{
	wallet.TopicDeposited:           "deposited",
	wallet.TopicWithdrawn:           "withdrawn",
	wallet.TopicWithdrawalParked:    "parked",
	wallet.TopicWithdrawalCancelled: "cancelled",
	wallet.TopicFeeCharged:          "fee",
}

// FactsPass copies up to limit wallet and fee events not copied yet from
// the outbox into ClickHouse wallet_facts, then marks them (facts_at): a
// crash between copies them again, the same rows (ReplacingMergeTree on
// the event id). It returns how many it copied.
func (s Store) FactsPass(ctx context.Context, ch driver.Conn, limit int) (int, error) {
	topics := make([]string, 0, len(factKinds))
	for t := range factKinds {
		topics = append(topics, t)
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, topic, payload::text, created_at FROM outbox WHERE facts_at IS NULL AND topic = ANY($1) ORDER BY id LIMIT $2`, topics, limit)
	if err != nil {
		return 0, fmt.Errorf("wallet facts: %w", err)
	}
	type fact struct {
		id             int64
		topic, payload string
		at             time.Time
	}
	var fs []fact
	for rows.Next() {
		var f fact
		if err := rows.Scan(&f.id, &f.topic, &f.payload, &f.at); err != nil {
			rows.Close()
			return 0, err
		}
		fs = append(fs, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(fs) == 0 {
		return 0, err
	}
	b, err := ch.PrepareBatch(ctx, `INSERT INTO wallet_facts (event_id, kind, wallet_id, investor_id, ref, amount, fee, gst, balance, at, day)`)
	if err != nil {
		return 0, fmt.Errorf("wallet facts: %w", err)
	}
	ids := make([]int64, len(fs))
	for i, f := range fs {
		var p struct {
			EventID    string          `json:"event_id"`
			WalletID   string          `json:"wallet_id"`
			InvestorID string          `json:"investor_id"`
			PaymentID  string          `json:"payment_id"`
			RequestID  string          `json:"request_id"`
			InvoiceID  string          `json:"invoice_id"`
			Amount     decimal.Decimal `json:"amount"`
			Total      decimal.Decimal `json:"total"`
			Fee        decimal.Decimal `json:"fee"`
			GST        decimal.Decimal `json:"gst"`
			Balance    decimal.Decimal `json:"balance"`
		}
		if err := json.Unmarshal([]byte(f.payload), &p); err != nil {
			return 0, fmt.Errorf("wallet facts: outbox %d: %w", f.id, err)
		}
		ref, amount := p.PaymentID+p.RequestID+p.InvoiceID, p.Amount // one of the three is set
		if f.topic == wallet.TopicFeeCharged {
			amount = p.Total
		}
		at := f.at.UTC()
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		if err := b.Append(p.EventID, factKinds[f.topic], p.WalletID, p.InvestorID, ref, amount, p.Fee, p.GST, p.Balance, at, day); err != nil {
			return 0, fmt.Errorf("wallet facts: %w", err)
		}
		ids[i] = f.id
	}
	if err := b.Send(); err != nil {
		return 0, fmt.Errorf("wallet facts: %w", err)
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE outbox SET facts_at = now() WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("wallet facts: mark: %w", err)
	}
	return len(fs), nil
}
