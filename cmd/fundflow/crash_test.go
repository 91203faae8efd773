package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// fundflowBinary builds this command once per test process.
func fundflowBinary(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fundflow-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "fundflow")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startChild starts bin with args, env added to this process's, its
// output in the returned buffer; the test's end kills it if it still runs.
func startChild(t testing.TB, bin string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, out
}

// A child process loading several real NAV files in small batches is killed
// with SIGKILL at random points and restarted; in the end every NAV is in
// Postgres and ClickHouse exactly once, and every quarantined row once.
func TestCrashAndRestartLosesNothingAndDuplicatesNothing(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	pool, ownerURL := testkit.PG(t)
	pgURL := testkit.AppURL(t, ownerURL) // the child runs as the application's role, as in production
	ch, chURL := testkit.CH(t)

	dir := t.TempDir()
	files := []string{"NAVAll_2017-04-13_8col-repurchase-sale.txt", "NAVAll_2019-06-21.txt", "NAVAll_2021-10-01_LF-normalized.txt",
		"NAVAll_2023-08-11.txt", "NAVAll_2025-09-17_CR-CR-LF.txt", "NAVAll_2026-08-18_last-6col.txt"}
	wantKeys := map[string]bool{}
	wantQuarantined := 0
	mod := time.Now().Add(-time.Hour)
	for i, f := range files {
		src := testkit.Fixture(t, "amfi/navall/"+f)
		e := testkit.CountNAVFile(t, src)
		for k := range e.Keys {
			wantKeys[testkit.NormaliseKey(k)] = true
		}
		wantQuarantined += e.DataLines - e.Valid
		dst := filepath.Join(dir, f)
		testkit.CopyFile(t, src, dst)
		m := mod.Add(time.Duration(i) * time.Minute) // load oldest first
		if err := os.Chtimes(dst, m, m); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := navRunConfig(t, dir)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "nav-ingest")
		cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+pgURL, "FUNDFLOW_CH_URL="+chURL)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd
	}
	navs := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Kill points are tied to progress, not to the clock, so a loaded
	// machine cannot turn them all into kills before the first batch: three
	// in four kills come a random 0-300 ms after this run's first batch
	// landed (mid-stream, often mid-transaction), one in four a random
	// 0-300 ms after start (during start-up, spooling or the first batch).
	rng := rand.New(rand.NewPCG(2026, 11))
	kills, progressed := 0, 0
	for kills < 20 {
		base := navs()
		cmd := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		afterBatch := rng.IntN(4) != 0
		if afterBatch {
			deadline := time.Now().Add(2 * time.Minute)
			for navs() == base {
				select {
				case err := <-done:
					t.Fatalf("run ended (err %v) before its first batch: the input is too small to crash mid-run", err)
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("no batch landed within 2 minutes")
				}
			}
		}
		delay := time.Duration(rng.IntN(300)) * time.Millisecond
		select {
		case err := <-done:
			t.Fatalf("run finished before its kill (err %v): the input is too small to crash mid-run", err)
		case <-time.After(delay):
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		after := navs()
		kills++
		if after > base {
			progressed++
		}
		t.Logf("kill %2d (%s + %v): %d NAVs stored", kills, map[bool]string{true: "after a batch", false: "after start"}[afterBatch], delay, after)
	}
	if progressed < 10 {
		t.Fatalf("only %d of %d runs stored anything before their kill: the kill points do not cover the run", progressed, kills)
	}
	// The last run goes to the end.
	cmd := exec.Command(bin, "--config", cfgPath, "run", "nav-ingest")
	cmd.Env = append(os.Environ(), "FUNDFLOW_PG_URL="+pgURL, "FUNDFLOW_CH_URL="+chURL)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}

	// Exactly the expected keys, each once.
	gotPG, gotCH := storedNAVKeys(t, ctx, pool, ch)
	testkit.AssertSameKeys(t, "postgres navs", gotPG, wantKeys)
	testkit.AssertSameKeys(t, "clickhouse nav_history", gotCH, wantKeys)

	var q, done, latestOff int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM quarantine), (SELECT count(*) FROM ingested_files WHERE status = 'done'),
		(`+latestNotNewestSQL+`)`).Scan(&q, &done, &latestOff); err != nil {
		t.Fatal(err)
	}
	if q != wantQuarantined || done != len(files) {
		t.Fatalf("quarantine = %d (want %d), files done = %d (want %d)", q, wantQuarantined, done, len(files))
	}
	// nav_latest's moves are held past the flushes, to the run's end: the
	// kills fall between a batch's checkpoint and its moves too, which the
	// next run's Load catches up.
	if latestOff != 0 {
		t.Fatalf("%d schemes' nav_latest is not their newest NAV in navs", latestOff)
	}
	// No killed run is left "running": every run that got as far as its row
	// is abandoned, the final one ok, nothing else. (Counting the runs that
	// stored NAVs is only a proxy for "had a row": on a loaded machine a killed
	// run's last commit can land after the next run read its base count, so
	// that run counts as progressed too; hence the lower bound is half.)
	var total, running, abandoned, ok int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'abandoned'),
		count(*) FILTER (WHERE status = 'ok') FROM job_runs`).Scan(&total, &running, &abandoned, &ok); err != nil {
		t.Fatal(err)
	}
	if running != 0 || ok != 1 || abandoned != total-1 || abandoned < progressed/2 || abandoned > kills {
		rows, _ := pool.Query(ctx, `SELECT id, status, coalesce(error, ''), started_at, finished_at FROM job_runs ORDER BY id`)
		for rows.Next() {
			var id int64
			var status, runErr string
			var started time.Time
			var finished *time.Time
			_ = rows.Scan(&id, &status, &runErr, &started, &finished)
			t.Logf("job_runs %d: %s started %v finished %v %q", id, status, started, finished, runErr)
		}
		rows.Close()
		t.Fatalf("job_runs: %d rows: %d running (want 0), %d abandoned (want all but the final run, %d..%d), %d ok (want 1)",
			total, running, abandoned, progressed/2, kills, ok)
	}
}

// navRunConfig writes the config of a `fundflow run nav-ingest` child that
// a test kills and restarts: the files in dir, small batches, and the jump
// rule switched off (stale rows of one file can sit days after another
// file's NAVs; these tests are about delivery, not the jump rule).
func navRunConfig(t *testing.T, dir string) string {
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte(`
pipelines:
  nav-ingest:
    source: {kind: file, path: `+dir+`, glob: "*.txt", stable_for: 0s}
    batch_size: 150
    max_reject_rate: 0.5
    jump_thresholds: {liquid: "1000", debt: "1000", other: "1000"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

// runOrKill runs cmd to its end, or SIGKILLs it after killAfter (0: never):
// the crash tests' one way of starting a child and maybe killing it. It
// returns whether it killed, and the run's error with its output's tail
// when it ended by itself.
func runOrKill(cmd *exec.Cmd, killAfter time.Duration) (killed bool, err error) {
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if killAfter > 0 {
		timer = time.After(killAfter)
	}
	select {
	case err := <-done:
		if err != nil {
			return false, fmt.Errorf("%w\n%s", err, tail(out.String(), 2000))
		}
		return false, nil
	case <-timer:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true, nil
	}
}
