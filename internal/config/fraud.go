package config

import (
	"fmt"
	"regexp"
	"time"
)

// Fraud configures the fraud and AML evaluation (package fraud, job
// fraud-eval in serve). No section: no evaluation.
type Fraud struct {
	// RulesFile is the versioned rule file (see fraud/rules.yaml for the
	// shipped one, used when this is empty); a relative path is relative
	// to this config file. `fundflow lint` checks it too.
	RulesFile string `yaml:"rules_file"`
	// InvestorsTopic is the Kafka topic of investor profile changes;
	// default investors.changed.
	InvestorsTopic string `yaml:"investors_topic"`
	// BatchSize is how many events one evaluation transaction takes;
	// default 500.
	BatchSize int `yaml:"batch_size"`
	// SessionTimeout: how long the consumer group waits for a silent
	// member before its partitions go to another; default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// SnapshotInterval and SnapshotEvents: the windows live in memory and
	// are written to Postgres (with the positions they are valid at) every
	// this long or this many events, whichever comes first; a restart
	// replays the events since. Defaults 2s and 200000.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	SnapshotEvents   int           `yaml:"snapshot_events"`
}

func (c *Config) fraudDefaults() {
	f := c.Fraud
	if f == nil {
		return
	}
	f.InvestorsTopic = or(f.InvestorsTopic, "investors.changed")
	if f.BatchSize == 0 {
		f.BatchSize = 500
	}
	if f.SessionTimeout == 0 {
		f.SessionTimeout = 10 * time.Second
	}
	if f.SnapshotInterval == 0 {
		f.SnapshotInterval = 2 * time.Second
	}
	if f.SnapshotEvents == 0 {
		f.SnapshotEvents = 200_000
	}
}

// FraudLateness is how far behind its partition's newest event an event
// may still arrive for the fraud evaluation's window expiry
// (fraud/pgstore.Store.Lateness). A failed payment carries the gateway's
// time, up to payments.max_event_age (default 24h) before receipt:
// FraudLateness is that default plus FraudLatenessMargin, and a config
// with a longer max_event_age gets that plus the margin (FraudLatenessOf),
// so no failed payment arrives below the floor its windows expire at.
const FraudLateness, FraudLatenessMargin = 25 * time.Hour, time.Hour

// FraudLatenessOf is the lateness the fraud evaluation allows under c.
func FraudLatenessOf(c *Config) time.Duration {
	if p := c.Pipelines.Payments; p != nil && p.MaxEventAge+FraudLatenessMargin > FraudLateness {
		return p.MaxEventAge + FraudLatenessMargin
	}
	return FraudLateness
}

var topicRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

func (c *Config) validateFraud() []FieldError {
	f := c.Fraud
	if f == nil {
		return nil
	}
	var errs []FieldError
	if !topicRe.MatchString(f.InvestorsTopic) {
		errs = append(errs, FieldError{Path: "fraud.investors_topic", Msg: fmt.Sprintf("%q is not a Kafka topic name (letters, digits, '.', '_', '-')", f.InvestorsTopic)})
	}
	if f.BatchSize < 1 || f.BatchSize > 100000 {
		errs = append(errs, FieldError{Path: "fraud.batch_size", Msg: fmt.Sprintf("must be between 1 and 100000, got %d", f.BatchSize)})
	}
	if f.SessionTimeout < 100*time.Millisecond || f.SessionTimeout > 5*time.Minute {
		errs = append(errs, FieldError{Path: "fraud.session_timeout", Msg: fmt.Sprintf("must be between 100ms and 5m, got %s", f.SessionTimeout)})
	}
	if f.SnapshotInterval < 10*time.Millisecond || f.SnapshotInterval > 10*time.Minute {
		errs = append(errs, FieldError{Path: "fraud.snapshot_interval", Msg: fmt.Sprintf("must be between 10ms and 10m (a restart replays the events since the last snapshot), got %s", f.SnapshotInterval)})
	}
	if f.SnapshotEvents < 1 || f.SnapshotEvents > 100_000_000 {
		errs = append(errs, FieldError{Path: "fraud.snapshot_events", Msg: fmt.Sprintf("must be between 1 and 100000000, got %d", f.SnapshotEvents)})
	}
	return errs
}
