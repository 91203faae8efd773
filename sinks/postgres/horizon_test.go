package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The horizon stays below an open writer's id, passes it once the writer
// commits or rolls back, and never goes back.
func TestOutboxHorizonStopsBelowAnOpenWriter(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	var h postgres.OutboxHorizon
	final := func() int64 {
		t.Helper()
		f, err := h.Final(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := final(); f != 0 {
		t.Fatalf("empty outbox: horizon %d, want 0", f)
	}
	row := func(p *pgxpool.Pool, id string) int64 {
		t.Helper()
		var n int64
		if err := p.QueryRow(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, 't', 'k', '{}') RETURNING id`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := row(pool, "e1")
	if f := final(); f != first {
		t.Fatalf("one committed row %d: horizon %d", first, f)
	}
	for _, end := range []string{"commit", "rollback"} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var open int64
		if err := tx.QueryRow(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, 't', 'k', '{}') RETURNING id`, "open-"+end).Scan(&open); err != nil {
			t.Fatal(err)
		}
		above := row(pool, "above-"+end)
		before := final()
		if before >= open {
			t.Errorf("%s: horizon %d with id %d still open", end, before, open)
		}
		if end == "commit" {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if f := final(); f != above {
			t.Errorf("%s: horizon %d after the writer ended, want the newest id %d", end, f, above)
		}
	}
}
