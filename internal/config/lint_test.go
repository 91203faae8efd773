package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLintRefusesWhatServeDiesOn: each config is wrong in one place that
// `fundflow serve` would only find at start (or never); lint must name the
// field and its line.
func TestLintRefusesWhatServeDiesOn(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"metrics addr not host:port", "serve:\n  metrics_addr: not-an-addr\n",
			`line 2: serve.metrics_addr: "not-an-addr" is not host:port`},
		{"api port out of range", "serve:\n  api:\n    addr: \":99999\"\n",
			`line 3: serve.api.addr: ":99999": the port must be a number from 1 to 65535`},
		{"api port by name", "serve:\n  api:\n    addr: \"localhost:http\"\n",
			`line 3: serve.api.addr: "localhost:http": the port must be a number`},
		{"webhook listen port out of range", "pipelines:\n  allocate: {}\n  payments:\n    listen: 127.0.0.1:70000\n",
			`line 4: pipelines.payments.listen: "127.0.0.1:70000": the port must be a number from 1 to 65535`},
		{"negative freshness sla", "pipelines:\n  nav-ingest:\n    source: {kind: file, path: /x}\n    freshness_sla: -5m\n",
			"line 4: pipelines.nav-ingest.freshness_sla: must be positive"},
		{"negative request timeout", "serve:\n  api:\n    request_timeout: -1s\n",
			"line 3: serve.api.request_timeout: must be positive"},
		{"negative export timeout", "serve:\n  api:\n    export_timeout: -1m\n",
			"line 3: serve.api.export_timeout: must be positive"},
		{"negative http timeout", "pipelines:\n  nav-ingest:\n    source:\n      kind: http\n      url: https://amfi.example/NAVAll.txt\n      http:\n        timeout: -2m\n",
			"line 7: pipelines.nav-ingest.source.http.timeout: must not be negative"},
		{"negative stable_for", "pipelines:\n  nav-ingest:\n    source:\n      kind: file\n      path: /x\n      stable_for: -2s\n",
			"line 6: pipelines.nav-ingest.source.stable_for: must not be negative"},
		{"negative allocate every", "pipelines:\n  allocate:\n    every: -30s\n",
			"line 3: pipelines.allocate.every: must not be negative"},
		{"negative outbox every", "pipelines:\n  outbox:\n    every: -1s\n",
			"line 3: pipelines.outbox.every: must not be negative"},
		{"zero settle_every is the default, negative is not", "pipelines:\n  allocate: {}\n  instalments:\n    settle_every: -1m\n",
			"line 4: pipelines.instalments.settle_every: must be at least 1s"},
		{"negative gateway timeout", "pipelines:\n  allocate: {}\n  instalments:\n    gateway:\n      timeout: -5s\n",
			"line 5: pipelines.instalments.gateway.timeout: must not be negative"},
		{"negative session timeout", "pipelines:\n  allocate: {}\n  orders:\n    session_timeout: -10s\n",
			"line 4: pipelines.orders.session_timeout: must be between 1s and 5m"},
		{"negative max_event_age", "pipelines:\n  allocate: {}\n  payments:\n    listen: :8090\n    max_event_age: -1h\n",
			"line 5: pipelines.payments.max_event_age: must not be negative"},
		{"negative token lifetime", "serve:\n  api:\n    max_token_lifetime: -24h\n",
			"line 3: serve.api.max_token_lifetime: must not be negative"},
		{"bad nav-ingest cron", "pipelines:\n  nav-ingest:\n    schedule: \"*/15 * * *\"\n    source: {kind: file, path: /x}\n",
			"line 3: pipelines.nav-ingest.schedule: bad cron spec"},
		{"bad allocate cron", "pipelines:\n  allocate:\n    schedule: \"61 * * * *\"\n",
			"line 3: pipelines.allocate.schedule: bad cron spec"},
		{"bad folio-recon cron", "pipelines:\n  folio-recon:\n    schedule: \"30 25 * * *\"\n    source: {kind: file, path: /x}\n",
			"line 3: pipelines.folio-recon.schedule: bad cron spec"},
		{"bad nav-freshness cron", "pipelines:\n  nav-ingest:\n    source: {kind: file, path: /x}\n  nav-freshness:\n    schedule: \"@sometimes\"\n",
			"line 5: pipelines.nav-freshness.schedule: bad cron spec"},
		{"bad instalments cron", "pipelines:\n  allocate: {}\n  instalments:\n    schedule: \"30 9 * * MON-XYZ\"\n",
			"line 4: pipelines.instalments.schedule: bad cron spec"},
		{"bad anchor cron", "audit:\n  anchor_file: /var/lib/anchors.jsonl\n  anchor_schedule: \"hourly\"\n",
			"line 3: audit.anchor_schedule: bad cron spec"},
		{"orders over http with no token", "pipelines:\n  allocate: {}\n  payments:\n    listen: :8090\n  orders:\n    http: true\n",
			"line 6: pipelines.orders.http: serving /v1/orders needs a bearer token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fundflow.yaml", []byte(tc.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *Errors", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message lacks %q:\n%s", tc.want, err)
			}
		})
	}
}

// TestLintAcceptsGoodAddresses: an empty host listens everywhere, and port 0
// (any free port) is what tests start servers on.
func TestLintAcceptsGoodAddresses(t *testing.T) {
	y := "serve:\n  metrics_addr: \":9464\"\n  api:\n    addr: 127.0.0.1:0\npipelines:\n  allocate: {}\n  payments:\n    listen: \"[::1]:8090\"\n"
	if _, err := Parse("fundflow.yaml", []byte(y)); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLErrorsInPlainWords: yaml.v3's type errors name Go types and YAML
// tags, its syntax errors the wrong line, and an empty file is "EOF".
func TestYAMLErrorsInPlainWords(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
		not        string
	}{
		{"duration in words", "pipelines:\n  allocate: {}\n  payments:\n    listen: :8090\n    max_event_age: 5 seconds\n",
			[]string{`line 5: pipelines.payments.max_event_age: "5 seconds" is not a duration (use e.g. 5s, 2m, 1h)`}, "cannot unmarshal"},
		{"long value shown whole", "pipelines:\n  nav-ingest:\n    source: {kind: file, path: /x}\n    freshness_sla: fifteen minutes\n",
			[]string{`line 4: pipelines.nav-ingest.freshness_sla: "fifteen minutes" is not a duration`}, "..."},
		{"value in a flow mapping", "pipelines:\n  nav-ingest:\n    source: {kind: file, path: /x, stable_for: soon}\n",
			[]string{`line 3: pipelines.nav-ingest.source.stable_for: "soon" is not a duration`}, "cannot unmarshal"},
		{"bool", "pipelines:\n  allocate: {}\n  payments: {listen: \":8090\"}\n  orders:\n    http: maybe\n    insecure_no_auth: true\n",
			[]string{`line 5: pipelines.orders.http: "maybe" is not true or false`}, "!!str"},
		{"float", "pipelines:\n  nav-ingest:\n    source: {kind: file, path: /x}\n    max_reject_rate: 20%\n",
			[]string{`line 4: pipelines.nav-ingest.max_reject_rate: "20%" is not a number`}, "float64"},
		{"list where a value goes", "serve:\n  metrics_addr: [a, b]\n",
			[]string{"line 2: serve.metrics_addr: a list is not a single value"}, "!!seq"},
		{"value where a list goes", "pipelines:\n  allocate:\n    holidays: /x/h.csv\n",
			[]string{`line 3: pipelines.allocate.holidays: "/x/h.csv" is not a list`}, "[]string"},
		{"value where a section goes", "pipelines:\n  outbox: yes please\n",
			[]string{`line 2: pipelines.outbox: "yes please" is not a section of fields`}, "config."},
		{"empty file", "", []string{"the config file is empty"}, "EOF"},
		{"only comments", "# nothing yet\n\n", []string{"the config file is empty"}, "EOF"},
		{"unclosed flow list at its line", "serve:\n  metrics_addr: :9464\npipelines:\n  allocate:\n    holidays: [a.csv, b.csv\n  outbox: {}\n",
			[]string{"line 5: (yaml): YAML syntax error"}, ""},
		{"bad indentation at its line", "pipelines:\n  allocate:\n    every: 2s\n   batch_size: 10\n  outbox: {}\n",
			[]string{"line 4: (yaml): YAML syntax error"}, ""},
		{"tab at its line", "pipelines:\n  allocate:\n\tevery: 2s\n",
			[]string{"line 3: (yaml): YAML syntax error"}, ""},
		{"unterminated quote at its line", "serve:\n  metrics_addr: \"127.0.0.1:9464\n  api: {}\n",
			[]string{"line 2: (yaml): YAML syntax error"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("fundflow.yaml", []byte(tc.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *Errors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
			if tc.not != "" && strings.Contains(err.Error(), tc.not) {
				t.Errorf("message still has %q:\n%s", tc.not, err)
			}
		})
	}
}
