package config

import "fmt"

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
	return errs
}
