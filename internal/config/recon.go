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
	x.Source.sftpEnvDefaults()
}

// sftpEnvDefaults names the default SFTP variables of a feed's source.
func (src *Source) sftpEnvDefaults() {
	src.SFTP.AddrEnv = or(src.SFTP.AddrEnv, "FUNDFLOW_SFTP_ADDR")
	src.SFTP.UserEnv = or(src.SFTP.UserEnv, "FUNDFLOW_SFTP_USER")
	src.SFTP.KeyFileEnv = or(src.SFTP.KeyFileEnv, "FUNDFLOW_SFTP_KEY")
	src.SFTP.HostKeyFileEnv = or(src.SFTP.HostKeyFileEnv, "FUNDFLOW_SFTP_HOST_KEY")
}

// validateFeed checks what every file feed's section has (folio-recon,
// kra): the schedule, a file or SFTP source, the batch size and the
// breaker's reject rate. what names the files in the message.
func validateFeed(p, schedule string, src Source, what string, batch int, rate float64) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if schedule != "" {
		if _, err := cron.ParseStandard(schedule); err != nil {
			add(p+".schedule", "bad cron spec %q: %v", schedule, err)
		}
	}
	if src.Kind != "file" && src.Kind != "sftp" && src.Kind != "" {
		add(p+".source.kind", "%s arrive as files: file or sftp, not %q", what, src.Kind)
	} else {
		errs = append(errs, src.validate(p+".source")...)
	}
	if batch < 1 || batch > 100000 {
		add(p+".batch_size", "must be between 1 and 100000, got %d", batch)
	}
	if rate < 0 || rate > 1 {
		add(p+".max_reject_rate", "must be a fraction between 0 and 1, got %v", rate)
	}
	return errs
}

func (c *Config) validateRecon() []FieldError {
	x := c.Pipelines.FolioRecon
	if x == nil {
		return nil
	}
	p := "pipelines.folio-recon"
	errs := validateFeed(p, x.Schedule, x.Source, "RTA mailbacks", x.BatchSize, x.MaxRejectRate)
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if x.WindowDays < 0 {
		add(p+".window_days", "must not be negative (0 compares the whole history)")
	}
	if x.RetainDays < 0 {
		add(p+".retain_days", "must not be negative")
	}
	return errs
}
