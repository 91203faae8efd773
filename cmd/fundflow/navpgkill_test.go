package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
)

const pgBinDir = "/usr/lib/postgresql/15/bin"

// privatePG is a throwaway Postgres cluster of one test: the shared server
// is never stopped, this one is killed at will.
type privatePG struct {
	t       *testing.T
	data    string
	log     string
	port    int
	asUser  []string // runuser prefix when running as root
	started bool
}

// startPrivatePG initdbs a cluster in a temporary folder and starts it on a
// free port (as the postgres user when the test runs as root, which initdb
// insists on), the way scripts/services.sh starts the shared one. The WAL
// writer sleeps 10 s between rounds (its most), so a commit that does not
// wait for the flush stays in memory until the next one that does: an
// immediate shutdown between the two loses it, which is the case to test.
func startPrivatePG(t *testing.T) *privatePG {
	if _, err := os.Stat(filepath.Join(pgBinDir, "initdb")); err != nil {
		// CI installs Postgres (scripts/services.sh): there a missing
		// initdb is a broken machine, and a skip would hide the proof.
		testkit.Missing(t, "no Postgres binaries to start a private cluster: %v", err)
	}
	dir := t.TempDir()
	p := &privatePG{t: t, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "postgres.log")}
	if os.Geteuid() == 0 {
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
		// The test's temporary folders are root's 0700: let postgres in.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(p.log, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "postgres:postgres", dir, p.log).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")
	p.start()
	t.Cleanup(func() {
		if p.started {
			p.pgctl("stop", "-m", "immediate")
		}
	})
	return p
}

func (p *privatePG) run(tool string, args ...string) {
	p.t.Helper()
	argv := append(append(append([]string{}, p.asUser...), filepath.Join(pgBinDir, tool)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(p.log)
		p.t.Fatalf("%s %v: %v\n%s\n%s", tool, args, err, out, log)
	}
}

func (p *privatePG) pgctl(args ...string) {
	p.t.Helper()
	p.run("pg_ctl", append([]string{"-D", p.data, "-w", "-t", "60"}, args...)...)
}

func (p *privatePG) start() {
	p.t.Helper()
	p.pgctl("-l", p.log, "-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c wal_writer_delay=10000",
		p.port, filepath.Dir(p.data)), "start")
	p.started = true
}

// kill stops the server the way a crash does: no checkpoint, no flush of
// what is in shared memory.
func (p *privatePG) kill() {
	p.t.Helper()
	p.pgctl("stop", "-m", "immediate")
	p.started = false
}

func (p *privatePG) url(user string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", user, p.port)
}

// A nav-ingest child loads real NAV files in small batches while the
// Postgres it writes to is killed (immediate shutdown: the crash of the
// database, not of the process) at random points and started again after
// a random pause; a child that fails is started again. In the end every
// NAV is in Postgres and ClickHouse exactly once and the two stores hold
// the same keys: a batch that was committed without waiting for the flush
// and lost in the crash was loaded again, never skipped by its checkpoint.
func TestPostgresKilledMidLoadLosesNothing(t *testing.T) {
	pg := startPrivatePG(t)
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	ownerURL, appURL := pg.url("postgres"), pg.url("fundflow_app")
	owner, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `CREATE ROLE fundflow_app LOGIN`); err != nil {
		t.Fatal(err)
	}
	owner.Close()
	ch, chURL := testkit.CH(t)

	dir := t.TempDir()
	files := []string{"NAVAll_2017-04-13_8col-repurchase-sale.txt", "NAVAll_2019-06-21.txt", "NAVAll_2021-10-01_LF-normalized.txt",
		"NAVAll_2023-08-11.txt", "NAVAll_2025-09-17_CR-CR-LF.txt", "NAVAll_2026-08-18_last-6col.txt"}
	want := map[string]bool{}
	mod := time.Now().Add(-time.Hour)
	for i, f := range files {
		src := testkit.Fixture(t, "amfi/navall/"+f)
		for k := range testkit.CountNAVFile(t, src).Keys {
			want[testkit.NormaliseKey(k)] = true
		}
		dst := filepath.Join(dir, f)
		testkit.CopyFile(t, src, dst)
		m := mod.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(dst, m, m); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := navRunConfig(t, dir)
	env := append(os.Environ(), "FUNDFLOW_PG_URL="+appURL, "FUNDFLOW_PG_MIGRATE_URL="+ownerURL, "FUNDFLOW_CH_URL="+chURL, "FUNDFLOW_KAFKA_BROKERS=")
	migrate := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	// A fresh connection each time: the server goes away under it.
	navs := func() int {
		for {
			conn, err := pgx.Connect(ctx, ownerURL)
			if err == nil {
				var n int
				err = conn.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&n)
				conn.Close(ctx)
				if err == nil {
					return n
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	type child struct {
		done chan error
		out  *strings.Builder
	}
	start := func() child {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "nav-ingest")
		cmd.Env = env
		c := child{done: make(chan error, 1), out: &strings.Builder{}}
		cmd.Stdout, cmd.Stderr = c.out, c.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		go func() { c.done <- cmd.Wait() }()
		return c
	}

	// Kill points are tied to progress: a random 0-400 ms after a batch
	// landed; the server is down for a random 0-1.5 s. A child rides the
	// restart out with its retries or fails and is started again.
	rng := rand.New(rand.NewPCG(15, 2026))
	kills, lost, children := 0, 0, 1
	c := start()
	finished := false
	for kills < 8 && !finished {
		base := navs()
		deadline := time.Now().Add(2 * time.Minute)
	wait:
		for navs() == base {
			select {
			case err := <-c.done:
				if err == nil {
					finished = true
					break wait
				}
				t.Logf("run failed (%v); started again: %s", err, lastLine(c.out.String()))
				c = start()
				children++
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("no batch landed within 2 minutes")
			}
		}
		if finished {
			break
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		before := navs()
		pg.kill()
		kills++
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		pg.start()
		after := navs()
		if after < before {
			lost++
		}
		t.Logf("kill %d: %d NAVs before it, %d after the restart", kills, before, after)
	}
	if !finished {
		select {
		case err := <-c.done:
			t.Logf("last run ended: %v", err)
		case <-time.After(3 * time.Minute):
			t.Fatal("the last run did not end within 3 minutes")
		}
	}
	if kills < 4 {
		t.Fatalf("only %d kills before the load finished: the input is too small to test anything", kills)
	}
	t.Logf("%d kills, %d of them took committed NAVs back; %d runs", kills, lost, children)
	final := exec.Command(bin, "--config", cfgPath, "run", "nav-ingest")
	final.Env = env
	if out, err := final.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}

	conn, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gotPG, gotCH := storedNAVKeys(t, ctx, conn, ch)
	testkit.AssertSameKeys(t, "postgres navs", gotPG, want)
	testkit.AssertSameKeys(t, "clickhouse nav_history", gotCH, want)
	var done, latestBehind int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM ingested_files WHERE status = 'done'),
		(`+latestNotNewestSQL+`)`).Scan(&done, &latestBehind); err != nil {
		t.Fatal(err)
	}
	if done != len(files) || latestBehind != 0 {
		t.Fatalf("files done = %d (want %d); %d schemes' nav_latest is not their newest NAV", done, len(files), latestBehind)
	}
}

// latestNotNewestSQL counts the schemes of navs whose nav_latest row is
// missing or is not their newest navs row (date, NAV and lineage).
const latestNotNewestSQL = `SELECT count(*) FROM (SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, nav, source_file, source_sha256, source_line
	FROM nav_lineage ORDER BY scheme_code, nav_date DESC) n LEFT JOIN nav_latest l USING (scheme_code)
	WHERE (l.nav_date, l.nav, l.source_file, l.source_sha256, l.source_line) IS DISTINCT FROM (n.nav_date, n.nav, n.source_file, n.source_sha256, n.source_line)`

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
