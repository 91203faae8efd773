package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPlansConfig(t *testing.T) {
	cfg, err := Parse("test.yaml", []byte("services: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Plans{MaxPause: 6, ModifyNoticeDays: 7, MaxFailures: 3, PreDebitNotice: 24 * time.Hour, HorizonDays: 3}); cfg.Plans != want {
		t.Fatalf("defaults %+v, want %+v", cfg.Plans, want)
	}
	cfg, err = Parse("test.yaml", []byte("plans:\n  max_pause: 12\n  modify_notice_days: 10\n  max_failures: 5\n  pre_debit_notice: 48h\n  horizon_days: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Plans{MaxPause: 12, ModifyNoticeDays: 10, MaxFailures: 5, PreDebitNotice: 48 * time.Hour, HorizonDays: 4}); cfg.Plans != want {
		t.Fatalf("set %+v, want %+v", cfg.Plans, want)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"negative pause", "plans:\n  max_pause: -1\n", "line 2: plans.max_pause: must be between 1 and 120"},
		{"notice too long", "plans:\n  modify_notice_days: 400\n", "line 2: plans.modify_notice_days: must be between 1 and 90"},
		{"no failures", "plans:\n  max_failures: -3\n", "line 2: plans.max_failures: must be between 1 and 12"},
		{"notice under 24h", "plans:\n  pre_debit_notice: 12h\n", "line 2: plans.pre_debit_notice: must be at least 24h"},
		{"horizon past the notice", "plans:\n  modify_notice_days: 5\n  horizon_days: 5\n", "line 3: plans.horizon_days: must be less than modify_notice_days (5)"},
		{"unknown field", "plans:\n  max_pauses: 3\n", "line 2: plans.max_pauses: unknown field"},
	} {
		_, err := Parse("test.yaml", []byte(c.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
