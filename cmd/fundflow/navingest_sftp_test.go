package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/feedstore"
	"github.com/fundflow/fundflow/jobs/navingest"
)

// These tests run nav-ingest against the real OpenSSH sshd of
// scripts/services.sh: files are uploaded over SFTP (as the sshd user), the
// source lists, downloads and moves them over SFTP.

const sftpFixture = "NAVAll_2019-06-21.txt" // the largest real file

// sftpSetup gives the test an SFTP folder, points the FUNDFLOW_SFTP_*
// variables at the server (the config names them) and logs a client in.
func sftpSetup(t *testing.T) (testkit.SFTPServer, *pkgsftp.Client) {
	srv := testkit.SFTP(t)
	t.Setenv("FUNDFLOW_SFTP_ADDR", srv.Addr)
	t.Setenv("FUNDFLOW_SFTP_USER", srv.User)
	t.Setenv("FUNDFLOW_SFTP_KEY", srv.KeyPath)
	t.Setenv("FUNDFLOW_SFTP_HOST_KEY", srv.HostKeyPath)
	cl, err := sftp.Dial(testkit.Ctx(t), sftp.Config{Addr: srv.Addr, User: srv.User, KeyFile: srv.KeyPath, HostKeyFile: srv.HostKeyPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return srv, cl.SFTP
}

func sftpYAML(dir, extra string) string {
	return `
pipelines:
  nav-ingest:
    source:
      kind: sftp
      path: ` + dir + `
      glob: "NAV*.txt"
      stable_for: 0s
` + extra + `
    batch_size: 1000
    max_reject_rate: 0.5
`
}

func sftpConfig(t *testing.T, dir, extra string) *config.Config {
	cfg, err := config.Parse("test.yaml", []byte(sftpYAML(dir, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// upload writes data to a new remote file over SFTP.
func upload(t *testing.T, cl *pkgsftp.Client, remote string, data []byte) {
	t.Helper()
	f, err := cl.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		t.Fatalf("upload %s: %v", remote, err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatalf("upload %s: %v", remote, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendTo adds data to the end of a remote file over SFTP.
func appendTo(t *testing.T, cl *pkgsftp.Client, remote string, data []byte) {
	t.Helper()
	f, err := cl.OpenFile(remote, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatalf("append %s: %v", remote, err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatalf("append %s: %v", remote, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// listHook runs a function after each listing of the wrapped store: the
// test's way to let an upload progress exactly between the source's two
// looks at the folder.
type listHook struct {
	feed.Store
	lists int
	after func(n int)
}

func (h *listHook) List(ctx context.Context) ([]feed.FileInfo, error) {
	fs, err := h.Store.List(ctx)
	h.lists++
	if h.after != nil {
		h.after(h.lists)
	}
	return fs, err
}

// A file uploaded in two parts while the source polls is not loaded half
// written (its size changed between the two listings); once complete it loads
// once; the same bytes under a new name do not load again.
func TestSFTPTwoPartUploadAndRename(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv, cl := sftpSetup(t)
	data := readFixture(t, sftpFixture)
	want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/"+sftpFixture))
	d := testDeps(t, sftpConfig(t, srv.Dir, ""))
	remote := path.Join(srv.Dir, "NAVAll.txt")

	// The first part is on the server when the poll starts; the second
	// arrives between its two listings.
	half := len(data) / 2
	upload(t, cl, remote, data[:half])
	store, err := feedstore.Open(ctx, navingest.Name, d.cfg.Pipelines.NAVIngest.Source, d.pg, d.log)
	if err != nil {
		t.Fatal(err)
	}
	// The hook hides the store's Close from the run: close it here.
	defer store.(io.Closer).Close()
	hook := &listHook{Store: store, after: func(n int) {
		if n == 1 {
			appendTo(t, cl, remote, data[half:])
		}
	}}
	p, err := navingest.NewFrom(ctx, d.navDeps(), d.cfg.Pipelines.NAVIngest, hook)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hook.lists != 2 || st.In != 0 {
		t.Fatalf("poll during the upload: %d listings, %d records read; want 2 and none", hook.lists, st.In)
	}
	if got := count(t, d, `SELECT count(*) FROM ingested_files`) + count(t, d, `SELECT count(*) FROM navs`); got != 0 {
		t.Fatalf("a half-written file left %d rows behind", got)
	}

	// Complete and stable now: it loads, once.
	st, err = runNAV(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if int(st.In) != want.DataLines || int(st.Out) != want.Valid {
		t.Fatalf("complete file: in=%d out=%d, want %d and %d", st.In, st.Out, want.DataLines, want.Valid)
	}
	if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.Keys) {
		t.Fatalf("navs = %d, want %d", got, len(want.Keys))
	}
	if st, err := runNAV(t, d); err != nil || st.In != 0 {
		t.Fatalf("a poll with nothing new read %d (err %v)", st.In, err)
	}

	// The same bytes under a new name: skipped by fingerprint.
	upload(t, cl, path.Join(srv.Dir, "NAVAll_copy.txt"), data)
	st, err = runNAV(t, d)
	if err != nil || st.In != 0 {
		t.Fatalf("renamed copy: read %d (err %v), want 0", st.In, err)
	}
	if got := count(t, d, `SELECT count(*) FROM ingested_files`); got != 1 {
		t.Fatalf("ingested_files = %d, want 1", got)
	}
	if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.Keys) {
		t.Fatalf("navs after the copy = %d, want %d", got, len(want.Keys))
	}
}

// In .done-marker mode a file loads only once NAME.done exists and is not
// older than it; after the load both move to the archive, so the marker
// cannot vouch for the next file of the same name.
func TestSFTPDoneMarkerAndArchive(t *testing.T) {
	srv, cl := sftpSetup(t)
	d := testDeps(t, sftpConfig(t, srv.Dir, "      done_marker: true\n      archive: true"))
	first := readFixture(t, "NAVAll_2026-08-18_last-6col.txt")
	second := readFixture(t, "NAVAll_2026-08-21_8col-plan-option.txt")
	remote := path.Join(srv.Dir, "NAVAll.txt")
	archived := path.Join(srv.Dir, "archive", "NAVAll.txt")

	upload(t, cl, remote, first)
	if st, err := runNAV(t, d); err != nil || st.In != 0 {
		t.Fatalf("without a marker: read %d (err %v), want 0", st.In, err)
	}
	upload(t, cl, remote+".done", nil)
	want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-18_last-6col.txt"))
	st, err := runNAV(t, d)
	if err != nil || int(st.Out) != want.Valid {
		t.Fatalf("with its marker: wrote %d (err %v), want %d", st.Out, err, want.Valid)
	}
	for _, p := range []string{remote, remote + ".done"} {
		if _, err := cl.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s still in the incoming folder after the load (err %v)", p, err)
		}
	}
	got, err := cl.Open(archived)
	if err != nil {
		t.Fatalf("archived file: %v", err)
	}
	if fi, _ := got.Stat(); fi.Size() != int64(len(first)) {
		t.Fatalf("archived file has %d bytes, want %d", fi.Size(), len(first))
	}
	got.Close()
	if _, err := cl.Stat(archived + ".done"); err != nil {
		t.Fatalf("marker not archived: %v", err)
	}

	// The next file of the same name, with a stale marker from before it (as
	// if an archive move of the marker had failed): not complete.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	upload(t, cl, remote, second)
	upload(t, cl, remote+".done", nil)
	if err := cl.Chtimes(remote+".done", t0, t0); err != nil {
		t.Fatal(err)
	}
	if err := cl.Chtimes(remote, t0.Add(time.Minute), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st, err := runNAV(t, d); err != nil || st.In != 0 {
		t.Fatalf("with a stale marker: read %d (err %v), want 0", st.In, err)
	}
	// A fresh marker completes it.
	if err := cl.Chtimes(remote+".done", t0.Add(2*time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want2 := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-21_8col-plan-option.txt"))
	if st, err := runNAV(t, d); err != nil || int(st.Out) != want2.Valid {
		t.Fatalf("with a fresh marker: wrote %d (err %v), want %d", st.Out, err, want2.Valid)
	}
	if got := count(t, d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`); got != 2 {
		t.Fatalf("files done = %d, want 2", got)
	}
}

// A move to the archive that fails on the server (the archive folder is not
// writable by the SFTP user) leaves the file where it is, and the next poll
// recognises it by fingerprint instead of loading it again.
func TestSFTPFailedArchiveDoesNotReload(t *testing.T) {
	srv, cl := sftpSetup(t)
	locked := filepath.Join(srv.Dir, "locked")
	if err := os.Mkdir(locked, 0o555); err != nil { // owned by root, the sshd user cannot write
		t.Fatal(err)
	}
	if err := os.Chmod(locked, 0o555); err != nil {
		t.Fatal(err)
	}
	d := testDeps(t, sftpConfig(t, srv.Dir, "      archive: true\n      archive_dir: "+locked))
	name := "NAVAll_2026-08-21_8col-plan-option.txt"
	upload(t, cl, path.Join(srv.Dir, name), readFixture(t, name))
	want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/"+name))

	st, err := runNAV(t, d)
	if err != nil || int(st.Out) != want.Valid {
		t.Fatalf("first run wrote %d (err %v), want %d", st.Out, err, want.Valid)
	}
	if _, err := cl.Stat(path.Join(srv.Dir, name)); err != nil {
		t.Fatalf("the file should still be in place after the failed move: %v", err)
	}
	if _, err := cl.Stat(path.Join(locked, name)); err == nil {
		t.Fatal("the file reached the locked archive: the test did not make the move fail")
	}
	for range 2 {
		if st, err := runNAV(t, d); err != nil || st.In != 0 {
			t.Fatalf("a later poll read %d records (err %v), want 0", st.In, err)
		}
	}
	if got := count(t, d, `SELECT count(*) FROM navs`); got != len(want.Keys) {
		t.Fatalf("navs = %d, want %d", got, len(want.Keys))
	}
	if got := count(t, d, `SELECT count(*) FROM job_runs WHERE status = 'ok' AND records_in > 0`); got != 1 {
		t.Fatalf("runs that read records = %d, want 1", got)
	}
}

// A child `fundflow run nav-ingest` reading over SFTP is killed with SIGKILL
// twice mid-file (each time after at least one more batch committed), then
// run to the end: every NAV of the file is in Postgres and ClickHouse once.
func TestSFTPKillMidLoadAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	ctx := testkit.Ctx(t)
	srv, cl := sftpSetup(t)
	pool, pgURL := testkit.PG(t)
	ch, chURL := testkit.CH(t)
	upload(t, cl, path.Join(srv.Dir, sftpFixture), readFixture(t, sftpFixture))
	want := testkit.CountNAVFile(t, testkit.Fixture(t, "amfi/navall/"+sftpFixture))

	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	// Small batches make a long file: hundreds of commits to kill between.
	yaml := strings.Replace(sftpYAML(srv.Dir, ""), "batch_size: 1000", "batch_size: 50", 1)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "FUNDFLOW_PG_URL="+pgURL, "FUNDFLOW_CH_URL="+chURL, "FUNDFLOW_SFTP_ADDR="+srv.Addr,
		"FUNDFLOW_SFTP_USER="+srv.User, "FUNDFLOW_SFTP_KEY="+srv.KeyPath, "FUNDFLOW_SFTP_HOST_KEY="+srv.HostKeyPath)
	// committedLine is how far the file's checkpoint got (0: none yet).
	committedLine := func() int {
		var line int
		err := pool.QueryRow(ctx, `SELECT coalesce(max((convert_from(pos, 'UTF8')::jsonb->>'line')::int), 0) FROM checkpoints`).Scan(&line)
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	fileStatus := func() string {
		var s string
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(status), '') FROM ingested_files`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	last := 0
	for kill := 1; kill <= 2; kill++ {
		cmd := exec.Command(bin, "--config", cfgPath, "--log-level", "warn", "run", "nav-ingest")
		cmd.Env = env
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill as soon as one more batch than before is committed.
		for committedLine() <= last {
			select {
			case err := <-exited:
				t.Fatalf("run %d ended before committing a batch (err %v):\n%s", kill, err, out.String())
			case <-time.After(2 * time.Millisecond):
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		line := committedLine()
		if s := fileStatus(); s != "loading" {
			t.Fatalf("kill %d came after the file was %q: the load is too short to kill mid-file", kill, s)
		}
		var navs int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&navs); err != nil {
			t.Fatal(err)
		}
		if navs == 0 {
			t.Fatalf("kill %d: a batch was committed but no NAV is stored", kill)
		}
		t.Logf("kill %d: checkpoint at line %d, %d NAVs stored", kill, line, navs)
		last = line
	}

	cmd := exec.Command(bin, "--config", cfgPath, "run", "nav-ingest")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if s := fileStatus(); s != "done" {
		t.Fatalf("file status %q after the final run", s)
	}

	wantKeys := map[string]bool{}
	for k := range want.Keys {
		wantKeys[testkit.NormaliseKey(k)] = true
	}
	gotPG, gotCH := storedNAVKeys(t, ctx, pool, ch)
	testkit.AssertSameKeys(t, "postgres navs", gotPG, wantKeys)
	testkit.AssertSameKeys(t, "clickhouse nav_history", gotCH, wantKeys)

	var q int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM quarantine`).Scan(&q); err != nil {
		t.Fatal(err)
	}
	if q != want.DataLines-want.Valid {
		t.Fatalf("quarantine = %d, want %d", q, want.DataLines-want.Valid)
	}
}
