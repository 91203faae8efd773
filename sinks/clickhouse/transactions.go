package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// TransactionFacts copies transactions.completed events into the
// transactions fact table, a ReplacingMergeTree keyed by tx_id (within its
// scheme and NAV date): a batch copied twice is one row per transaction
// after merges (FINAL for exact counts before).
type TransactionFacts struct {
	Conn driver.Conn
	Now  func() time.Time // loaded_at, the replacing version; default time.Now
}

// Name labels the sink's metrics.
func (TransactionFacts) Name() string { return "clickhouse-transactions" }

// Write inserts the batch's transactions.completed events as one block;
// other topics are skipped.
func (s TransactionFacts) Write(ctx context.Context, b pipelines.Batch[fund.OutboxEvent]) error {
	var txs []fund.TransactionCompleted
	for _, e := range b.Items {
		if e.Topic != fund.TopicTransactions {
			continue
		}
		var t fund.TransactionCompleted
		if err := json.Unmarshal(e.Payload, &t); err != nil {
			return fmt.Errorf("clickhouse: event %s: %w", e.EventID, err)
		}
		txs = append(txs, t)
	}
	return s.WriteTransactions(ctx, txs)
}

// WriteTransactions inserts transactions as one block, with the relay's
// row mapping: the ledger resync (analytics.Resync) writes through it, so a
// resynced fact is the row the relay would have written.
func (s TransactionFacts) WriteTransactions(ctx context.Context, txs []fund.TransactionCompleted) error {
	if len(txs) == 0 {
		return nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loaded := now().UTC().Truncate(time.Second)
	batch, err := s.Conn.PrepareBatch(ctx, `INSERT INTO transactions (tx_id, order_id, switch_id, kind, direction, folio_no,
		investor_id, scheme_code, nav_date, nav, units, amount, stamp_duty, exit_load, net_amount, payment_id, placed_at, posted_at, loaded_at)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare transactions: %w", err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, t := range txs {
		row, err := factRow(t)
		if err != nil {
			return fmt.Errorf("clickhouse: transaction %d: %w", t.TxID, err)
		}
		if err := batch.Append(append(row, loaded)...); err != nil {
			return fmt.Errorf("clickhouse: append transaction %d: %w", t.TxID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send transactions: %w", err))
	}
	return nil
}

func factRow(t fund.TransactionCompleted) ([]any, error) {
	dir := int8(1)
	if t.Kind == fund.KindSwitchPayout || t.Kind == fund.KindIDCWPayout {
		dir = 0 // moves no units: the switch-out already counted the money leaving the scheme; an IDCW paid out leaves the units where they are
	} else if t.Kind == fund.KindMergerOut {
		dir = -1 // a merger's legs move units (at their cost) as a switch's do
	} else if t.Kind == fund.KindMergerIn {
		dir = 1
	} else if k, err := fund.ParseTxKind(t.Kind); err != nil {
		return nil, err
	} else if !k.IssuesUnits() {
		dir = -1
	}
	navDate, err := fund.ParseISODate(t.NAVDate)
	if err != nil {
		return nil, err
	}
	var ds [6]decimal.Decimal
	for i, s := range []string{t.NAV, t.Units, t.Amount, t.StampDuty, t.ExitLoad, t.NetAmount} {
		if ds[i], err = decimal.NewFromString(s); err != nil {
			return nil, fmt.Errorf("decimal %q: %w", s, err)
		}
	}
	placed, err := time.Parse(time.RFC3339Nano, t.PlacedAt)
	if err != nil {
		return nil, err
	}
	posted, err := time.Parse(time.RFC3339Nano, t.PostedAt)
	if err != nil {
		return nil, err
	}
	return []any{uint64(t.TxID), t.OrderID, t.SwitchID, t.Kind, dir, t.Folio, t.InvestorID, t.SchemeCode, navDate.Time(),
		ds[0], ds[1], ds[2], ds[3], ds[4], ds[5], t.PaymentID, placed.UTC().Truncate(time.Second), posted.UTC().Truncate(time.Second)}, nil
}
