package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Commissions configures the distributor commissions (issue 18): the daily
// trail accrual (jobs/commission), run by serve on Schedule for every day not
// yet accrued up to yesterday (IST).
type Commissions struct {
	Schedule string `yaml:"schedule"` // cron (IST) of the accrual; default "0 11 * * *": 11:00 IST, after the previous evening's NAVs
	// StartDate: the first day to accrue when none has been (YYYY-MM-DD);
	// default: yesterday.
	StartDate string `yaml:"start_date"`
	// EventsSchedule is the cron (IST) of serve's pass computing event
	// commissions from the outbox's transactions.completed; default every
	// minute. (With Kafka, run `fundflow commissions events --kafka`.)
	EventsSchedule string `yaml:"events_schedule"`
}

func (c *Config) commissionsDefaults() {
	if x := c.Pipelines.Commissions; x != nil {
		x.Schedule = or(x.Schedule, "0 11 * * *")
		x.EventsSchedule = or(x.EventsSchedule, "* * * * *")
	}
}

func (c *Config) validateCommissions() []FieldError {
	x := c.Pipelines.Commissions
	if x == nil {
		return nil
	}
	var errs []FieldError
	if _, err := cron.ParseStandard(x.Schedule); err != nil {
		errs = append(errs, FieldError{Path: "pipelines.commissions.schedule", Msg: fmt.Sprintf("bad cron spec %q: %v", x.Schedule, err)})
	}
	if _, err := cron.ParseStandard(x.EventsSchedule); err != nil {
		errs = append(errs, FieldError{Path: "pipelines.commissions.events_schedule", Msg: fmt.Sprintf("bad cron spec %q: %v", x.EventsSchedule, err)})
	}
	if _, err := time.Parse(time.DateOnly, x.StartDate); x.StartDate != "" && err != nil {
		errs = append(errs, FieldError{Path: "pipelines.commissions.start_date", Msg: fmt.Sprintf("%q: want YYYY-MM-DD", x.StartDate)})
	}
	return errs
}
