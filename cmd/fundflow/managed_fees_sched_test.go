package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/moneytest"
	jobmanaged "github.com/fundflow/fundflow/jobs/managed"
)

// serve schedules the quarterly billing at pipelines.managed.fees's
// bill_schedule (default 06:00 IST daily; "off": none), and a run with an
// injected clock bills the quarter just finished once: the second run
// reads nothing. The wallets' billing itself: wallet's
// TestQuarterBillingOnSchedule.
func TestManagedFeesScheduled(t *testing.T) {
	spec := func(extra string) string {
		t.Helper()
		jobs, err := scheduledJobs(testDeps(t, moneyConfig(t, extra)))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.Name == jobmanaged.FeesName {
				return j.Spec
			}
		}
		return ""
	}
	if got := spec("  managed: {}\n"); got != "0 6 * * *" {
		t.Errorf("default spec %q", got)
	}
	if got := spec("  managed: {fees: {bill_schedule: \"off\"}}\n"); got != "" {
		t.Errorf("off: scheduled %q", got)
	}
	d := testDeps(t, moneyConfig(t, "  managed: {fees: {crystallise_month: 9}}\n"))
	d.clock = func() time.Time { return moneytest.IST("2026-10-01T06:00:00+05:30") }
	r, err := runQuarterBilling(context.Background(), d)
	if err != nil || r.Status != "billed" || r.From.String() != "2026-07-01" || r.To.String() != "2026-09-30" || !r.Crystallised || r.Billed != 0 {
		t.Fatalf("first run: %+v %v", r, err)
	}
	if r, err := runQuarterBilling(context.Background(), d); err != nil || r.Status != "already_billed" {
		t.Fatalf("second run: %+v %v", r, err)
	}
	for _, c := range [][]string{{"run", "managed-fees", "--help", "first business day"}, {"managed", "exit", "-h", "crystallised"}} {
		var out bytes.Buffer
		if err := run(context.Background(), c[:3], &out, io.Discard); err != nil || !strings.Contains(out.String(), c[3]) {
			t.Errorf("%v: %v\n%s", c[:3], err, out.String())
		}
	}
}
