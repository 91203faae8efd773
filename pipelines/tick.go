package pipelines

import (
	"context"
	"sync/atomic"
	"time"
)

// A scheduled run belongs to a tick: the time its schedule named, the same
// in every process that serves the schedule. The scheduler puts the tick in
// the run's context (WithTick); the run log (postgres.Store.Start) records
// it and refuses a second run of the same job's tick, so a process whose
// clock fires a moment after another process finished the tick skips it.

type tickKey struct{}

// tick is a scheduled run's tick, taken at most once (by the job's own run
// record, not by a nested run of another job).
type tick struct {
	job   string
	at    time.Time
	taken atomic.Bool
}

// WithTick returns ctx carrying job's tick at (what the scheduler gives a
// scheduled run; a test may call it too).
func WithTick(ctx context.Context, job string, at time.Time) context.Context {
	return context.WithValue(ctx, tickKey{}, &tick{job: job, at: at})
}

// ClaimTick returns the tick of the scheduled run of job that ctx belongs
// to, once: the first call for job gets it, later calls (and any call in a
// manual run, which has no tick, or for another job) get false.
func ClaimTick(ctx context.Context, job string) (time.Time, bool) {
	t, _ := ctx.Value(tickKey{}).(*tick)
	if t == nil || t.job != job || !t.taken.CompareAndSwap(false, true) {
		return time.Time{}, false
	}
	return t.at, true
}
