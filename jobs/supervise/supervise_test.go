package supervise

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/scheduler"
)

// A failing part stops the others (they see the group's context end) and
// its error is Wait's; parts that stop because the context ended are not
// failures.
func TestGroup(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name   string
		failer error // what one part returns once started; nil: it waits for the context like the others
		cancel bool  // the parent context is cancelled
		want   error
	}{
		{"a part fails", boom, false, boom},
		{"a part is cancelled: not a failure", context.Canceled, true, nil},
		{"the parent ends", nil, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(testkit.Ctx(t))
			defer cancel()
			g, ctx := NewGroup(parent, "test", testkit.Logger(t))
			stopped := make(chan string, 3)
			for _, name := range []string{"a", "b"} {
				g.Go(name, func() error {
					<-ctx.Done()
					stopped <- name
					return nil
				})
			}
			g.Go("c", func() error {
				if c.failer != nil {
					return c.failer
				}
				<-ctx.Done()
				return ctx.Err()
			})
			if c.cancel {
				cancel()
			}
			if err := g.Wait(); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Wait: %v, want %v", err, c.want)
			}
			if len(stopped) != 2 {
				t.Fatalf("%d of the waiting parts stopped, want 2", len(stopped))
			}
		})
	}
}

// Every runs at once, again at each tick, goes on after a failed run and
// returns nil when the context ends; each run moves the loop's job series
// by its outcome (a skip is a skip), and the run the stop interrupted
// counts nothing.
func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(testkit.Ctx(t))
	defer cancel()
	reg := prometheus.NewRegistry()
	runs := 0
	err := Every(ctx, "loop", time.Millisecond, pipelines.NewMetrics(reg), testkit.Logger(t), func(ctx context.Context) error {
		runs++
		switch runs {
		case 1:
			return errors.New("first run fails")
		case 2:
			return fmt.Errorf("loop %w", scheduler.ErrSkipped)
		case 5:
			cancel()
			return ctx.Err()
		}
		return nil
	})
	if err != nil || runs != 5 {
		t.Fatalf("Every: %v after %d runs, want nil after 5", err, runs)
	}
	for outcome, want := range map[string]float64{"failed": 1, "skipped": 1, "ok": 2} {
		if got, _ := testkit.Series(t, reg, "fundflow_job_runs_total", map[string]string{"job": "loop", "outcome": outcome}); got != want {
			t.Errorf("loop %s: %v, want %v", outcome, got, want)
		}
	}
	if got, _ := testkit.Series(t, reg, "fundflow_job_run_duration_seconds", map[string]string{"job": "loop"}); got != 3 {
		t.Errorf("%v durations, want 3 (the failed and the two ok runs)", got)
	}
	if _, ok := testkit.Series(t, reg, "fundflow_job_last_success_timestamp_seconds", map[string]string{"job": "loop"}); !ok {
		t.Error("no last success")
	}
}

// HTTP returns nil once the context ends and the server shut down, and the
// listener's error when it cannot listen.
func TestHTTP(t *testing.T) {
	ctx, cancel := context.WithCancel(testkit.Ctx(t))
	done := make(chan error, 1)
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}
	go func() { done <- HTTP(ctx, srv) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("after cancel: %v", err)
	}
	if err := HTTP(testkit.Ctx(t), &http.Server{Addr: "127.0.0.1:-1"}); err == nil {
		t.Fatal("a bad address served")
	}
}
