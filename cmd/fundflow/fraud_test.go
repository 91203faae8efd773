package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lint checks the config's fraud rule file: every problem with the rule
// file's name, the field and the line; `fraud rules` reads the same file.
func TestLintFraudRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("bad-rules.yaml", "version: 1\nrules:\n  - id: x\n    kind: round_trip\n    scope: bank\n    window: 1h\n    action: hold\n    thresholds: {min_pct: 80}\n")
	write("good-rules.yaml", "version: 1\nrules:\n  - {id: v, kind: redemption_velocity, scope: folio, window: 2h, action: hold, thresholds: {max_count: 1}}\n")
	bad := write("bad.yaml", "fraud:\n  rules_file: bad-rules.yaml\n")
	good := write("good.yaml", "fraud:\n  rules_file: good-rules.yaml\n")
	shipped := write("shipped.yaml", "fraud: {}\n")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad rules fail lint", []string{"lint", bad}, 2, []string{"bad-rules.yaml:line 5: rules[0].scope", `"bank" is not a scope of a round_trip rule`}},
		{"good rules pass", []string{"lint", good}, 0, []string{"good.yaml: ok"}},
		{"rules lists them", []string{"--config", good, "fraud", "rules"}, 0, []string{"version 1, 1 rules", "v ", "scope=folio"}},
		{"shipped by default", []string{"--config", shipped, "fraud", "rules"}, 0, []string{"(shipped): version 1, 7 rules", "ato-redemption"}},
		{"a file named on the command line", []string{"fraud", "rules", filepath.Join(dir, "bad-rules.yaml")}, 2, []string{"line 5: rules[0].scope"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out, io.Discard)
			code := 0
			if err != nil {
				code = 1
				var ee *exitError
				if errors.As(err, &ee) {
					code = ee.code
				}
				out.WriteString(err.Error())
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// gen fraud writes a stream and its truth; backtest over it with the
// truth finds every planted alert and nothing else, per rule.
func TestGenFraudThenBacktest(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"gen", "fraud", "--out", dir, "--seed", "5", "--days", "40", "--plant", "2", "--investors", "100"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	// 2 plants x 6 patterns
	if !strings.Contains(out.String(), `"planted":12`) {
		t.Fatalf("gen fraud said %s", out.String())
	}
	out.Reset()
	rules := filepath.Join(testkitRoot(t), "fraud", "rules.yaml")
	if err := run(context.Background(), []string{"fraud", "backtest", "--rules", rules, "--from", "2026-11-01", "--to", "2026-12-10",
		"--events", filepath.Join(dir, "events.jsonl"), "--truth", filepath.Join(dir, "truth.jsonl")}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"12 alerts", "ato-redemption             2     0     0     1.000  1.000", "card-testing               2     0     0     1.000  1.000"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("backtest lacks %q:\n%s", w, out.String())
		}
	}
}

func testkitRoot(t *testing.T) string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}
