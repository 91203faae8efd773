package config

import (
	"errors"
	"strings"
	"testing"
)

const good = `
services:
  postgres_url_env: FUNDFLOW_PG_URL
pipelines:
  nav-ingest:
    schedule: "*/15 * * * *"
    source:
      kind: file
      path: /tmp/inbox
      glob: "NAVAll*.txt"
      stable_for: 2s
    max_reject_rate: 0.2
`

func TestParseGood(t *testing.T) {
	cfg, err := Parse("fundflow.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Pipelines.NAVIngest
	if n == nil || n.Source.Kind != "file" || n.Source.StableFor.Seconds() != 2 || n.BatchSize != 16000 || n.Jump.Liquid != "0.02" {
		t.Fatalf("decoded %+v", n)
	}
}

func TestParseBadNamesFieldAndLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings, each must appear
	}{
		{"unknown field", `
pipelines:
  nav-ingest:
    source:
      kind: file
      path: /x
      glop: "*.txt"
`, []string{"line 7: pipelines.nav-ingest.source.glop", `unknown field "glop"`}},
		{"bad kind and cron", `
pipelines:
  nav-ingest:
    schedule: "every 15 minutes"
    source:
      kind: ftp
      path: /x
`, []string{"line 4: pipelines.nav-ingest.schedule: bad cron spec", "line 6: pipelines.nav-ingest.source.kind: unknown source kind \"ftp\""}},
		{"missing path", `
pipelines:
  nav-ingest:
    source:
      kind: sftp
`, []string{"line 4: pipelines.nav-ingest.source.path: missing"}},
		{"wrong type", `
pipelines:
  nav-ingest:
    batch_size: lots
    source: {kind: file, path: /x}
`, []string{`line 4: pipelines.nav-ingest.batch_size: "lots" is not a whole number`}},
		{"secret in yaml", `
services:
  postgres_url_env: "postgres://user:secret@db/x"
`, []string{"line 3: services.postgres_url_env", "not an environment variable name"}},
		{"bad threshold", `
pipelines:
  nav-ingest:
    source: {kind: file, path: /x}
    jump_thresholds:
      debt: ten percent
`, []string{"line 6: pipelines.nav-ingest.jump_thresholds.debt"}},
		{"http without url", `
pipelines:
  nav-ingest:
    source:
      kind: http
`, []string{"line 4: pipelines.nav-ingest.source.url: missing"}},
		{"http with folder options", `
pipelines:
  nav-ingest:
    source:
      kind: http
      url: https://portal.amfiindia.com/spages/NAVAll.txt
      path: /incoming
      done_marker: true
`, []string{"line 7: pipelines.nav-ingest.source.path: not used by kind http", "line 8: pipelines.nav-ingest.source.done_marker: not used"}},
		{"http url not http", `
pipelines:
  nav-ingest:
    source:
      kind: http
      url: ftp://amfi/NAVAll.txt
      http: {max_redirects: 50}
`, []string{"line 6: pipelines.nav-ingest.source.url: \"ftp://amfi/NAVAll.txt\" is not an http(s) URL", "line 7: pipelines.nav-ingest.source.http.max_redirects"}},
		{"future window out of range", `
pipelines:
  nav-ingest:
    source: {kind: file, path: /x}
    future_days: 400
`, []string{"line 5: pipelines.nav-ingest.future_days: must be between 1 and 31 days, got 400"}},
		{"broken yaml", "pipelines:\n  nav-ingest:\n    source: [unclosed\n", []string{"line "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fundflow.yaml", []byte(tc.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *Errors", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Parse("f.yaml", []byte(`
pipelines:
  nav-ingest:
    batch_size: -5
    max_reject_rate: 3
    source:
      kind: nope
`))
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != 4 { // batch_size, max_reject_rate, kind, path
		t.Fatalf("want 4 problems, got %v", err)
	}
}
