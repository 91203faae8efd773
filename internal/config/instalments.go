package config

import (
	"fmt"
	"net/url"
	"time"

	"github.com/robfig/cron/v3"
)

// Instalments configures the daily instalment run of the systematic plans
// (jobs/instalments: generate, present, settle). It needs
// pipelines.allocate: the ledger its orders are placed on, whose holidays
// are the plans' business days.
type Instalments struct {
	Schedule string `yaml:"schedule"` // cron (IST) of the whole run; default "30 9 * * *": 09:30 IST, after the morning's NAV loads
	// SettleEvery: serve settles this often between the runs, so a debit
	// captured at 10:00 is paid and allotted when its NAV lands, not the
	// next morning; default 1m.
	SettleEvery time.Duration  `yaml:"settle_every"`
	Gateway     PaymentGateway `yaml:"gateway"`
}

// PaymentGateway is the gateway's REST API that SIP debits are presented
// to (Razorpay's recurring payments). The key id and secret come from the
// environment, never the YAML.
type PaymentGateway struct {
	BaseURL      string        `yaml:"base_url"`       // default https://api.razorpay.com
	KeyIDEnv     string        `yaml:"key_id_env"`     // default FUNDFLOW_RZP_KEY_ID
	KeySecretEnv string        `yaml:"key_secret_env"` // default FUNDFLOW_RZP_KEY_SECRET
	Timeout      time.Duration `yaml:"timeout"`        // one call; default 30s
}

func (c *Config) instalmentsDefaults() {
	x := c.Pipelines.Instalments
	if x == nil {
		return
	}
	x.Schedule = or(x.Schedule, "30 9 * * *")
	if x.SettleEvery == 0 {
		x.SettleEvery = time.Minute
	}
	g := &x.Gateway
	g.BaseURL = or(g.BaseURL, "https://api.razorpay.com")
	g.KeyIDEnv = or(g.KeyIDEnv, "FUNDFLOW_RZP_KEY_ID")
	g.KeySecretEnv = or(g.KeySecretEnv, "FUNDFLOW_RZP_KEY_SECRET")
	if g.Timeout == 0 {
		g.Timeout = 30 * time.Second
	}
}

func (c *Config) validateInstalments() []FieldError {
	x := c.Pipelines.Instalments
	if x == nil {
		return nil
	}
	var errs []FieldError
	const p = "pipelines.instalments"
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if _, err := cron.ParseStandard(x.Schedule); err != nil {
		add(p+".schedule", "bad cron spec %q: %v", x.Schedule, err)
	}
	if x.SettleEvery < time.Second {
		add(p+".settle_every", "must be at least 1s, got %s", x.SettleEvery)
	}
	g := x.Gateway
	if u, err := url.Parse(g.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add(p+".gateway.base_url", "%q is not an http(s) URL", g.BaseURL)
	}
	for path, v := range map[string]string{p + ".gateway.key_id_env": g.KeyIDEnv, p + ".gateway.key_secret_env": g.KeySecretEnv} {
		if !envName.MatchString(v) {
			add(path, "%q is not an environment variable name (secrets come from the environment, not the YAML)", v)
		}
	}
	if g.Timeout < 0 {
		add(p+".gateway.timeout", "must not be negative, got %s", g.Timeout)
	}
	if c.Pipelines.Allocate == nil {
		add(p, "needs a pipelines.allocate section (the ledger instalment orders are placed on, and its holidays)")
	}
	return errs
}
