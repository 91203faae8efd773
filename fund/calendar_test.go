package fund

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// calendarFixtureDir is where the shared holiday files live, relative to
// this package's directory (go test runs in it).
const calendarFixtureDir = "../../shared/fixtures/calendar"

// holidayFixture returns the path of a holiday file in the shared fixtures,
// failing the test with a clear message when it cannot be found.
func holidayFixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(calendarFixtureDir, name)
	if _, err := os.Stat(p); err != nil {
		abs, _ := filepath.Abs(p)
		t.Fatalf("holiday fixture %s not found at %s (expected the shared fixtures at <repo>/../shared/fixtures/calendar): %v", name, abs, err)
	}
	return p
}

// loadHolidays parses one shared holiday file.
func loadHolidays(t testing.TB, name string) []Date {
	t.Helper()
	f, err := os.Open(holidayFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := ParseHolidays(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ds
}

// realCalendar is the NSE F&O holidays of 2024, 2025 and 2026 (the final
// files, not the draft) in one calendar.
func realCalendar(t testing.TB) *Calendar {
	t.Helper()
	var all []Date
	for _, n := range []string{"nse_fo_holidays_2024.csv", "nse_fo_holidays_2025.csv", "nse_fo_holidays_2026.csv"} {
		all = append(all, loadHolidays(t, n)...)
	}
	return HolidayCalendar(all...)
}

// must is the answer of a calendar step that must succeed.
func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func d(s string) Date {
	x, err := ParseDMY(s)
	if err != nil {
		panic(err)
	}
	return x
}

func TestParseHolidaysFixtures(t *testing.T) {
	cases := []struct {
		file     string
		n        int
		weekends []string // weekend dates the file lists (PROVENANCE.md)
	}{
		{"nse_fo_holidays_2024.csv", 21, []string{"14-Apr-2024", "21-Apr-2024", "07-Sep-2024", "12-Oct-2024", "02-Nov-2024"}},
		{"nse_fo_holidays_2024_draft-duplicated.csv", 25, nil},
		{"nse_fo_holidays_2025.csv", 18, []string{"26-Jan-2025", "06-Apr-2025", "07-Jun-2025", "06-Jul-2025"}},
		{"nse_fo_holidays_2026.csv", 20, []string{"15-Feb-2026", "21-Mar-2026", "15-Aug-2026", "08-Nov-2026"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ds := loadHolidays(t, c.file)
			if len(ds) != c.n {
				t.Fatalf("%d dates, want %d", len(ds), c.n)
			}
			cal := NewCalendar(ds...)
			if cal.Len() != c.n {
				t.Errorf("calendar has %d holidays, want %d", cal.Len(), c.n)
			}
			var weekends []string
			for _, x := range ds {
				if wd := x.Weekday(); wd == time.Saturday || wd == time.Sunday {
					weekends = append(weekends, x.DMY())
				}
				if must[bool](t)(cal.IsBusinessDay(x)) {
					t.Errorf("%s listed as a holiday but is a business day", x.DMY())
				}
			}
			if c.weekends != nil && !slices.Equal(weekends, c.weekends) {
				t.Errorf("weekend holidays %v, want %v", weekends, c.weekends)
			}
		})
	}
}

// PROVENANCE.md: the draft 2024 file lists every date twice (50 lines, 25
// unique) and has dates that later disappeared (01-Nov-2024 among them).
func TestDraftFileDeduplicates(t *testing.T) {
	raw, err := os.ReadFile(holidayFixture(t, "nse_fo_holidays_2024_draft-duplicated.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n != 50 {
		t.Fatalf("draft has %d lines, want 50", n)
	}
	draft := loadHolidays(t, "nse_fo_holidays_2024_draft-duplicated.csv")
	if len(draft) != 25 {
		t.Fatalf("draft dedups to %d dates, want 25", len(draft))
	}
	// First appearance order is kept.
	if draft[0] != d("22-Jan-2024") || draft[24] != d("25-Dec-2024") {
		t.Errorf("order not kept: first %s, last %s", draft[0].DMY(), draft[24].DMY())
	}
	final := NewCalendar(loadHolidays(t, "nse_fo_holidays_2024.csv")...)
	var gone []string
	for _, x := range draft {
		if !final.IsHoliday(x) {
			gone = append(gone, x.DMY())
		}
	}
	want := []string{"19-Feb-2024", "01-Apr-2024", "09-Apr-2024", "23-May-2024", "16-Sep-2024", "01-Nov-2024"}
	if !slices.Equal(gone, want) {
		t.Errorf("dates dropped from the draft: %v, want %v", gone, want)
	}
}

func TestParseHolidaysFormat(t *testing.T) {
	in := "\uFEFF21-Aug-2026\r\n\r\n  22-AUG-2026  \n21-aug-2026\n\n\n01-Jan-2027"
	ds, err := ParseHolidays(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Date{d("21-Aug-2026"), d("22-Aug-2026"), d("01-Jan-2027")}
	if !slices.Equal(ds, want) {
		t.Errorf("got %v, want %v", ds, want)
	}
	empty, err := ParseHolidays(strings.NewReader(""))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty input: %v, %v", empty, err)
	}
}

func TestParseHolidaysBadLine(t *testing.T) {
	cases := []struct {
		in   string
		line string
	}{
		{"01-Jan-2026\n\n2026-01-02\n", "line 3:"},
		{"32-Jan-2026\n", "line 1:"},
		{"01-Jan-2026\r\n02-Jan-2026\r\nRepublic Day\r\n", "line 3:"},
		{"01-Jan-2026\n26-Jan-2026,Republic Day\n", "line 2:"},
		{"1-Jan-2026\n", "line 1:"},
		{"01-Jan-2026\n02-Jan-2026\n03-Jan-2026\n04-Jan-2026\n05-Jna-2026\n", "line 5:"},
	}
	for _, c := range cases {
		_, err := ParseHolidays(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%q: error %v, want one naming %q", c.in, err, c.line)
		}
	}
	// A read error is reported, not swallowed.
	boom := errors.New("boom")
	if _, err := ParseHolidays(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}

func TestCalendarNavigation(t *testing.T) {
	cal := realCalendar(t)
	type op func(Date) (Date, error)
	next, onOrAfter, prev := cal.NextBusinessDay, cal.BusinessDayOnOrAfter, cal.PrevBusinessDay
	cases := []struct {
		name string
		f    op
		in   string
		want string
	}{
		{"next over a weekend", next, "21-Aug-2026", "24-Aug-2026"},
		{"next from Saturday", next, "22-Aug-2026", "24-Aug-2026"},
		{"next plain weekday", next, "19-Aug-2026", "20-Aug-2026"},
		{"next is strictly after a business day", next, "24-Aug-2026", "25-Aug-2026"},
		{"next over Good Friday 2026", next, "02-Apr-2026", "06-Apr-2026"},
		{"next over 31-Mar-2026", next, "30-Mar-2026", "01-Apr-2026"},
		{"next over the 15-Jan-2026 addition", next, "14-Jan-2026", "16-Jan-2026"},
		{"next over weekend and Republic Day 2026", next, "23-Jan-2026", "27-Jan-2026"},
		{"next over Diwali 21-22 Oct 2025", next, "20-Oct-2025", "23-Oct-2025"},
		{"next over Christmas 2024", next, "24-Dec-2024", "26-Dec-2024"},
		{"next into January 2026", next, "31-Dec-2025", "01-Jan-2026"},
		{"next over Independence Day on Saturday", next, "14-Aug-2026", "17-Aug-2026"},
		{"on-or-after a business day", onOrAfter, "21-Aug-2026", "21-Aug-2026"},
		{"on-or-after a holiday", onOrAfter, "15-Jan-2026", "16-Jan-2026"},
		{"on-or-after a Sunday", onOrAfter, "23-Aug-2026", "24-Aug-2026"},
		{"on-or-after Republic Day 2026", onOrAfter, "26-Jan-2026", "27-Jan-2026"},
		{"prev over Good Friday 2026", prev, "06-Apr-2026", "02-Apr-2026"},
		{"prev over the 15-Jan-2026 addition", prev, "16-Jan-2026", "14-Jan-2026"},
		{"prev over Republic Day 2026", prev, "27-Jan-2026", "23-Jan-2026"},
		{"prev into December", prev, "01-Jan-2026", "31-Dec-2025"},
		{"prev from Monday", prev, "24-Aug-2026", "21-Aug-2026"},
		{"prev over Diwali 2025", prev, "23-Oct-2025", "20-Oct-2025"},
		{"prev over the 22-Jan-2024 ad-hoc holiday", prev, "23-Jan-2024", "19-Jan-2024"},
		// 01-Nov-2024 is in the draft but not in the final 2024 file.
		{"01-Nov-2024 is a business day in the final file", onOrAfter, "01-Nov-2024", "01-Nov-2024"},
	}
	for _, c := range cases {
		if got := must[Date](t)(c.f(d(c.in))); got != d(c.want) {
			t.Errorf("%s: %s → %s, want %s", c.name, c.in, got.DMY(), c.want)
		}
	}
}

func TestCalendarBasics(t *testing.T) {
	cal := NewCalendar(d("26-Jan-2026"), d("15-Jan-2026"), d("26-Jan-2026"), d("15-Feb-2026"))
	if cal.Len() != 3 {
		t.Errorf("Len = %d, want 3", cal.Len())
	}
	if got, want := cal.Holidays(), []Date{d("15-Jan-2026"), d("26-Jan-2026"), d("15-Feb-2026")}; !slices.Equal(got, want) {
		t.Errorf("Holidays = %v, want %v", got, want)
	}
	isBusinessDay := func(c *Calendar, x Date) bool { return must[bool](t)(c.IsBusinessDay(x)) }
	if !cal.IsHoliday(d("15-Feb-2026")) || isBusinessDay(cal, d("15-Feb-2026")) {
		t.Error("15-Feb-2026 (a Sunday holiday) handled wrong")
	}
	if cal.IsHoliday(d("14-Feb-2026")) || isBusinessDay(cal, d("14-Feb-2026")) {
		t.Error("14-Feb-2026 is a Saturday: not a listed holiday, not a business day")
	}
	if !isBusinessDay(cal, d("16-Feb-2026")) {
		t.Error("16-Feb-2026 is a Monday business day")
	}
	// Mutating the returned slice does not change the calendar.
	h := cal.Holidays()
	h[0] = d("01-Jan-2026")
	if cal.IsHoliday(d("01-Jan-2026")) {
		t.Error("Holidays returned internal state")
	}

	var none *Calendar // weekends only
	if none.Len() != 0 || none.Holidays() != nil || none.IsHoliday(d("26-Jan-2026")) {
		t.Error("nil calendar has holidays")
	}
	if !isBusinessDay(none, d("26-Jan-2026")) || must[Date](t)(none.NextBusinessDay(d("23-Jan-2026"))) != d("26-Jan-2026") {
		t.Error("nil calendar: weekends only")
	}
	if empty := NewCalendar(); must[Date](t)(empty.PrevBusinessDay(d("26-Jan-2026"))) != d("23-Jan-2026") {
		t.Error("empty calendar PrevBusinessDay")
	}
}

func TestDateDMY(t *testing.T) {
	for _, s := range []string{"21-Aug-2026", "01-Jan-2027", "29-Feb-2024"} {
		if got := d(s).DMY(); got != s {
			t.Errorf("DMY = %q, want %q", got, s)
		}
	}
}

// A calendar built from holiday files knows the years they cover (a year
// with a holiday in the files); a weekday in any other year is an error that
// names the date and the years, never a silent business day. Issue 16: with
// the 2024-2026 files, 2027 dates counted as business days. Weekends are
// known without a list. Each step that would walk into an uncovered year
// fails too, also when it starts inside the covered ones.
func TestCalendarRefusesDatesOutsideItsYears(t *testing.T) {
	cal := realCalendar(t) // the 2024, 2025 and 2026 files
	if got := cal.Years(); !slices.Equal(got, []int{2024, 2025, 2026}) {
		t.Fatalf("Years = %v", got)
	}
	var oor *OutOfRangeError
	for _, c := range []struct {
		name string
		f    func() error
		date string
	}{
		{"a weekday in 2027", func() error { _, err := cal.IsBusinessDay(d("04-Jan-2027")); return err }, "2027-01-04"},
		{"a weekday in 2023", func() error { _, err := cal.IsBusinessDay(d("29-Dec-2023")); return err }, "2023-12-29"},
		{"next from 31-Dec-2026", func() error { _, err := cal.NextBusinessDay(d("31-Dec-2026")); return err }, "2027-01-01"},
		{"on-or-after Sat 2-Jan-2027", func() error { _, err := cal.BusinessDayOnOrAfter(d("02-Jan-2027")); return err }, "2027-01-04"},
		{"prev from Mon 1-Jan-2024", func() error { _, err := cal.PrevBusinessDay(d("01-Jan-2024")); return err }, "2023-12-29"},
	} {
		err := c.f()
		if !errors.As(err, &oor) || oor.Date.String() != c.date || !strings.Contains(err.Error(), "2024-2026") {
			t.Errorf("%s: %v, want the date %s outside 2024-2026", c.name, err, c.date)
		}
	}
	// Weekends are weekends in any year; the last covered day still steps.
	if ok, err := cal.IsBusinessDay(d("02-Jan-2027")); ok || err != nil {
		t.Errorf("Sat 2-Jan-2027: %v %v, want not a business day, no error", ok, err)
	}
	if got, err := cal.PrevBusinessDay(d("01-Jan-2027")); err != nil || got != d("31-Dec-2026") {
		t.Errorf("prev from 1-Jan-2027: %s %v", got, err)
	}
	// A gap between files is not covered either.
	gap := HolidayCalendar(d("26-Jan-2024"), d("26-Jan-2026"))
	if _, err := gap.IsBusinessDay(d("01-Jul-2025")); !errors.As(err, &oor) || !strings.Contains(err.Error(), "2024, 2026") {
		t.Errorf("2025 between the 2024 and 2026 files: %v", err)
	}
	// NewCalendar and nil stay unbounded (weekends and the dates given).
	for _, c := range []*Calendar{nil, NewCalendar(d("26-Jan-2026"))} {
		if ok, err := c.IsBusinessDay(d("04-Jan-2027")); !ok || err != nil {
			t.Errorf("unbounded %v: %v %v", c.Years(), ok, err)
		}
	}
}
