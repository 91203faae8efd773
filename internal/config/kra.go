package config

import (
	"fmt"
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
	// RequireRecord holds the orders of investors with no KYC status at
	// all as kyc_missing. Off by default: investors created by orders alone
	// (the demos', older tests') have no KYC record.
	RequireRecord bool `yaml:"require_record"`
	// RefundAfter: a captured purchase held by KYC this long is rejected
	// (its payment gets the refund-due break); 0 never.
	RefundAfter time.Duration `yaml:"refund_after"`
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
	if x.RefundAfter < 0 {
		add(p+".refund_after", "must not be negative (0: never refund)")
	}
	return errs
}
