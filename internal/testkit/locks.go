package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier runs one query: a *pgx.Conn or a *pgxpool.Pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// AwaitBlockedBy waits until some backend waits for a lock that backend
// blocker holds (true), or until ended is closed first (false: the work
// that was to wait ended without waiting). q asks Postgres every 2 ms on a
// connection neither side uses. After 30 s of neither the test fails: the
// bound only keeps a wait of another kind from hanging the package.
func AwaitBlockedBy(t testing.TB, ctx context.Context, q Querier, blocker uint32, ended <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-ended:
			return false
		default:
		}
		var blocked bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)))`,
			blocker).Scan(&blocked); err != nil {
			t.Fatalf("testkit: who waits for backend %d: %v", blocker, err)
		}
		if blocked {
			return true
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: nothing waited for backend %d, and the work that was to wait did not end, in 30 s", blocker)
		}
		select {
		case <-ended:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}
