package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
)

// statuses maps each finding's check to its status (the last one wins).
func statuses(fs []finding) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Check] = f.Status
	}
	return m
}

func TestDoctorEnvFindings(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte("k"), 0o600)
	cfg := &config.Config{}
	cfg.Services = config.Services{PostgresURLEnv: "PG", PostgresMigrateURLEnv: "PGM", ClickHouseURLEnv: "CH", KafkaBrokersEnv: "KAFKA"}
	cfg.Serve.API = config.API{Addr: "127.0.0.1:1", JWTSecretEnv: "JWT", JWTPublicKeyEnv: "JWTPUB", PIIKeyEnv: "PII"}
	cfg.Pipelines.NAVIngest = &config.NAVIngest{Source: config.Source{Kind: "sftp", SFTP: config.SFTP{AddrEnv: "SA", UserEnv: "SU", KeyFileEnv: "SK", HostKeyFileEnv: "SH"}}}
	cfg.Pipelines.Payments = &config.Payments{SecretEnvs: []string{"WH1", "WH2"}}
	cfg.Pipelines.Orders = &config.Orders{HTTP: true, HTTPTokenEnv: "ORD"}
	cfg.Pipelines.Instalments = &config.Instalments{Gateway: config.PaymentGateway{KeyIDEnv: "RK", KeySecretEnv: "RS"}}
	cfg.Alerts = &config.Alerts{WebhookURLEnv: "HOOK"}
	all := map[string]string{"PG": "x", "PGM": "x", "CH": "x", "JWT": "x", "PII": "x", "SA": "x", "SU": "x", "SK": key, "SH": key,
		"WH1": "x", "WH2": "x", "ORD": "x", "RK": "x", "RS": "x", "HOOK": "x"}
	without := func(drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			m[k] = v
		}
		for _, d := range drop {
			delete(m, d)
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		want map[string]string // check -> status; checks not named must be ok or absent
	}{
		{"everything set", all, nil},
		{"app URL unset fails", without("PG"), map[string]string{"env PG": "fail"}},
		{"migrate URL unset only warns", without("PGM"), map[string]string{"env PGM": "warn"}},
		{"no PII key only warns (serve leaves PAN out)", without("PII"), map[string]string{"env PII": "warn"}},
		{"neither JWT variable set: both named", without("JWT"), map[string]string{"env JWT": "fail", "env JWTPUB": "fail"}},
		{"second webhook secret", without("WH2"), map[string]string{"env WH2": "fail"}},
		{"orders token", without("ORD"), map[string]string{"env ORD": "fail"}},
		{"gateway secret", without("RS"), map[string]string{"env RS": "fail"}},
		{"alert webhook URL", without("HOOK"), map[string]string{"env HOOK": "fail"}},
		{"sftp key path missing", func() map[string]string { m := without(); m["SK"] = filepath.Join(dir, "nope"); return m }(),
			map[string]string{"env SK": "fail"}},
	}
	// The public key set instead of the secret: the group is satisfied.
	pub := without("JWT")
	pub["JWTPUB"] = key
	cases = append(cases, struct {
		name string
		env  map[string]string
		want map[string]string
	}{"JWT public key instead of secret", pub, nil})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := envFindings(envRefs(cfg), func(k string) string { return c.env[k] })
			got := statuses(fs)
			for check, st := range got {
				if want, ok := c.want[check]; ok {
					if st != want {
						t.Errorf("%s: %s, want %s", check, st, want)
					}
				} else if st != statusOK {
					t.Errorf("%s: %s, want ok", check, st)
				}
			}
			for check := range c.want {
				if _, ok := got[check]; !ok {
					t.Errorf("%s not reported", check)
				}
			}
			for _, f := range fs {
				if f.Status == statusFail && (!strings.Contains(f.Detail, "pipelines.") && !strings.Contains(f.Detail, "services.") && !strings.Contains(f.Detail, "serve.") && !strings.Contains(f.Detail, "alerts.")) {
					t.Errorf("%s: detail %q names no field", f.Check, f.Detail)
				}
			}
		})
	}
	// Kafka's variable is not a requirement: unset means no Kafka.
	for _, r := range envRefs(cfg) {
		if r.name == "KAFKA" {
			t.Errorf("kafka_brokers_env checked as required")
		}
	}
}

func TestDoctorCalendarCoverage(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	y26 := write("h2026.txt", "26-Jan-2026\n02-Oct-2026\n")
	y27 := write("h2027.txt", "26-Jan-2027\n")
	bad := write("bad.txt", "26-Jan-2026\nnot a date\n")
	mid := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	newYearsEve := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		files   []string
		today   time.Time
		status  string
		mention string
	}{
		{"both years", []string{y26, y27}, mid, statusOK, "2026-2027"},
		{"only this year: next year missing", []string{y26}, mid, statusWarn, "2027"},
		{"only next year: this year missing", []string{y27}, mid, statusWarn, "2026"},
		{"31 December still needs the next year", []string{y26}, newYearsEve, statusWarn, "2027"},
		{"no files at all", nil, mid, statusWarn, "2026, 2027"},
		{"a file that does not parse", []string{bad, y26, y27}, mid, statusFail, "line 2"},
		{"a file that is not there", []string{filepath.Join(dir, "gone.txt"), y26, y27}, mid, statusFail, "gone.txt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := calendarFindings("pipelines.allocate.holidays", c.files, c.today)
			if len(fs) != 1 {
				t.Fatalf("%d findings %+v, want 1", len(fs), fs)
			}
			f := fs[0]
			if f.Status != c.status || !strings.Contains(f.Detail, c.mention) || !strings.Contains(f.Check+f.Detail, "pipelines.allocate.holidays") {
				t.Errorf("%+v, want %s mentioning %q and the field", f, c.status, c.mention)
			}
			for _, file := range c.files {
				if f.Status == statusWarn && !strings.Contains(f.Detail, file) {
					t.Errorf("detail %q does not name the file %s", f.Detail, file)
				}
			}
			if f.Status == statusWarn && !strings.Contains(f.Fix, c.mention) {
				t.Errorf("fix %q does not name %s", f.Fix, c.mention)
			}
		})
	}
}

// The warning comes ahead of the calendar's end and counts the days left:
// 1-Dec-2026 is 30 days before 31-Dec-2026; a year ahead it is already a
// warning; with today itself outside the files there is no end to count.
func TestDoctorCalendarWarnsAheadOfItsEnd(t *testing.T) {
	y26 := filepath.Join(t.TempDir(), "h2026.txt")
	if err := os.WriteFile(y26, []byte("26-Jan-2026\n02-Oct-2026\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		today time.Time
		want  string
	}{
		{time.Date(2026, 12, 1, 9, 0, 0, 0, fund.IST()), "the calendar ends on 31-Dec-2026, in 30 days: no holiday file covers 2027"},
		{time.Date(2026, 1, 1, 0, 30, 0, 0, fund.IST()), "the calendar ends on 31-Dec-2026, in 364 days: no holiday file covers 2027"},
		{time.Date(2027, 1, 4, 9, 0, 0, 0, fund.IST()), "no holiday file covers 2027, 2028"},
	} {
		fs := calendarFindings("plans.holidays", []string{y26}, c.today)
		if len(fs) != 1 || fs[0].Status != statusWarn || !strings.HasPrefix(fs[0].Detail, c.want) {
			t.Errorf("on %s: %+v, want a warning starting %q", c.today.Format(time.DateOnly), fs, c.want)
		}
	}
}

func TestDoctorPendingMigrations(t *testing.T) {
	ms := []migrate.Migration{{Version: 1, Name: "001_a.sql", SHA256: "aa"}, {Version: 2, Name: "002_b.sql", SHA256: "bb"}}
	cases := []struct {
		name             string
		done             map[int]string
		pending, changed string
	}{
		{"none applied", map[int]string{}, "001_a.sql,002_b.sql", ""},
		{"all applied", map[int]string{1: "aa", 2: "bb"}, "", ""},
		{"one pending", map[int]string{1: "aa"}, "002_b.sql", ""},
		{"edited after it ran", map[int]string{1: "zz", 2: "bb"}, "", "001_a.sql"},
		{"recorded without checksum", map[int]string{1: "", 2: "bb"}, "", ""},
	}
	for _, c := range cases {
		p, ch := pendingMigrations(ms, c.done)
		if strings.Join(p, ",") != c.pending || strings.Join(ch, ",") != c.changed {
			t.Errorf("%s: pending %v changed %v, want %q %q", c.name, p, ch, c.pending, c.changed)
		}
	}
}

// doctor against the test env's real Postgres and ClickHouse: a fresh
// migrated database is ok (exit 0), an unmigrated one fails with the fix
// "fundflow migrate" (exit 1).
func TestDoctorEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "doctor.yaml")
	os.WriteFile(cfgPath, []byte("services:\n  postgres_url_env: DOCTOR_PG_URL\n  postgres_migrate_url_env: DOCTOR_PG_MIGRATE_URL\n"+
		"  clickhouse_url_env: DOCTOR_CH_URL\n  kafka_brokers_env: DOCTOR_KAFKA\n"), 0o644)
	doctor := func(t *testing.T) (map[string]finding, error) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"doctor", cfgPath, "--json"}, &out, io.Discard)
		got := map[string]finding{}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			var f finding
			if jerr := json.Unmarshal(sc.Bytes(), &f); jerr != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			got[f.Check] = f
		}
		return got, err
	}
	t.Run("migrated", func(t *testing.T) {
		_, ownerURL, _, appURL := testkit.PGApp(t)
		_, chURL := testkit.CH(t)
		t.Setenv("DOCTOR_PG_URL", appURL)
		t.Setenv("DOCTOR_PG_MIGRATE_URL", ownerURL)
		t.Setenv("DOCTOR_CH_URL", chURL)
		t.Setenv("DOCTOR_KAFKA", "")
		got, err := doctor(t)
		if err != nil {
			t.Errorf("doctor: %v, want exit 0; findings %+v", err, got)
		}
		for _, c := range []string{"lint", "postgres", "postgres migrations", "clickhouse", "clickhouse migrations"} {
			if got[c].Status != statusOK {
				t.Errorf("%s: %+v, want ok", c, got[c])
			}
		}
		if _, ok := got["postgres role"]; ok {
			t.Errorf("the application's role was reported privileged: %+v", got["postgres role"])
		}
		// Connected as the schema owner (who owns the audit trail): still
		// exit 0, with migrate.WarnIfPrivileged's warning.
		t.Setenv("DOCTOR_PG_URL", ownerURL)
		got, err = doctor(t)
		if f := got["postgres role"]; err != nil || f.Status != statusWarn || !strings.Contains(f.Detail, "superuser or the audit trail's owner") {
			t.Errorf("as the owner: %v, %+v; want exit 0 and the privilege warning", err, f)
		}
	})
	t.Run("unmigrated", func(t *testing.T) {
		_, pgURL := testkit.EmptyPG(t)
		_, chURL := testkit.EmptyCH(t)
		t.Setenv("DOCTOR_PG_URL", pgURL)
		t.Setenv("DOCTOR_PG_MIGRATE_URL", pgURL)
		t.Setenv("DOCTOR_CH_URL", chURL)
		t.Setenv("DOCTOR_KAFKA", "")
		got, err := doctor(t)
		if !isExit(err, 1) {
			t.Errorf("doctor: %v, want exit 1", err)
		}
		for _, c := range []string{"postgres migrations", "clickhouse migrations"} {
			if f := got[c]; f.Status != statusFail || f.Fix != "fundflow migrate" || !strings.Contains(f.Detail, "001_") {
				t.Errorf("%s: %+v, want fail naming 001_… with fix fundflow migrate", c, f)
			}
		}
		if got["postgres"].Status != statusOK {
			t.Errorf("postgres: %+v, want ok (it answers)", got["postgres"])
		}
	})
	t.Run("bad config is exit 2", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("pipelines:\n  nav-ingest:\n    sorce: {}\n"), 0o644)
		if err := run(context.Background(), []string{"doctor", bad}, io.Discard, io.Discard); !isExit(err, 2) {
			t.Errorf("doctor BAD: %v, want exit 2", err)
		}
		var out bytes.Buffer
		err := run(context.Background(), []string{"doctor", bad, "--json"}, &out, io.Discard)
		var f finding
		if jerr := json.Unmarshal(out.Bytes(), &f); !isExit(err, 2) || jerr != nil || f.Status != statusFail || f.Check != "lint" || !strings.Contains(f.Detail, "sorce") {
			t.Errorf("doctor BAD --json: %v, stdout %q; want exit 2 and one lint fail line naming the field", err, out.String())
		}
	})
}

// Kafka: a real broker (kfake) answers; a port that accepts connections but
// speaks no Kafka, and a closed port, fail.
func TestDoctorKafka(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			c.Close() // accepts, then hangs up: not a broker
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	defer mute.Close()
	if got := statuses(kafkaFindings(testkit.Ctx(t), strings.Join(kc.ListenAddrs(), ","))); got["kafka "+kc.ListenAddrs()[0]] != statusOK {
		t.Errorf("kfake broker: %v, want ok", got)
	}
	for _, addr := range []string{mute.Addr().String(), closedAddr} {
		if got := statuses(kafkaFindings(testkit.Ctx(t), addr)); got["kafka "+addr] != statusFail {
			t.Errorf("%s: %v, want fail", addr, got)
		}
	}
	if fs := kafkaFindings(testkit.Ctx(t), ""); len(fs) != 0 {
		t.Errorf("no brokers configured: %v, want no check", fs)
	}
}

// SFTP against the test env's sshd: the source's folder there is ok, a
// folder that is not fails naming it.
func TestDoctorSFTP(t *testing.T) {
	s := testkit.SFTP(t)
	env := map[string]string{"SA": s.Addr, "SU": s.User, "SK": s.KeyPath, "SH": s.HostKeyPath}
	for _, c := range []struct {
		path, status string
	}{{s.Dir, statusOK}, {filepath.Join(s.Dir, "missing"), statusFail}} {
		cfg := &config.Config{}
		cfg.Pipelines.NAVIngest = &config.NAVIngest{Source: config.Source{Kind: "sftp", Path: c.path,
			SFTP: config.SFTP{AddrEnv: "SA", UserEnv: "SU", KeyFileEnv: "SK", HostKeyFileEnv: "SH"}}}
		fs := sftpFindings(testkit.Ctx(t), cfg, func(k string) string { return env[k] })
		if len(fs) != 1 || fs[0].Status != c.status || !strings.Contains(fs[0].Detail, c.path) {
			t.Errorf("%s: %+v, want one %s naming the path", c.path, fs, c.status)
		}
	}
}
