// Package chstore is analytics' ClickHouse side: reads of the transaction
// facts for the comparison with the ledger, their resync (written through
// sinks/clickhouse, the relay's own row mapping) and the removal of rows
// the ledger does not have.
package chstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// Store reads and repairs the facts.
type Store struct {
	Conn driver.Conn
	Now  func() time.Time // loaded_at of rewritten rows; default time.Now
	// Poll is how often DeleteFacts looks whether its mutation is done;
	// default 100 ms.
	Poll time.Duration
}

var _ analytics.Facts = Store{}

// FactDays totals the facts (FINAL: one row per transaction, merged or not)
// by NAV date, scheme and kind. Sums come back as strings: exact decimals
// whatever width ClickHouse gives a Decimal sum.
func (s Store) FactDays(ctx context.Context, from, to fund.Date) (analytics.Days, error) {
	rows, err := s.Conn.Query(ctx, `SELECT nav_date, scheme_code, kind, count(), toString(sum(amount)), toString(sum(units))
		FROM transactions FINAL WHERE nav_date >= toDate(?) AND nav_date <= toDate(?) GROUP BY nav_date, scheme_code, kind`,
		from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("analytics: fact days: %w", err)
	}
	defer rows.Close()
	out := analytics.Days{}
	for rows.Next() {
		var d time.Time
		var k analytics.DayKey
		var n uint64
		var amount, units string
		if err := rows.Scan(&d, &k.Scheme, &k.Kind, &n, &amount, &units); err != nil {
			return nil, fmt.Errorf("analytics: fact days: %w", err)
		}
		k.Date = fund.DateOf(d)
		t := analytics.DayTotal{Count: int64(n)}
		if t.Amount, err = decimal.NewFromString(amount); err != nil {
			return nil, fmt.Errorf("analytics: fact days: amount %q: %w", amount, err)
		}
		if t.Units, err = decimal.NewFromString(units); err != nil {
			return nil, fmt.Errorf("analytics: fact days: units %q: %w", units, err)
		}
		out[k] = t
	}
	return out, rows.Err()
}

// FactKeys lists the fact rows of NAV dates [from, to].
func (s Store) FactKeys(ctx context.Context, from, to fund.Date) ([]analytics.FactKey, error) {
	rows, err := s.Conn.Query(ctx, `SELECT tx_id, scheme_code, nav_date FROM transactions FINAL
		WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`, from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("analytics: fact keys: %w", err)
	}
	defer rows.Close()
	var out []analytics.FactKey
	for rows.Next() {
		var id uint64
		var k analytics.FactKey
		var d time.Time
		if err := rows.Scan(&id, &k.Scheme, &d); err != nil {
			return nil, fmt.Errorf("analytics: fact keys: %w", err)
		}
		k.TxID, k.Date = int64(id), fund.DateOf(d)
		out = append(out, k)
	}
	return out, rows.Err()
}

// WriteFacts writes ledger transactions as facts, as the relay does, with
// a version (loaded_at) above every row already stored for their NAV dates:
// the ledger's row replaces whatever drifted copy is there, even one stamped
// later than now.
func (s Store) WriteFacts(ctx context.Context, txs []fund.TransactionCompleted) error {
	if len(txs) == 0 {
		return nil
	}
	lo, hi := txs[0].NAVDate, txs[0].NAVDate
	for _, t := range txs {
		lo, hi = min(lo, t.NAVDate), max(hi, t.NAVDate) // ISO dates sort as strings
	}
	var latest time.Time
	if err := s.Conn.QueryRow(ctx, `SELECT max(loaded_at) FROM transactions WHERE nav_date >= toDate(?) AND nav_date <= toDate(?)`,
		lo, hi).Scan(&latest); err != nil {
		return fmt.Errorf("analytics: facts version: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	version := now().UTC().Truncate(time.Second)
	if !version.After(latest) {
		version = latest.Add(time.Second)
	}
	return clickhouse.TransactionFacts{Conn: s.Conn, Now: func() time.Time { return version }}.WriteTransactions(ctx, txs)
}

// DeleteFacts removes the rows with a mutation (ALTER … DELETE, the only
// delete ClickHouse 18.16 has) and waits until the server has applied it,
// so a comparison right after sees the rows gone.
func (s Store) DeleteFacts(ctx context.Context, keys []analytics.FactKey) error {
	const chunk = 500
	for i := 0; i < len(keys); i += chunk {
		var cond []string
		var args []any
		for _, k := range keys[i:min(i+chunk, len(keys))] {
			cond = append(cond, "(tx_id = ? AND scheme_code = ? AND nav_date = toDate(?))")
			args = append(args, uint64(k.TxID), k.Scheme, k.Date.String())
		}
		if err := s.Conn.Exec(ctx, "ALTER TABLE transactions DELETE WHERE "+strings.Join(cond, " OR "), args...); err != nil {
			return fmt.Errorf("analytics: delete facts: %w", err)
		}
	}
	return s.waitMutationsOf(ctx, "transactions")
}

// waitMutationsOf returns when no mutation of the table is pending (or ctx
// ends).
func (s Store) waitMutationsOf(ctx context.Context, table string) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	for {
		var pending uint64
		if err := s.Conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table).Scan(&pending); err != nil {
			return fmt.Errorf("analytics: mutations: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("analytics: waiting for the delete of %s rows: %w", table, ctx.Err())
		case <-time.After(poll):
		}
	}
}
