package supervise

import (
	"context"
	"errors"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Two processes, one lock: while one runs a job, the other's run of it is
// skipped (scheduler.ErrSkipped, and postgres.ErrLocked for the cause) and
// never called; another job's lock is free; once the first finishes, the
// job runs again. A run's own error passes through unchanged. Each
// "process" is a pool of its own on the real Postgres, so the advisory lock
// is held by another session, as it is between two fundflow processes.
func TestSingleRunsOnOneProcessAtATime(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, url := testkit.PG(t)
	other, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	a, b := postgres.Store{Pool: pool}, postgres.Store{Pool: other}

	ranB, ranOther := 0, 0
	err = Single(ctx, a, "nav-ingest", func(ctx context.Context) error {
		errB := Single(ctx, b, "nav-ingest", func(context.Context) error { ranB++; return nil })
		if !errors.Is(errB, scheduler.ErrSkipped) || !errors.Is(errB, postgres.ErrLocked) {
			t.Errorf("second process: %v, want a skip caused by the lock", errB)
		}
		if err := Single(ctx, b, "folio-recon", func(context.Context) error { ranOther++; return nil }); err != nil {
			t.Errorf("another job's lock: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ranB != 0 || ranOther != 1 {
		t.Fatalf("held job ran %d times in the second process (want 0), the other job %d (want 1)", ranB, ranOther)
	}
	boom := errors.New("boom")
	if err := Single(ctx, b, "nav-ingest", func(context.Context) error { ranB++; return boom }); err != boom || ranB != 1 {
		t.Fatalf("after release: err %v (want boom unchanged), ran %d", err, ranB)
	}

	// Scheduled jobs take the same lock under their name and spec.
	j := Scheduled(a, "nav-ingest", "@every 1m", func(context.Context) error { return nil })
	if j.Name != "nav-ingest" || j.Spec != "@every 1m" {
		t.Fatalf("job %q %q", j.Name, j.Spec)
	}
	unlock, err := b.TryLock(ctx, LockKey("nav-ingest"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := j.Run(ctx); !errors.Is(err, scheduler.ErrSkipped) {
		t.Fatalf("scheduled run while held elsewhere: %v, want skipped", err)
	}
}
