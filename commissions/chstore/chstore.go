// Package chstore writes the commission facts analysts read in ClickHouse
// (commission_facts): write-only, rows as commissions/pgstore aggregates
// them from the ledger's commission tables.
package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/commissions"
)

// Write inserts facts as one block with one version (now, in ns): a period
// written again replaces its rows (ReplacingMergeTree).
func Write(ctx context.Context, conn driver.Conn, facts []commissions.Fact, now time.Time) error {
	if len(facts) == 0 {
		return nil
	}
	b, err := conn.PrepareBatch(ctx, `INSERT INTO commission_facts (day, kind, arn, bucket, scheme_code, amc, holdings, aum, basis, amount, version)`)
	if err != nil {
		return fmt.Errorf("commission facts: prepare: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	v := uint64(now.UnixNano())
	for _, f := range facts {
		if err := b.Append(f.Day.Time(), f.Kind, f.ARN, f.Bucket, f.Scheme, f.AMC, uint32(f.Holdings), f.AUM, f.Basis, f.Amount, v); err != nil {
			return fmt.Errorf("commission facts: append: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("commission facts: send: %w", err)
	}
	return nil
}
