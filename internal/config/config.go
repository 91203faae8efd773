// Package config reads fundflow.yaml into typed structs and checks it. Every
// problem is reported with its field path and line, all at once, so a data
// engineer fixes a config in one go. Secrets never live in the YAML: the
// config names the environment variables (or files) that hold them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"
)

// Config is fundflow.yaml.
type Config struct {
	Services  Services  `yaml:"services"`
	Serve     Serve     `yaml:"serve"`
	Pipelines Pipelines `yaml:"pipelines"`
	Audit     Audit     `yaml:"audit"`  // see audit.go
	Plans     Plans     `yaml:"plans"`  // see plans.go
	Alerts    *Alerts   `yaml:"alerts"` // alert notifications: see alerts.go
	Fraud     *Fraud    `yaml:"fraud"`  // fraud and AML evaluation: see fraud.go
	Notify    *Notify   `yaml:"notify"` // investor notifications: see notify.go
}

// Services names the environment variables that hold connection settings.
type Services struct {
	PostgresURLEnv string `yaml:"postgres_url_env"` // default FUNDFLOW_PG_URL
	// The schema owner's URL, for `fundflow migrate` (and bulk generators):
	// default FUNDFLOW_PG_MIGRATE_URL. The application connects as a role
	// that owns no tables; see README, "the application's database role".
	PostgresMigrateURLEnv string `yaml:"postgres_migrate_url_env"`
	ClickHouseURLEnv      string `yaml:"clickhouse_url_env"` // default FUNDFLOW_CH_URL
	KafkaBrokersEnv       string `yaml:"kafka_brokers_env"`  // comma-separated; empty variable = no Kafka (the Postgres outbox is the bus)
}

// Serve configures `fundflow serve`.
type Serve struct {
	MetricsAddr string `yaml:"metrics_addr"` // e.g. 127.0.0.1:9464
	API         API    `yaml:"api"`          // the query API (api.go)
}

// Pipelines holds one section per pipeline; a missing section disables it.
type Pipelines struct {
	NAVIngest  *NAVIngest  `yaml:"nav-ingest"`
	Payments   *Payments   `yaml:"payments"` // money path: see money.go
	Orders     *Orders     `yaml:"orders"`
	Allocate   *Allocate   `yaml:"allocate"`
	Outbox     *Outbox     `yaml:"outbox"`
	FolioRecon *FolioRecon `yaml:"folio-recon"` // see recon.go
	KRA        *KRA        `yaml:"kra"`         // the KYC gate's KRA feeds: see kra.go

	NAVFreshness *NAVFreshness `yaml:"nav-freshness"` // see navops.go

	Instalments *Instalments `yaml:"instalments"` // systematic plans' daily run: see instalments.go
	Managed     *Managed     `yaml:"managed"`     // managed investing's run and drift check: see managed.go

	FactsCheck  *FactsCheck  `yaml:"facts-check"` // ledger vs ClickHouse facts: see analytics.go
	Commissions *Commissions `yaml:"commissions"` // distributor trail accrual: see commissions.go
}

// NAVIngest configures nav-ingest.
type NAVIngest struct {
	Schedule      string         `yaml:"schedule"` // cron spec, 5 fields, e.g. "*/15 * * * *"
	Source        Source         `yaml:"source"`
	BatchSize     int            `yaml:"batch_size"`      // rows per Postgres transaction (one COPY); default 16000, about one NAVAll file
	MaxRejectRate float64        `yaml:"max_reject_rate"` // 0..1; 0 disables the breaker
	Jump          JumpThresholds `yaml:"jump_thresholds"`
	KafkaTopic    string         `yaml:"kafka_topic"`
	FreshnessSLA  time.Duration  `yaml:"freshness_sla"`
	Holidays      []string       `yaml:"holidays"` // files of DD-Mon-YYYY lines
	// FutureDays: no NAV may be dated more than this many days after today
	// in IST (liquid funds publish the coming weekend's NAVs); default 3.
	FutureDays int `yaml:"future_days"`
}

// JumpThresholds are relative moves, as decimal strings ("0.02" = 2%).
type JumpThresholds struct {
	Liquid string `yaml:"liquid"`
	Debt   string `yaml:"debt"`
	Other  string `yaml:"other"`
}

// Source is where files come from.
type Source struct {
	Kind       string        `yaml:"kind"` // file | sftp | http
	Path       string        `yaml:"path"` // local folder, or remote folder for sftp
	URL        string        `yaml:"url"`  // http: the file's URL, e.g. AMFI's NAVAll.txt
	HTTP       HTTP          `yaml:"http"`
	Glob       string        `yaml:"glob"`
	StableFor  time.Duration `yaml:"stable_for"`
	DoneMarker bool          `yaml:"done_marker"`
	Archive    bool          `yaml:"archive"`
	ArchiveDir string        `yaml:"archive_dir"`
	SFTP       SFTP          `yaml:"sftp"`
}

// HTTP tunes an http source.
type HTTP struct {
	Timeout      time.Duration `yaml:"timeout"`       // whole request, body included; default 2m
	MaxRedirects int           `yaml:"max_redirects"` // default 5
}

// SFTP names the environment variables with the server's settings.
type SFTP struct {
	AddrEnv        string `yaml:"addr_env"`          // default FUNDFLOW_SFTP_ADDR
	UserEnv        string `yaml:"user_env"`          // default FUNDFLOW_SFTP_USER
	KeyFileEnv     string `yaml:"key_file_env"`      // default FUNDFLOW_SFTP_KEY: path of the private key
	HostKeyFileEnv string `yaml:"host_key_file_env"` // default FUNDFLOW_SFTP_HOST_KEY: path of the pinned public host key
}

// FieldError is one problem in a config file.
type FieldError struct {
	Path string // e.g. pipelines.nav-ingest.source.kind
	Line int    // 0 when unknown
	Msg  string
}

func (e FieldError) String() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Errors is every problem found in a config file.
type Errors struct {
	File string
	List []FieldError
}

func (e *Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.File, len(e.List))
	for _, fe := range e.List {
		b.WriteString("\n  " + e.File + ":" + fe.String())
	}
	return b.String()
}

// Load reads and checks a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse decodes and checks config bytes; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Errors{File: name, List: []FieldError{syntaxError(data, err)}}
	}
	if len(root.Content) == 0 {
		return nil, &Errors{File: name, List: []FieldError{{Path: "(yaml)", Line: 1,
			Msg: "the config file is empty: start from fundflow.example.yaml"}}}
	}
	lines := map[string]int{}
	vals := map[string]*yaml.Node{}
	index(&root, "", lines, vals)

	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []FieldError
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Errors{File: name, List: []FieldError{syntaxError(data, err)}}
		}
		for _, m := range te.Errors {
			errs = append(errs, typeError(m, lines, vals))
		}
	}
	cfg.defaults()
	for _, fe := range cfg.validate() {
		fe.Line = lineOf(lines, fe.Path)
		errs = append(errs, fe)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, &Errors{File: name, List: errs}
	}
	return &cfg, nil
}

// index records the line of every mapping key by its dotted path, and the
// node of its value (type errors name the value's line, not the key's).
func index(n *yaml.Node, path string, lines map[string]int, vals map[string]*yaml.Node) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			index(c, path, lines, vals)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			lines[p] = k.Line
			vals[p] = v
			index(v, p, lines, vals)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			vals[p] = c
			index(c, p, lines, vals)
		}
	}
}

// lineOf finds the line of path, or of its nearest present parent.
func lineOf(lines map[string]int, path string) int {
	for p := path; p != ""; {
		if l, ok := lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (c *Config) defaults() {
	c.moneyDefaults()
	c.reconDefaults()
	c.kraDefaults()
	c.freshnessDefaults()
	c.plansDefaults()
	c.instalmentsDefaults()
	c.managedDefaults()
	c.commissionsDefaults()
	c.alertsDefaults()
	c.factsCheckDefaults()
	c.fraudDefaults()
	c.notifyDefaults()
	s := &c.Services
	s.PostgresURLEnv = or(s.PostgresURLEnv, "FUNDFLOW_PG_URL")
	s.PostgresMigrateURLEnv = or(s.PostgresMigrateURLEnv, "FUNDFLOW_PG_MIGRATE_URL")
	c.auditDefaults()
	s.ClickHouseURLEnv = or(s.ClickHouseURLEnv, "FUNDFLOW_CH_URL")
	s.KafkaBrokersEnv = or(s.KafkaBrokersEnv, "FUNDFLOW_KAFKA_BROKERS")
	c.Serve.API.defaults()
	if n := c.Pipelines.NAVIngest; n != nil {
		if n.BatchSize == 0 {
			// One NAVAll file (15,700 rows) a transaction: each batch
			// updates nav_latest with one statement that hashes the
			// whole table, and pays a transaction and a COPY; at 2,000
			// rows that fixed cost was a quarter of Postgres's CPU in
			// a backfill (issue 15).
			n.BatchSize = 16000
		}
		n.Jump.Liquid = or(n.Jump.Liquid, "0.02")
		n.Jump.Debt = or(n.Jump.Debt, "0.10")
		n.Jump.Other = or(n.Jump.Other, "0.25")
		n.KafkaTopic = or(n.KafkaTopic, "nav.validated")
		if n.FutureDays == 0 {
			n.FutureDays = 3
		}
		if n.FreshnessSLA == 0 {
			n.FreshnessSLA = 15 * time.Minute
		}
		src := &n.Source
		src.SFTP.AddrEnv = or(src.SFTP.AddrEnv, "FUNDFLOW_SFTP_ADDR")
		src.SFTP.UserEnv = or(src.SFTP.UserEnv, "FUNDFLOW_SFTP_USER")
		src.SFTP.KeyFileEnv = or(src.SFTP.KeyFileEnv, "FUNDFLOW_SFTP_KEY")
		src.SFTP.HostKeyFileEnv = or(src.SFTP.HostKeyFileEnv, "FUNDFLOW_SFTP_HOST_KEY")
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

func (c *Config) validate() []FieldError {
	errs := append(c.validateMoney(), c.validateRecon()...)
	errs = append(errs, c.validateKRA()...)
	errs = append(errs, c.validateFreshness()...)
	errs = append(errs, c.validateAudit()...)
	errs = append(errs, c.validatePlans()...)
	errs = append(errs, c.validateInstalments()...)
	errs = append(errs, c.validateManaged()...)
	errs = append(errs, c.validateCommissions()...)
	errs = append(errs, c.validateAlerts()...)
	errs = append(errs, c.validateFactsCheck()...)
	errs = append(errs, c.validateFraud()...)
	errs = append(errs, c.validateNotify()...)
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for path, v := range map[string]string{
		"services.postgres_url_env":         c.Services.PostgresURLEnv,
		"services.postgres_migrate_url_env": c.Services.PostgresMigrateURLEnv,
		"services.clickhouse_url_env":       c.Services.ClickHouseURLEnv,
		"services.kafka_brokers_env":        c.Services.KafkaBrokersEnv,
	} {
		if !envName.MatchString(v) {
			add(path, "%q is not an environment variable name (secrets come from the environment, not the YAML)", v)
		}
	}
	if a := c.Serve.MetricsAddr; a != "" {
		if err := checkAddr(a); err != nil {
			add("serve.metrics_addr", "%v", err)
		}
	}
	errs = append(errs, c.Serve.API.validate("serve.api")...)
	if n := c.Pipelines.NAVIngest; n != nil {
		p := "pipelines.nav-ingest"
		if n.Schedule != "" {
			if _, err := cron.ParseStandard(n.Schedule); err != nil {
				add(p+".schedule", "bad cron spec %q: %v", n.Schedule, err)
			}
		}
		errs = append(errs, n.Source.validate(p+".source")...)
		if n.BatchSize < 1 || n.BatchSize > 100000 {
			add(p+".batch_size", "must be between 1 and 100000, got %d", n.BatchSize)
		}
		if n.MaxRejectRate < 0 || n.MaxRejectRate > 1 {
			add(p+".max_reject_rate", "must be a fraction between 0 and 1, got %v", n.MaxRejectRate)
		}
		if n.FreshnessSLA < 0 {
			add(p+".freshness_sla", "must be positive (0 takes the default, 15m), got %s", n.FreshnessSLA)
		}
		if n.FutureDays < 1 || n.FutureDays > 31 {
			add(p+".future_days", "must be between 1 and 31 days, got %d", n.FutureDays)
		}
		for k, v := range map[string]string{"liquid": n.Jump.Liquid, "debt": n.Jump.Debt, "other": n.Jump.Other} {
			d, err := decimal.NewFromString(v)
			if err != nil || !d.IsPositive() {
				add(p+".jump_thresholds."+k, "must be a positive decimal fraction like \"0.10\", got %q", v)
			}
		}
		for i, h := range n.Holidays {
			if _, err := os.Stat(h); err != nil {
				add(fmt.Sprintf("%s.holidays[%d]", p, i), "holiday file %q: %v", h, err)
			}
		}
	}
	return errs
}

func (s Source) validate(p string) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch s.Kind {
	case "file", "sftp", "http":
	case "":
		add(p+".kind", "missing: one of file, sftp, http")
	default:
		add(p+".kind", "unknown source kind %q: one of file, sftp, http", s.Kind)
	}
	if s.Kind == "http" {
		errs = append(errs, s.validateHTTP(p)...)
	} else if s.Path == "" {
		add(p+".path", "missing: the folder files arrive in")
	}
	if s.Glob != "" {
		if _, err := path.Match(s.Glob, ""); err != nil {
			add(p+".glob", "bad pattern %q: %v", s.Glob, err)
		}
	}
	if s.StableFor < 0 {
		add(p+".stable_for", "must not be negative")
	}
	return errs
}

// validateHTTP checks an http source: a URL, and none of the folder options
// (they would silently keep every response from loading).
func (s Source) validateHTTP(p string) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if s.URL == "" {
		add(p+".url", "missing: the URL of the file, e.g. https://portal.amfiindia.com/spages/NAVAll.txt")
	} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(p+".url", "%q is not an http(s) URL", s.URL)
	}
	for _, f := range []struct {
		field string
		set   bool
	}{{"path", s.Path != ""}, {"glob", s.Glob != ""}, {"done_marker", s.DoneMarker}, {"archive", s.Archive}, {"archive_dir", s.ArchiveDir != ""},
		{"stable_for", s.StableFor != 0}} {
		if f.set {
			add(p+"."+f.field, "not used by kind http (one URL is one file; its validators and fingerprint keep it from loading twice)")
		}
	}
	if s.HTTP.Timeout < 0 {
		add(p+".http.timeout", "must not be negative")
	}
	if s.HTTP.MaxRedirects < 0 || s.HTTP.MaxRedirects > 20 {
		add(p+".http.max_redirects", "must be between 0 and 20, got %d", s.HTTP.MaxRedirects)
	}
	return errs
}
