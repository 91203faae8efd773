package schedule_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
)

// FuzzSpec feeds the strings an operator or a client sends (frequency, day,
// weekday, dates) through the parsers, Validate and, when valid, Explain
// and Window: nothing may panic, and a valid bounded spec has at most
// Count instalments.
func FuzzSpec(f *testing.F) {
	f.Add("monthly", "31", "", "2024-01-01", "", 12, "2024-06-01", "29")
	f.Add("weekly", "", "wed", "2025-10-13", "2026-01-01", 0, "", "")
	f.Add("daily", "", "", "2025-10-18", "", 9, "", "")
	f.Add("quarterly", "0", "sun", "2024-02-29", "2023-01-01", 5, "2024-02-29", "32")
	f.Add("Monthly", "-1", "MON", "9999-12-31", "", 36600, "x", "1e9")
	cal := fund.NewCalendar(fund.NewDate(2024, 11, 1), fund.NewDate(2025, 10, 21), fund.NewDate(2025, 10, 22))
	f.Fuzz(func(t *testing.T, freq, day, weekday, start, end string, count int, changeFrom, changeDay string) {
		var s schedule.Spec
		var err error
		s.Frequency, _ = schedule.ParseFrequency(freq)
		if day != "" {
			s.Day, _ = schedule.ParseDay(day)
		}
		if weekday != "" {
			s.Weekday, _ = schedule.ParseWeekday(weekday)
		}
		s.Start, _ = fund.ParseISODate(start)
		if end != "" {
			s.End, _ = fund.ParseISODate(end)
		}
		s.Count = count
		if c, err := fund.ParseISODate(changeFrom); err == nil {
			ch := schedule.Change{From: c, Weekday: s.Weekday}
			ch.Day, _ = schedule.ParseDay(changeDay)
			s.Changes = []schedule.Change{ch}
		}
		if err = s.Validate(); err != nil {
			if schedule.ReasonOf(err) == "" {
				t.Fatalf("%+v: an error with no reason: %v", s, err)
			}
			return
		}
		if s.Bounded() {
			all, err := schedule.All(s, cal)
			if err != nil {
				t.Fatal(err)
			}
			if s.Count > 0 && len(all) > s.Count {
				t.Fatalf("%+v: %d instalments", s, len(all))
			}
		}
		if _, err := schedule.Window(s, cal, s.Start.AddDays(30), s.Start.AddDays(400)); err != nil {
			t.Fatal(err)
		}
	})
}
