package config

import (
	"fmt"
	"path/filepath"

	"github.com/robfig/cron/v3"
)

// Audit configures the audit trail's anchors: the chain head (seq, hash)
// published outside the database, so a rewrite of the tail that recomputes
// every hash is still caught by `fundflow audit verify`.
type Audit struct {
	// AnchorFile is an append-only JSON-lines file of published heads
	// (`fundflow audit anchor` appends; `audit verify` checks against it).
	// Keep it where the database's administrators cannot write (another
	// host, a WORM bucket's sync folder). Empty: no file anchors.
	AnchorFile string `yaml:"anchor_file"`
	// AnchorSchedule is the cron spec on which `fundflow serve` anchors
	// (IST); default hourly when anchor_file is set.
	AnchorSchedule string `yaml:"anchor_schedule"`
	// AnchorTopic is the outbox topic of the published heads (relayed to
	// Kafka like every outbox event); default audit.anchors.
	AnchorTopic string `yaml:"anchor_topic"`
}

func (c *Config) auditDefaults() {
	a := &c.Audit
	if a.AnchorFile != "" && a.AnchorSchedule == "" {
		a.AnchorSchedule = "0 * * * *"
	}
	a.AnchorTopic = or(a.AnchorTopic, "audit.anchors")
}

func (c *Config) validateAudit() []FieldError {
	var errs []FieldError
	a := c.Audit
	if a.AnchorSchedule != "" {
		if a.AnchorFile == "" {
			errs = append(errs, FieldError{Path: "audit.anchor_schedule", Msg: "set audit.anchor_file too: anchors go to the outbox and to that file"})
		}
		if _, err := cron.ParseStandard(a.AnchorSchedule); err != nil {
			errs = append(errs, FieldError{Path: "audit.anchor_schedule", Msg: fmt.Sprintf("bad cron spec %q: %v", a.AnchorSchedule, err)})
		}
	}
	if a.AnchorFile != "" && !filepath.IsAbs(a.AnchorFile) {
		errs = append(errs, FieldError{Path: "audit.anchor_file", Msg: fmt.Sprintf("must be an absolute path, got %q", a.AnchorFile)})
	}
	return errs
}
