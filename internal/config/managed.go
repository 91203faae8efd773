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
	Fees      ManagedFees      `yaml:"fees"`
}

// ManagedFees is the scheduled quarterly fee billing (wallet.QuarterBilling,
// serve's managed-fees job; by hand `fundflow run managed-fees`).
type ManagedFees struct {
	// BillSchedule: cron (IST) of the billing's check; default "0 6 * * *",
	// 06:00 IST daily. A run bills the quarter just finished on or after the
	// first business day after its end (allocate's holidays), once: so by
	// default at 06:00 on that day. "off": no scheduled billing.
	BillSchedule string `yaml:"bill_schedule"`
	// CrystalliseMonth: the quarter ending in this month crystallises the
	// performance fee too (the fee's year end); default 3, the financial
	// year to 31 March. One of 3, 6, 9, 12.
	CrystalliseMonth int `yaml:"crystallise_month"`
	// Batch: wallets billed per transaction; default 5000.
	Batch int `yaml:"batch"`
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
	x.Fees.BillSchedule = or(x.Fees.BillSchedule, "0 6 * * *")
	if x.Fees.CrystalliseMonth == 0 {
		x.Fees.CrystalliseMonth = 3
	}
	if x.Fees.Batch == 0 {
		x.Fees.Batch = 5000
	}
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
	if x.Fees.BillSchedule != "off" {
		if _, err := cron.ParseStandard(x.Fees.BillSchedule); err != nil {
			add(p+".fees.bill_schedule", "bad cron spec %q (or \"off\"): %v", x.Fees.BillSchedule, err)
		}
	}
	switch x.Fees.CrystalliseMonth {
	case 3, 6, 9, 12:
	default:
		add(p+".fees.crystallise_month", "want the month a quarter ends in (3, 6, 9 or 12), got %d", x.Fees.CrystalliseMonth)
	}
	if x.Fees.Batch < 1 {
		add(p+".fees.batch", "must be at least 1, got %d", x.Fees.Batch)
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
