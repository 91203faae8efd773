package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
)

func checkSchedule(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"check", "schedule"}, args...), &out, io.Discard); err != nil {
		t.Fatalf("check schedule %v: %v", args, err)
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	return v
}

// pairs renders the instalments as "nominal>due" and checks that each has
// the two keys as strings.
func pairs(t *testing.T, v map[string]any) []string {
	t.Helper()
	is, ok := v["instalments"].([]any)
	if !ok {
		t.Fatalf("no instalments array: %v", v)
	}
	var out []string
	for _, x := range is {
		m := x.(map[string]any)
		n, ok1 := m["nominal"].(string)
		d, ok2 := m["due"].(string)
		if !ok1 || !ok2 {
			t.Fatalf("instalment without string nominal/due: %v", m)
		}
		out = append(out, n+">"+d)
	}
	return out
}

// The dates are listed by hand from a 2025 calendar and the NSE 2025
// holiday fixture (31-Mar and 21/22-Oct are holidays).
func TestCheckScheduleJSON(t *testing.T) {
	h2025 := testkit.Fixture(t, "calendar/nse_fo_holidays_2025.csv")
	v := checkSchedule(t, "--frequency", "monthly", "--day", "31", "--start", "2025-01-01", "--end", "2025-06-30", "--holidays", h2025)
	want := []string{"2025-01-31>2025-01-31", "2025-02-28>2025-02-28", "2025-03-31>2025-04-01", "2025-04-30>2025-04-30", "2025-05-31>2025-06-02", "2025-06-30>2025-06-30"}
	if got := pairs(t, v); !slices.Equal(got, want) {
		t.Errorf("monthly 31st: %v, want %v", got, want)
	}
	if _, ok := v["dropped"]; ok || len(v) != 1 {
		t.Errorf("a monthly plan's answer has keys %v, want only instalments", v)
	}

	// without the holiday file only weekends move: 31-Mar-2025 is a Monday
	v = checkSchedule(t, "--frequency", "monthly", "--day", "31", "--start", "2025-03-01", "--count", "1")
	if got := pairs(t, v); !slices.Equal(got, []string{"2025-03-31>2025-03-31"}) {
		t.Errorf("no holidays: %v", got)
	}

	v = checkSchedule(t, "--frequency", "daily", "--start", "2025-10-18", "--count", "6", "--holidays", h2025)
	if got := pairs(t, v); !slices.Equal(got, []string{"2025-10-20>2025-10-20", "2025-10-23>2025-10-23"}) {
		t.Errorf("daily: %v", got)
	}
	var dropped []string
	for _, x := range v["dropped"].([]any) {
		dropped = append(dropped, x.(map[string]any)["nominal"].(string))
	}
	if !slices.Equal(dropped, []string{"2025-10-18", "2025-10-19", "2025-10-21", "2025-10-22"}) {
		t.Errorf("dropped: %v", dropped)
	}

	// a made-up holiday week: two Saturdays fall due on Monday 29-Dec (the
	// file also lists Republic Day 2026, so that it covers 2026, where the
	// third instalment falls)
	week := filepath.Join(t.TempDir(), "week.txt")
	os.WriteFile(week, []byte("22-Dec-2025\n23-Dec-2025\n24-Dec-2025\n25-Dec-2025\n26-Dec-2025\n26-Jan-2026\n"), 0o644)
	v = checkSchedule(t, "--frequency", "weekly", "--weekday", "sat", "--start", "2025-12-15", "--count", "3", "--holidays", week)
	if got := pairs(t, v); !slices.Equal(got, []string{"2025-12-20>2025-12-29", "2026-01-03>2026-01-05"}) {
		t.Errorf("weekly: %v", got)
	}
	first := v["instalments"].([]any)[0].(map[string]any)
	if m, _ := first["merged"].([]any); len(m) != 1 || m[0] != "2025-12-27" {
		t.Errorf("merged: %v", first)
	}
}

func TestCheckScheduleBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--frequency", "fortnightly", "--start", "2025-01-01", "--count", "3"}, "--frequency"},
		{[]string{"--frequency", "monthly", "--day", "32", "--start", "2025-01-01", "--count", "3"}, "--day"},
		{[]string{"--frequency", "monthly", "--day", "x", "--start", "2025-01-01", "--count", "3"}, "--day"},
		{[]string{"--frequency", "weekly", "--day", "3", "--start", "2025-01-01", "--count", "3"}, "--day"},
		{[]string{"--frequency", "monthly", "--weekday", "mon", "--start", "2025-01-01", "--count", "3"}, "--weekday"},
		{[]string{"--frequency", "weekly", "--weekday", "monday", "--start", "2025-01-01", "--count", "3"}, "--weekday"},
		{[]string{"--frequency", "monthly", "--start", "2025-13-01", "--count", "3"}, "--start"},
		{[]string{"--frequency", "monthly", "--count", "3"}, "--start"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01"}, "--count"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01", "--count", "3", "--end", "2025-12-31"}, "--end"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01", "--end", "2024-12-31"}, "--end"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01", "--count", "-1"}, "--count"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01", "--count", "many"}, "--count"},
		{[]string{"--frequency", "daily", "--start", "2025-01-01", "--count", "999999"}, "--count"},
		{[]string{"--frequency", "monthly", "--start", "2025-01-01", "--count", "3", "--holidays", "/nonexistent/h.csv"}, "h.csv"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"check", "schedule"}, c.args...), &out, &out)
		if !isExit(err, 2) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want exit 2 with a one-line message naming %s", c.args, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v printed %q", c.args, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "schedule", "--help"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "When will my SIP be debited?") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
}

// The README's `check schedule` lines parse (TestDocumentedCommandLinesParse
// lists the others by hand).
func TestCheckScheduleREADMELinesParse(t *testing.T) {
	f, err := os.Open(filepath.Join(testkit.Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		_, cmd, ok := strings.Cut(line, "bin/fundflow check schedule ")
		if !ok {
			continue
		}
		found++
		args := append([]string{"check", "schedule"}, strings.Fields(strings.ReplaceAll(cmd, "FILE", "f.csv"))...)
		var c cli
		helped := false
		k, err := parser(&c, io.Discard, io.Discard, &helped)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Parse(args); err != nil || helped {
			t.Errorf("%s: %v", line, err)
		}
		if _, err := c.Check.Schedule.spec(); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if found == 0 {
		t.Error("README has no `bin/fundflow check schedule` line")
	}
}
