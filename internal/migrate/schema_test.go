package migrate_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite sql/postgres/schema.snapshot from the migrations (TestSchemaSnapshot)")

// snapshotPath is the committed schema, relative to the repository root.
const snapshotPath = "sql/postgres/schema.snapshot"

const regenerate = "make schema-snapshot (or: go test ./internal/migrate -run TestSchemaSnapshot -update)"

const snapshotHeader = `-- The Postgres schema that sql/postgres/*.sql make on an empty database:
-- pg_dump --schema-only --no-owner --no-privileges, without pg_dump's own
-- comments, SET lines and per-run keys. Generated, do not edit: a change here
-- is a schema change, to be read in review. Regenerate with
-- ` + regenerate + `.

`

// TestSchemaSnapshot applies every migration to an empty database and
// compares its schema with the committed snapshot, so that a schema change
// shows in review as a change of that file.
func TestSchemaSnapshot(t *testing.T) {
	pool, dbURL := testkit.EmptyPG(t)
	ctx := testkit.Ctx(t)
	if _, err := migrate.Postgres(ctx, pool, testkit.Logger(t)); err != nil {
		t.Fatal(err)
	}
	var major int
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int / 10000`).Scan(&major); err != nil {
		t.Fatal(err)
	}
	got := snapshotHeader + normaliseDump(pgDump(t, major, dbURL))

	file := filepath.Join(testkit.Root(t), filepath.FromSlash(snapshotPath))
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", snapshotPath)
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v: regenerate it with %s", err, regenerate)
	}
	if got != string(want) {
		t.Fatalf("the schema the migrations make differs from %s:\n%s\nIf the change is intended, regenerate the snapshot with %s and commit it with the migration.",
			snapshotPath, lineDiff(string(want), got), regenerate)
	}
}

// pgDump runs the server's own major version of pg_dump (an older one refuses
// a newer server, a newer one words things differently): $FUNDFLOW_PG_DUMP,
// else Debian's /usr/lib/postgresql/MAJOR/bin/pg_dump, else pg_dump on PATH.
func pgDump(t *testing.T, major int, dbURL string) string {
	t.Helper()
	bin := os.Getenv("FUNDFLOW_PG_DUMP")
	if bin == "" {
		bin = fmt.Sprintf("/usr/lib/postgresql/%d/bin/pg_dump", major)
		if _, err := os.Stat(bin); err != nil {
			bin = "pg_dump"
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--schema-only", "--no-owner", "--no-privileges", "--dbname="+dbURL)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s (set FUNDFLOW_PG_DUMP to a pg_dump of major version %d)", bin, err, stderr.String(), major)
	}
	return stdout.String()
}

// dumpNoise is what varies between runs or says nothing about the schema:
// pg_dump's own comments (header, "-- Name: …" blocks), session SET lines and
// the random key of \restrict / \unrestrict (pg_dump 15.14 and later).
var dumpNoise = regexp.MustCompile(`^(--$|-- (Name|Dumped|PostgreSQL database dump)|SET [a-z_]+ = .*;$|SELECT pg_catalog\.set_config\(|\\(un)?restrict )`)

// normaliseDump drops the noise lines and runs of blank lines. Comments
// inside function bodies (indented, or not of pg_dump's forms) stay: they are
// part of the function.
func normaliseDump(dump string) string {
	var out []string
	for _, line := range strings.Split(dump, "\n") {
		line = strings.TrimRight(line, " \t")
		if dumpNoise.MatchString(line) {
			continue
		}
		if line == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}

// lineDiff is a unified-style diff of want and got (longest common
// subsequence of lines), with two lines of context, at most 60 lines.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte // ' ', '-', '+'
		text string
	}
	var all []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			all = append(all, line{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			all = append(all, line{'-', a[i]})
			i++
		default:
			all = append(all, line{'+', b[j]})
			j++
		}
	}
	const context = 2
	show := make([]bool, len(all))
	for k, l := range all {
		if l.op != ' ' {
			for c := max(k-context, 0); c <= min(k+context, len(all)-1); c++ {
				show[c] = true
			}
		}
	}
	var out []string
	for k, l := range all {
		if !show[k] {
			continue
		}
		if k > 0 && !show[k-1] && len(out) > 0 {
			out = append(out, "…")
		}
		out = append(out, string(l.op)+" "+l.text)
	}
	if len(out) > 60 {
		out = append(out[:60], fmt.Sprintf("… and %d more lines", len(out)-60))
	}
	return strings.Join(out, "\n")
}
