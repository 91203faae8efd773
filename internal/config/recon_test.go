package config

import (
	"errors"
	"strings"
	"testing"
)

func TestFolioReconConfig(t *testing.T) {
	cfg, err := Parse("ok.yaml", []byte(`
pipelines:
  folio-recon:
    schedule: "30 7 * * *"
    source: {kind: sftp, path: /incoming/rta}
    window_days: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Pipelines.FolioRecon
	if r == nil || r.BatchSize != 10000 || r.ReportDir != "recon-reports" || r.RetainDays != 7 || r.WindowDays != 1 ||
		r.Source.SFTP.AddrEnv != "FUNDFLOW_SFTP_ADDR" {
		t.Fatalf("defaults: %+v", r)
	}
	for _, tc := range []struct{ yaml, path, line string }{
		{"    schedule: \"every day\"\n    source: {kind: file, path: /x}\n", "pipelines.folio-recon.schedule", "line 3"},
		{"    source: {kind: http, path: /x}\n", "pipelines.folio-recon.source.kind", "line 3"},
		{"    source: {kind: file, path: /x}\n    window_days: -1\n", "pipelines.folio-recon.window_days", "line 4"},
		{"    source: {kind: file}\n", "pipelines.folio-recon.source.path", "line 3"},
		{"    source: {kind: file, path: /x}\n    batch_size: 200000\n", "pipelines.folio-recon.batch_size", "line 4"},
		{"    source: {kind: file, path: /x}\n    max_reject_rate: 2\n", "pipelines.folio-recon.max_reject_rate", "line 4"},
	} {
		_, err := Parse("bad.yaml", []byte("pipelines:\n  folio-recon:\n"+tc.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("%q: %v, want %s at %s", tc.yaml, err, tc.path, tc.line)
		}
	}
}
