package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	sinkkafka "github.com/fundflow/fundflow/sinks/kafka"
	"github.com/fundflow/fundflow/sinks/postgres"
	fundsql "github.com/fundflow/fundflow/sql"
)

// doctorCmd is Airbyte's `check` for fundflow: lint the config, then ask
// the environment and the services whether what the config names is there.
type doctorCmd struct {
	File string `arg:"" optional:"" help:"The config file (default: --config)."`
	JSON bool   `name:"json" help:"One JSON object per check, one per line."`
}

// Status of a check.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

// finding is one check's outcome.
type finding struct {
	Status string `json:"status"`
	Check  string `json:"check"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func (c doctorCmd) Run(a *app) error {
	path := c.File
	if path == "" {
		path = a.g.Config
	}
	cfg, warnings, err := lintConfig(path)
	if err != nil {
		if c.JSON { // a machine reading stdout learns why too (exit 2 all the same)
			printFindings(a.stdout, []finding{{Status: statusFail, Check: "lint", Detail: err.Error(), Fix: "correct the fields named"}}, true) //nolint:errcheck
		}
		return err
	}
	var fs []finding
	for _, w := range warnings {
		fs = append(fs, finding{Status: statusWarn, Check: "lint", Detail: w})
	}
	fs = append(fs, finding{Status: statusOK, Check: "lint", Detail: path})
	fs = append(fs, doctorChecks(a.ctx, cfg, os.Getenv, time.Now().In(fund.IST()))...) // the calendars are IST business days
	if err := printFindings(a.stdout, fs, c.JSON); err != nil {
		return err
	}
	for _, f := range fs {
		if f.Status == statusFail {
			return &exitError{code: 1, err: errors.New("doctor: some checks failed")}
		}
	}
	return nil
}

// doctorChecks runs every check of cfg in order; getenv reads the
// environment, today is the first day the calendars must cover.
func doctorChecks(ctx context.Context, cfg *config.Config, getenv func(string) string, today time.Time) []finding {
	fs := envFindings(envRefs(cfg), getenv)
	for _, h := range holidayFields(cfg) {
		fs = append(fs, calendarFindings(h.field, h.files, today)...)
	}
	fs = append(fs, postgresFindings(ctx, getenv(cfg.Services.PostgresURLEnv), cfg.Services.PostgresURLEnv)...)
	fs = append(fs, clickhouseFindings(ctx, getenv(cfg.Services.ClickHouseURLEnv))...)
	fs = append(fs, sftpFindings(ctx, cfg, getenv)...)
	kfs := kafkaFindings(ctx, getenv(cfg.Services.KafkaBrokersEnv))
	fs = append(fs, kfs...)
	if bs := sinkkafka.ParseBrokers(getenv(cfg.Services.KafkaBrokersEnv)); len(bs) > 0 && kfs[0].Status == statusOK {
		uses := configTopics(cfg)
		if url := getenv(cfg.Services.PostgresURLEnv); url != "" {
			pending, err := pendingOutboxTopics(ctx, url)
			if err == nil { // an unreachable Postgres is the postgres check's finding
				uses = append(uses, pending...)
			}
		}
		fs = append(fs, topicFindings(ctx, bs[0], uses)...)
	}
	return fs
}

func printFindings(w io.Writer, fs []finding, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, f := range fs {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range fs {
		line := fmt.Sprintf("%-4s  %s  %s", f.Status, f.Check, f.Detail)
		if f.Fix != "" {
			line += "  fix: " + f.Fix
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// envRef is one environment variable the config names.
type envRef struct {
	field, name string
	optional    bool   // unset is a warning, not a failure
	file        bool   // the variable holds a path that must exist
	oneOf       string // a group of which one set variable is enough (the JWT secret or public key)
}

// envRefs lists the environment variables cfg names, with the field that
// names each, for the sections that are configured.
func envRefs(cfg *config.Config) []envRef {
	s := cfg.Services
	refs := []envRef{
		{field: "services.postgres_url_env", name: s.PostgresURLEnv},
		{field: "services.postgres_migrate_url_env", name: s.PostgresMigrateURLEnv, optional: true},
		{field: "services.clickhouse_url_env", name: s.ClickHouseURLEnv},
	}
	if a := cfg.Serve.API; a.Addr != "" {
		refs = append(refs,
			envRef{field: "serve.api.jwt_secret_env", name: a.JWTSecretEnv, oneOf: "jwt"},
			envRef{field: "serve.api.jwt_public_key_env", name: a.JWTPublicKeyEnv, file: true, oneOf: "jwt"},
			// Without a PII key serve still runs and leaves PAN and bank
			// details out of its answers (apiserve warns): a warning here too.
			envRef{field: "serve.api.pii_key_env", name: a.PIIKeyEnv, optional: true})
	}
	sftpRefs := func(p string, src config.Source) {
		if src.Kind != "sftp" {
			return
		}
		refs = append(refs,
			envRef{field: p + ".sftp.addr_env", name: src.SFTP.AddrEnv},
			envRef{field: p + ".sftp.user_env", name: src.SFTP.UserEnv},
			envRef{field: p + ".sftp.key_file_env", name: src.SFTP.KeyFileEnv, file: true},
			envRef{field: p + ".sftp.host_key_file_env", name: src.SFTP.HostKeyFileEnv, file: true})
	}
	p := cfg.Pipelines
	if p.NAVIngest != nil {
		sftpRefs("pipelines.nav-ingest.source", p.NAVIngest.Source)
	}
	if p.FolioRecon != nil {
		sftpRefs("pipelines.folio-recon.source", p.FolioRecon.Source)
	}
	if p.Payments != nil {
		for i, e := range p.Payments.SecretEnvs {
			refs = append(refs, envRef{field: fmt.Sprintf("pipelines.payments.secret_envs[%d]", i), name: e})
		}
	}
	if o := p.Orders; o != nil && o.HTTPTokenEnv != "" {
		refs = append(refs, envRef{field: "pipelines.orders.http_token_env", name: o.HTTPTokenEnv})
	}
	if x := p.Instalments; x != nil {
		refs = append(refs,
			envRef{field: "pipelines.instalments.gateway.key_id_env", name: x.Gateway.KeyIDEnv},
			envRef{field: "pipelines.instalments.gateway.key_secret_env", name: x.Gateway.KeySecretEnv})
	}
	if a := cfg.Alerts; a != nil {
		refs = append(refs, envRef{field: "alerts.webhook_url_env", name: a.WebhookURLEnv})
	}
	return refs
}

// envFindings checks that each variable is set (and, for a path, that the
// file exists). Of a oneOf group, one set variable is enough.
func envFindings(refs []envRef, getenv func(string) string) []finding {
	groupSet := map[string]bool{}
	for _, r := range refs {
		if r.oneOf != "" && getenv(r.name) != "" {
			groupSet[r.oneOf] = true
		}
	}
	var fs []finding
	for _, r := range refs {
		check := "env " + r.name
		v := getenv(r.name)
		switch {
		case v == "" && r.oneOf != "" && groupSet[r.oneOf]:
			continue // another of its group is set
		case v == "":
			st := statusFail
			if r.optional {
				st = statusWarn
			}
			fix := "export " + r.name + "=... (or point " + r.field + " at the variable that holds it)"
			if r.oneOf != "" {
				fix = "set one of " + strings.Join(groupNames(refs, r.oneOf), ", ")
			}
			fs = append(fs, finding{Status: st, Check: check, Detail: r.field + ": $" + r.name + " is not set", Fix: fix})
		case r.file:
			if _, err := os.Stat(v); err != nil {
				fs = append(fs, finding{Status: statusFail, Check: check, Detail: fmt.Sprintf("%s: $%s names %s: %v", r.field, r.name, v, err),
					Fix: "set " + r.name + " to the path of the file"})
				continue
			}
			fallthrough
		default:
			fs = append(fs, finding{Status: statusOK, Check: check, Detail: r.field + " is set"})
		}
	}
	return fs
}

// groupNames are the variables of a oneOf group.
func groupNames(refs []envRef, group string) []string {
	var names []string
	for _, r := range refs {
		if r.oneOf == group {
			names = append(names, r.name)
		}
	}
	return names
}

// holidayField is a config field listing holiday files.
type holidayField struct {
	field string
	files []string
}

// holidayFields are the calendars of cfg (nav-freshness and nav-backfill
// use nav-ingest's; instalments use allocate's).
func holidayFields(cfg *config.Config) []holidayField {
	var hs []holidayField
	if n := cfg.Pipelines.NAVIngest; n != nil {
		hs = append(hs, holidayField{"pipelines.nav-ingest.holidays", n.Holidays})
	}
	if x := cfg.Pipelines.Allocate; x != nil {
		hs = append(hs, holidayField{"pipelines.allocate.holidays", x.Holidays})
	}
	return hs
}

// calendarFindings checks that the holiday files of field parse and that
// together they cover today … today + 1 year: a year is covered when the
// files hold a holiday in it (the exchange publishes one file per year). A
// date in a year no file covers is refused by fund.Calendar (the jobs that
// reach it fail), so the warning comes before the year does.
func calendarFindings(field string, files []string, today time.Time) []finding {
	check := "calendar " + field
	years := map[int]bool{}
	var fs []finding
	for i, f := range files {
		b, err := os.ReadFile(f)
		var ds []fund.Date
		if err == nil {
			ds, err = fund.ParseHolidays(bytes.NewReader(b))
		}
		if err != nil {
			fs = append(fs, finding{Status: statusFail, Check: check, Detail: fmt.Sprintf("%s[%d] %s: %v", field, i, f, err),
				Fix: "fix the file: one DD-Mon-YYYY date per line"})
			continue
		}
		for _, d := range ds {
			years[d.Year] = true
		}
	}
	from, to := today.Year(), today.AddDate(1, 0, 0).Year()
	var missing []string
	for y := from; y <= to; y++ {
		if !years[y] {
			missing = append(missing, fmt.Sprint(y))
		}
	}
	if len(missing) > 0 {
		// While today is covered, say when the calendar ends: the
		// instalment run stops generating at its end (days before it, by
		// its horizon) and waits for the next file.
		ends := ""
		if years[from] {
			end := from
			for years[end+1] {
				end++
			}
			last := time.Date(end, time.December, 31, 0, 0, 0, 0, today.Location())
			day0 := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, today.Location())
			ends = fmt.Sprintf("the calendar ends on %s, in %d days: ", last.Format("02-Jan-2006"), int(last.Sub(day0).Hours()/24))
		}
		fs = append(fs, finding{Status: statusWarn, Check: check,
			Detail: fmt.Sprintf("%sno holiday file covers %s (files: %s): cut-offs, due dates and freshness on a weekday of %s fail as outside the calendar",
				ends, strings.Join(missing, ", "), strings.Join(files, ", "), strings.Join(missing, ", ")),
			Fix: fmt.Sprintf("add the exchange's holiday file for %s to %s", strings.Join(missing, ", "), field)})
	} else if len(fs) == 0 {
		fs = append(fs, finding{Status: statusOK, Check: check, Detail: fmt.Sprintf("%d file(s) cover %d-%d", len(files), from, to)})
	}
	return fs
}

const migrateFix = "fundflow migrate"

// pendingMigrations compares the applied versions (and their sha256) with
// the embedded files: what is still to apply, and what changed since it ran.
func pendingMigrations(ms []migrate.Migration, done map[int]string) (pending, changed []string) {
	for _, m := range ms {
		sum, ok := done[m.Version]
		switch {
		case !ok:
			pending = append(pending, m.Name)
		case sum != "" && sum != m.SHA256:
			changed = append(changed, m.Name)
		}
	}
	return pending, changed
}

func migrationFindings(check string, ms []migrate.Migration, done map[int]string) finding {
	pending, changed := pendingMigrations(ms, done)
	switch {
	case len(changed) > 0:
		return finding{Status: statusFail, Check: check, Detail: "applied migrations changed since they ran: " + strings.Join(changed, ", "), Fix: migrate.ImmutableFix}
	case len(pending) > 0:
		return finding{Status: statusFail, Check: check, Detail: fmt.Sprintf("%d migration(s) not applied: %s", len(pending), strings.Join(pending, ", ")), Fix: migrateFix}
	}
	return finding{Status: statusOK, Check: check, Detail: fmt.Sprintf("%d migrations applied", len(ms))}
}

func postgresFindings(ctx context.Context, url, env string) []finding {
	if url == "" {
		return nil // reported by the env check
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, url)
	if err == nil {
		defer pool.Close()
		err = pool.Ping(ctx)
	}
	if err != nil {
		return []finding{{Status: statusFail, Check: "postgres", Detail: err.Error(), Fix: "start Postgres or correct $" + env}}
	}
	fs := []finding{{Status: statusOK, Check: "postgres", Detail: "answers as " + migrate.User(url)}}
	if w := privilegeWarning(ctx, pool, env); w != "" {
		fs = append(fs, finding{Status: statusWarn, Check: "postgres role", Detail: w, Fix: "connect as the application's role (see README)"})
	}
	ms, err := migrate.Load(fundsql.Postgres, "postgres")
	if err != nil {
		return append(fs, finding{Status: statusFail, Check: "postgres migrations", Detail: err.Error()})
	}
	done, err := pgApplied(ctx, pool)
	if err != nil {
		return append(fs, finding{Status: statusFail, Check: "postgres migrations", Detail: err.Error(), Fix: migrateFix})
	}
	return append(fs, migrationFindings("postgres migrations", ms, done))
}

// privilegeWarning is migrate.WarnIfPrivileged's warning as text ("" when
// the role is not privileged).
func privilegeWarning(ctx context.Context, pool *pgxpool.Pool, env string) string {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}}))
	migrate.WarnIfPrivileged(ctx, pool, env, log)
	return strings.TrimSpace(b.String())
}

func pgApplied(ctx context.Context, pool *pgxpool.Pool) (map[int]string, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := map[int]string{}
	if !exists {
		return done, nil
	}
	rows, err := pool.Query(ctx, `SELECT version, sha256 FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		done[v] = sum
	}
	return done, rows.Err()
}

func clickhouseFindings(ctx context.Context, url string) []finding {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := clickhouse.Connect(ctx, url)
	if err == nil {
		defer conn.Close()
		err = conn.Ping(ctx)
	}
	if err != nil {
		return []finding{{Status: statusFail, Check: "clickhouse", Detail: err.Error(), Fix: "start ClickHouse or correct the URL variable"}}
	}
	fs := []finding{{Status: statusOK, Check: "clickhouse", Detail: "answers"}}
	ms, err := migrate.Load(fundsql.ClickHouse, "clickhouse")
	if err != nil {
		return append(fs, finding{Status: statusFail, Check: "clickhouse migrations", Detail: err.Error()})
	}
	done, err := chApplied(ctx, conn)
	if err != nil {
		return append(fs, finding{Status: statusFail, Check: "clickhouse migrations", Detail: err.Error(), Fix: migrateFix})
	}
	return append(fs, migrationFindings("clickhouse migrations", ms, done))
}

func chApplied(ctx context.Context, conn driver.Conn) (map[int]string, error) {
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := map[int]string{}
	if n == 0 {
		return done, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, argMax(sha256, (sha256 != '', applied_at)) FROM schema_migrations GROUP BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		done[int(v)] = sum
	}
	return done, rows.Err()
}

// sftpFindings logs in to each sftp source and stats its folder.
func sftpFindings(ctx context.Context, cfg *config.Config, getenv func(string) string) []finding {
	var fs []finding
	check := func(p string, src config.Source) {
		if src.Kind != "sftp" {
			return
		}
		c := sftp.Config{Addr: getenv(src.SFTP.AddrEnv), User: getenv(src.SFTP.UserEnv),
			KeyFile: getenv(src.SFTP.KeyFileEnv), HostKeyFile: getenv(src.SFTP.HostKeyFileEnv)}
		if c.Addr == "" || c.User == "" || c.KeyFile == "" || c.HostKeyFile == "" {
			return // reported by the env check
		}
		name := "sftp " + p
		cl, err := sftp.Dial(ctx, c)
		if err != nil {
			fs = append(fs, finding{Status: statusFail, Check: name, Detail: err.Error(), Fix: "check the server, the user and the keys the " + p + ".sftp variables name"})
			return
		}
		defer cl.Close()
		if _, err := cl.SFTP.Stat(src.Path); err != nil {
			fs = append(fs, finding{Status: statusFail, Check: name, Detail: fmt.Sprintf("%s: %v", src.Path, err), Fix: "create the folder or correct " + p + ".path"})
			return
		}
		fs = append(fs, finding{Status: statusOK, Check: name, Detail: fmt.Sprintf("%s@%s:%s", c.User, c.Addr, src.Path)})
	}
	if n := cfg.Pipelines.NAVIngest; n != nil {
		check("pipelines.nav-ingest.source", n.Source)
	}
	if x := cfg.Pipelines.FolioRecon; x != nil {
		check("pipelines.folio-recon.source", x.Source)
	}
	return fs
}

// kafkaFindings asks each configured broker for its API versions: a port
// that accepts connections but speaks no Kafka fails too. No brokers: no
// Kafka (the outbox is the bus), nothing to check.
func kafkaFindings(ctx context.Context, brokers string) []finding {
	var fs []finding
	for _, b := range sinkkafka.ParseBrokers(brokers) {
		if err := kafkaAnswers(ctx, b); err != nil {
			fs = append(fs, finding{Status: statusFail, Check: "kafka " + b, Detail: err.Error(), Fix: "start the broker or correct the brokers variable"})
			continue
		}
		fs = append(fs, finding{Status: statusOK, Check: "kafka " + b, Detail: "answers"})
	}
	return fs
}

func kafkaAnswers(ctx context.Context, broker string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl) //nolint:errcheck
	}
	if _, err := conn.ApiVersions(); err != nil {
		return fmt.Errorf("%s: %w", broker, err)
	}
	return nil
}
