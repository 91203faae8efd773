package config

import (
	"strings"
	"testing"
	"time"
)

func TestMoneyDefaults(t *testing.T) {
	cfg, err := Parse("fundflow.yaml", []byte(`
pipelines:
  payments:
    listen: 127.0.0.1:8080
  orders:
    http: true
    http_token_env: FUNDFLOW_ORDERS_TOKEN
  allocate: {}
  outbox: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pipelines
	if got := p.Payments.SecretEnvs; len(got) != 1 || got[0] != "FUNDFLOW_RAZORPAY_WEBHOOK_SECRET" || p.Payments.MaxBodySize != 1<<20 {
		t.Errorf("payments defaults: %+v", p.Payments)
	}
	if p.Orders.Topic != "orders.placed" || p.Orders.Group != "fundflow-orders" || p.Orders.BatchSize != 500 ||
		p.Orders.MaxClockSkew != 5*time.Minute || p.Orders.MaxConsumerLag != 10*time.Minute {
		t.Errorf("orders defaults: %+v", p.Orders)
	}
	if p.Payments.MaxEventAge != 24*time.Hour {
		t.Errorf("payments.max_event_age default %v, want 24h", p.Payments.MaxEventAge)
	}
	if a := cfg.Serve.API; a.MaxTokenLifetime != 24*time.Hour || a.FailedAuthBurst != 20 || a.FailedAuthPerSecond != 1 {
		t.Errorf("api defaults: %+v", a)
	}
	if p.Allocate.Every != 30*time.Second || p.Allocate.BatchSize != 1000 || p.Allocate.Audit == nil || !*p.Allocate.Audit {
		t.Errorf("allocate defaults: %+v", p.Allocate)
	}
	if p.Outbox.Every != time.Second || p.Outbox.Facts == nil || !*p.Outbox.Facts {
		t.Errorf("outbox defaults: %+v", p.Outbox)
	}
}

func TestMoneyBadNamesFieldAndLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"listen and secrets", `
pipelines:
  payments:
    listen: "8080"
    secret_envs: [FUNDFLOW_A, "the secret itself"]
  allocate: {}
`, []string{"line 4: pipelines.payments.listen: \"8080\" is not host:port", `line 5: pipelines.payments.secret_envs[1]: "the secret itself" is not an environment variable name`}},
		{"three secrets", `
pipelines:
  payments:
    listen: 127.0.0.1:1
    secret_envs: [A, B, C]
  allocate: {}
`, []string{"line 5: pipelines.payments.secret_envs: at most two secrets"}},
		{"payments without allocate", `
pipelines:
  payments:
    listen: 127.0.0.1:1
`, []string{"line 3: pipelines.payments: needs a pipelines.allocate section"}},
		{"orders http without payments", `
pipelines:
  orders:
    http: true
    batch_size: 0
  allocate:
    batch_size: 20000
    schedule: "sometimes"
    holidays: [/nonexistent/holidays.csv]
`, []string{"line 4: pipelines.orders.http: serving /v1/orders needs pipelines.payments.listen",
			"line 7: pipelines.allocate.batch_size: must be between 1 and 10000, got 20000",
			"line 8: pipelines.allocate.schedule: bad cron spec", "line 9: pipelines.allocate.holidays[0]: holiday file"}},
		{"outbox batch and unknown field", `
pipelines:
  outbox:
    batch_size: -1
    relay: kafka
`, []string{"line 4: pipelines.outbox.batch_size: must be between 1 and 100000", `line 5: pipelines.outbox.relay: unknown field "relay"`}},
		// Item 14 of issue 11: /v1/orders open to anyone was accepted
		// without a word.
		{"orders http without a token", `
pipelines:
  payments:
    listen: 127.0.0.1:1
  orders:
    http: true
  allocate: {}
`, []string{"line 6: pipelines.orders.http: serving /v1/orders needs a bearer token: set http_token_env"}},
		{"token and insecure_no_auth both", `
pipelines:
  payments:
    listen: 127.0.0.1:1
  orders:
    http: true
    http_token_env: T
    insecure_no_auth: true
    max_clock_skew: -1m
  allocate: {}
`, []string{"line 8: pipelines.orders.insecure_no_auth: set together with http_token_env", "line 9: pipelines.orders.max_clock_skew: must not be negative"}},
		{"api limits", `
serve:
  api:
    max_token_lifetime: -1h
    failed_auth_burst: -5
`, []string{"line 4: serve.api.max_token_lifetime: must not be negative", "line 5: serve.api.failed_auth_burst: must be positive, or -1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("fundflow.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// insecure_no_auth is the one way to serve /v1/orders without a token.
func TestOrdersInsecureNoAuthAccepted(t *testing.T) {
	cfg, err := Parse("fundflow.yaml", []byte(`
pipelines:
  payments:
    listen: 127.0.0.1:1
  orders:
    http: true
    insecure_no_auth: true
  allocate: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Pipelines.Orders.InsecureNoAuth {
		t.Error("insecure_no_auth not read")
	}
}

// The fraud evaluation's lateness covers the oldest a failed payment's
// gateway time may be: max_event_age plus the hour's margin, never below
// the 25 h default (24 h default + 1 h).
func TestFraudLatenessCoversMaxEventAge(t *testing.T) {
	for _, c := range []struct {
		age, want time.Duration
	}{{0, 25 * time.Hour}, {24 * time.Hour, 25 * time.Hour}, {5 * time.Minute, 25 * time.Hour}, {25 * time.Hour, 26 * time.Hour}, {87600 * time.Hour, 87601 * time.Hour}} {
		cfg := &Config{Pipelines: Pipelines{Payments: &Payments{MaxEventAge: c.age}}}
		if got := FraudLatenessOf(cfg); got != c.want {
			t.Errorf("max_event_age %v: lateness %v, want %v", c.age, got, c.want)
		}
	}
	if got := FraudLatenessOf(&Config{}); got != 25*time.Hour {
		t.Errorf("no payments pipeline: lateness %v, want 25h", got)
	}
}
