package scheduler

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// A scheduled run's context carries its tick (pipelines.WithTick): the
// time its schedule named, the same in every process serving the schedule.

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
