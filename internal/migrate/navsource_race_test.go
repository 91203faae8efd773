package migrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/internal/testkit"
)

// Two writers ask nav_source for the same new file at once (two split
// halves, two loaders): the second waits on the first's uncommitted row
// and then answers with its id if it committed, or adds the file itself if
// it rolled back. Either way the file has one row and both got its id.
func TestNAVSourceTwoWriters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool // the first writer commits (else it rolls back)
	}{
		{"the first commits", true},
		{"the first rolls back", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := testkit.PG(t)
			ctx := testkit.Ctx(t)
			conn := func() *pgx.Conn {
				c, err := pgx.Connect(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close(context.WithoutCancel(ctx)) })
				return c
			}
			first, second, watch := conn(), conn(), conn()
			tx, err := first.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var firstID int
			if err := tx.QueryRow(ctx, `SELECT nav_source('NAVAll.txt', 'ab12')`).Scan(&firstID); err != nil {
				t.Fatal(err)
			}
			type answer struct {
				id  int
				err error
			}
			got, done := make(chan answer, 1), make(chan struct{})
			go func() {
				defer close(done)
				var a answer
				a.err = second.QueryRow(ctx, `SELECT nav_source('NAVAll.txt', 'ab12')`).Scan(&a.id)
				got <- a
			}()
			// Whatever fails below, the first writer ends and the second's
			// query returns before their connections are closed.
			defer func() {
				tx.Rollback(context.WithoutCancel(ctx))
				<-done
			}()
			// The second writer waits for the first's transaction; had it
			// answered first, it did not wait, a failure.
			if !testkit.AwaitBlockedBy(t, ctx, watch, first.PgConn().PID(), done) {
				a := <-got
				t.Fatalf("the second writer answered (%d, %v) while the first had not ended", a.id, a.err)
			}
			end := tx.Rollback
			if tc.commit {
				end = tx.Commit
			}
			if err := end(ctx); err != nil {
				t.Fatal(err)
			}
			var a answer
			select {
			case a = <-got:
			case <-time.After(30 * time.Second):
				t.Fatal("the second writer still waits after the first ended")
			}
			if a.err != nil {
				t.Fatalf("the second writer: %v", a.err)
			}
			var rows, stored int
			if err := watch.QueryRow(ctx, `SELECT count(*), min(id) FROM nav_sources WHERE file = 'NAVAll.txt' AND sha256 = 'ab12'`).Scan(&rows, &stored); err != nil {
				t.Fatal(err)
			}
			if rows != 1 || a.id != stored {
				t.Fatalf("%d rows for the file (want 1); the second writer got id %d, the row is %d", rows, a.id, stored)
			}
			if tc.commit && a.id != firstID {
				t.Fatalf("the second writer got id %d, the first %d (committed)", a.id, firstID)
			}
			if !tc.commit && a.id == firstID {
				t.Fatalf("the second writer got the rolled-back id %d", a.id)
			}
		})
	}
}
