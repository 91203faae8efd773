package feed

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// listStore is a Store that only lists.
type listStore []FileInfo

func (l listStore) List(ctx context.Context) ([]FileInfo, error)                 { return l, nil }
func (l listStore) Open(ctx context.Context, name string) (io.ReadCloser, error) { return nil, io.EOF }
func (l listStore) Archive(ctx context.Context, name string) error               { return nil }
func (l listStore) Describe() string                                             { return "mem" }

func TestNameDates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lo, hi string // "" = no date
	}{
		{"NAVAll_2026-08-18.txt", "2026-08-18", "2026-08-18"},
		{"NAVAll_20260818.txt", "2026-08-18", "2026-08-18"},
		{"NAV_18-Aug-2026.txt", "2026-08-18", "2026-08-18"},
		{"nav_18-AUG-2026.csv", "2026-08-18", "2026-08-18"},
		{"NAVHistory_2023-01-02_2026-08-18.txt", "2023-01-02", "2026-08-18"},
		{"NAVHistory_2026-08-18_2023-01-02.txt", "2023-01-02", "2026-08-18"},
		{"NAVAll_2026-02-30.txt", "", ""}, // not a date
		{"NAVAll.txt", "", ""},
		{"report-12345.txt", "", ""},
	} {
		lo, hi, ok := NameDates(tc.name)
		if tc.lo == "" {
			if ok {
				t.Errorf("%s: dated %s..%s", tc.name, lo, hi)
			}
			continue
		}
		if !ok || lo.String() != tc.lo || hi.String() != tc.hi {
			t.Errorf("%s: %s..%s (%v), want %s..%s", tc.name, lo, hi, ok, tc.lo, tc.hi)
		}
	}
}

// Files in range are listed oldest first whatever their mtimes; ranges
// overlapping the window are kept; undated names are dated by DateOf (once
// per file version) or left out.
func TestDatedFiltersAndOrders(t *testing.T) {
	now := time.Now()
	files := listStore{
		{Name: "NAVAll_2026-08-18.txt", Size: 1, ModTime: now.Add(-3 * time.Hour)},
		{Name: "NAVAll_2026-08-14.txt", Size: 1, ModTime: now},
		{Name: "NAVAll_2026-08-17.txt", Size: 1, ModTime: now.Add(-time.Hour)},
		{Name: "NAVAll_2026-07-31.txt", Size: 1, ModTime: now},
		{Name: "NAVAll_2026-08-31.txt", Size: 1, ModTime: now},
		{Name: "NAVHistory_2026-06-01_2026-08-03.txt", Size: 1, ModTime: now},
		{Name: "NAVHistory_2025-01-01_2025-12-31.txt", Size: 1, ModTime: now},
		{Name: "NAVAll.txt", Size: 7, ModTime: now},
		{Name: "mystery.txt", Size: 7, ModTime: now},
		{Name: "NAVAll_2026-08-14.txt.done", Size: 0, ModTime: now},
	}
	calls := 0
	d := &Dated{Store: files, From: fund.NewDate(2026, 8, 1), To: fund.NewDate(2026, 8, 20),
		DateOf: func(ctx context.Context, name string) (fund.Date, fund.Date, error) {
			calls++
			if name == "NAVAll.txt" {
				return fund.NewDate(2026, 8, 10), fund.Date{}, nil
			}
			return fund.Date{}, fund.Date{}, nil
		}}
	for range 2 {
		got, err := d.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range got {
			names = append(names, f.Name)
		}
		want := "NAVHistory_2026-06-01_2026-08-03.txt NAVAll.txt NAVAll_2026-08-14.txt NAVAll_2026-08-17.txt NAVAll_2026-08-18.txt"
		if strings.Join(names, " ") != want {
			t.Fatalf("listed %v\nwant %s", names, want)
		}
		if got[0].ModTime != fund.NewDate(2026, 6, 1).Time() {
			t.Errorf("mtime %v", got[0].ModTime)
		}
	}
	if calls != 2 {
		t.Errorf("DateOf called %d times for 2 undated files listed twice", calls)
	}
}
