package scheduler

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// A scheduled run belongs to a tick: the time its schedule named, the same
// in every process that serves the schedule. The scheduler puts the tick in
// the run's context; the run log (postgres.Store.Start) records it and
// refuses a second run of the same job's tick, so a process whose clock
// fires a moment after another process finished the tick skips it.

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

// ticker names the tick of each firing of one schedule: the latest time
// the schedule names that is not after the firing (cron fires a job at or
// just after its time). Ticks already named are not named again.
type ticker struct {
	sched cron.Schedule
	mu    sync.Mutex
	last  time.Time // the last tick named (at first: when the schedule was added)
}

func newTicker(sched cron.Schedule, from time.Time) *ticker {
	return &ticker{sched: sched, last: from}
}

// at returns the tick of a firing at now.
func (k *ticker) at(now time.Time) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.sched.Next(k.last)
	if t.IsZero() {
		return now.Truncate(time.Second) // a schedule that names no time: cannot happen for a firing one
	}
	for {
		n := k.sched.Next(t)
		if n.IsZero() || n.After(now) {
			break
		}
		t = n
	}
	k.last = t
	return t
}

// parse parses a standard spec, with "@every D" aligned to multiples of D
// (since the zero time) rather than counted from when the process started,
// so processes started at different times fire it, and name its ticks, alike.
func parse(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		return alignedEvery(d.Delay), nil
	}
	return s, nil
}

// alignedEvery fires at every multiple of itself (at least a second).
type alignedEvery time.Duration

func (e alignedEvery) Next(t time.Time) time.Time {
	d := time.Duration(e)
	return t.Truncate(d).Add(d)
}
