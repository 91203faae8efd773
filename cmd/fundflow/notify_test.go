package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/notify"
)

// `fundflow lint` loads notify.templates_dir: a template that names a field
// its event does not have (in any branch) fails with exit 2, naming the
// file and the field; the built-in set passes.
func TestLintChecksNotifyTemplates(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tpl, 0o755); err != nil {
		t.Fatal(err)
	}
	builtin, _ := os.ReadDir("../../notify/templates")
	for _, e := range builtin {
		b, _ := os.ReadFile(filepath.Join("../../notify/templates", e.Name()))
		os.WriteFile(filepath.Join(tpl, e.Name()), b, 0o644)
	}
	cfg := filepath.Join(dir, "fundflow.yaml")
	os.WriteFile(cfg, []byte("pipelines: {}\nnotify:\n  templates_dir: templates\n"), 0o644)
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"lint", cfg}, &out, &errOut); err != nil {
		t.Fatalf("the built-in templates: %v", err)
	}
	os.WriteFile(filepath.Join(tpl, "orders.status.sms.v2.tmpl"), []byte("{{if .Reason}}{{.Amount}}{{end}}"), 0o644)
	err := run(context.Background(), []string{"lint", cfg}, &out, &errOut)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "orders.status.sms.v2.tmpl: field Amount is not in the OrderStatusData data") {
		t.Fatalf("lint: %v", err)
	}
	if _, err := notify.LoadTemplates(os.DirFS(tpl)); err == nil {
		t.Fatal("the same check at load")
	}
}
