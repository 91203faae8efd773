package apiserve_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/apiserve"
	"github.com/fundflow/fundflow/plans"
)

// The API's settings come from the environment variables the config names:
// no token key, or an HS256 secret under 32 bytes, is a ConfigError (the
// operator's to fix: serve exits 2), naming the variable; a good secret
// gives the settings, and failed_auth_* of -1 switches the limit off.
func TestConfigFromTheEnvironment(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("serve:\n  api:\n    addr: 127.0.0.1:0\n    jwt_secret_env: FF_APISERVE_SECRET\n    jwt_public_key_env: FF_APISERVE_PUB\n    pii_key_env: FF_APISERVE_PII\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Serve.API
	for _, tc := range []struct {
		secret, want string
	}{{"", "FF_APISERVE_SECRET"}, {"short", "FF_APISERVE_SECRET is 5 bytes"}} {
		t.Setenv("FF_APISERVE_SECRET", tc.secret)
		_, err := apiserve.Config(c)
		var ce *apiserve.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("secret %q: %v, want a ConfigError naming %q", tc.secret, err, tc.want)
		}
	}
	t.Setenv("FF_APISERVE_SECRET", strings.Repeat("k", 32))
	got, err := apiserve.Config(c)
	if err != nil || string(got.Auth.HS256Secret) != strings.Repeat("k", 32) || got.PII != nil || got.FailedAuth == nil {
		t.Fatalf("good secret: %+v %v", got, err)
	}
	c.FailedAuthBurst = -1
	if got, _ := apiserve.Config(c); got.FailedAuth != nil {
		t.Errorf("failed_auth_burst -1 still limits")
	}
}

// The plans service takes the config's plans section as its rules.
func TestPlansServiceTakesTheConfig(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte("plans:\n  max_pause: 4\n  modify_notice_days: 9\n  max_failures: 2\n  pre_debit_notice: 36h\n  horizon_days: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc := apiserve.PlansService(nil, nil, cfg.Plans)
	if want := (plans.Config{MaxPause: 4, ModifyNoticeDays: 9, MaxFailures: 2, PreDebitNotice: 36 * time.Hour, HorizonDays: 5}); svc.Config != want {
		t.Fatalf("config %+v, want %+v", svc.Config, want)
	}
}
