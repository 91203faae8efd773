package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
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
	src := &x.Source
	src.SFTP.AddrEnv = or(src.SFTP.AddrEnv, "FUNDFLOW_SFTP_ADDR")
	src.SFTP.UserEnv = or(src.SFTP.UserEnv, "FUNDFLOW_SFTP_USER")
	src.SFTP.KeyFileEnv = or(src.SFTP.KeyFileEnv, "FUNDFLOW_SFTP_KEY")
	src.SFTP.HostKeyFileEnv = or(src.SFTP.HostKeyFileEnv, "FUNDFLOW_SFTP_HOST_KEY")
}

func (c *Config) validateKRA() []FieldError {
	x := c.Pipelines.KRA
	if x == nil {
		return nil
	}
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	p := "pipelines.kra"
	if x.Schedule != "" {
		if _, err := cron.ParseStandard(x.Schedule); err != nil {
			add(p+".schedule", "bad cron spec %q: %v", x.Schedule, err)
		}
	}
	if x.Source.Kind != "file" && x.Source.Kind != "sftp" && x.Source.Kind != "" {
		add(p+".source.kind", "KRA status files arrive as files: file or sftp, not %q", x.Source.Kind)
	} else {
		errs = append(errs, x.Source.validate(p+".source")...)
	}
	if x.BatchSize < 1 || x.BatchSize > 100000 {
		add(p+".batch_size", "must be between 1 and 100000, got %d", x.BatchSize)
	}
	if x.MaxRejectRate < 0 || x.MaxRejectRate > 1 {
		add(p+".max_reject_rate", "must be a fraction between 0 and 1, got %v", x.MaxRejectRate)
	}
	if x.RefundAfter < 0 {
		add(p+".refund_after", "must not be negative (0: never refund)")
	}
	return errs
}
