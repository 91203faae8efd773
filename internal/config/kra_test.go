package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKRAConfig(t *testing.T) {
	cfg, err := Parse("ok.yaml", []byte(`
pipelines:
  kra:
    schedule: "0 8 * * *"
    source: {kind: sftp, path: /incoming/kra}
    require_record: true
    refund_after: 72h
`))
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Pipelines.KRA
	if k == nil || k.BatchSize != 5000 || !k.RequireRecord || k.RefundAfter != 72*time.Hour || k.Source.SFTP.AddrEnv != "FUNDFLOW_SFTP_ADDR" {
		t.Fatalf("defaults: %+v", k)
	}
	for _, tc := range []struct{ yaml, path, line string }{
		{"    schedule: \"daily\"\n    source: {kind: file, path: /x}\n", "pipelines.kra.schedule", "line 3"},
		{"    source: {kind: http, path: /x}\n", "pipelines.kra.source.kind", "line 3"},
		{"    source: {kind: file, path: /x}\n    refund_after: -1h\n", "pipelines.kra.refund_after", "line 4"},
		{"    source: {kind: file, path: /x}\n    batch_size: 200000\n", "pipelines.kra.batch_size", "line 4"},
	} {
		_, err := Parse("bad.yaml", []byte("pipelines:\n  kra:\n"+tc.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%q: %v, want %s at %s", tc.yaml, err, tc.path, tc.line)
		}
	}
}
