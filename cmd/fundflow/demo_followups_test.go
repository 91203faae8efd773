package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The commands `make demo` prints last, and the README's demo block, work
// pasted into a new shell (issue 16: they failed with "open fundflow.yaml"
// and then "relation quarantine does not exist", the env pointing at the
// services' database). Checked as far as a test can without the demo's
// databases:
//   - scripts/demo.sh writes $DEMO/env only after it has exported the
//     demo's config and databases, and a file written that way (export -p)
//     gives a new `env -i bash` every variable back, URLs with ? and & too;
//   - every printed line that runs bin/fundflow (or psql with a variable)
//     sources $DEMO/env first, except check schedule (no config);
//   - the README's block starts with `source .state/demo/env`;
//   - each fundflow command on those lines parses.
func TestDemoFollowUpsWorkInANewShell(t *testing.T) {
	b, err := os.ReadFile("../../scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	envAt := strings.Index(script, `export -p | grep '^declare -x FUNDFLOW_' > "$DEMO/env"`)
	if envAt < 0 {
		t.Fatal("scripts/demo.sh does not write $DEMO/env")
	}
	for _, set := range []string{"export FUNDFLOW_CONFIG=$DEMO/fundflow.yaml", "export FUNDFLOW_PG_URL=${FUNDFLOW_PG_URL/\\/postgres\\?/\\/fundflow_demo?}",
		"export FUNDFLOW_CH_URL=", "export FUNDFLOW_JWT_SECRET=", "export FUNDFLOW_ORDERS_TOKEN=", "export FUNDFLOW_PII_KEY="} {
		if i := strings.Index(script, set); i < 0 || i > envAt {
			t.Errorf("scripts/demo.sh: %q is not set before $DEMO/env is written", set)
		}
	}

	// The env file's format, through a real shell.
	if _, err := exec.LookPath("bash"); err == nil {
		dir := t.TempDir()
		env := filepath.Join(dir, "env")
		url := "postgres://fundflow_app@127.0.0.1:5/fundflow_demo?sslmode=disable&x=1"
		write := exec.Command("bash", "-c", `export FUNDFLOW_CONFIG="$1" FUNDFLOW_PG_URL="$2"; export -p | grep '^declare -x FUNDFLOW_' > "$3"`,
			"bash", filepath.Join(dir, "fundflow.yaml"), url, env)
		write.Env = []string{"PATH=" + os.Getenv("PATH")}
		if out, err := write.CombinedOutput(); err != nil {
			t.Fatalf("write env: %v %s", err, out)
		}
		read := exec.Command("env", "-i", "bash", "-c", `. "$1"; printf '%s|%s' "$FUNDFLOW_CONFIG" "$FUNDFLOW_PG_URL"`, "bash", env)
		out, err := read.CombinedOutput()
		if want := filepath.Join(dir, "fundflow.yaml") + "|" + url; err != nil || string(out) != want {
			t.Errorf("a new shell sourcing the env file: %q (%v), want %q", out, err, want)
		}
	}

	_, rest, ok := strings.Cut(script, "Where to look next")
	printed, _, ok2 := strings.Cut(rest, "\nEOF2\n")
	if !ok || !ok2 {
		t.Fatal("scripts/demo.sh: no 'Where to look next' block")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "f.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	vars := strings.NewReplacer("$QID", "5", "$FIXTURES", dir, "$DEMO", dir)
	comment := regexp.MustCompile(`\s+#.*$`)
	n := 0
	for _, l := range strings.Split(printed, "\n")[1:] {
		l = comment.ReplaceAllString(strings.TrimSpace(l), "")
		if !strings.Contains(l, "bin/fundflow") && !strings.Contains(l, `\$FUNDFLOW_`) {
			continue
		}
		sourced := strings.HasPrefix(l, ". $DEMO/env;")
		for _, part := range strings.Split(l, ";") {
			args := strings.Fields(vars.Replace(strings.TrimSpace(part)))
			if len(args) == 0 || args[0] != "bin/fundflow" {
				continue
			}
			n++
			if !sourced && !(len(args) > 2 && args[1] == "check" && args[2] == "schedule") {
				t.Errorf("printed line does not source $DEMO/env first: %s", l)
			}
			parses(t, args[1:], l)
		}
	}
	if n < 8 {
		t.Errorf("%d fundflow commands among the demo's last lines, want the 8 or more it prints", n)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(readme), "## Looking at the demo's result")
	block, _, _ = strings.Cut(block, "\n```\n")
	_, block, _ = strings.Cut(block, "```sh\n")
	if !strings.HasPrefix(block, "source .state/demo/env\n") {
		t.Errorf("the README's demo block does not start with source .state/demo/env:\n%s", block)
	}
	for _, l := range strings.Split(block, "\n") {
		args := strings.Fields(comment.ReplaceAllString(l, ""))
		if len(args) > 0 && args[0] == "bin/fundflow" {
			parses(t, args[1:], l)
		}
	}
}

// parses fails t when args do not parse as a fundflow command line.
func parses(t *testing.T, args []string, line string) {
	t.Helper()
	var c cli
	helped := false
	k, err := parser(&c, io.Discard, io.Discard, &helped)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Parse(args); err != nil || helped {
		t.Errorf("%s: %v", line, err)
	}
}
