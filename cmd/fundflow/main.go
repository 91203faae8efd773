// Command fundflow is the one binary of fundflow: it migrates the databases,
// runs pipelines once or on their schedules, serves the API and metrics, and
// answers operators' questions (lint a config, dry-run a feed file, explain a
// NAV date).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `fundflow moves a mutual-fund platform's data (NAVs, payments, orders, RTA
feeds) from where it arrives into PostgreSQL, ClickHouse, Kafka and files.

Usage:
  fundflow [--config FILE] COMMAND [ARGS]

Commands:
  migrate                 apply pending schema migrations to Postgres and ClickHouse
  run PIPELINE            run one pipeline once, now (e.g. fundflow run nav-ingest;
                          allocate: allot orders whose NAV has landed; outbox: relay events;
                          nav-freshness: NAV lateness metrics, nav_stale alerts, completeness)
  serve                   run every scheduled pipeline and serve /metrics (and the query API
                          when serve.api.addr is set) until stopped
  lint [FILE]             check a config file; every problem with its field and line
  check nav FILE          dry-run a NAV file: parse and validate, write nothing, print JSON
  check completeness [--date D]
                          which schemes have no NAV for a business day (holidays expect none), JSON
  outbox [--after SEQ] [--topic T] [--limit N]
                          print the money path's events (transactions.completed, orders.status)
  gen nav-history ...     synthesise years of daily NAV files (or one history report) from a real one
  gen ledger --folios N   write a synthetic ledger of N folios into the money path's tables (COPY)
  gen rta --as-of D --out DIR [--inject-rate R --seed S]
                          write CAMS/KFintech mailback files from our ledger as of D, with
                          differences injected and listed in a truth file
  run folio-recon [--date D]
                          load the RTAs' files, reconcile their books with our ledger as of D
                          (default: the latest holdings date), write recon_breaks and the report
  recon explain ID --by NAME --note TEXT
                          mark a reconciliation break explained by a person
  backfill nav --dir DIR [--from D] [--to D]
                          load a folder of NAV files/reports in date order, with progress;
                          Ctrl-C stops, the same command resumes
  quarantine list|show ID|replay|retract
                          look at quarantined NAV rows; replay them through today's rules, or
                          publish reviewed NAV jumps (--accept); retract NAVs accepted by mistake
                          (--sha256 SHA | --scheme C [--date D|--from D]: both stores, nav_latest rebuilt)
  runs [--pipeline P] [--limit N]
                          the latest pipeline runs, JSON lines; runs whose process died show as abandoned
  audit verify            check the audit trail's hash chain and its published anchors; names the first
                          altered, missing, reordered or rewritten row
  audit anchor            publish the chain head (seq, hash) to the outbox and the anchor file
  export KIND --from D --to D [--format csv|parquet] [--out DIR] [--to-sftp]
                          compliance exports (transactions, audit, holdings, fatca-crs) with a manifest
  token --role ROLE --sub S [--investor ID] [--folios F,...] [--ttl 1h]
                          mint a development bearer token for the query API ($FUNDFLOW_JWT_SECRET)
  version                 print the version

Global flags:
  --config FILE           the pipeline config (default: fundflow.yaml, or $FUNDFLOW_CONFIG)
  --log-level LEVEL       debug, info, warn or error (default info)
  --log-format FORMAT     text or json (default text)

Connection settings come from the environment, never from the config file:
  FUNDFLOW_PG_URL (the application's role)  FUNDFLOW_PG_MIGRATE_URL (the schema owner: migrate, gen)
  FUNDFLOW_CH_URL  FUNDFLOW_SFTP_ADDR  FUNDFLOW_SFTP_USER  FUNDFLOW_SFTP_KEY
  FUNDFLOW_SFTP_HOST_KEY  FUNDFLOW_KAFKA_BROKERS
Keys of the query API: FUNDFLOW_JWT_SECRET (HS256) or FUNDFLOW_JWT_PUBLIC_KEY (RS256 PEM file),
  FUNDFLOW_PII_KEY (AES-256 key for PAN and bank details, base64)
On a development machine, scripts/services.sh up starts the services and prints them;
source .state/env to load them.

Exit codes: 0 ok, 1 failed, 2 bad usage or bad input file.
`

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "fundflow:", err)
		os.Exit(code)
	}
}

// globals are the flags before the command.
type globals struct {
	config    string
	logLevel  string
	logFormat string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	g := globals{config: os.Getenv("FUNDFLOW_CONFIG"), logLevel: "info", logFormat: "text"}
	if g.config == "" {
		g.config = "fundflow.yaml"
	}
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		flag, val, hasVal := cutFlag(args[0])
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if len(args) < 2 {
				return "", usageErr("%s needs a value", flag)
			}
			args = args[1:]
			return args[0], nil
		}
		var err error
		switch flag {
		case "--config", "-config":
			g.config, err = next()
		case "--log-level", "-log-level":
			g.logLevel, err = next()
		case "--log-format", "-log-format":
			g.logFormat, err = next()
		case "-h", "--help", "-help":
			fmt.Fprint(stdout, usage)
			return nil
		default:
			return usageErr("unknown flag %s\n\n%s", flag, usage)
		}
		if err != nil {
			return err
		}
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2, err: errors.New("no command given")}
	}
	log, err := newLogger(stderr, g.logLevel, g.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	cmd, rest := args[0], args[1:]
	if wantsHelp(rest) {
		// Before any command code: help reads no config, opens no connection.
		text, ok := commandHelp(cmd)
		if !ok {
			return usageErr("unknown command %q\n\n%s", cmd, usage)
		}
		fmt.Fprint(stdout, text)
		return nil
	}
	switch cmd {
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version":
		fmt.Fprintln(stdout, "fundflow", version)
		return nil
	case "lint":
		return cmdLint(g, rest, stdout)
	case "migrate":
		return cmdMigrate(ctx, g, log)
	case "run":
		return cmdRun(ctx, g, log, rest, stdout)
	case "serve":
		return cmdServe(ctx, g, log)
	case "check":
		if len(rest) > 0 && rest[0] == "completeness" {
			return cmdCheckCompleteness(ctx, g, log, rest[1:], stdout) // reads the databases
		}
		return cmdCheck(ctx, g, rest, stdout)
	case "outbox":
		return cmdOutbox(ctx, g, log, rest, stdout)
	case "gen":
		if len(rest) > 0 && (rest[0] == "rta" || rest[0] == "ledger") {
			return cmdGenRecon(ctx, g, log, rest, stdout)
		}
		return cmdGen(rest, stdout, stderr)
	case "recon":
		return cmdRecon(ctx, g, log, rest, stdout)
	case "backfill":
		return cmdBackfill(ctx, g, log, rest, stdout, stderr)
	case "quarantine":
		return cmdQuarantine(ctx, g, log, rest, stdout)
	case "runs":
		return cmdRuns(ctx, g, log, rest, stdout)
	case "audit":
		return cmdAudit(ctx, g, log, rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, g, log, rest, stdout, stderr)
	case "token":
		return cmdToken(rest, stdout, stderr)
	}
	return usageErr("unknown command %q\n\n%s", cmd, usage)
}

// wantsHelp reports whether a command's arguments ask for help (-h, -help or
// --help anywhere before a "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// commandHelp is cmd's part of usage: its lines in the Commands list (with
// their continuation lines), then the global flags and exit codes. ok is
// false for a command usage does not list.
func commandHelp(cmd string) (text string, ok bool) {
	var b strings.Builder
	b.WriteString("Usage:\n  fundflow [--config FILE] " + cmd + " ...\n\n")
	lines := strings.Split(usage, "\n")
	in := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   "):
			// A command's first line: "  name ..." at exactly two spaces.
			name, _, _ := strings.Cut(strings.TrimSpace(l), " ")
			in = name == cmd
		case strings.HasPrefix(l, "   "):
			// a continuation line: belongs to the command above
		default:
			in = false
		}
		if in {
			b.WriteString(l + "\n")
			ok = true
		}
	}
	if i := strings.Index(usage, "\nGlobal flags:"); i >= 0 {
		b.WriteString(usage[i:])
	}
	return b.String(), ok || cmd == "help"
}

func cutFlag(a string) (flag, val string, hasVal bool) {
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErr("--log-format must be text or json, not %q", format)
}
