package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInstalmentsConfig(t *testing.T) {
	const allocate = "  allocate: {}\n"
	cfg, err := Parse("ok.yaml", []byte("pipelines:\n"+allocate+"  instalments: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := cfg.Pipelines.Instalments
	if x == nil || x.Schedule != "30 9 * * *" || x.SettleEvery != time.Minute || x.Gateway.BaseURL != "https://api.razorpay.com" ||
		x.Gateway.KeyIDEnv != "FUNDFLOW_RZP_KEY_ID" || x.Gateway.KeySecretEnv != "FUNDFLOW_RZP_KEY_SECRET" || x.Gateway.Timeout != 30*time.Second {
		t.Fatalf("defaults: %+v", x)
	}
	for _, tc := range []struct{ yaml, path string }{
		{allocate + "  instalments:\n    schedule: daily\n", "pipelines.instalments.schedule"},
		{allocate + "  instalments:\n    settle_every: 1ms\n", "pipelines.instalments.settle_every"},
		{allocate + "  instalments:\n    gateway: {base_url: \"ftp://x\"}\n", "pipelines.instalments.gateway.base_url"},
		{allocate + "  instalments:\n    gateway: {key_secret_env: \"rzp_live_secret\"}\n", "pipelines.instalments.gateway.key_secret_env"},
		{"  instalments: {}\n", "needs a pipelines.allocate section"},
	} {
		_, err := Parse("bad.yaml", []byte("pipelines:\n"+tc.yaml))
		var ce *Errors
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%q: %v, want %s", tc.yaml, err, tc.path)
		}
	}
}
