package main

import (
	"fmt"
	"net/url"
	"os"

	"github.com/fundflow/fundflow/jobs/alertnotify"
	"github.com/fundflow/fundflow/scheduler"
)

// alertNotifyScheduled is serve's alert-notify job, every alerts.every
// (none without the alerts section). An unset or malformed webhook URL
// stops serve at start, not at the first alert.
func alertNotifyScheduled(d *deps) ([]scheduler.Job, error) {
	a := d.cfg.Alerts
	if a == nil {
		return nil, nil
	}
	hook := os.Getenv(a.WebhookURLEnv)
	if hook == "" {
		return nil, fmt.Errorf("alerts.webhook_url_env: $%s is not set: set it to the webhook's URL (e.g. a Slack incoming webhook), or remove the alerts section", a.WebhookURLEnv)
	}
	// The URL is a secret: the message names the variable, never the value.
	if u, err := url.Parse(hook); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("alerts.webhook_url_env: $%s is not an http(s) URL", a.WebhookURLEnv)
	}
	j := &alertnotify.Job{Pool: d.pg.Pool, URL: hook, Timeout: a.Timeout, MaxAttempts: a.MaxAttempts, MaxAge: a.MaxAge,
		DigestOver: a.DigestOver, Log: d.log, Recorder: d.recorder()}
	return []scheduler.Job{{Name: alertnotify.Name, Spec: a.Spec(), Run: j.Scheduled}}, nil
}
