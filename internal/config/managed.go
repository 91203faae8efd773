package config

import (
	"fmt"

	"github.com/robfig/cron/v3"
	"github.com/shopspring/decimal"
)

// Managed schedules the managed-investing run in serve (jobs/managed:
// deposits credited and auto-invested, rebalances finished, fees) and its
// drift check. It needs pipelines.allocate: the ledger the orders go to.
type Managed struct {
	// Schedule: cron (IST) of the run; default "0 10 * * *", 10:00 IST,
	// after the evening's NAV loads, so drift is measured on the latest NAVs.
	Schedule  string           `yaml:"schedule"`
	Batch     int              `yaml:"batch"` // deposits and wallets per pass; default 100
	Rebalance ManagedRebalance `yaml:"rebalance"`
}

// ManagedRebalance is the scheduled drift check (wallet.Rebalancer.Check).
type ManagedRebalance struct {
	// Mode: "propose" (default) logs and reports the rebalances due and
	// places nothing; "execute" places them; "off" skips the check.
	Mode string `yaml:"mode"`
	// ThresholdPP: drift in percentage points above which a rebalance is
	// due, a decimal string; default "5". Also the API's drift route's.
	ThresholdPP string `yaml:"threshold_pp"`
	TaxAware    bool   `yaml:"tax_aware"`
}

func (c *Config) managedDefaults() {
	x := c.Pipelines.Managed
	if x == nil {
		return
	}
	x.Schedule = or(x.Schedule, "0 10 * * *")
	if x.Batch == 0 {
		x.Batch = 100
	}
	x.Rebalance.Mode = or(x.Rebalance.Mode, "propose")
	x.Rebalance.ThresholdPP = or(x.Rebalance.ThresholdPP, "5")
}

func (c *Config) validateManaged() []FieldError {
	x := c.Pipelines.Managed
	if x == nil {
		return nil
	}
	var errs []FieldError
	const p = "pipelines.managed"
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if _, err := cron.ParseStandard(x.Schedule); err != nil {
		add(p+".schedule", "bad cron spec %q: %v", x.Schedule, err)
	}
	if x.Batch < 1 {
		add(p+".batch", "must be at least 1, got %d", x.Batch)
	}
	switch x.Rebalance.Mode {
	case "propose", "execute", "off":
	default:
		add(p+".rebalance.mode", "want propose, execute or off, got %q", x.Rebalance.Mode)
	}
	if d, err := decimal.NewFromString(x.Rebalance.ThresholdPP); err != nil || d.IsNegative() {
		add(p+".rebalance.threshold_pp", "want a non-negative number of percentage points, got %q", x.Rebalance.ThresholdPP)
	}
	if c.Pipelines.Allocate == nil {
		add(p, "needs pipelines.allocate (the ledger its orders are placed on)")
	}
	return errs
}

// ThresholdPPOrDefault is the drift threshold (the section's, or 5 without
// one). It assumes a validated config.
func (c *Config) ThresholdPPOrDefault() decimal.Decimal {
	if x := c.Pipelines.Managed; x != nil {
		if d, err := decimal.NewFromString(x.Rebalance.ThresholdPP); err == nil {
			return d
		}
	}
	return decimal.NewFromInt(5)
}
