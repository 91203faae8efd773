package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/outbox"
)

// capture keeps every record logged through it, at every level.
type capture struct {
	mu   *sync.Mutex
	recs *[]slog.Record
}

func (c capture) Enabled(context.Context, slog.Level) bool { return true }
func (c capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.recs = append(*c.recs, r)
	return nil
}
func (c capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c capture) WithGroup(string) slog.Handler      { return c }

// take returns the records logged since the last take, as "LEVEL msg".
func (c capture) take() (info, debug []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range *c.recs {
		line := fmt.Sprintf("%s %s", r.Level, r.Message)
		if r.Level >= slog.LevelInfo {
			info = append(info, line)
		} else {
			debug = append(debug, line)
		}
	}
	*c.recs = nil
	return info, debug
}

// The defect: an idle facts relay logged two INFO lines a second (518 of
// 522 lines in 9 minutes). Now serve's passes (Pass) over an empty outbox
// log at DEBUG only; a pass that relays an event says so at INFO, once.
func TestIdlePassLogsAtDebug(t *testing.T) {
	owner, _, app, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	c := capture{mu: &sync.Mutex{}, recs: &[]slog.Record{}}
	job := outbox.Job{Pool: app, CH: ch, Facts: true, Log: slog.New(c)}
	for range 3 {
		if _, err := job.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	info, debug := c.take()
	if len(info) != 0 {
		t.Fatalf("three idle passes logged at INFO or above: %q", info)
	}
	if len(debug) != 6 { // each pass: the relay's start and finish
		t.Fatalf("three idle passes logged %q at DEBUG, want each pass's start and finish (6)", debug)
	}

	insertEvent(t, owner, "sip.cancelled:pl_9", "sip.cancelled", "F-9", `{"event_id": "sip.cancelled:pl_9", "plan_id": "pl_9", "kind": "sip", "reason": "by_investor", "at": "2027-01-05T00:00:00Z"}`)
	st, err := job.Pass(ctx)
	if err != nil || st.In != 1 {
		t.Fatalf("pass with one event: %+v, %v", st, err)
	}
	info, _ = c.take()
	if len(info) != 1 || !strings.Contains(info[0], "run finished") {
		t.Fatalf("a pass that relayed one event logged %q at INFO, want its finish once", info)
	}
	if _, err := job.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ = c.take(); len(info) != 0 {
		t.Fatalf("idle again, logged %q at INFO", info)
	}
}
