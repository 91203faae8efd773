package feed_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// line is a record of a test file: one line of text.
type line struct {
	from fund.Origin
	text string
}

func (l line) Origin() (pipelines.Position, []byte) {
	return pipelines.Position(l.from), []byte(l.text)
}

// decodeLines reads a file of lines; a line "unreadable" is a read error
// that ends the file, as a failing disk or a broken archive would.
func decodeLines(r io.Reader, f fund.Origin) (func() (line, error), error) {
	sc := bufio.NewScanner(r)
	n := 0
	return func() (line, error) {
		if !sc.Scan() {
			return line{}, io.EOF
		}
		n++
		if sc.Text() == "unreadable" {
			return line{}, errors.New("unreadable bytes")
		}
		from := f
		from.Line = n
		return line{from: from, text: sc.Text()}, nil
	}, nil
}

// A file that cannot be read to its end is marked failed (with its error
// and an alert) and skipped; the files after it load, and a later run
// does not read it again.
func TestSourceSkipsAFileItCannotRead(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	reg := postgres.Store{Pool: pool}
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Hour)
	for i, body := range []string{"a1\na2\na3\n", "b1\nb2\nunreadable\nb4\n", "c1\nc2\n"} {
		p := filepath.Join(dir, fmt.Sprintf("%c.txt", 'a'+i))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute))
	}
	run := func() ([]string, pipelines.Stats, error) {
		var mu sync.Mutex
		var got []string
		sink := pipelines.SinkFunc[string](func(ctx context.Context, b pipelines.Batch[string]) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, b.Items...)
			return nil
		})
		src := feed.NewSource[line]("test", file.Dir{Path: dir}, reg, decodeLines, feed.Options{BatchSize: 2, Log: testkit.Logger(t)})
		p := &pipelines.Pipeline[line, string]{Name: "test", Source: src, Sinks: []pipelines.Sink[string]{sink},
			Stage: func(ctx context.Context, l line) (string, error) { return l.text, nil }, Log: testkit.Logger(t)}
		st, err := p.Run(ctx)
		return got, st, err
	}
	got, st, err := run()
	if !errors.Is(err, pipelines.ErrUnitFailed) || !strings.Contains(err.Error(), "b.txt line 3: unreadable bytes") {
		t.Fatalf("run error %v", err)
	}
	// b's first batch (b1, b2) was read before the error.
	if strings.Join(got, " ") != "a1 a2 a3 b1 b2 c1 c2" || st.FailedUnits != 1 {
		t.Fatalf("loaded %v, stats %+v", got, st)
	}
	var status, detail string
	if err := pool.QueryRow(ctx, `SELECT status, error FROM ingested_files WHERE name = 'b.txt'`).Scan(&status, &detail); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(detail, "b.txt line 3") {
		t.Fatalf("b.txt is %s: %q", status, detail)
	}
	var alerts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM alerts WHERE kind = 'file_failed' AND subject = 'test/b.txt'`).Scan(&alerts); err != nil || alerts != 1 {
		t.Fatalf("%d file_failed alerts (%v)", alerts, err)
	}
	if got, st, err := run(); err != nil || len(got) != 0 || st.In != 0 {
		t.Fatalf("second run loaded %v (%v): the failed file must be skipped", got, err)
	}
}

// A file whose name is not UTF-8 (a Latin-1 name on the server) loads: the
// name is stored and shown with U+FFFD, its rows keep it as their file.
func TestSourceLoadsAFileWithALatin1Name(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "caf\xe9.txt"), []byte("x1\nx2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var files []string
	sink := pipelines.SinkFunc[line](func(ctx context.Context, b pipelines.Batch[line]) error {
		for _, l := range b.Items {
			files = append(files, l.from.File)
		}
		return nil
	})
	src := feed.NewSource[line]("test", file.Dir{Path: dir}, postgres.Store{Pool: pool}, decodeLines, feed.Options{Log: testkit.Logger(t)})
	p := &pipelines.Pipeline[line, line]{Name: "test", Source: src, Sinks: []pipelines.Sink[line]{sink},
		Stage: func(ctx context.Context, l line) (line, error) { return l, nil }, Log: testkit.Logger(t)}
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	var name, status string
	if err := pool.QueryRow(ctx, `SELECT name, status FROM ingested_files`).Scan(&name, &status); err != nil {
		t.Fatal(err)
	}
	if name != "caf\uFFFD.txt" || status != "done" || strings.Join(files, " ") != "caf\uFFFD.txt caf\uFFFD.txt" {
		t.Fatalf("ingested_files %q %s, rows from %q", name, status, files)
	}
}

// A file rejected whole (an HTML error page where a NAV file should be) or
// failed part-way is moved out of the inbox into rejected/ when the source
// may move files (archive), so the next run neither lists nor reads it;
// the loaded files go to archive/. Issue 16: the demo's HTML page stayed in
// the inbox and was downloaded and hashed again by every run. Without
// archive the file stays (recorded, skipped by its fingerprint), and a
// later run with archive sets it aside.
func TestSourceSetsRejectedAndFailedFilesAside(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	reg := postgres.Store{Pool: pool}
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Hour)
	for i, f := range []struct{ name, body string }{
		{"a.txt", "a1\na2\n"}, {"error.txt", "<html>404</html>\n"}, {"b.txt", "b1\nunreadable\n"}, {"c.txt", "c1\n"},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute))
	}
	decode := func(r io.Reader, f fund.Origin) (func() (line, error), error) {
		br := bufio.NewReader(r)
		if head, _ := br.Peek(5); string(head) == "<html" {
			return nil, fmt.Errorf("%w: an HTML page, not a feed file", pipelines.ErrRejectFile)
		}
		return decodeLines(br, f)
	}
	run := func(archive bool) (*feed.Source[line], []string) {
		var mu sync.Mutex
		var got []string
		sink := pipelines.SinkFunc[string](func(ctx context.Context, b pipelines.Batch[string]) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, b.Items...)
			return nil
		})
		src := feed.NewSource[line]("test", file.Dir{Path: dir}, reg, decode, feed.Options{BatchSize: 2, Archive: archive, Log: testkit.Logger(t)})
		p := &pipelines.Pipeline[line, string]{Name: "test", Source: src, Sinks: []pipelines.Sink[string]{sink},
			Stage: func(ctx context.Context, l line) (string, error) { return l.text, nil }, Log: testkit.Logger(t)}
		p.Run(ctx) // b.txt fails: the run reports it, the others load
		return src, got
	}
	ls := func(sub string) string {
		es, _ := os.ReadDir(filepath.Join(dir, sub))
		var names []string
		for _, e := range es {
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
		return strings.Join(names, " ")
	}

	// Without archive nothing moves; the rejected and failed files are
	// recorded, and the next run skips them by their fingerprint.
	// (b1 shares its batch of two with the unreadable line: neither loads)
	if _, got := run(false); strings.Join(got, " ") != "a1 a2 c1" {
		t.Fatalf("first run loaded %v", got)
	}
	if ls("") != "a.txt b.txt c.txt error.txt" {
		t.Fatalf("inbox after a run without archive: %s", ls(""))
	}
	var status string
	if err := pool.QueryRow(ctx, `SELECT status FROM ingested_files WHERE name = 'error.txt'`).Scan(&status); err != nil || status != "rejected" {
		t.Fatalf("error.txt: %q %v", status, err)
	}
	// With archive, the files seen before move: loaded to archive/, the
	// rejected and the failed one to rejected/.
	if src, got := run(true); len(got) != 0 || len(src.Skipped) != 4 {
		t.Fatalf("second run loaded %v, skipped %v", got, src.Skipped)
	}
	if ls("") != "" || ls("archive") != "a.txt c.txt" || ls("rejected") != "b.txt error.txt" {
		t.Fatalf("inbox %q, archive %q, rejected %q", ls(""), ls("archive"), ls("rejected"))
	}
	// New arrivals rejected or failed in the run that sees them first move
	// at once; the next run reads nothing.
	os.WriteFile(filepath.Join(dir, "error2.txt"), []byte("<html>503</html>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "d.txt"), []byte("d1\nunreadable\n"), 0o644)
	past := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(dir, "error2.txt"), past, past)
	os.Chtimes(filepath.Join(dir, "d.txt"), past, past)
	if src, got := run(true); len(got) != 0 || len(src.Skipped) != 0 {
		t.Fatalf("third run loaded %v, skipped %v", got, src.Skipped)
	}
	if ls("") != "" || ls("rejected") != "b.txt d.txt error.txt error2.txt" {
		t.Fatalf("inbox %q, rejected %q", ls(""), ls("rejected"))
	}
	if src, got := run(true); len(got) != 0 || len(src.Skipped) != 0 {
		t.Fatalf("fourth run read %v, skipped %v: nothing is left to read", got, src.Skipped)
	}
}
