package supervise

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Two processes serve the same schedule ("@every 2s", so the test takes
// seconds, not minutes): each tick is run once, whichever process fires
// first, and is one job_runs row with that tick. A run takes 100 ms. On a
// third of the ticks both fire on time, so the second finds the run going
// (the single-runner lock: skipped); on the others one process's clock is
// a second late, so it finds the run finished (the tick taken: skipped
// too). Before the tick was recorded, that second case ran the tick again.
func TestEachTickRunsOnceAcrossProcesses(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, url := testkit.PG(t)
	other, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	const name, ticks = "tick-test", 5

	type firing struct {
		proc int
		tick time.Time // the tick it fired for (@every 2s fires just after it)
		err  error
	}
	var mu sync.Mutex
	var fired []firing
	ran := map[int]int{}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for proc, store := range []postgres.Store{{Pool: pool}, {Pool: other}} {
		rec := pipelines.Recorder{Runs: store}
		job := scheduler.Job{Name: name, Spec: "@every 2s", Run: func(ctx context.Context) error {
			tick := time.Now().Truncate(2 * time.Second)
			if late := tick.Unix() / 2 % 3; late < 2 && int(late) == proc {
				time.Sleep(time.Second) // this process's clock is late
			}
			err := Single(ctx, store, name, func(ctx context.Context) error {
				_, err := rec.Run(ctx, name, func(context.Context) (pipelines.Stats, error) {
					mu.Lock()
					ran[proc]++
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					return pipelines.Stats{In: 1, Out: 1}, nil
				})
				return err
			})
			mu.Lock()
			fired = append(fired, firing{proc, tick, err})
			mu.Unlock()
			return err
		}}
		s := &scheduler.Scheduler{Log: testkit.Logger(t)}
		if err := s.Add(job); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(runCtx) }()
	}
	// Until both processes have fired `ticks` ticks each (no wall-clock total:
	// a loaded machine only takes longer).
	for {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		n := [2]int{}
		for _, f := range fired {
			n[f.proc]++
		}
		mu.Unlock()
		if n[0] >= ticks && n[1] >= ticks {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
	}
	stop()
	wg.Wait()

	// Every tick both processes fired (and finished before the stop): one
	// ran it, the other skipped it, and it is one row.
	rows := map[time.Time]int{}
	r, err := pool.Query(ctx, `SELECT tick FROM job_runs WHERE pipeline = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var tick *time.Time
		if err := r.Scan(&tick); err != nil {
			t.Fatal(err)
		}
		if tick == nil {
			t.Fatal("a scheduled run's row has no tick")
		}
		rows[tick.Truncate(2*time.Second)]++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	by := map[time.Time][]firing{}
	for _, f := range fired {
		by[f.tick] = append(by[f.tick], f)
	}
	both, lockSkips, tickSkips := 0, 0, 0
	for tick, fs := range by {
		if len(fs) != 2 || fs[0].err != nil && !errors.Is(fs[0].err, scheduler.ErrSkipped) || fs[1].err != nil && !errors.Is(fs[1].err, scheduler.ErrSkipped) {
			continue // one process fired it alone, or the stop cut it short
		}
		both++
		skips := 0
		for _, f := range fs {
			switch {
			case errors.Is(f.err, postgres.ErrLocked):
				lockSkips++
				skips++
			case errors.Is(f.err, postgres.ErrTickTaken):
				tickSkips++
				skips++
			}
		}
		if skips != 1 || rows[tick] != 1 {
			t.Errorf("tick %s: %d row(s), %d skip(s); process %d: %v, process %d: %v", tick.Format("15:04:05"), rows[tick], skips, fs[0].proc, fs[0].err, fs[1].proc, fs[1].err)
		}
	}
	total := 0
	for tick, n := range rows {
		total += n
		if n != 1 {
			t.Errorf("tick %s: %d rows", tick.Format("15:04:05"), n)
		}
	}
	if total != ran[0]+ran[1] {
		t.Errorf("%d runs (%v by process) but %d rows", ran[0]+ran[1], ran, total)
	}
	if both < ticks-1 || tickSkips == 0 {
		t.Errorf("only %d ticks fired by both processes, %d skipped as taken", both, tickSkips)
	}
	t.Logf("%d ticks fired by both: %d runs (%v by process), the other skipped: %d held by the lock, %d with the tick taken", both, total, ran, lockSkips, tickSkips)
}
