package config

import (
	"fmt"

	"github.com/robfig/cron/v3"
)

// NAVFreshness configures nav-freshness, the job that watches nav_latest.
// The SLA and the holiday calendar are nav-ingest's (freshness_sla,
// holidays): the NAVs it loads are the ones watched.
type NAVFreshness struct {
	Schedule string `yaml:"schedule"` // cron spec (IST); default every minute
	// DeadAfterDays: a scheme with no NAV for more than this many days is
	// wound up, not late: left out of the metric, the alerts and the
	// completeness check.
	DeadAfterDays int `yaml:"dead_after_days"`
}

func (c *Config) freshnessDefaults() {
	x := c.Pipelines.NAVFreshness
	if x == nil {
		return
	}
	x.Schedule = or(x.Schedule, "* * * * *")
	if x.DeadAfterDays == 0 {
		x.DeadAfterDays = 30
	}
}

func (c *Config) validateFreshness() []FieldError {
	x := c.Pipelines.NAVFreshness
	if x == nil {
		return nil
	}
	var errs []FieldError
	p := "pipelines.nav-freshness"
	if _, err := cron.ParseStandard(x.Schedule); err != nil {
		errs = append(errs, FieldError{Path: p + ".schedule", Msg: fmt.Sprintf("bad cron spec %q: %v", x.Schedule, err)})
	}
	if x.DeadAfterDays < 1 {
		errs = append(errs, FieldError{Path: p + ".dead_after_days", Msg: fmt.Sprintf("must be at least 1, got %d", x.DeadAfterDays)})
	}
	if c.Pipelines.NAVIngest == nil {
		errs = append(errs, FieldError{Path: p, Msg: "needs a pipelines.nav-ingest section: its freshness_sla and holidays are the ones used"})
	}
	return errs
}
