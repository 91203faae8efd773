package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `check gains` prints fund/tax's answer for the case file (the example's
// numbers are computed by hand in fund/tax's TestCheckCaseFile); a bad case
// is exit 2 with one line naming the field; --help runs nothing.
func TestCheckGains(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "gains", "--case", "../../fund/tax/testdata/grandfathered.json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Lots []struct{ Term, CostUsed, Gain, RateSection string } `json:"lots"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	raw := out.String()
	for _, w := range []string{`"term": "long"`, `"cost_used": "15000.00"`, `"sale_value": "17950.00"`, `"gain": "2950.00"`, `"rate_section": "112A"`, `"rate_section": "111A"`} {
		if !strings.Contains(raw, w) {
			t.Errorf("missing %s in\n%s", w, raw)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"1","cost":"1.005"}],"sale":{"date":"2025-01-01","units":"1","nav":"1"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--case", bad}, "lots[0].cost"},
		{[]string{"--case", "/nonexistent/case.json"}, "case.json"},
	} {
		out.Reset()
		err := run(context.Background(), append([]string{"check", "gains"}, c.args...), &out, &out)
		if !isExit(err, 2) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want exit 2 with a one-line message naming %s", c.args, err, c.want)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"check", "gains", "--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "Why is my gain this?") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}
