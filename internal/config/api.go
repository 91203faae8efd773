package config

import (
	"fmt"
	"time"
)

// API configures the query API that `fundflow serve` runs. Keys and secrets
// come from the environment variables named here.
type API struct {
	Addr            string        `yaml:"addr"`               // e.g. 127.0.0.1:8080; empty: no API
	JWTSecretEnv    string        `yaml:"jwt_secret_env"`     // default FUNDFLOW_JWT_SECRET: HS256 secret
	JWTPublicKeyEnv string        `yaml:"jwt_public_key_env"` // default FUNDFLOW_JWT_PUBLIC_KEY: path of a PEM RSA public key (RS256)
	JWTIssuer       string        `yaml:"jwt_issuer"`         // required iss claim, if set
	JWTAudience     string        `yaml:"jwt_audience"`       // required aud claim, if set
	PIIKeyEnv       string        `yaml:"pii_key_env"`        // default FUNDFLOW_PII_KEY: AES-256 key for PAN and bank details
	RatePerSecond   float64       `yaml:"rate_per_second"`    // per token (default 20; 0 after defaults: set -1 for unlimited)
	Burst           int           `yaml:"burst"`              // per token (default 2 × rate)
	RequestTimeout  time.Duration `yaml:"request_timeout"`    // default 10s
	ExportTimeout   time.Duration `yaml:"export_timeout"`     // default 10m
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`     // default 65536
	// MaxTokenLifetime refuses a token whose exp lies further than this
	// after its iat, or after now (401 token_lifetime_too_long). Default 24h.
	MaxTokenLifetime time.Duration `yaml:"max_token_lifetime"`
	// Failed authentications per client address, here and on /v1/orders:
	// FailedAuthBurst at once, then FailedAuthPerSecond; past that 429
	// rate_limited. Defaults 20 and 1; -1 for no limit.
	FailedAuthBurst     int     `yaml:"failed_auth_burst"`
	FailedAuthPerSecond float64 `yaml:"failed_auth_per_second"`
}

func (a *API) defaults() {
	a.JWTSecretEnv = or(a.JWTSecretEnv, "FUNDFLOW_JWT_SECRET")
	a.JWTPublicKeyEnv = or(a.JWTPublicKeyEnv, "FUNDFLOW_JWT_PUBLIC_KEY")
	a.PIIKeyEnv = or(a.PIIKeyEnv, "FUNDFLOW_PII_KEY")
	if a.RatePerSecond == 0 {
		a.RatePerSecond = 20
	}
	if a.RequestTimeout == 0 {
		a.RequestTimeout = 10 * time.Second
	}
	if a.ExportTimeout == 0 {
		a.ExportTimeout = 10 * time.Minute
	}
	if a.MaxBodyBytes == 0 {
		a.MaxBodyBytes = 64 << 10
	}
	if a.MaxTokenLifetime == 0 {
		a.MaxTokenLifetime = 24 * time.Hour
	}
	if a.FailedAuthBurst == 0 {
		a.FailedAuthBurst = 20
	}
	if a.FailedAuthPerSecond == 0 {
		a.FailedAuthPerSecond = 1
	}
}

func (a *API) validate(p string) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if a.Addr != "" {
		if err := checkAddr(a.Addr); err != nil {
			add(p+".addr", "%v", err)
		}
	}
	for k, v := range map[string]string{"jwt_secret_env": a.JWTSecretEnv, "jwt_public_key_env": a.JWTPublicKeyEnv, "pii_key_env": a.PIIKeyEnv} {
		if !envName.MatchString(v) {
			add(p+"."+k, "%q is not an environment variable name (secrets come from the environment, not the YAML)", v)
		}
	}
	if a.RatePerSecond < 0 && a.RatePerSecond != -1 {
		add(p+".rate_per_second", "must be positive, or -1 for no limit")
	}
	if a.Burst < 0 {
		add(p+".burst", "must not be negative")
	}
	if a.MaxTokenLifetime < 0 {
		add(p+".max_token_lifetime", "must not be negative, got %v", a.MaxTokenLifetime)
	}
	if a.FailedAuthBurst < 1 && a.FailedAuthBurst != -1 {
		add(p+".failed_auth_burst", "must be positive, or -1 for no limit")
	}
	if a.FailedAuthPerSecond < 0 && a.FailedAuthPerSecond != -1 {
		add(p+".failed_auth_per_second", "must be positive, or -1 for no limit")
	}
	if a.RequestTimeout < 0 {
		add(p+".request_timeout", "must be positive (0 takes the default, 10s), got %s", a.RequestTimeout)
	}
	if a.ExportTimeout < 0 {
		add(p+".export_timeout", "must be positive (0 takes the default, 10m), got %s", a.ExportTimeout)
	}
	if a.MaxBodyBytes < 0 {
		add(p+".max_body_bytes", "must not be negative, got %d", a.MaxBodyBytes)
	}
	return errs
}
