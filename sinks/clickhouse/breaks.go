package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// BreakHistory keeps folio-recon's breaks per reconciled date in
// recon_breaks_history, for trend queries. A date reconciled again writes
// its rows again; ReplacingMergeTree keeps one per (date, break) after
// merges (FINAL for exact counts before).
type BreakHistory struct {
	Conn driver.Conn
	Now  func() time.Time // loaded_at, the replacing version; default time.Now
}

// Write inserts the breaks of date as one block.
func (s BreakHistory) Write(ctx context.Context, date fund.Date, breaks []fund.Break) error {
	if len(breaks) == 0 {
		return nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loaded := now().UTC().Truncate(time.Second)
	batch, err := s.Conn.PrepareBatch(ctx, `INSERT INTO recon_breaks_history (recon_date, break_key, scope, type, status, cause,
		rta, folio, scheme_code, product_code, order_id, rta_txn_no, ledger_tx_id, rta_units, ledger_units, units_diff,
		rta_amount, ledger_amount, first_seen, age_days, rta_file, rta_line, loaded_at)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare recon_breaks_history: %w", err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, b := range breaks {
		age := max(b.AgeDays(date), 0)
		if err := batch.Append(date.Time(), b.Key, b.Scope, string(b.Type), b.Status, b.Cause, b.RTA, b.Folio, b.SchemeCode,
			b.ProductCode, b.OrderID, b.RTATxnNo, uint64(max(b.LedgerTxID, 0)), orZero(b.RTAUnits), orZero(b.LedgerUnits),
			orZero(b.UnitsDiff), orZero(b.RTAAmount), orZero(b.LedgerAmount), b.FirstSeen.Time(), uint32(age), b.RTAFile,
			uint32(max(b.RTALine, 0)), loaded); err != nil {
			return fmt.Errorf("clickhouse: append break %s: %w", b.Key, err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send recon_breaks_history: %w", err))
	}
	return nil
}

// orZero: ClickHouse columns here are not Nullable; an absent value is 0.
func orZero(d decimal.NullDecimal) decimal.Decimal {
	if !d.Valid {
		return decimal.Zero
	}
	return d.Decimal
}
