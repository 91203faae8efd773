package testkit

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NAVCounts counts a NAV file the simple way, independently of the parser:
// data lines are lines with the header's number of ';' fields and a numeric
// first field; a NAV is valid when the "Net Asset Value" field is a positive
// number and its date is at most 3 days after the file's business date, the
// date most valid rows carry. (The jump rule does not apply: each test
// database starts empty and the files used are years apart.)
type NAVCounts struct {
	DataLines, Valid int
	Keys             map[string]bool // distinct scheme|date among valid rows
	Schemes          map[string]bool
}

// CountNAVFile is NAVCounts of the file at path, for tests to expect.
func CountNAVFile(t testing.TB, path string) NAVCounts {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r", ""), "\n")
	header := strings.Split(lines[0], ";")
	navCol, dateCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "Net Asset Value":
			navCol = i
		case "Date":
			dateCol = i
		}
	}
	if navCol < 0 || dateCol < 0 {
		t.Fatalf("%s: header %q has no NAV/Date column", path, lines[0])
	}
	type row struct{ code, date string }
	var good []row
	perDate := map[string]int{}
	e := NAVCounts{Keys: map[string]bool{}, Schemes: map[string]bool{}}
	for _, l := range lines[1:] {
		f := strings.Split(l, ";")
		if len(f) != len(header) {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		e.DataLines++
		if v, err := strconv.ParseFloat(strings.TrimSpace(f[navCol]), 64); err == nil && v > 0 {
			good = append(good, row{f[0], f[dateCol]})
			perDate[f[dateCol]]++
		}
	}
	var business time.Time
	best := 0
	for d, n := range perDate {
		tm, err := time.Parse("02-Jan-2006", d)
		if err != nil {
			t.Fatalf("%s: date %q", path, d)
		}
		if n > best || (n == best && tm.After(business)) {
			business, best = tm, n
		}
	}
	for _, r := range good {
		tm, _ := time.Parse("02-Jan-2006", r.date)
		if tm.After(business.AddDate(0, 0, 3)) {
			continue // future_date
		}
		e.Valid++
		e.Keys[r.code+"|"+r.date] = true
		e.Schemes[r.code] = true
	}
	return e
}

// CopyFile copies a fixture into a test's folder.
func CopyFile(t testing.TB, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// NormaliseKey turns "code|21-Aug-2026" into "code|2026-08-21".
func NormaliseKey(k string) string {
	code, d, _ := strings.Cut(k, "|")
	tm, err := time.Parse("02-Jan-2006", d)
	if err != nil {
		return k
	}
	return code + "|" + tm.Format("2006-01-02")
}

// AssertSameKeys fails the test when got and want differ, naming a few
// keys missing and extra.
func AssertSameKeys(t testing.TB, what string, got, want map[string]bool) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%s: %d keys, want %d; missing %d %v; extra %d %v", what, len(got), len(want), len(missing), firstFive(missing), len(extra), firstFive(extra))
	}
}

func firstFive(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// NAVIngestYAML is the config of a test's nav-ingest over the NAV files in
// dir: every *.txt file as soon as it is there, batches of 1000, the
// reject-rate breaker at one half.
func NAVIngestYAML(dir string) string {
	return `
pipelines:
  nav-ingest:
    source:
      kind: file
      path: ` + dir + `
      glob: "*.txt"
      stable_for: 0s
    batch_size: 1000
    max_reject_rate: 0.5
`
}
