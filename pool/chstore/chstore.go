// Package chstore writes the pool facts analysts read in ClickHouse
// (pool_facts): write-only, rows as pool/pgstore reads them.
package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/pool"
)

// Write inserts facts as one block with one version (now, in ns): a period
// written again replaces its rows (ReplacingMergeTree).
func Write(ctx context.Context, conn driver.Conn, facts []pool.Fact, now time.Time) error {
	if len(facts) == 0 {
		return nil
	}
	b, err := conn.PrepareBatch(ctx, `INSERT INTO pool_facts (day, pool_id, kind, wallet_id, ref, status, nav, units, amount, holdings, cash, version)`)
	if err != nil {
		return fmt.Errorf("pool facts: prepare: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	v := uint64(now.UnixNano())
	for _, f := range facts {
		if err := b.Append(f.Day.Time(), f.Pool, f.Kind, f.Wallet, f.Ref, f.Status, f.NAV.Decimal(), f.Units.Decimal(),
			f.Amount.Decimal(), f.Holdings.Decimal(), f.Cash.Decimal(), v); err != nil {
			return fmt.Errorf("pool facts: append: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("pool facts: send: %w", err)
	}
	return nil
}
