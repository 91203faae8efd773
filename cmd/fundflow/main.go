// Command fundflow is the one binary of fundflow: it migrates the databases,
// runs pipelines once or on their schedules, serves the API and metrics, and
// answers operators' questions (lint a config, dry-run a feed file, explain a
// NAV date). Its command line is declared with kong: each command is a
// struct whose fields are its flags and arguments (their help in the tags)
// and whose Run assembles config -> job and prints the result.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/exports"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const about = `fundflow moves a mutual-fund platform's data (NAVs, payments, orders, RTA
feeds) from where it arrives into PostgreSQL, ClickHouse, Kafka and files.

Connection settings come from the environment, never from the config file:
FUNDFLOW_PG_URL (the application's role), FUNDFLOW_PG_MIGRATE_URL (the schema
owner: migrate, gen), FUNDFLOW_CH_URL, FUNDFLOW_SFTP_ADDR, FUNDFLOW_SFTP_USER,
FUNDFLOW_SFTP_KEY, FUNDFLOW_SFTP_HOST_KEY, FUNDFLOW_KAFKA_BROKERS. Keys of the
query API: FUNDFLOW_JWT_SECRET (HS256) or FUNDFLOW_JWT_PUBLIC_KEY (RS256 PEM
file), FUNDFLOW_PII_KEY (AES-256 key for PAN and bank details, base64). On a
development machine, scripts/services.sh up starts the services and prints
them; source .state/env to load them.

Flags go anywhere on the line. Exit codes: 0 ok, 1 failed, 2 bad usage or bad
input file, 130 interrupted (backfill: the same command resumes).`

// defaultConfig is --config when neither the flag nor FUNDFLOW_CONFIG is set.
const defaultConfig = "fundflow.yaml"

// globals are the flags every command takes.
type globals struct {
	Config    string `help:"The pipeline config (default: ${default})." default:"fundflow.yaml" env:"FUNDFLOW_CONFIG" placeholder:"FILE"`
	LogLevel  string `help:"debug, info, warn or error (default: ${default})." enum:"debug,info,warn,error" default:"info" placeholder:"LEVEL"`
	LogFormat string `help:"text or json (default: ${default})." enum:"text,json" default:"text" placeholder:"FORMAT"`
	// CPUProfile is for finding where a slow command's own time goes (go
	// tool pprof FILE); the profile covers the command's Run only.
	CPUProfile string `name:"cpuprofile" help:"Write a CPU profile of the command to FILE (read it with go tool pprof)." placeholder:"FILE"`
}

// cli is the command line: the global flags and one field per command.
type cli struct {
	globals

	Migrate    migrateCmd    `cmd:"" help:"apply pending schema migrations to Postgres and ClickHouse"`
	Run        runCmd        `cmd:"" help:"run one pipeline once, now"`
	Serve      serveCmd      `cmd:"" help:"run every scheduled pipeline and serve /metrics (and the query API when serve.api.addr is set) until stopped"`
	Lint       lintCmd       `cmd:"" help:"check a config file; every problem with its field and line"`
	Doctor     doctorCmd     `cmd:"" help:"lint the config, then check that its variables are set, its calendars cover the next year, and Postgres, ClickHouse, SFTP and Kafka answer with current migrations; exit 1 when a check fails"`
	Check      checkCmd      `cmd:"" help:"dry-run a NAV file, explain a NAV date, find missing NAVs, list a plan's instalment dates; writes nothing"`
	Tax        taxCmd        `cmd:"" help:"investors' tax: realised capital gains for a financial year (JSON, CSV, ITR Schedule 112A)"`
	Outbox     outboxCmd     `cmd:"" help:"print the money path's events (transactions.completed, orders.status)"`
	Gen        genCmd        `cmd:"" help:"synthesise NAV history, a ledger, or the RTAs' files of our ledger"`
	Recon      reconCmd      `cmd:"" help:"work on reconciliation breaks"`
	Backfill   backfillCmd   `cmd:"" help:"load history in date order, with progress; the same command resumes"`
	Quarantine quarantineCmd `cmd:"" help:"look at quarantined NAV rows; replay, accept or retract them"`
	Runs       runsCmd       `cmd:"" help:"the latest pipeline runs, JSON lines; runs whose process died show as abandoned"`
	Audit      auditCmd      `cmd:"" help:"check or anchor the audit trail's hash chain"`
	CH         chCmd         `cmd:"" name:"ch" help:"the analysts' ClickHouse: compare its transaction facts with the ledger, resync them"`
	Export     exportCmd     `cmd:"" help:"compliance exports (transactions, audit, holdings, fatca-crs) with a manifest"`
	KYC        kycCmd        `cmd:"" name:"kyc" help:"the KYC gate: load the KRAs' status files into the ledger's restrictions; investor reports (KYC status, nomination, FATCA, banks)"`
	Fraud      fraudCmd      `cmd:"" help:"fraud rules: check a rule file; backtest it over history"`
	Notify     notifyCmd     `cmd:"" help:"the notifications pipeline: events to email and SMS by each investor's preferences; replay dead letters"`
	Token      tokenCmd      `cmd:"" help:"mint a development bearer token for the query API ($$FUNDFLOW_JWT_SECRET)"`
	Managed    managedCmd    `cmd:"" help:"managed investing: model portfolios, wallets, rebalancing"`
	Pool       poolCmd       `cmd:"" help:"investment pools: contributions and withdrawals at the next pool NAV, the daily pool NAV, pro-rata distributions"`
	Comm       commCmd       `cmd:"" name:"commissions" help:"distributor commissions: load brokerage and distributors, accrue the trail, pay out"`
	Version    versionCmd    `cmd:"" help:"print the version"`
	Help       helpCmd       `cmd:"" hidden:"" help:"print this help"`
}

// app is what a command's Run gets: the parsed global flags, the logger
// they chose, the process's context and its output.
type app struct {
	ctx            context.Context
	g              globals
	log            *slog.Logger
	stdout, stderr io.Writer
}

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

// parser is the kong parser of c, writing help to stdout. helped is set when
// -h/--help printed a command's help: the command then must not run.
func parser(c *cli, stdout, stderr io.Writer, helped *bool) (*kong.Kong, error) {
	return kong.New(c, kong.Name("fundflow"), kong.Description(about), kong.Writers(stdout, stderr),
		kong.Exit(func(int) { *helped = true }), kong.ConfigureHelp(kong.HelpOptions{FlagsLast: true}),
		kong.Vars{"roles": strings.Join(api.Roles(), ","), "exports": strings.Join(exports.KindNames(), ","),
			"navpipelines": strings.Join(navPipelines, ",")})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c cli
	helped := false
	k, err := parser(&c, stdout, stderr, &helped)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		k.Stdout = stderr
		kctx, _ := kong.Trace(k, nil)
		kctx.PrintUsage(false) //nolint:errcheck
		return usageErr("no command given")
	}
	kctx, err := k.Parse(goFlags(args))
	if helped {
		return nil // -h/--help printed the help; nothing runs
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	log, err := newLogger(stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if c.CPUProfile != "" {
		stopProfile, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stopProfile(log)
	}
	return kctx.Run(&app{ctx: ctx, g: c.globals, log: log, stdout: stdout, stderr: stderr})
}

// goFlags turns the single-dash long flags Go's flag package accepted
// (-config X, -limit 5, -help) into kong's double-dash form, so that
// command lines written for the old parser keep working. Arguments after
// "--" and negative numbers are left alone.
func goFlags(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] >= 'a' && a[1] <= 'z' {
			out[i] = "-" + a
		}
	}
	return out
}

// startCPUProfile starts the Go CPU profiler into path; the returned
// function stops it and closes the file (on every return of the command,
// errors and interrupts included, so an interrupted backfill still leaves
// a readable profile).
func startCPUProfile(path string) (func(*slog.Logger), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, usageErr("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func(log *slog.Logger) {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Error("cpu profile not written", "file", path, "err", err)
		}
	}, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErr("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

type versionCmd struct{}

func (versionCmd) Run(a *app) error {
	_, err := fmt.Fprintln(a.stdout, "fundflow", version)
	return err
}

// helpCmd is `fundflow help`, as before the flags had -h.
type helpCmd struct{}

func (helpCmd) Run(k *kong.Context) error {
	kctx, err := kong.Trace(k.Kong, nil)
	if err != nil {
		return err
	}
	return kctx.PrintUsage(false)
}
