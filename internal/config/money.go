package config

import (
	"fmt"
	"os"
	"time"

	"github.com/robfig/cron/v3"
)

// The money path: payments (webhooks), orders (Kafka and HTTP), allocate
// (units at the applicable NAV) and outbox (events to Kafka and ClickHouse).
// payments and orders need allocate: its holiday files decide NAV dates.

// Payments configures the payment-webhook receiver of `fundflow serve`.
type Payments struct {
	Listen      string   `yaml:"listen"`        // host:port of the HTTP listener (webhooks, and /v1/orders when orders.http is on)
	SecretEnvs  []string `yaml:"secret_envs"`   // variables holding the webhook secret(s): one, or two during a rotation
	MaxBodySize int64    `yaml:"max_body_size"` // bytes; default 1048576
	GroupCommit int      `yaml:"group_commit"`  // webhooks stored per Postgres transaction at most (group commit); default 64, 1 = one each
	// MaxEventAge: a payment event's created_at (the funds time of a
	// capture) is used only when it lies at most this long before our
	// receipt, and never after it; otherwise the receipt time is. Default
	// 24h (the gateway redelivers a failed webhook for up to a day).
	MaxEventAge time.Duration `yaml:"max_event_age"`
}

// Orders configures order intake.
type Orders struct {
	Topic          string        `yaml:"topic"`           // Kafka topic; default orders.placed (consumed when Kafka is configured)
	Group          string        `yaml:"group"`           // consumer group; default fundflow-orders
	BatchSize      int           `yaml:"batch_size"`      // Kafka messages, or HTTP order requests, per Postgres transaction; default 500
	SessionTimeout time.Duration `yaml:"session_timeout"` // consumer-group session; default 10s (a crashed consumer's partitions move after this)
	HTTP           bool          `yaml:"http"`            // serve POST /v1/orders on payments.listen
	HTTPTokenEnv   string        `yaml:"http_token_env"`  // variable holding the bearer token of /v1/orders; required with http unless insecure_no_auth
	// InsecureNoAuth serves /v1/orders without a token: for local
	// development only (or behind a gateway that authenticates); every
	// start logs a warning.
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// MaxClockSkew: a client's placed_at is the order's time only when it
	// lies at most this long before our receipt time (never after it);
	// otherwise the receipt time is, and orders.time_source says which.
	// Default 5m.
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
	// MaxConsumerLag: a Kafka message's time stamp is its receipt time when
	// it lies at most this long before our clock (a lagging consumer does
	// not move orders past a cut-off); otherwise our clock is. Default 10m.
	MaxConsumerLag time.Duration `yaml:"max_consumer_lag"`
}

// Allocate configures allotment.
type Allocate struct {
	Every     time.Duration `yaml:"every"`      // serve: run a pass this often; default 30s (also after every nav-ingest run)
	Schedule  string        `yaml:"schedule"`   // or a cron spec instead of every
	BatchSize int           `yaml:"batch_size"` // order legs per transaction, allotted set-based (a few set statements a batch); default 1000
	Workers   int           `yaml:"workers"`    // batches allotted at once, on folio-disjoint batches; default 2 (Postgres and Go overlap on two cores)
	Holidays  []string      `yaml:"holidays"`   // holiday files (DD-Mon-YYYY lines): the business days of the NAV rules
	Audit     *bool         `yaml:"audit"`      // write audit_log rows; default true
}

// Outbox configures the relays of the outbox.
type Outbox struct {
	Every     time.Duration `yaml:"every"`      // serve: relay this often; default 1s
	BatchSize int           `yaml:"batch_size"` // rows per batch; default 500
	Facts     *bool         `yaml:"facts"`      // copy transactions.completed to ClickHouse transactions; default true
}

func (c *Config) moneyDefaults() {
	p := &c.Pipelines
	if x := p.Payments; x != nil {
		if len(x.SecretEnvs) == 0 {
			x.SecretEnvs = []string{"FUNDFLOW_RAZORPAY_WEBHOOK_SECRET"}
		}
		if x.MaxBodySize == 0 {
			x.MaxBodySize = 1 << 20
		}
		if x.GroupCommit == 0 {
			x.GroupCommit = 64
		}
		if x.MaxEventAge == 0 {
			x.MaxEventAge = 24 * time.Hour
		}
	}
	if x := p.Orders; x != nil {
		x.Topic = or(x.Topic, "orders.placed")
		x.Group = or(x.Group, "fundflow-orders")
		if x.BatchSize == 0 {
			x.BatchSize = 500
		}
		if x.SessionTimeout == 0 {
			x.SessionTimeout = 10 * time.Second
		}
		if x.MaxClockSkew == 0 {
			x.MaxClockSkew = 5 * time.Minute
		}
		if x.MaxConsumerLag == 0 {
			x.MaxConsumerLag = 10 * time.Minute
		}
	}
	if x := p.Allocate; x != nil {
		if x.Every == 0 && x.Schedule == "" {
			x.Every = 30 * time.Second
		}
		if x.BatchSize == 0 {
			x.BatchSize = 1000
		}
		if x.Workers == 0 {
			x.Workers = 2
		}
		if x.Audit == nil {
			t := true
			x.Audit = &t
		}
	}
	if x := p.Outbox; x != nil {
		if x.Every == 0 {
			x.Every = time.Second
		}
		if x.BatchSize == 0 {
			x.BatchSize = 500
		}
		if x.Facts == nil {
			t := true
			x.Facts = &t
		}
	}
}

func (c *Config) validateMoney() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	p := c.Pipelines
	if x := p.Payments; x != nil {
		const s = "pipelines.payments"
		if x.Listen == "" {
			add(s+".listen", "missing: host:port of the webhook listener, e.g. 127.0.0.1:8090")
		} else if err := checkAddr(x.Listen); err != nil {
			add(s+".listen", "%v", err)
		}
		if len(x.SecretEnvs) > 2 {
			add(s+".secret_envs", "at most two secrets (the current one and, during a rotation, the previous one), got %d", len(x.SecretEnvs))
		}
		for i, e := range x.SecretEnvs {
			if !envName.MatchString(e) {
				add(fmt.Sprintf("%s.secret_envs[%d]", s, i), "%q is not an environment variable name (the secret itself never goes in the YAML)", e)
			}
		}
		if x.MaxBodySize < 1024 || x.MaxBodySize > 16<<20 {
			add(s+".max_body_size", "must be between 1024 and 16777216 bytes, got %d", x.MaxBodySize)
		}
		if x.GroupCommit < 1 || x.GroupCommit > 1000 {
			add(s+".group_commit", "must be between 1 and 1000, got %d", x.GroupCommit)
		}
		if x.MaxEventAge < 0 {
			add(s+".max_event_age", "must not be negative, got %v", x.MaxEventAge)
		}
		if p.Allocate == nil {
			add(s, "needs a pipelines.allocate section (its holidays decide the NAV date of a paid order)")
		}
	}
	if x := p.Orders; x != nil {
		const s = "pipelines.orders"
		if x.BatchSize < 1 || x.BatchSize > 10000 {
			add(s+".batch_size", "must be between 1 and 10000, got %d", x.BatchSize)
		}
		if x.SessionTimeout < time.Second || x.SessionTimeout > 5*time.Minute {
			add(s+".session_timeout", "must be between 1s and 5m (and within the brokers' group.min/max.session.timeout.ms, usually 6s..5m), got %v", x.SessionTimeout)
		}
		if x.HTTP && p.Payments == nil {
			add(s+".http", "serving /v1/orders needs pipelines.payments.listen")
		}
		if x.HTTPTokenEnv != "" && !envName.MatchString(x.HTTPTokenEnv) {
			add(s+".http_token_env", "%q is not an environment variable name", x.HTTPTokenEnv)
		}
		if x.HTTP && x.HTTPTokenEnv == "" && !x.InsecureNoAuth {
			add(s+".http", "serving /v1/orders needs a bearer token: set http_token_env to the variable that holds it (or, for local development only, insecure_no_auth: true)")
		}
		if x.InsecureNoAuth && x.HTTPTokenEnv != "" {
			add(s+".insecure_no_auth", "set together with http_token_env: choose one (a token, or no authentication for local development)")
		}
		if x.MaxClockSkew < 0 {
			add(s+".max_clock_skew", "must not be negative, got %v", x.MaxClockSkew)
		}
		if x.MaxConsumerLag < 0 {
			add(s+".max_consumer_lag", "must not be negative, got %v", x.MaxConsumerLag)
		}
		if p.Allocate == nil {
			add(s, "needs a pipelines.allocate section (its holidays decide the NAV date of a redemption)")
		}
	}
	if x := p.Allocate; x != nil {
		const s = "pipelines.allocate"
		if x.Schedule != "" {
			if _, err := cron.ParseStandard(x.Schedule); err != nil {
				add(s+".schedule", "bad cron spec %q: %v", x.Schedule, err)
			}
		}
		if x.Every < 0 {
			add(s+".every", "must not be negative")
		}
		if x.BatchSize < 1 || x.BatchSize > 10000 {
			add(s+".batch_size", "must be between 1 and 10000, got %d", x.BatchSize)
		}
		if x.Workers < 1 || x.Workers > 16 {
			add(s+".workers", "must be between 1 and 16, got %d", x.Workers)
		}
		for i, h := range x.Holidays {
			if _, err := os.Stat(h); err != nil {
				add(fmt.Sprintf("%s.holidays[%d]", s, i), "holiday file %q: %v", h, err)
			}
		}
	}
	if x := p.Outbox; x != nil {
		const s = "pipelines.outbox"
		if x.Every < 0 {
			add(s+".every", "must not be negative")
		}
		if x.BatchSize < 1 || x.BatchSize > 100000 {
			add(s+".batch_size", "must be between 1 and 100000, got %d", x.BatchSize)
		}
	}
	return errs
}
