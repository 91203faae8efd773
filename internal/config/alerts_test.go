package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAlertsConfig(t *testing.T) {
	cases := []struct {
		name, yaml string
		wantErr    string // "" = valid
		want       *Alerts
	}{
		{"no section: no notifications", "services: {}\n", "", nil},
		{"empty section takes the defaults", "alerts: {}\n", "",
			&Alerts{WebhookURLEnv: "FUNDFLOW_ALERT_WEBHOOK_URL", Every: 30 * time.Second, Timeout: 10 * time.Second, MaxAttempts: 10, MaxAge: 24 * time.Hour, DigestOver: 20}},
		{"own values", "alerts:\n  webhook_url_env: OPS_SLACK_HOOK\n  every: 1m\n  timeout: 3s\n  max_attempts: 4\n  max_age: 2h\n  digest_over: 5\n", "",
			&Alerts{WebhookURLEnv: "OPS_SLACK_HOOK", Every: time.Minute, Timeout: 3 * time.Second, MaxAttempts: 4, MaxAge: 2 * time.Hour, DigestOver: 5}},
		{"negative digest_over", "alerts:\n  digest_over: -1\n", "line 2: alerts.digest_over: must be between 1 and 1000, got -1", nil},
		{"the URL itself instead of a variable", "alerts:\n  webhook_url_env: https://hooks.slack.com/services/T0/B0/x\n",
			"line 2: alerts.webhook_url_env: \"https://hooks.slack.com/services/T0/B0/x\" is not an environment variable name", nil},
		{"sub-second interval", "alerts:\n  every: 500ms\n", "line 2: alerts.every: must be whole seconds, at least 1s", nil},
		{"fractional seconds", "alerts:\n  every: 1500ms\n", "line 2: alerts.every: must be whole seconds", nil},
		{"negative timeout", "alerts:\n  timeout: -1s\n", "line 2: alerts.timeout: must be between", nil},
		{"too many attempts", "alerts:\n  max_attempts: 1000\n", "line 2: alerts.max_attempts: must be between 1 and 100, got 1000", nil},
		{"max_age under every", "alerts:\n  every: 1m\n  max_age: 30s\n", "line 3: alerts.max_age: must be at least alerts.every (1m0s)", nil},
		{"not a duration", "alerts:\n  every: 30 seconds\n", "line 2: alerts.every: \"30 seconds\" is not a duration", nil},
		{"unknown field", "alerts:\n  webhook_url: https://x\n", "line 2", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(c.yaml))
			if c.wantErr != "" {
				var ce *Errors
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cfg.Alerts == nil) != (c.want == nil) || (c.want != nil && *cfg.Alerts != *c.want) {
				t.Fatalf("got %+v, want %+v", cfg.Alerts, c.want)
			}
			if c.want != nil && cfg.Alerts.Spec() != "@every "+c.want.Every.String() {
				t.Fatalf("spec %q", cfg.Alerts.Spec())
			}
		})
	}
}
