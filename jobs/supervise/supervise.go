// Package supervise runs a process's long-lived parts (HTTP listeners,
// stream pipelines, periodic jobs) side by side: a part that fails stops
// the others, and a periodic job that fails is tried again at its next
// tick.
package supervise

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/scheduler"
)

// Group runs parts until its context ends or one of them fails. A part's
// failure (any error but context.Canceled) is logged and cancels the
// group's context, which the other parts watch.
type Group struct {
	what   string // names the group in the log: "<what> stopped"
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	first  error
}

// NewGroup returns a group and the context its parts run under (ended by
// the parent, by a failing part, or by Wait).
func NewGroup(ctx context.Context, what string, log *slog.Logger) (*Group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &Group{what: what, log: log, cancel: cancel}, ctx
}

// Go starts a part.
func (g *Group) Go(name string, run func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := run()
		if err == nil || errors.Is(err, context.Canceled) {
			return
		}
		g.log.Error(g.what+" stopped", "part", name, "err", err)
		g.cancel()
		g.mu.Lock()
		if g.first == nil {
			g.first = err
		}
		g.mu.Unlock()
	}()
}

// Wait waits for every part to stop and returns the first failure (nil
// when they all stopped because the context ended). It ends the group's
// context afterwards.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.first
}

// Stop ends the group's context (for a caller that gives up before Wait).
func (g *Group) Stop() { g.cancel() }

// Every runs f now and then every period until ctx ends, each call one
// run of the job name in m's job series (fundflow_job_*: the scheduler
// records cron jobs the same way), so every loop serve runs is measured. A
// failed run is logged and tried again at the next tick; a run that
// returns scheduler.ErrSkipped (another process holds the job's lock) is
// a skip, not a failure. It returns nil when ctx ends.
func Every(ctx context.Context, name string, period time.Duration, m *pipelines.Metrics, log *slog.Logger, f func(context.Context) error) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		t0 := time.Now()
		err := f(ctx)
		scheduler.Observe(ctx, m, name, t0, err)
		if err != nil && ctx.Err() == nil && !errors.Is(err, scheduler.ErrSkipped) {
			log.Warn("periodic run failed; trying again", "job", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// HTTP serves srv until ctx ends, then shuts it down, giving requests in
// flight five seconds.
func HTTP(ctx context.Context, srv *http.Server) error {
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
