package config

import (
	"fmt"
	"time"
)

// Notify configures the notifications pipeline (`fundflow notify run`,
// package notify). No section: the templates built into the binary and the
// command's flags.
type Notify struct {
	// TemplatesDir holds <event type>.<channel>.v<N>.tmpl files used instead
	// of the built-in ones, relative to this file; `fundflow lint` loads
	// them and fails on a template that names a field its event lacks.
	TemplatesDir string `yaml:"templates_dir"`
	// DigestOver is the per-investor rate limit: more non-urgent messages
	// than this to one investor on one channel in a batch go as one digest
	// (default 5; 0 is the default, there is no "off" in the file).
	DigestOver  int `yaml:"digest_over"`
	MaxAttempts int `yaml:"max_attempts"` // then dead letter; default 6
	// Unconfirmed is what becomes of a message a killed run was sending
	// when its provider cannot be asked whether it arrived (an SMTP server
	// other than Mailpit): "fail" (default: never twice; a dead letter an
	// operator replays) or "resend" (never late; a possible duplicate with
	// the same Message-ID).
	Unconfirmed string `yaml:"unconfirmed"`
	// Every is how often serve plans the outbox (without Kafka) and sends
	// what is due (default 2s); ReceiptsEvery how often it asks the SMS
	// gateway about messages whose receipt did not come (default 1m).
	Every         time.Duration `yaml:"every"`
	ReceiptsEvery time.Duration `yaml:"receipts_every"`
}

func (c *Config) notifyDefaults() {
	n := c.Notify
	if n == nil {
		return
	}
	if n.DigestOver == 0 {
		n.DigestOver = 5
	}
	if n.MaxAttempts == 0 {
		n.MaxAttempts = 6
	}
	if n.Unconfirmed == "" {
		n.Unconfirmed = "fail"
	}
	if n.Every == 0 {
		n.Every = 2 * time.Second
	}
	if n.ReceiptsEvery == 0 {
		n.ReceiptsEvery = time.Minute
	}
}

func (c *Config) validateNotify() []FieldError {
	n := c.Notify
	if n == nil {
		return nil
	}
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: "notify." + path, Msg: fmt.Sprintf(format, args...)})
	}
	if n.DigestOver < 1 || n.DigestOver > 1000 {
		add("digest_over", "must be between 1 and 1000, got %d", n.DigestOver)
	}
	if n.MaxAttempts < 1 || n.MaxAttempts > 100 {
		add("max_attempts", "must be between 1 and 100, got %d", n.MaxAttempts)
	}
	if n.Unconfirmed != "fail" && n.Unconfirmed != "resend" {
		add("unconfirmed", `must be "fail" or "resend", got %q`, n.Unconfirmed)
	}
	if n.Every < 100*time.Millisecond {
		add("every", "must be at least 100ms, got %s", n.Every)
	}
	if n.ReceiptsEvery < time.Second {
		add("receipts_every", "must be at least 1s, got %s", n.ReceiptsEvery)
	}
	return errs
}
