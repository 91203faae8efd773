package config

import (
	"errors"
	"strings"
	"testing"
)

func TestManagedConfig(t *testing.T) {
	const allocate = "  allocate: {}\n"
	cfg, err := Parse("ok.yaml", []byte("pipelines:\n"+allocate+"  managed: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := cfg.Pipelines.Managed
	if x == nil || x.Schedule != "0 10 * * *" || x.Batch != 100 || x.Rebalance.Mode != "propose" || x.Rebalance.ThresholdPP != "5" || x.Rebalance.TaxAware ||
		cfg.ThresholdPPOrDefault().String() != "5" || x.Fees != (ManagedFees{BillSchedule: "0 6 * * *", CrystalliseMonth: 3, Batch: 5000}) {
		t.Fatalf("defaults: %+v", x)
	}
	cfg, err = Parse("ok.yaml", []byte("pipelines:\n"+allocate+"  managed:\n    rebalance: {mode: execute, threshold_pp: \"2.5\"}\n"))
	if err != nil || cfg.Pipelines.Managed.Rebalance.Mode != "execute" || cfg.ThresholdPPOrDefault().String() != "2.5" {
		t.Fatalf("execute at 2.5: %+v %v", cfg.Pipelines.Managed, err)
	}
	for _, tc := range []struct{ yaml, path string }{
		{allocate + "  managed:\n    schedule: daily\n", "pipelines.managed.schedule"},
		{allocate + "  managed:\n    batch: -1\n", "pipelines.managed.batch"},
		{allocate + "  managed:\n    rebalance: {mode: auto}\n", "pipelines.managed.rebalance.mode"},
		{allocate + "  managed:\n    rebalance: {threshold_pp: \"-1\"}\n", "pipelines.managed.rebalance.threshold_pp"},
		{allocate + "  managed:\n    fees: {bill_schedule: quarterly}\n", "pipelines.managed.fees.bill_schedule"},
		{allocate + "  managed:\n    fees: {crystallise_month: 4}\n", "pipelines.managed.fees.crystallise_month"},
		{allocate + "  managed:\n    fees: {batch: -5}\n", "pipelines.managed.fees.batch"},
		{"  managed: {}\n", "needs pipelines.allocate"},
	} {
		_, err := Parse("bad.yaml", []byte("pipelines:\n"+tc.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%q: %v, want %s", tc.yaml, err, tc.path)
		}
	}
}
