package config

import (
	"fmt"
	"net/url"
	"time"
)

// KRA configures the KYC gate's feed (issue 23): the KRAs' KYC status files
// and the PAN–Aadhaar link files are loaded from a folder (file or SFTP)
// and applied as the ledger's kyc restrictions (jobs/kra).
type KRA struct {
	Schedule      string  `yaml:"schedule"` // cron spec (IST)
	Source        Source  `yaml:"source"`   // file or sftp
	BatchSize     int     `yaml:"batch_size"`
	MaxRejectRate float64 `yaml:"max_reject_rate"` // 0..1; 0 disables the breaker
	// Shards is how many concurrent transactions write a batch's changed
	// investors (disjoint sets); 0: 2 for a batch changing 1,000 investors
	// or more, else 1.
	Shards int `yaml:"shards"`
	// PartSize is how many distinct PANs of a batch are looked up and
	// written at a time, the next part's lookup overlapping the last
	// part's writes; 0: the whole batch (one part, no overlap: on two
	// cores the overlap measured slower).
	PartSize int `yaml:"part_size"`
	// RequireRecord holds the orders of investors with no KYC status at
	// all as kyc_missing. Off by default: investors created by orders alone
	// (the demos', older tests') have no KYC record.
	RequireRecord bool `yaml:"require_record"`
	// RefundAfter: a captured purchase held by KYC this long is rejected
	// (its payment gets the refund-due break); 0 never.
	RefundAfter time.Duration `yaml:"refund_after"`
	// InvestorTopic is the investor master's Kafka topic (the onboarding
	// service's bulk loads and backfills: records or merge patches keyed by
	// investor id), consumed by serve when Kafka is configured; "" none.
	InvestorTopic string `yaml:"investor_topic"`
	InvestorGroup string `yaml:"investor_group"` // consumer group; default fundflow-investors
	// Banks turns on bank account verification by penny drop; nil: off.
	Banks *KYCBanks `yaml:"banks"`
}

func (c *Config) kraDefaults() {
	x := c.Pipelines.KRA
	if x == nil {
		return
	}
	if x.BatchSize == 0 {
		x.BatchSize = 5000
	}
	x.Source.sftpEnvDefaults()
	x.InvestorGroup = or(x.InvestorGroup, "fundflow-investors")
	if x.Banks != nil {
		x.Banks.defaults()
	}
}

func (c *Config) validateKRA() []FieldError {
	x := c.Pipelines.KRA
	if x == nil {
		return nil
	}
	p := "pipelines.kra"
	errs := validateFeed(p, x.Schedule, x.Source, "KRA status files", x.BatchSize, x.MaxRejectRate)
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if x.Shards < 0 || x.Shards > 64 {
		add(p+".shards", "must be 0 (automatic) to 64, got %d", x.Shards)
	}
	if x.PartSize < 0 {
		add(p+".part_size", "must not be negative (0: the whole batch), got %d", x.PartSize)
	}
	if x.RefundAfter < 0 {
		add(p+".refund_after", "must not be negative (0: never refund)")
	}
	if x.Banks != nil {
		errs = append(errs, x.Banks.validate(p+".banks")...)
	}
	return errs
}

// KYCBanks configures bank account verification by penny drop (issue 23):
// RazorpayX fund account validation, asked by the kra job for every
// account waiting for one, its webhooks received on the payment webhooks'
// listener at /webhooks/razorpayx/validations.
type KYCBanks struct {
	Gateway       PaymentGateway `yaml:"gateway"`        // RazorpayX: the same API host and keys as Razorpay
	SourceAccount string         `yaml:"source_account"` // the platform's RazorpayX account number the rupee leaves from
	SecretEnvs    []string       `yaml:"secret_envs"`    // the validation webhooks' secret(s); default FUNDFLOW_RAZORPAYX_WEBHOOK_SECRET
	MinNameMatch  int            `yaml:"min_name_match"` // the name-match score (0–100) an account needs; default 80
	StaleAfter    time.Duration  `yaml:"stale_after"`    // a request without the gateway's id is asked again after this; default 10m
	Limit         int            `yaml:"limit"`          // penny drops asked per run at most; default 1000
}

func (x *KYCBanks) defaults() {
	g := &x.Gateway
	g.BaseURL = or(g.BaseURL, "https://api.razorpay.com")
	g.KeyIDEnv = or(g.KeyIDEnv, "FUNDFLOW_RZP_KEY_ID")
	g.KeySecretEnv = or(g.KeySecretEnv, "FUNDFLOW_RZP_KEY_SECRET")
	if g.Timeout == 0 {
		g.Timeout = 30 * time.Second
	}
	if len(x.SecretEnvs) == 0 {
		x.SecretEnvs = []string{"FUNDFLOW_RAZORPAYX_WEBHOOK_SECRET"}
	}
	if x.MinNameMatch == 0 {
		x.MinNameMatch = 80
	}
	if x.StaleAfter == 0 {
		x.StaleAfter = 10 * time.Minute
	}
	if x.Limit == 0 {
		x.Limit = 1000
	}
}

func (x *KYCBanks) validate(p string) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if u, err := url.Parse(x.Gateway.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add(p+".gateway.base_url", "%q is not an http(s) URL", x.Gateway.BaseURL)
	}
	for i, e := range append([]string{x.Gateway.KeyIDEnv, x.Gateway.KeySecretEnv}, x.SecretEnvs...) {
		if !envName.MatchString(e) {
			add(fmt.Sprintf("%s.secret_envs[%d]", p, i-2), "%q is not an environment variable name (secrets come from the environment, not the YAML)", e)
		}
	}
	if x.SourceAccount == "" {
		add(p+".source_account", "missing: the platform's RazorpayX account number")
	}
	if x.MinNameMatch < 1 || x.MinNameMatch > 100 {
		add(p+".min_name_match", "must be 1 to 100, got %d", x.MinNameMatch)
	}
	if x.StaleAfter < time.Minute {
		add(p+".stale_after", "must be at least 1m, got %s", x.StaleAfter)
	}
	if x.Limit < 0 {
		add(p+".limit", "must not be negative")
	}
	return errs
}
