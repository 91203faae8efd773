package config

import (
	"fmt"
	"time"

	"github.com/fundflow/fundflow/plans"
)

// Plans sets the systematic plans' operating rules (package plans'
// Config): how far a pause may reach, the notice before a modification
// applies, the failed debits that cancel a plan, the pre-debit notice and
// how far ahead instalments are generated. Zero fields take plans.Config's
// defaults (the issue's).
type Plans struct {
	MaxPause         int           `yaml:"max_pause"`          // most instalments one pause skips; default 6
	ModifyNoticeDays int           `yaml:"modify_notice_days"` // a modification applies from the first nominal date this many days on; default 7
	MaxFailures      int           `yaml:"max_failures"`       // consecutive failed debits that cancel a plan; default 3
	PreDebitNotice   time.Duration `yaml:"pre_debit_notice"`   // notification to debit, at least; default 24h (RBI e-mandate rule: no less)
	HorizonDays      int           `yaml:"horizon_days"`       // instalments are generated this many days before they fall due; default 3
}

// Rules is the section as package plans takes it.
func (p Plans) Rules() plans.Config {
	return plans.Config{MaxPause: p.MaxPause, ModifyNoticeDays: p.ModifyNoticeDays, MaxFailures: p.MaxFailures,
		PreDebitNotice: p.PreDebitNotice, HorizonDays: p.HorizonDays}
}

// plansDefaults fills the zero fields with package plans' defaults, so the
// checks below and `fundflow lint` see the values that will run.
func (c *Config) plansDefaults() {
	d := c.Plans.Rules().Defaults()
	c.Plans = Plans{MaxPause: d.MaxPause, ModifyNoticeDays: d.ModifyNoticeDays, MaxFailures: d.MaxFailures,
		PreDebitNotice: d.PreDebitNotice, HorizonDays: d.HorizonDays}
}

func (c *Config) validatePlans() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: "plans." + path, Msg: fmt.Sprintf(format, args...)})
	}
	p := c.Plans
	if p.MaxPause < 1 || p.MaxPause > 120 {
		add("max_pause", "must be between 1 and 120 instalments, got %d", p.MaxPause)
	}
	if p.ModifyNoticeDays < 1 || p.ModifyNoticeDays > 90 {
		add("modify_notice_days", "must be between 1 and 90 days, got %d", p.ModifyNoticeDays)
	}
	if p.MaxFailures < 1 || p.MaxFailures > 12 {
		add("max_failures", "must be between 1 and 12, got %d", p.MaxFailures)
	}
	if p.PreDebitNotice < 24*time.Hour {
		add("pre_debit_notice", "must be at least 24h (RBI e-mandate rules: the pre-debit notification goes out 24 hours before the debit), got %s", p.PreDebitNotice)
	}
	if p.HorizonDays < 1 || p.HorizonDays > 31 {
		add("horizon_days", "must be between 1 and 31 days, got %d", p.HorizonDays)
	} else if p.HorizonDays >= p.ModifyNoticeDays {
		// A modification must find the instalments it changes not yet
		// generated: a change of day would otherwise move dates already
		// announced to the investor.
		add("horizon_days", "must be less than modify_notice_days (%d): instalments a modification applies to must not be generated yet, got %d",
			p.ModifyNoticeDays, p.HorizonDays)
	}
	return errs
}
