package holidays

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// write puts each file's text in a temporary folder and returns the paths.
func write(t *testing.T, texts ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, s := range texts {
		p := filepath.Join(dir, string(rune('a'+i))+".txt")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestCalendar(t *testing.T) {
	// 15-Aug-2026 is a Saturday, 14-Sep-2026 a Monday, 2-Oct-2026 a Friday.
	cases := []struct {
		name     string
		files    []string
		holidays []fund.Date // the calendar's, in date order
		errHas   []string
	}{
		{"none: weekends only", nil, nil, nil},
		{"one file, CRLF", []string{"14-Sep-2026\r\n02-Oct-2026\r\n"}, []fund.Date{fund.NewDate(2026, 9, 14), fund.NewDate(2026, 10, 2)}, nil},
		{"two files merged, a repeat kept once", []string{"02-Oct-2026\n", "15-Aug-2026\n02-Oct-2026\n"},
			[]fund.Date{fund.NewDate(2026, 8, 15), fund.NewDate(2026, 10, 2)}, nil},
		{"bad line names the file and line", []string{"14-Sep-2026\n", "02-Oct-2026\n2026-10-03\n"}, nil, []string{"b.txt", "line 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			paths := write(t, c.files...)
			cal, err := Calendar(paths...)
			if c.errHas != nil {
				for _, s := range c.errHas {
					if err == nil || !strings.Contains(err.Error(), s) {
						t.Fatalf("error %v, want it to name %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cal.Holidays()
			if len(got) != len(c.holidays) {
				t.Fatalf("holidays %v, want %v", got, c.holidays)
			}
			for i := range got {
				if got[i] != c.holidays[i] {
					t.Fatalf("holidays %v, want %v", got, c.holidays)
				}
			}
		})
	}
	if _, err := Calendar(filepath.Join(t.TempDir(), "missing.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
