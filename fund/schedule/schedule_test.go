package schedule_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/testkit"
)

// nse is the business-day calendar of the NSE F&O holiday fixtures,
// 2024–2026.
func nse(t testing.TB) *fund.Calendar {
	t.Helper()
	var files []string
	for _, y := range []string{"2024", "2025", "2026"} {
		files = append(files, testkit.Fixture(t, "calendar/nse_fo_holidays_"+y+".csv"))
	}
	cal, err := holidays.Calendar(files...)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func d(s string) fund.Date {
	v, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return v
}

// show renders instalments as "seq nominal>due[+merged…]" for a readable
// diff against a list written by hand.
func show(is []schedule.Instalment) []string {
	out := make([]string, 0, len(is))
	for _, i := range is {
		s := fmt.Sprintf("%d %s>%s", i.Seq, i.Nominal, i.Due)
		for _, m := range i.Merged {
			s += "+" + m.String()
		}
		out = append(out, s)
	}
	return out
}

func check(t *testing.T, spec schedule.Spec, cal *fund.Calendar, want []string) {
	t.Helper()
	got, err := schedule.All(spec, cal)
	if err != nil {
		t.Fatal(err)
	}
	if g := show(got); !slices.Equal(g, want) {
		t.Errorf("instalments:\n got %s\nwant %s", strings.Join(g, ", "), strings.Join(want, ", "))
	}
}

// The expected dates below were listed by hand from a printed 2024–2026
// calendar and the NSE F&O holiday fixtures, not from this package.

func TestMonthlyOn31stFor2025(t *testing.T) {
	// 2025 holidays that matter: 31-Mar (Mon, Id-ul-Fitr).
	check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2025-01-01"), End: d("2025-12-31")}, nse(t), []string{
		"1 2025-01-31>2025-01-31", // Fri
		"2 2025-02-28>2025-02-28", // no 31st: Feb's last day, a Fri
		"3 2025-03-31>2025-04-01", // Mon, a holiday → Tue
		"4 2025-04-30>2025-04-30", // no 31st: Wed 30th
		"5 2025-05-31>2025-06-02", // Sat → Mon
		"6 2025-06-30>2025-06-30", // Mon
		"7 2025-07-31>2025-07-31", // Thu
		"8 2025-08-31>2025-09-01", // Sun → Mon
		"9 2025-09-30>2025-09-30", // Tue
		"10 2025-10-31>2025-10-31",
		"11 2025-11-30>2025-12-01", // Sun → Mon
		"12 2025-12-31>2025-12-31",
	})
}

func TestMonthlyOn31stFor2024(t *testing.T) {
	check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2024-01-01"), Count: 12}, nse(t), []string{
		"1 2024-01-31>2024-01-31",
		"2 2024-02-29>2024-02-29", // leap year: the 29th is February's last day
		"3 2024-03-31>2024-04-01", // Sun → Mon
		"4 2024-04-30>2024-04-30",
		"5 2024-05-31>2024-05-31",
		"6 2024-06-30>2024-07-01", // Sun → Mon
		"7 2024-07-31>2024-07-31",
		"8 2024-08-31>2024-09-02", // Sat → Mon
		"9 2024-09-30>2024-09-30",
		"10 2024-10-31>2024-10-31",
		"11 2024-11-30>2024-12-02", // Sat → Mon
		"12 2024-12-31>2024-12-31",
	})
}

func TestMonthlyOn29thAcrossFebruary(t *testing.T) {
	cal := nse(t)
	t.Run("leap 2024", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 29, Start: d("2024-01-01"), Count: 4}, cal, []string{
			"1 2024-01-29>2024-01-29",
			"2 2024-02-29>2024-02-29", // exists in 2024, a Thu
			"3 2024-03-29>2024-04-01", // Good Friday holiday, then the weekend
			"4 2024-04-29>2024-04-29",
		})
	})
	t.Run("common 2025", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 29, Start: d("2025-01-01"), Count: 4}, cal, []string{
			"1 2025-01-29>2025-01-29",
			"2 2025-02-28>2025-02-28", // no 29th: the 28th, a Fri
			"3 2025-03-29>2025-04-01", // Sat; Mon 31st a holiday → Tue
			"4 2025-04-29>2025-04-29",
		})
	})
}

func TestDiwali(t *testing.T) {
	cal := nse(t)
	// The 2024 fixture lists Diwali as 02-Nov-2024 (a Saturday), not
	// 01-Nov-2024: by this calendar 1 November 2024 is a business day.
	if nov1, _ := cal.IsBusinessDay(d("2024-11-01")); !nov1 || cal.IsHoliday(d("2024-11-01")) || !cal.IsHoliday(d("2024-11-02")) {
		t.Fatal("the 2024 fixture changed: re-list the Diwali dates by hand")
	}
	check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 1, Start: d("2024-10-01"), Count: 3}, cal, []string{
		"1 2024-10-01>2024-10-01",
		"2 2024-11-01>2024-11-01",
		"3 2024-12-01>2024-12-02", // Sun → Mon
	})
	// 2025: Diwali Laxmi Pujan 21-Oct (Tue) and Balipratipada 22-Oct (Wed).
	check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 21, Start: d("2025-09-01"), Count: 3}, cal, []string{
		"1 2025-09-21>2025-09-22", // Sun → Mon
		"2 2025-10-21>2025-10-23", // Tue and Wed holidays → Thu
		"3 2025-11-21>2025-11-21",
	})
}

func TestQuarterly(t *testing.T) {
	cal := nse(t)
	t.Run("31st from January", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Quarterly, Day: 31, Start: d("2025-01-15"), Count: 5}, cal, []string{
			"1 2025-01-31>2025-01-31",
			"2 2025-04-30>2025-04-30",
			"3 2025-07-31>2025-07-31",
			"4 2025-10-31>2025-10-31",
			"5 2026-01-31>2026-02-02", // Sat → Mon
		})
	})
	t.Run("31st from February", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Quarterly, Day: 31, Start: d("2024-02-01"), Count: 4}, cal, []string{
			"1 2024-02-29>2024-02-29",
			"2 2024-05-31>2024-05-31",
			"3 2024-08-31>2024-09-02", // Sat → Mon
			"4 2024-11-30>2024-12-02", // Sat → Mon
		})
	})
	t.Run("first D after start, end inclusive", func(t *testing.T) {
		// 29-Mar-2024 is before the start: the first is 29-Apr.
		check(t, schedule.Spec{Frequency: schedule.Quarterly, Day: 29, Start: d("2024-03-30"), End: d("2025-04-29")}, cal, []string{
			"1 2024-04-29>2024-04-29",
			"2 2024-07-29>2024-07-29",
			"3 2024-10-29>2024-10-29",
			"4 2025-01-29>2025-01-29",
			"5 2025-04-29>2025-04-29", // End, inclusive
		})
	})
}

func TestDailyOverAHolidayWeek(t *testing.T) {
	cal := nse(t)
	t.Run("Diwali 2025", func(t *testing.T) {
		spec := schedule.Spec{Frequency: schedule.Daily, Start: d("2025-10-18"), End: d("2025-10-26")}
		check(t, spec, cal, []string{
			"3 2025-10-20>2025-10-20",
			"6 2025-10-23>2025-10-23",
			"7 2025-10-24>2025-10-24",
		})
		s, err := schedule.Explain(spec, cal)
		if err != nil {
			t.Fatal(err)
		}
		want := []schedule.Nominal{{1, d("2025-10-18")}, {2, d("2025-10-19")}, {4, d("2025-10-21")}, {5, d("2025-10-22")}, {8, d("2025-10-25")}, {9, d("2025-10-26")}}
		if !slices.Equal(s.Dropped, want) {
			t.Errorf("dropped %v, want %v", s.Dropped, want)
		}
	})
	t.Run("April 2024, count", func(t *testing.T) {
		// 11-Apr (Thu), 14-Apr (Sun), 17-Apr (Wed) are holidays; 12 nominal dates.
		check(t, schedule.Spec{Frequency: schedule.Daily, Start: d("2024-04-08"), Count: 12}, cal, []string{
			"1 2024-04-08>2024-04-08",
			"2 2024-04-09>2024-04-09",
			"3 2024-04-10>2024-04-10",
			"5 2024-04-12>2024-04-12",
			"8 2024-04-15>2024-04-15",
			"9 2024-04-16>2024-04-16",
			"11 2024-04-18>2024-04-18",
			"12 2024-04-19>2024-04-19",
		})
	})
}

func TestWeekly(t *testing.T) {
	t.Run("across Diwali", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Weekly, Weekday: time.Wednesday, Start: d("2025-10-13"), Count: 3}, nse(t), []string{
			"1 2025-10-15>2025-10-15", // the first Wednesday on or after Mon 13th
			"2 2025-10-22>2025-10-23", // a holiday → Thu
			"3 2025-10-29>2025-10-29",
		})
	})
	t.Run("a holiday week merges two Saturdays", func(t *testing.T) {
		// a made-up calendar: Mon 22 to Fri 26 December 2025 all holidays
		cal := fund.NewCalendar(d("2025-12-22"), d("2025-12-23"), d("2025-12-24"), d("2025-12-25"), d("2025-12-26"))
		check(t, schedule.Spec{Frequency: schedule.Weekly, Weekday: time.Saturday, Start: d("2025-12-20"), Count: 3}, cal, []string{
			"1 2025-12-20>2025-12-29+2025-12-27", // both Saturdays fall due on Mon 29th
			"3 2026-01-03>2026-01-05",
		})
	})
}

func TestChangeOfDay(t *testing.T) {
	cal := nse(t)
	t.Run("monthly 5th to 20th", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2025-01-01"), Count: 6,
			Changes: []schedule.Change{{From: d("2025-03-10"), Day: 20}}}, cal, []string{
			"1 2025-01-05>2025-01-06", // Sun → Mon
			"2 2025-02-05>2025-02-05",
			"3 2025-03-05>2025-03-05", // before From: the old day
			"4 2025-03-20>2025-03-20", // the first 20th on or after 10-Mar
			"5 2025-04-20>2025-04-21", // Sun → Mon
			"6 2025-05-20>2025-05-20",
		})
	})
	t.Run("weekly monday to friday", func(t *testing.T) {
		check(t, schedule.Spec{Frequency: schedule.Weekly, Weekday: time.Monday, Start: d("2025-06-02"), Count: 5,
			Changes: []schedule.Change{{From: d("2025-06-18"), Weekday: time.Friday}}}, cal, []string{
			"1 2025-06-02>2025-06-02",
			"2 2025-06-09>2025-06-09",
			"3 2025-06-16>2025-06-16",
			"4 2025-06-20>2025-06-20",
			"5 2025-06-27>2025-06-27",
		})
	})
	t.Run("quarterly keeps its months", func(t *testing.T) {
		// Jan/Apr/Jul/Oct; from 1 May the day is the 25th: the next is 25-Jul.
		check(t, schedule.Spec{Frequency: schedule.Quarterly, Day: 10, Start: d("2025-01-01"), Count: 4,
			Changes: []schedule.Change{{From: d("2025-05-01"), Day: 25}}}, cal, []string{
			"1 2025-01-10>2025-01-10",
			"2 2025-04-10>2025-04-11", // Mahavir Jayanti → Fri
			"3 2025-07-25>2025-07-25",
			"4 2025-10-25>2025-10-27", // Sat → Mon
		})
	})
	t.Run("old and new nominal dates merge", func(t *testing.T) {
		// 29-Mar-2024 is Good Friday; the new rule's 31-Mar is a Sunday:
		// both fall due on Mon 1-Apr.
		check(t, schedule.Spec{Frequency: schedule.Monthly, Day: 29, Start: d("2024-01-01"), Count: 5,
			Changes: []schedule.Change{{From: d("2024-03-30"), Day: 31}}}, cal, []string{
			"1 2024-01-29>2024-01-29",
			"2 2024-02-29>2024-02-29",
			"3 2024-03-29>2024-04-01+2024-03-31",
			"5 2024-04-30>2024-04-30",
		})
	})
}

func TestNoNominalDateBeforeEnd(t *testing.T) {
	got, err := schedule.All(schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2025-01-05"), End: d("2025-01-30")}, nse(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want none", got, err)
	}
	if _, ok, err := schedule.Last(schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2025-01-05"), End: d("2025-01-30")}); ok || err != nil {
		t.Fatalf("Last: %v %v", ok, err)
	}
}

func TestFirstAndLast(t *testing.T) {
	cal := nse(t)
	// a daily plan starting on a Saturday before Diwali: the first business day is Mon 20-Oct
	first, ok, err := schedule.First(schedule.Spec{Frequency: schedule.Daily, Start: d("2025-10-18")}, cal)
	if err != nil || !ok || first.Seq != 3 || first.Due != d("2025-10-20") {
		t.Fatalf("First = %+v %v %v", first, ok, err)
	}
	first, ok, err = schedule.First(schedule.Spec{Frequency: schedule.Weekly, Weekday: time.Saturday, Start: d("2025-12-20")},
		fund.NewCalendar(d("2025-12-22"), d("2025-12-23"), d("2025-12-24"), d("2025-12-25"), d("2025-12-26")))
	if err != nil || !ok || first.Due != d("2025-12-29") || !slices.Equal(first.Merged, []fund.Date{d("2025-12-27")}) {
		t.Fatalf("First = %+v %v %v", first, ok, err)
	}
	last, ok, err := schedule.Last(schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2025-01-01"), Count: 14})
	if err != nil || !ok || last != (schedule.Nominal{Seq: 14, Date: d("2026-02-28")}) {
		t.Fatalf("Last = %+v %v %v", last, ok, err)
	}
	if _, ok, err := schedule.Last(schedule.Spec{Frequency: schedule.Weekly, Start: d("2025-01-01")}); ok || err != nil {
		t.Fatalf("Last of a perpetual plan: %v %v", ok, err)
	}
}

func TestPerpetualNeedsWindow(t *testing.T) {
	_, err := schedule.All(schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2025-01-01")}, nse(t))
	if schedule.ReasonOf(err) != schedule.ReasonUnbounded {
		t.Fatalf("All on a perpetual plan: %v", err)
	}
	// 20 years in, a window of one month costs one month
	got, err := schedule.Window(schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2005-01-01")}, nse(t), d("2025-09-05"), d("2025-10-31"))
	if err != nil {
		t.Fatal(err)
	}
	// Jan 2005 is Seq 1, so Oct 2025 is 20×12 + 9 + 1
	if g := show(got); !slices.Equal(g, []string{"250 2025-10-05>2025-10-06"}) {
		t.Fatalf("window: %v", g)
	}
}

func TestValidate(t *testing.T) {
	base := schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2025-01-01"), Count: 12}
	cases := []struct {
		name string
		edit func(*schedule.Spec)
		want schedule.Reason
	}{
		{"ok", func(*schedule.Spec) {}, ""},
		{"frequency", func(s *schedule.Spec) { s.Frequency = "fortnightly" }, schedule.ReasonFrequency},
		{"no start", func(s *schedule.Spec) { s.Start = fund.Date{} }, schedule.ReasonNoStart},
		{"end before start", func(s *schedule.Spec) { s.Count, s.End = 0, d("2024-12-31") }, schedule.ReasonEndBeforeStart},
		{"end and count", func(s *schedule.Spec) { s.End = d("2025-12-31") }, schedule.ReasonEndAndCount},
		{"negative count", func(s *schedule.Spec) { s.Count = -1 }, schedule.ReasonCount},
		{"huge count", func(s *schedule.Spec) { s.Count = schedule.MaxCount + 1 }, schedule.ReasonCount},
		{"day 32", func(s *schedule.Spec) { s.Day = 32 }, schedule.ReasonDay},
		{"day on weekly", func(s *schedule.Spec) { s.Frequency = schedule.Weekly }, schedule.ReasonDay},
		{"weekday 7", func(s *schedule.Spec) { s.Frequency, s.Day, s.Weekday = schedule.Weekly, 0, 7 }, schedule.ReasonWeekday},
		{"year 10000", func(s *schedule.Spec) {
			s.Start = d("2025-01-01")
			s.Count, s.End = 0, fund.Date{Year: 10000, Month: 1, Day: 1}
		}, schedule.ReasonDate},
		{"change not after start", func(s *schedule.Spec) { s.Changes = []schedule.Change{{From: d("2025-01-01"), Day: 3}} }, schedule.ReasonChange},
		{"changes out of order", func(s *schedule.Spec) {
			s.Changes = []schedule.Change{{From: d("2025-05-01"), Day: 3}, {From: d("2025-04-01"), Day: 4}}
		}, schedule.ReasonChange},
		{"change bad day", func(s *schedule.Spec) { s.Changes = []schedule.Change{{From: d("2025-05-01"), Day: 40}} }, schedule.ReasonChange},
		{"change on daily", func(s *schedule.Spec) {
			s.Frequency, s.Day = schedule.Daily, 0
			s.Changes = []schedule.Change{{From: d("2025-05-01")}}
		}, schedule.ReasonChange},
	}
	for _, c := range cases {
		s := base
		c.edit(&s)
		err := s.Validate()
		if got := schedule.ReasonOf(err); got != c.want {
			t.Errorf("%s: reason %q (%v), want %q", c.name, got, err, c.want)
		}
		if c.want != "" && (!errorsIs(err, schedule.ErrInvalid) || !errorsIs(err, &schedule.InvalidError{Reason: c.want})) {
			t.Errorf("%s: %v does not match ErrInvalid and its reason", c.name, err)
		}
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]time.Weekday{"mon": time.Monday, "sun": time.Sunday, "sat": time.Saturday, "wed": time.Wednesday} {
		if got, err := schedule.ParseWeekday(s); err != nil || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v", s, got, err)
		}
		if schedule.WeekdayName(want) != s {
			t.Errorf("WeekdayName(%v) = %q", want, schedule.WeekdayName(want))
		}
	}
	for _, s := range []string{"", "Mon", "monday", "1", "xyz"} {
		if _, err := schedule.ParseWeekday(s); schedule.ReasonOf(err) != schedule.ReasonWeekday {
			t.Errorf("ParseWeekday(%q): %v", s, err)
		}
	}
	for _, s := range []string{"daily", "weekly", "monthly", "quarterly"} {
		if f, err := schedule.ParseFrequency(s); err != nil || string(f) != s {
			t.Errorf("ParseFrequency(%q) = %v, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "Monthly", "yearly", "fortnightly"} {
		if _, err := schedule.ParseFrequency(s); schedule.ReasonOf(err) != schedule.ReasonFrequency {
			t.Errorf("ParseFrequency(%q): %v", s, err)
		}
	}
	for s, want := range map[string]int{"1": 1, "31": 31, "05": 5} {
		if got, err := schedule.ParseDay(s); err != nil || got != want {
			t.Errorf("ParseDay(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "0", "32", "-1", "+5", "5.0", " 5", "1e1"} {
		if _, err := schedule.ParseDay(s); schedule.ReasonOf(err) != schedule.ReasonDay {
			t.Errorf("ParseDay(%q): %v", s, err)
		}
	}
}

func TestClampToMonthEnd(t *testing.T) {
	cases := []struct {
		y    int
		m    time.Month
		day  int
		want string
	}{
		{2025, time.April, 31, "2025-04-30"},
		{2024, time.February, 31, "2024-02-29"},
		{2025, time.February, 29, "2025-02-28"},
		{1900, time.February, 29, "1900-02-28"}, // a century, not a leap year
		{2000, time.February, 30, "2000-02-29"}, // divisible by 400: a leap year
		{2025, time.January, 31, "2025-01-31"},
		{2025, time.June, 15, "2025-06-15"},
	}
	for _, c := range cases {
		if got := schedule.ClampToMonthEnd(c.y, c.m, c.day); got.String() != c.want {
			t.Errorf("ClampToMonthEnd(%d, %s, %d) = %s, want %s", c.y, c.m, c.day, got, c.want)
		}
	}
}

// A schedule that reaches a year the holiday files do not cover is an
// error naming the date, not instalments due on days counted as business
// days unseen (issue 16): the files cover 2024-2026, so the January 2027
// instalment of a monthly plan has no known due date. A window that stays
// inside 2026 is answered as before.
func TestScheduleOutsideTheCalendarIsAnError(t *testing.T) {
	cal := nse(t)
	spec := schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2026-10-01")}
	var oor *fund.OutOfRangeError
	if _, err := schedule.Window(spec, cal, fund.Date{}, d("2027-01-31")); !errors.As(err, &oor) || oor.Date != d("2027-01-05") {
		t.Errorf("window into 2027: %v, want 2027-01-05 outside the calendar", err)
	}
	if got, err := schedule.Window(spec, cal, fund.Date{}, d("2026-12-31")); err != nil || len(got) != 3 {
		t.Errorf("window in 2026: %v %v, want Oct, Nov, Dec", got, err)
	}
	daily := schedule.Spec{Frequency: schedule.Daily, Start: d("2026-12-30"), Count: 5}
	if _, err := schedule.All(daily, cal); !errors.As(err, &oor) || oor.Date != d("2027-01-01") {
		t.Errorf("daily into 2027: %v, want 2027-01-01 outside the calendar", err)
	}
	if _, _, err := schedule.First(schedule.Spec{Frequency: schedule.Weekly, Weekday: time.Monday, Start: d("2027-01-01")}, cal); !errors.As(err, &oor) {
		t.Errorf("first of a 2027 plan: %v", err)
	}
}

// The instalment run's last window before the calendar ends: a monthly plan
// whose next nominal date is in a year no holiday file covers has nothing
// due in the window, and that is not an error (the old merge check asked
// the calendar about the next nominal date's due day).
func TestWindowUpToTheCalendarsEndDoesNotAskPastIt(t *testing.T) {
	cal := nse(t) // NSE 2024-2026
	spec := schedule.Spec{Frequency: schedule.Monthly, Day: 5, Start: d("2026-10-01")}
	got, err := schedule.Window(spec, cal, d("2026-12-05"), d("2026-12-31"))
	if err != nil || len(got) != 0 {
		t.Fatalf("window (5-Dec, 31-Dec-2026]: %v %v, want none and no error", got, err)
	}
}

func TestNominalsNeedNoCalendar(t *testing.T) {
	// A monthly plan on the 31st: 31-Dec-2026, 31-Jan-2027, 28-Feb-2027
	// (clamped to the month's end), counted by hand; seq 1 is 31-Oct-2026.
	spec := schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2026-10-01")}
	got, err := schedule.Nominals(spec, d("2026-11-30"), d("2027-02-28"))
	if err != nil {
		t.Fatal(err)
	}
	want := []schedule.Nominal{{Seq: 3, Date: d("2026-12-31")}, {Seq: 4, Date: d("2027-01-31")}, {Seq: 5, Date: d("2027-02-28")}}
	if !slices.Equal(got, want) {
		t.Errorf("nominals %v, want %v", got, want)
	}
	// a bounded plan stops at its count
	spec.Count = 4
	if got, err := schedule.Nominals(spec, fund.Date{}, d("2027-12-31")); err != nil || len(got) != 4 || got[3].Date != d("2027-01-31") {
		t.Errorf("count 4: %v %v", got, err)
	}
}
