package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// A scheduled run that finds its lock held elsewhere is skipped, not
// failed; any other outcome passes through unchanged.
func TestServeLockedJobSkipsWhenLocked(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name      string
		err       error
		skipped   bool
		wantCause error
	}{
		{"ok", nil, false, nil},
		{"locked", postgres.ErrLocked, true, postgres.ErrLocked},
		{"locked, wrapped", fmt.Errorf("nav-ingest: %w", postgres.ErrLocked), true, postgres.ErrLocked},
		{"failed", boom, false, boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ran := 0
			j := lockedJob("x", "@every 1m", func(context.Context) error { ran++; return c.err })
			if j.Name != "x" || j.Spec != "@every 1m" {
				t.Fatalf("job %q %q", j.Name, j.Spec)
			}
			err := j.Run(context.Background())
			if ran != 1 {
				t.Fatalf("ran %d times", ran)
			}
			if got := errors.Is(err, scheduler.ErrSkipped); got != c.skipped {
				t.Fatalf("skipped %v, want %v (err %v)", got, c.skipped, err)
			}
			if !errors.Is(err, c.wantCause) || (c.wantCause == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, c.wantCause)
			}
		})
	}
}
