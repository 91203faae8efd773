package main

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/alertnotify"
	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// serve's alert-notify job: none without the section; an unset or
// malformed webhook URL stops serve at start with the variable's name and
// never the secret's value; otherwise one job on alerts.every that the
// scheduler takes.
func TestAlertNotifyScheduled(t *testing.T) {
	const secret = "hooks.slack.example/services/T0/B0/s3cr3t"
	cases := []struct {
		name, yaml, env string
		wantErr         string
		wantSpec        string
	}{
		{"no section", "services: {}\n", "", "", ""},
		{"variable unset", "alerts: {webhook_url_env: FF_TEST_HOOK}\n", "", "alerts.webhook_url_env: $FF_TEST_HOOK is not set", ""},
		{"not a URL", "alerts: {webhook_url_env: FF_TEST_HOOK}\n", secret, "alerts.webhook_url_env: $FF_TEST_HOOK is not an http(s) URL", ""},
		{"ftp URL", "alerts: {webhook_url_env: FF_TEST_HOOK}\n", "ftp://" + secret, "is not an http(s) URL", ""},
		{"every 30s by default", "alerts: {webhook_url_env: FF_TEST_HOOK}\n", "https://" + secret, "", "@every 30s"},
		{"every 2m", "alerts: {webhook_url_env: FF_TEST_HOOK, every: 2m}\n", "https://" + secret, "", "@every 2m0s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse("test.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("FF_TEST_HOOK", c.env)
			d := &deps{cfg: cfg, pg: &postgres.Store{}, log: testkit.Logger(t)}
			jobs, err := alertNotifyScheduled(d)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("got %v, want %q (and never the URL)", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.wantSpec == "" {
				if len(jobs) != 0 {
					t.Fatalf("%d jobs without the section", len(jobs))
				}
				return
			}
			if len(jobs) != 1 || jobs[0].Name != alertnotify.Name || jobs[0].Spec != c.wantSpec {
				t.Fatalf("jobs %+v, want one %s on %q", jobs, alertnotify.Name, c.wantSpec)
			}
			if err := (&scheduler.Scheduler{}).Add(jobs[0]); err != nil {
				t.Fatalf("the scheduler refuses the spec: %v", err)
			}
		})
	}
}
