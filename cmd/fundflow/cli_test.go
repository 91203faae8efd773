package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The binary's error paths: a person sees one line that says what to do.
func TestCLIErrorsAreOneClearLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("pipelines:\n  nav-ingest:\n    source:\n      kind: ftp\n      pth: /x\n"), 0o644)
	open := filepath.Join(dir, "open.yaml") // the old demo config: /v1/orders for anyone
	os.WriteFile(open, []byte("pipelines:\n  payments:\n    listen: 127.0.0.1:1\n  orders:\n    http: true\n  allocate: {}\n"), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: "+dir+"}\n"), 0o644)

	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		contains []string
	}{
		{"postgres down", map[string]string{"FUNDFLOW_PG_URL": "postgres://postgres@127.0.0.1:1/x", "FUNDFLOW_PG_MIGRATE_URL": "", "FUNDFLOW_CH_URL": "clickhouse://127.0.0.1:1/x"},
			[]string{"--config", good, "migrate"}, 1, []string{"postgres at 127.0.0.1:1 is not answering", "scripts/services.sh up"}},
		{"owner URL for another database", map[string]string{"FUNDFLOW_PG_URL": "postgres://fundflow_app@127.0.0.1:1/x", "FUNDFLOW_PG_MIGRATE_URL": "postgres://postgres@127.0.0.1:1/y"},
			[]string{"--config", good, "migrate"}, 2, []string{`FUNDFLOW_PG_MIGRATE_URL names database "y"`, `FUNDFLOW_PG_URL names "x"`}},
		{"postgres not configured", map[string]string{"FUNDFLOW_PG_URL": ""},
			[]string{"--config", good, "run", "nav-ingest"}, 1, []string{"FUNDFLOW_PG_URL is not set", "scripts/services.sh up"}},
		{"bad config", nil, []string{"lint", bad}, 2,
			[]string{"line 4: pipelines.nav-ingest.source.kind", "line 5: pipelines.nav-ingest.source.pth", `unknown field "pth"`}},
		{"orders open to anyone", nil, []string{"lint", open}, 2,
			[]string{"line 5: pipelines.orders.http: serving /v1/orders needs a bearer token", "insecure_no_auth"}},
		{"orders open to anyone on serve", nil, []string{"--config", open, "serve"}, 2, []string{"line 5: pipelines.orders.http"}},
		{"bad config on run", nil, []string{"--config", bad, "run", "nav-ingest"}, 2, []string{"line 4"}},
		{"unknown command", nil, []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"not a NAV file", nil, []string{"check", "nav", filepath.Join(dir, "..", filepath.Base(dir), "good.yaml")}, 2, []string{"not an AMFI NAV file"}},
		{"bad navdate time", nil, []string{"check", "navdate", "--category", "liquid", "--type", "purchase", "--order-time", "yesterday"}, 2, []string{"RFC 3339"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			if err == nil {
				t.Fatalf("no error; stdout %q", out.String())
			}
			code := 1
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d (%v)", code, tc.code, err)
			}
			msg := err.Error()
			for _, c := range tc.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("message lacks %q:\n%s", c, msg)
				}
			}
			if strings.Contains(msg, "goroutine ") || strings.Contains(errOut.String(), "goroutine ") {
				t.Errorf("stack trace in output")
			}
		})
	}
}

func TestCheckNAVDateAnswersJSON(t *testing.T) {
	var out bytes.Buffer
	// A Friday 14:00 liquid purchase: after 13:30, next business day Monday
	// 24-Aug-2026, so the NAV of the day before it: Sunday 23-Aug.
	err := run(context.Background(), []string{"check", "navdate", "--category", "liquid", "--type", "purchase",
		"--order-time", "2026-08-21T14:00:00+05:30"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"nav_date": "2026-08-23"`) {
		t.Fatalf("answer: %s", out.String())
	}
}

// insecure_no_auth passes lint with a warning naming the field.
func TestLintWarnsAboutInsecureNoAuth(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "dev.yaml")
	os.WriteFile(cfg, []byte("pipelines:\n  payments:\n    listen: 127.0.0.1:1\n  orders:\n    http: true\n    insecure_no_auth: true\n  allocate: {}\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"lint", cfg}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "warning: pipelines.orders.insecure_no_auth") || !strings.Contains(out.String(), ": ok") {
		t.Errorf("lint said %q", out.String())
	}
}

// Every command's -h/--help answers 0 with the command's own lines of the
// usage and runs nothing: the config named does not exist and no service is
// reachable from the environment, so any command code that ran would fail.
func TestHelpOnEveryCommandExitsZeroAndRunsNothing(t *testing.T) {
	t.Setenv("FUNDFLOW_PG_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	t.Setenv("FUNDFLOW_PG_MIGRATE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	t.Setenv("FUNDFLOW_CH_URL", "clickhouse://127.0.0.1:1/none")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	// The commands usage lists, each with a line that only its section has.
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--help"}, "apply pending schema migrations"},
		{[]string{"run", "nav-ingest", "-h"}, "run one pipeline once"},
		{[]string{"serve", "--help"}, "run every scheduled pipeline"},
		{[]string{"lint", "-help"}, "check a config file"},
		{[]string{"check", "nav", "--help"}, "dry-run a NAV file"},
		{[]string{"check", "completeness", "--help"}, "which schemes have no NAV"},
		{[]string{"outbox", "--help"}, "print the money path's events"},
		{[]string{"gen", "ledger", "--help"}, "write a synthetic ledger"},
		{[]string{"recon", "explain", "--help"}, "mark a reconciliation break"},
		{[]string{"backfill", "nav", "--help"}, "load a folder of NAV files"},
		{[]string{"quarantine", "retract", "--help"}, "retract NAVs accepted by mistake"},
		{[]string{"runs", "--help"}, "the latest pipeline runs"},
		{[]string{"audit", "verify", "--help"}, "check the audit trail's hash chain"},
		{[]string{"export", "transactions", "--help"}, "compliance exports"},
		{[]string{"token", "--help"}, "mint a development bearer token"},
		{[]string{"version", "--help"}, "print the version"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"--config", missing}, c.args...), &out, &errOut)
		if err != nil {
			t.Errorf("%v: %v (stderr %q)", c.args, err, errOut.String())
			continue
		}
		if !strings.Contains(out.String(), c.want) || !strings.Contains(out.String(), "Global flags:") {
			t.Errorf("%v: help lacks %q:\n%s", c.args, c.want, out.String())
		}
	}
	// An unknown command asking for help is still bad usage.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bogus", "--help"}, &out, &errOut); err == nil {
		t.Error("bogus --help: no error")
	}
	// "--" ends the flags: what follows is an argument, not a request for help.
	if !wantsHelp([]string{"list", "-h"}) || wantsHelp([]string{"--", "-h"}) {
		t.Error(`wantsHelp: "-h" before "--" is help, after it is not`)
	}
}
