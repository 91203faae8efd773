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

	"github.com/fundflow/fundflow/internal/testkit"
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
		{"unknown command", nil, []string{"frobnicate"}, 2, []string{`unexpected argument frobnicate`}},
		{"unknown pipeline", nil, []string{"run", "nav-ingets"}, 2, []string{`unexpected argument nav-ingets, did you mean "nav-ingest"?`}},
		{"unknown flag", nil, []string{"runs", "--limt", "5"}, 2, []string{`unknown flag --limt, did you mean "--limit"?`}},
		{"bad flag value", nil, []string{"outbox", "--limit", "-5"}, 2, []string{"--limit"}},
		// The same value written --limit=-5 parses: the command refuses it
		// before reading a config (issue 16: it printed everything).
		{"negative limit", nil, []string{"outbox", "--limit=-5"}, 2, []string{"outbox: --limit must be at least 1"}},
		{"negative runs limit", nil, []string{"runs", "--limit=-5"}, 2, []string{"runs: --limit must be at least 1"}},
		{"negative quarantine limit", nil, []string{"quarantine", "list", "--limit=-5"}, 2, []string{"quarantine list: --limit must be at least 1"}},
		{"no such role", nil, []string{"token", "--role", "king", "--sub", "u1"}, 2, []string{"--role", "investor"}},
		{"no such status", nil, []string{"quarantine", "list", "--status", "nope"}, 2, []string{"--status", "open"}},
		// A reason no row can carry is bad usage, not "(0 rows)"; it is
		// refused before the config is read (there is none here).
		{"no such reason", nil, []string{"quarantine", "list", "--reason", "nope"}, 2, []string{`--reason "nope"`, "nav_jump", "nav_not_available", "unreadable"}},
		{"mistyped reason", nil, []string{"quarantine", "list", "--reason", "nav_jmp"}, 2, []string{`did you mean "nav_jump"?`}},
		{"mistyped reason on replay", nil, []string{"quarantine", "replay", "--reason", "future-date"}, 2, []string{`did you mean "future_date"?`}},
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

// --holidays is repeatable and every file counts: a Friday 14:00 liquid
// purchase gets the NAV of the day before the next business day, which
// moves from Sunday 23-Aug to Tuesday 25-Aug when Monday and Tuesday are
// holidays, each in its own file. A missing file is bad input.
func TestCheckNAVDateReadsEveryHolidayFile(t *testing.T) {
	dir := t.TempDir()
	mon, tue := filepath.Join(dir, "mon.txt"), filepath.Join(dir, "tue.txt")
	os.WriteFile(mon, []byte("24-Aug-2026\n"), 0o644)
	os.WriteFile(tue, []byte("25-Aug-2026\n"), 0o644)
	args := []string{"check", "navdate", "--category", "liquid", "--type", "purchase", "--order-time", "2026-08-21T14:00:00+05:30"}
	var out bytes.Buffer
	if err := run(context.Background(), append(args, "--holidays", mon, "--holidays", tue), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"nav_date": "2026-08-25"`) {
		t.Fatalf("answer with both holiday files: %s", out.String())
	}
	if err := run(context.Background(), append(args, "--holidays", filepath.Join(dir, "missing.txt")), io.Discard, io.Discard); !isExit(err, 2) {
		t.Fatalf("missing holiday file: %v, want exit 2", err)
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

// lint passed a config whose secret variables are unset, and serve then
// died on them: lint names each unset variable and the field that names it
// (a warning: the file itself is fine), and says nothing of a set one.
func TestLintWarnsAboutUnsetSecrets(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "prod.yaml")
	os.WriteFile(cfg, []byte("pipelines:\n  payments:\n    listen: 127.0.0.1:1\n    secret_envs: [FF_TEST_WEBHOOK_SECRET_UNSET, FF_TEST_WEBHOOK_SECRET_SET]\n  allocate: {}\n"), 0o644)
	t.Setenv("FF_TEST_WEBHOOK_SECRET_UNSET", "")
	t.Setenv("FF_TEST_WEBHOOK_SECRET_SET", "whsec")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"lint", cfg}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "warning: pipelines.payments.secret_envs[0]: $FF_TEST_WEBHOOK_SECRET_UNSET is not set") {
		t.Errorf("lint did not name the unset secret: %q", got)
	}
	if strings.Contains(got, "FF_TEST_WEBHOOK_SECRET_SET") {
		t.Errorf("lint warned about a set variable: %q", got)
	}
}

// Every command's -h/--help answers 0 with the command's own help on stdout
// and runs nothing: the config named does not exist and no service is
// reachable from the environment, so any command code that ran would fail.
// The table checks each command's own words; every command of the parser's
// model (so a command added later too) is then asked for help the same way.
func TestHelpOnEveryCommandExitsZeroAndRunsNothing(t *testing.T) {
	t.Setenv("FUNDFLOW_PG_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	t.Setenv("FUNDFLOW_PG_MIGRATE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	t.Setenv("FUNDFLOW_CH_URL", "clickhouse://127.0.0.1:1/none")
	t.Setenv("FUNDFLOW_JWT_SECRET", strings.Repeat("s", 32)) // token would mint one
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	help := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"--config", missing}, args...), &out, &errOut)
		if errOut.Len() > 0 {
			t.Errorf("%v: help wrote to stderr: %q", args, errOut.String())
		}
		return out.String(), err
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--help"}, "apply pending schema migrations"},
		{[]string{"run", "nav-ingest", "-h"}, "load the waiting NAV files"},
		{[]string{"run", "-h"}, "run one pipeline once"},
		{[]string{"serve", "--help"}, "run every scheduled pipeline"},
		{[]string{"doctor", "--help"}, "lint the config, then check"},
		{[]string{"lint", "-help"}, "check a config file"}, // Go's flag package's single dash still works
		{[]string{"check", "nav", "--help"}, "dry-run a NAV file"},
		{[]string{"check", "navdate", "--help"}, "SEBI's cut-off rules"},
		{[]string{"check", "completeness", "--help"}, "which schemes have no NAV"},
		{[]string{"outbox", "--help"}, "print the money path's events"},
		{[]string{"gen", "ledger", "--help"}, "write a synthetic ledger"},
		{[]string{"gen", "rta", "--help"}, "mailback files"},
		{[]string{"recon", "explain", "--help"}, "mark a reconciliation break"},
		{[]string{"backfill", "nav", "--help"}, "load a folder of NAV files"},
		{[]string{"quarantine", "retract", "--help"}, "retract NAVs accepted by mistake"},
		{[]string{"runs", "--help"}, "the latest pipeline runs"},
		{[]string{"audit", "verify", "--help"}, "check the audit trail's hash chain"},
		{[]string{"export", "transactions", "--help"}, "compliance exports"},
		{[]string{"token", "--help"}, "mint a development bearer token"},
		{[]string{"version", "--help"}, "print the version"},
		{[]string{"--help"}, "Exit codes: 0 ok, 1 failed, 2 bad usage"},
	}
	for _, c := range cases {
		out, err := help(c.args...)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		// Every command's help shows the global flags.
		if !strings.Contains(out, c.want) || !strings.Contains(out, "--config=FILE") || !strings.HasPrefix(out, "Usage: fundflow") {
			t.Errorf("%v: help lacks %q or the global flags:\n%s", c.args, c.want, out)
		}
	}

	var c cli
	helped := false
	k, err := parser(&c, io.Discard, io.Discard, &helped)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range k.Model.Leaves(true) {
		if node.Hidden {
			continue
		}
		path := strings.Fields(node.FullPath())[1:] // without "fundflow"
		for _, flag := range []string{"-h", "--help"} {
			out, err := help(append(path, flag)...)
			if err != nil || !strings.HasPrefix(out, "Usage: fundflow "+strings.Join(path, " ")) {
				t.Errorf("%v %s: err %v, stdout %q", path, flag, err, out)
			}
			// and with the flag before the command
			if out, err := help(append([]string{flag}, path...)...); err != nil || !strings.HasPrefix(out, "Usage: fundflow") {
				t.Errorf("%s %v: err %v, stdout %q", flag, path, err, out)
			}
		}
		n++
	}
	if n < 27 {
		t.Errorf("%d commands asked for help, want every one (27 or more)", n)
	}

	// An unknown command asking for help is still bad usage.
	if _, err := help("bogus", "--help"); !isExit(err, 2) {
		t.Errorf("bogus --help: %v, want exit 2", err)
	}
	// "--" ends the flags: what follows is an argument, not a request for help.
	if out, err := help("lint", "--", "-h"); !isExit(err, 2) || out != "" {
		t.Errorf(`lint -- -h: %v, stdout %q; want lint of a file named "-h" (exit 2), no help`, err, out)
	}
}

// A mistyped command gets the command it was probably meant to be, as bad
// usage (2), and nothing runs.
func TestMistypedCommandSuggestsTheRightOne(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"expor", "transactions"}, `did you mean "export"?`},
		{[]string{"quarantine", "lst"}, `did you mean "list"?`},
		{[]string{"check", "navdat"}, `did you mean "navdate"?`},
		{[]string{"run", "folio-recn"}, `did you mean "folio-recon"?`},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), c.args, &out, &errOut)
		if !isExit(err, 2) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want exit 2 saying %s", c.args, err, c.want)
		}
		if out.Len() > 0 {
			t.Errorf("%v: stdout %q", c.args, out.String())
		}
	}
}

// Flags go anywhere on the line: global flags after the command and its
// arguments, a command's flags after its positional arguments. Each line
// is parsed and its values reach the command (check navdate answers from
// them; lint reads the file named after its flags).
func TestFlagsAfterPositionalArguments(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "dev.yaml")
	os.WriteFile(cfg, []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: "+dir+"}\n"), 0o644)
	for _, args := range [][]string{
		{"lint", cfg, "--log-level", "warn"},
		{"lint", "--log-level=warn", cfg, "--log-format", "json"},
		{"--log-level", "warn", "lint", cfg},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil || out.String() != cfg+": ok\n" {
			t.Errorf("%v: %v, stdout %q", args, err, out.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"check", "navdate", "--order-time", "2026-08-21T14:00:00+05:30", "--category", "liquid",
		"--config", cfg, "--type", "purchase", "--log-level", "error"}, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), `"nav_date": "2026-08-23"`) {
		t.Errorf("navdate with flags in any order: %v %s", err, out.String())
	}
	// A config given after the command is the one the command reads.
	out.Reset()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("pipelines:\n  nav-ingest:\n    sorce: {}\n"), 0o644)
	if err := run(context.Background(), []string{"run", "nav-freshness", "--config", bad}, &out, io.Discard); !isExit(err, 2) ||
		!strings.Contains(err.Error(), "sorce") {
		t.Errorf("run nav-freshness --config BAD: %v, want the bad config's problem (exit 2)", err)
	}
}

// The command lines the README and the demo scripts print parse as they are
// written (placeholders filled in): the framework's switch changed no
// documented line. Parsing only: nothing runs.
func TestDocumentedCommandLinesParse(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	lines := []string{
		// scripts/demo.sh, demo_money.sh, demo_recon.sh
		"lint", "doctor", "doctor F --json", "migrate", "check nav F", "--log-level warn run nav-ingest", "--log-level warn serve",
		"token --role investor --sub user-1 --investor INV-1", "token --role compliance --sub auditor-1",
		"--log-level warn export transactions --from 2017-01-01 --to 2026-12-31 --format parquet --out D",
		"--log-level warn export fatca-crs --from 2026-01-01 --to 2026-12-31 --format csv --out D",
		"--log-level warn audit anchor", "--log-level warn audit verify",
		"gen nav-history --from F --days 60 --out D --holidays F",
		"--log-level warn backfill nav --dir D --from 2026-01-01 --progress-every 5s",
		"--log-level warn quarantine list --limit 12", "--log-level warn quarantine show 5",
		"--log-level warn quarantine replay --reason nav_not_available",
		"--log-level warn check completeness --date 2026-08-14 --at 2026-08-17T09:00:00+05:30",
		"quarantine list --reason nav_jump", "run nav-freshness", "check completeness --date 2026-08-14", "runs --limit 5",
		"check navdate --category liquid --type purchase --order-time 2026-08-21T14:00:00+05:30",
		"--log-level warn run allocate", "--log-level warn run outbox", "outbox --topic transactions.completed --limit 2",
		"--config F --log-level warn gen ledger --folios 3000 --end 2026-08-14 --days 365 --seed 7 --check",
		"--config F --log-level warn gen rta --as-of 2026-08-20 --out D --inject-rate 0.01 --seed 7 --truth F",
		"--config F --log-level warn run folio-recon --date 2026-08-20",
		"--config F --log-level warn recon explain 12 --by ops@demo --note agreed",
		// README
		"check navdate --category liquid --type purchase --order-time 2026-08-21T14:00:00+05:30 --holidays F",
		"backfill nav --dir D --from 2026-01-01 --to 2026-02-01", "quarantine show 7",
		"quarantine replay --reason nav_jump --id 5 --id 6 --accept --by NAME",
		"quarantine retract --sha256 abc", "quarantine retract --scheme 100027 --date 2026-01-01",
		"quarantine retract --scheme 100027 --from 2026-01-01", "gen nav-history --from F --days 30 --out D",
		"export transactions --from 2026-01-01 --to 2026-01-31 --format csv --out D", "outbox --after 5 --topic T",
		"run folio-recon --date 2026-08-20", "token --role investor --sub u1 --investor INV-1",
		"check schedule --frequency monthly --day 31 --start 2026-01-01 --count 12 --holidays F",
		"gen nav-history --from F --days 290 --out D --schemes 119551,120503",
	}
	for _, l := range lines {
		args := strings.Fields(strings.NewReplacer(" F", " "+file, " D", " "+dir).Replace(" " + l))
		var c cli
		helped := false
		k, err := parser(&c, io.Discard, io.Discard, &helped)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Parse(args); err != nil || helped {
			t.Errorf("%s: %v", l, err)
		}
	}
}

// check navdate answers on the config's calendar when no --holidays is
// given: the money path's (pipelines.allocate.holidays), else nav-ingest's.
// Issue 16: it ignored the config, so an equity purchase at 16:00 on
// Thu 1-Oct-2026 got Fri 2-Oct-2026, a holiday in the 2026 file; the next
// business day is Mon 5-Oct (3rd and 4th a weekend). A date the files do
// not cover (1-Jan-2027) is bad input naming the year, not a business day.
func TestCheckNAVDateUsesTheConfigsCalendar(t *testing.T) {
	dir := t.TempDir()
	h2026 := testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")
	money := filepath.Join(dir, "money.yaml")
	os.WriteFile(money, []byte("pipelines:\n  allocate:\n    holidays: ["+h2026+"]\n"), 0o644)
	nav := filepath.Join(dir, "nav.yaml")
	os.WriteFile(nav, []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: "+dir+"}\n    holidays: ["+h2026+"]\n"), 0o644)
	args := []string{"check", "navdate", "--category", "equity", "--type", "purchase", "--order-time", "2026-10-01T16:00:00+05:30"}
	for _, cfg := range []string{money, nav} {
		var out bytes.Buffer
		if err := run(context.Background(), append(args, "--config", cfg), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if !strings.Contains(out.String(), `"nav_date": "2026-10-05"`) || !strings.Contains(out.String(), h2026) {
			t.Errorf("%s: %s", cfg, out.String())
		}
	}
	t.Setenv("FUNDFLOW_CONFIG", money)
	err := run(context.Background(), []string{"check", "navdate", "--category", "equity", "--type", "purchase",
		"--order-time", "2026-12-31T16:00:00+05:30"}, io.Discard, io.Discard)
	if !isExit(err, 2) || !strings.Contains(err.Error(), "2027-01-01 is outside the holiday calendar") {
		t.Errorf("31-Dec-2026 16:00 with the 2026 file only: %v, want exit 2 naming 2027-01-01", err)
	}
	// A config named that does not exist is an error, not weekends only.
	if err := run(context.Background(), append(args, "--config", filepath.Join(dir, "missing.yaml")), io.Discard, io.Discard); !isExit(err, 2) {
		t.Errorf("missing config: %v, want exit 2", err)
	}
}

// lint --schema prints the config's JSON Schema (the committed
// fundflow.schema.json) and reads no config.
func TestLintPrintsTheSchema(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--config", filepath.Join(t.TempDir(), "missing.yaml"), "lint", "--schema"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile("../../fundflow.schema.json")
	if err != nil || !bytes.Equal(out.Bytes(), root) {
		t.Fatalf("lint --schema is not fundflow.schema.json (%v):\n%.200s", err, out.String())
	}
}

// --cpuprofile writes a profile of the command that pprof can read (it
// starts with gzip's magic bytes), and asking for help with it writes
// nothing: -h runs nothing, the profiler included.
func TestCPUProfileFlagWritesAProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--cpuprofile", prof, "version"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	data, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Errorf("profile is not a gzipped pprof profile: %d bytes", len(data))
	}
	helpProf := filepath.Join(dir, "help.pprof")
	out.Reset()
	if err := run(context.Background(), []string{"backfill", "nav", "--cpuprofile", helpProf, "-h"}, &out, &errOut); err != nil {
		t.Fatalf("-h with --cpuprofile: %v", err)
	}
	if _, err := os.Stat(helpProf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-h wrote a profile (%v)", err)
	}
	if !strings.Contains(out.String(), "--cpuprofile=FILE") {
		t.Errorf("help does not show --cpuprofile:\n%s", out.String())
	}
}
