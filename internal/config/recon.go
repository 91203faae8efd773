package config

import (
	"fmt"

	"github.com/robfig/cron/v3"
)

// FolioRecon configures folio-recon: RTA mailback files (holdings and
// transactions of both RTAs) are loaded from a folder, then the RTAs'
// books are compared with our ledger as of a date.
type FolioRecon struct {
	Schedule      string  `yaml:"schedule"` // cron spec (IST), e.g. "30 7 * * *": after the RTAs' overnight mailbacks
	Source        Source  `yaml:"source"`   // file or sftp
	BatchSize     int     `yaml:"batch_size"`
	MaxRejectRate float64 `yaml:"max_reject_rate"` // 0..1; 0 disables the breaker
	ReportDir     string  `yaml:"report_dir"`      // where breaks_YYYYMMDD.csv, summary_YYYYMMDD.{txt,json} and chart_YYYYMMDD.svg go
	// WindowDays: transactions are compared over the NAV dates of the last
	// WindowDays days up to the date (a daily transaction feed: 1); 0 compares
	// the whole history (the RTAs' transaction statements).
	WindowDays int `yaml:"window_days"`
	// RetainDays: staged RTA rows of files older than this are deleted after
	// each run; 0 keeps them.
	RetainDays int `yaml:"retain_days"`
}

func (c *Config) reconDefaults() {
	x := c.Pipelines.FolioRecon
	if x == nil {
		return
	}
	if x.BatchSize == 0 {
		x.BatchSize = 10000
	}
	if x.ReportDir == "" {
		x.ReportDir = "recon-reports"
	}
	if x.RetainDays == 0 {
		x.RetainDays = 7
	}
	src := &x.Source
	src.SFTP.AddrEnv = or(src.SFTP.AddrEnv, "FUNDFLOW_SFTP_ADDR")
	src.SFTP.UserEnv = or(src.SFTP.UserEnv, "FUNDFLOW_SFTP_USER")
	src.SFTP.KeyFileEnv = or(src.SFTP.KeyFileEnv, "FUNDFLOW_SFTP_KEY")
	src.SFTP.HostKeyFileEnv = or(src.SFTP.HostKeyFileEnv, "FUNDFLOW_SFTP_HOST_KEY")
}

func (c *Config) validateRecon() []FieldError {
	x := c.Pipelines.FolioRecon
	if x == nil {
		return nil
	}
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	p := "pipelines.folio-recon"
	if x.Schedule != "" {
		if _, err := cron.ParseStandard(x.Schedule); err != nil {
			add(p+".schedule", "bad cron spec %q: %v", x.Schedule, err)
		}
	}
	if x.Source.Kind != "file" && x.Source.Kind != "sftp" && x.Source.Kind != "" {
		add(p+".source.kind", "RTA mailbacks arrive as files: file or sftp, not %q", x.Source.Kind)
	} else {
		errs = append(errs, x.Source.validate(p+".source")...)
	}
	if x.BatchSize < 1 || x.BatchSize > 100000 {
		add(p+".batch_size", "must be between 1 and 100000, got %d", x.BatchSize)
	}
	if x.MaxRejectRate < 0 || x.MaxRejectRate > 1 {
		add(p+".max_reject_rate", "must be a fraction between 0 and 1, got %v", x.MaxRejectRate)
	}
	if x.WindowDays < 0 {
		add(p+".window_days", "must not be negative (0 compares the whole history)")
	}
	if x.RetainDays < 0 {
		add(p+".retain_days", "must not be negative")
	}
	return errs
}
