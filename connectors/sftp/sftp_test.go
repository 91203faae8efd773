package sftp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fundflow/fundflow/internal/testkit"
)

func dial(t testing.TB, srv testkit.SFTPServer) *Client {
	t.Helper()
	cl, err := Dial(testkit.Ctx(t), Config{Addr: srv.Addr, User: srv.User, KeyFile: srv.KeyPath, HostKeyFile: srv.HostKeyPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// The client talks only to the server whose host key is pinned.
func TestDialRejectsAnotherHostKey(t *testing.T) {
	srv := testkit.SFTP(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other_host.pub")
	if err := os.WriteFile(other, ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Dial(testkit.Ctx(t), Config{Addr: srv.Addr, User: srv.User, KeyFile: srv.KeyPath, HostKeyFile: other})
	if err == nil || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("dial with a wrong pinned host key: err = %v, want a host key mismatch", err)
	}
}

// List shows regular files only (not folders) with their sizes; Open reads
// the bytes; Archive moves a file into the archive folder, creating it.
func TestDirListOpenArchive(t *testing.T) {
	ctx := testkit.Ctx(t)
	srv := testkit.SFTP(t)
	files := map[string]string{"NAVAll.txt": "Scheme Code;...\r\n", "NAVAll.txt.done": "", "b.txt": strings.Repeat("x", 70000)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(srv.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(srv.Dir, "sub"), 0o777); err != nil {
		t.Fatal(err)
	}
	d := Dir{Client: dial(t, srv), Path: srv.Dir}
	got, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(files) {
		t.Fatalf("listed %d entries, want the %d files: %+v", len(got), len(files), got)
	}
	for _, fi := range got {
		body, ok := files[fi.Name]
		if !ok || fi.Size != int64(len(body)) {
			t.Fatalf("listed %s (%d bytes), want one of the uploaded files with its size", fi.Name, fi.Size)
		}
		rc, err := d.Open(ctx, fi.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != body {
			t.Fatalf("%s: read %d bytes (err %v), want %d", fi.Name, len(b), err, len(body))
		}
	}
	if err := d.Archive(ctx, "b.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "archive", "b.txt")); err != nil {
		t.Fatalf("not archived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "b.txt")); !os.IsNotExist(err) {
		t.Fatalf("still in the folder after archiving: %v", err)
	}
	if err := d.Archive(ctx, "missing.txt"); err == nil {
		t.Fatal("archiving a missing file succeeded")
	}
}

// BenchmarkSFTPDownload measures downloading and fingerprinting the largest
// real NAV file from the real sshd (what the feed source does with every
// file), against reading and hashing the same bytes from local disk.
func BenchmarkSFTPDownload(b *testing.B) {
	srv := testkit.SFTP(b)
	fixture := testkit.Fixture(b, "amfi/navall/NAVAll_2019-06-21.txt")
	data, err := os.ReadFile(fixture)
	if err != nil {
		b.Fatal(err)
	}
	local := filepath.Join(srv.Dir, "NAVAll.txt")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		b.Fatal(err)
	}
	want := sha256.Sum256(data)
	d := Dir{Client: dial(b, srv), Path: srv.Dir}
	ctx := context.Background()

	hash := func(open func() (io.ReadCloser, error)) time.Duration {
		t0 := time.Now()
		rc, err := open()
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(h, io.Discard), rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
		took := time.Since(t0)
		if hex.EncodeToString(h.Sum(nil)) != hex.EncodeToString(want[:]) {
			b.Fatal("downloaded bytes differ from the file")
		}
		return took
	}
	var remote, disk time.Duration
	b.ResetTimer()
	for range b.N {
		remote += hash(func() (io.ReadCloser, error) { return d.Open(ctx, "NAVAll.txt") })
		disk += hash(func() (io.ReadCloser, error) { return os.Open(local) })
	}
	mb := float64(len(data)) / 1e6
	b.ReportMetric(float64(remote.Microseconds())/1000/float64(b.N), "sftp_ms/file")
	b.ReportMetric(mb*float64(b.N)/remote.Seconds(), "sftp_MB/s")
	b.ReportMetric(float64(disk.Microseconds())/1000/float64(b.N), "local_ms/file")
	b.ReportMetric(disk.Seconds()/remote.Seconds(), "ratio_vs_local")
}
