package navingest_test

import (
	"testing"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/jobs/navingest"
)

// The API's NAV snapshot takes nav_latest standing still for NAVSettle as
// the end of a load: longer than a load's pause between its moves (30 s
// and the wait for the next flush, under a second in a backfill), or it
// would reload after every move of a long backfill.
func TestAnalyticsSettleOutlastsLatestEvery(t *testing.T) {
	if query.NAVSettle <= navingest.LatestEvery {
		t.Fatalf("query.NAVSettle %v is not longer than navingest.LatestEvery %v", query.NAVSettle, navingest.LatestEvery)
	}
}
