package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const navIngestYAML = "  nav-ingest:\n    source: {kind: file, path: /x}\n"

func TestNAVFreshnessConfig(t *testing.T) {
	cfg, err := Parse("ok.yaml", []byte("pipelines:\n"+navIngestYAML+"  nav-freshness: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Pipelines.NAVFreshness
	if f == nil || f.Schedule != "* * * * *" || f.DeadAfterDays != 30 || cfg.Pipelines.NAVIngest.FreshnessSLA != 15*time.Minute {
		t.Fatalf("defaults: %+v", f)
	}
	for _, tc := range []struct{ yaml, path, line string }{
		{navIngestYAML + "  nav-freshness:\n    schedule: \"every minute\"\n", "pipelines.nav-freshness.schedule", "line 5"},
		{navIngestYAML + "  nav-freshness:\n    dead_after_days: -3\n", "pipelines.nav-freshness.dead_after_days", "line 5"},
		{"  nav-freshness:\n    dead_after_days: 10\n", "needs a pipelines.nav-ingest section", "line 2"},
	} {
		_, err := Parse("bad.yaml", []byte("pipelines:\n"+tc.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%q: %v, want %s at %s", tc.yaml, err, tc.path, tc.line)
		}
	}
}
