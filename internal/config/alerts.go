package config

import (
	"fmt"
	"time"
)

// Alerts configures the alert notifications: every raise and resolve of a
// row of `alerts` is POSTed to a webhook as a Slack incoming-webhook
// message by serve's alert-notify job (jobs/alertnotify). No section: no
// notifications (the deliveries queue in Postgres; the ones older than
// max_age expire once a webhook is set).
type Alerts struct {
	// WebhookURLEnv names the variable holding the webhook URL (a secret:
	// Slack's hook URL is its credential); default FUNDFLOW_ALERT_WEBHOOK_URL.
	WebhookURLEnv string        `yaml:"webhook_url_env"`
	Every         time.Duration `yaml:"every"`        // how often serve sends what is due; default 30s
	Timeout       time.Duration `yaml:"timeout"`      // one POST; default 10s
	MaxAttempts   int           `yaml:"max_attempts"` // then the delivery is recorded failed; default 10
	// MaxAge: a delivery older than this at its first try is expired, not
	// sent (no replay of a backlog after a long outage); default 24h.
	MaxAge time.Duration `yaml:"max_age"`
	// DigestOver: more deliveries than this due at once go as one digest
	// message (counts by kind, the first subjects); default 20.
	DigestOver int `yaml:"digest_over"`
}

func (c *Config) alertsDefaults() {
	a := c.Alerts
	if a == nil {
		return
	}
	a.WebhookURLEnv = or(a.WebhookURLEnv, "FUNDFLOW_ALERT_WEBHOOK_URL")
	if a.Every == 0 {
		a.Every = 30 * time.Second
	}
	if a.Timeout == 0 {
		a.Timeout = 10 * time.Second
	}
	if a.MaxAttempts == 0 {
		a.MaxAttempts = 10
	}
	if a.MaxAge == 0 {
		a.MaxAge = 24 * time.Hour
	}
	if a.DigestOver == 0 {
		a.DigestOver = 20
	}
}

func (c *Config) validateAlerts() []FieldError {
	a := c.Alerts
	if a == nil {
		return nil
	}
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: "alerts." + path, Msg: fmt.Sprintf(format, args...)})
	}
	if !envName.MatchString(a.WebhookURLEnv) {
		add("webhook_url_env", "%q is not an environment variable name (the webhook URL is a secret: it comes from the environment, not the YAML)", a.WebhookURLEnv)
	}
	// The scheduler's @every runs at whole seconds, at least 1s apart.
	if a.Every < time.Second || a.Every%time.Second != 0 {
		add("every", "must be whole seconds, at least 1s (e.g. 30s), got %s", a.Every)
	}
	if a.Timeout < 0 || a.Timeout > 5*time.Minute {
		add("timeout", "must be between 1ms and 5m (0 takes the default, 10s), got %s", a.Timeout)
	}
	if a.MaxAttempts < 1 || a.MaxAttempts > 100 {
		add("max_attempts", "must be between 1 and 100, got %d", a.MaxAttempts)
	}
	if a.DigestOver < 1 || a.DigestOver > 1000 {
		add("digest_over", "must be between 1 and 1000, got %d", a.DigestOver)
	}
	if a.MaxAge < 0 || (a.MaxAge > 0 && a.MaxAge < a.Every) {
		add("max_age", "must be at least alerts.every (%s), or a delivery could expire before its first try; got %s", a.Every, a.MaxAge)
	}
	return errs
}

// Spec is the scheduler's spec of the alert-notify job.
func (a Alerts) Spec() string {
	return fmt.Sprintf("@every %s", a.Every)
}
