package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// A `fundflow run nav-ingest` process is SIGKILLed mid-run; the next run
// marks its job_runs row abandoned (with the dead process's pid in the
// reason) and completes, and `fundflow runs` lists both that way.
func TestKilledRunIsMarkedAbandoned(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	pool, ownerURL := testkit.PG(t)
	pgURL := testkit.AppURL(t, ownerURL) // the binary runs as the application's role
	_, chURL := testkit.CH(t)
	dir := t.TempDir()
	for _, f := range []string{"NAVAll_2019-06-21.txt", "NAVAll_2023-08-11.txt", "NAVAll_2026-08-18_last-6col.txt"} {
		testkit.CopyFile(t, testkit.Fixture(t, "amfi/navall/"+f), filepath.Join(dir, f))
	}
	cfgPath := navRunConfig(t, dir)
	env := append(os.Environ(), "FUNDFLOW_PG_URL="+pgURL, "FUNDFLOW_CH_URL="+chURL)
	count := func(sql string) int {
		var n int
		if err := pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "nav-ingest")
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Mid-run: its row says running and a batch has landed.
	for count(`SELECT count(*) FROM navs`) == 0 || count(`SELECT count(*) FROM job_runs WHERE status = 'running'`) == 0 {
		select {
		case err := <-done:
			t.Fatalf("run ended (%v) before it was mid-run: %s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	killedPID := cmd.Process.Pid

	again := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "nav-ingest")
	again.Env = env
	if b, err := again.CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, b)
	}

	list := exec.Command(bin, "--config", cfgPath, "runs", "--pipeline", "nav-ingest")
	list.Env = env
	b, err := list.Output()
	if err != nil {
		t.Fatalf("fundflow runs: %v", err)
	}
	var runs []postgres.RunRow
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		var r postgres.RunRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		runs = append(runs, r)
	}
	if len(runs) != 2 {
		t.Fatalf("want 2 runs, got %d:\n%s", len(runs), b)
	}
	second, first := runs[0], runs[1] // newest first
	if first.Status != "abandoned" || first.Error == nil || first.PID == nil || int(*first.PID) != killedPID ||
		!strings.Contains(*first.Error, "pid "+strconv.Itoa(killedPID)+") is gone") || first.FinishedAt == nil {
		t.Fatalf("killed run: %+v (error %v)", first, deref(first.Error))
	}
	if second.Status != "ok" || second.Error != nil || second.Out == 0 {
		t.Fatalf("second run: %+v (error %v)", second, deref(second.Error))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
