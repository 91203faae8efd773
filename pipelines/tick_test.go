package pipelines

import (
	"context"
	"testing"
	"time"
)

// A run's tick is claimed once, by its own job: not by a nested run of
// another job, and not by a manual run (no tick).
func TestClaimTick(t *testing.T) {
	at := time.Date(2026, 8, 20, 10, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	ctx := WithTick(context.Background(), "nav-ingest", at)
	if _, ok := ClaimTick(ctx, "allocate"); ok {
		t.Error("another job claimed the tick")
	}
	if got, ok := ClaimTick(ctx, "nav-ingest"); !ok || !got.Equal(at) {
		t.Errorf("first claim: %v %v", got, ok)
	}
	if _, ok := ClaimTick(ctx, "nav-ingest"); ok {
		t.Error("claimed twice")
	}
	if _, ok := ClaimTick(context.Background(), "nav-ingest"); ok {
		t.Error("a manual run has a tick")
	}
}
