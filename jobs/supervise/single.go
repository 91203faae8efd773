package supervise

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Locker takes a named lock that one process holds at a time
// (postgres.Store.TryLock, which fails with postgres.ErrLocked when another
// session holds it).
type Locker interface {
	TryLock(ctx context.Context, key string) (unlock func(), err error)
}

// LockKey is the single-runner lock of the job name.
func LockKey(name string) string { return "pipeline:" + name }

// Single runs run while holding job name's single-runner lock, so that the
// job runs in one process at a time however many processes serve or run it.
// It is the one place a job's lock is taken: scheduled runs and `fundflow
// run` both come through here. When another process holds the lock, run is
// not called and the error wraps scheduler.ErrSkipped (a skip, not a
// failure) and postgres.ErrLocked. A scheduled run whose tick another
// process already ran (it finished a moment before this one's timer fired)
// is skipped too: its run record refuses the tick (postgres.ErrTickTaken),
// and the error wraps scheduler.ErrSkipped as well.
func Single(ctx context.Context, l Locker, name string, run func(context.Context) error) error {
	unlock, err := l.TryLock(ctx, LockKey(name))
	if errors.Is(err, postgres.ErrLocked) {
		return fmt.Errorf("%s %w: %w", name, scheduler.ErrSkipped, err)
	}
	if err != nil {
		return fmt.Errorf("%s: single-runner lock: %w", name, err)
	}
	defer unlock()
	err = run(ctx)
	if errors.Is(err, postgres.ErrTickTaken) {
		return fmt.Errorf("%s %w: %w", name, scheduler.ErrSkipped, err)
	}
	return err
}

// Scheduled is the scheduler's job name on spec, each run Single.
func Scheduled(l Locker, name, spec string, run func(context.Context) error) scheduler.Job {
	return scheduler.Job{Name: name, Spec: spec, Run: func(ctx context.Context) error { return Single(ctx, l, name, run) }}
}
