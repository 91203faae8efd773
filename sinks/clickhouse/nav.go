package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// NAVHistory appends validated NAVs to nav_history, a ReplacingMergeTree
// keyed by (scheme_code, nav_date): a replayed batch leaves one row per key
// once merged, and queries that must be exact before a merge use FINAL.
type NAVHistory struct {
	Conn driver.Conn
	Now  func() time.Time // loaded_at, the replacing version; default time.Now
}

// Name labels the sink's metrics.
func (NAVHistory) Name() string { return "clickhouse" }

// Write inserts a batch as one block.
func (s NAVHistory) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loaded := now().UTC().Truncate(time.Second)
	batch, err := s.Conn.PrepareBatch(ctx, `INSERT INTO nav_history
		(scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare nav_history: %w", err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, n := range b.Items {
		if err := batch.Append(n.SchemeCode, n.Date.Time(), n.NAV, n.AMC, n.Category, n.From.SHA256, uint32(n.From.Line), loaded); err != nil {
			return fmt.Errorf("clickhouse: append %s %s: %w", n.SchemeCode, n.Date, err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send nav_history: %w", err))
	}
	return nil
}
