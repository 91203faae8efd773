package config

import (
	"fmt"
	"os"

	"github.com/robfig/cron/v3"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund/risk"
)

// FactsCheck configures facts-check (issue 20): the daily comparison of the
// Postgres ledger with the ClickHouse transaction facts, which repairs the
// days that differ and raises a facts_mismatch alert.
type FactsCheck struct {
	Schedule string `yaml:"schedule"` // cron spec (IST); default "30 1 * * *"
	Days     int    `yaml:"days"`     // NAV dates checked back from today; default 7
	// SkipModels: check and repair the facts only; by default the run then
	// refreshes the models (scheme dimension, daily AUM, returns, risk).
	SkipModels bool `yaml:"skip_models"`
	// RiskFree is the annual risk-free rate of the models' Sharpe and
	// Sortino, a decimal string; default "0.065".
	RiskFree string `yaml:"risk_free"`
	// RiskFreeFile, when set, is an effective-dated risk-free series used
	// instead of RiskFree (and by the folio risk route): a CSV with the
	// header effective_from,annual_rate and one ISO date and fraction per
	// line (fund/risk.ParseRatesCSV).
	RiskFreeFile string `yaml:"risk_free_file"`
}

func (c *Config) factsCheckDefaults() {
	x := c.Pipelines.FactsCheck
	if x == nil {
		return
	}
	x.Schedule = or(x.Schedule, "30 1 * * *")
	if x.Days == 0 {
		x.Days = 7
	}
	x.RiskFree = or(x.RiskFree, "0.065")
}

func (c *Config) validateFactsCheck() []FieldError {
	x := c.Pipelines.FactsCheck
	if x == nil {
		return nil
	}
	var errs []FieldError
	p := "pipelines.facts-check"
	if _, err := cron.ParseStandard(x.Schedule); err != nil {
		errs = append(errs, FieldError{Path: p + ".schedule", Msg: fmt.Sprintf("bad cron spec %q: %v", x.Schedule, err)})
	}
	if x.Days < 1 || x.Days > 3660 {
		errs = append(errs, FieldError{Path: p + ".days", Msg: fmt.Sprintf("must be 1 to 3660, got %d", x.Days)})
	}
	if d, err := decimal.NewFromString(x.RiskFree); err != nil || d.IsNegative() || d.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		errs = append(errs, FieldError{Path: p + ".risk_free", Msg: fmt.Sprintf("want an annual rate as a fraction from 0 to 1 (0.065 for 6.5 %%), got %q", x.RiskFree)})
	}
	if x.RiskFreeFile != "" {
		if _, err := LoadRates(x.RiskFreeFile); err != nil {
			errs = append(errs, FieldError{Path: p + ".risk_free_file", Msg: err.Error()})
		}
	}
	return errs
}

// LoadRates reads a risk-free series file (fund/risk.ParseRatesCSV's layout).
func LoadRates(path string) (risk.Rates, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("risk-free rates: %w", err)
	}
	defer f.Close()
	rs, err := risk.ParseRatesCSV(f)
	if err != nil {
		return nil, fmt.Errorf("risk-free rates %s: %w", path, err)
	}
	return rs, nil
}
