package fund

import (
	"testing"
	"time"
)

func calendar2026(t *testing.T) *Calendar {
	return HolidayCalendar(loadHolidays(t, "nse_fo_holidays_2026.csv")...)
}

func TestIsFundOfFunds(t *testing.T) {
	for cat, want := range map[string]bool{
		"Other Scheme - FoF Overseas":                                       true,
		"Other Scheme - FoF Domestic":                                       true,
		"Fund of Funds Scheme (Domestic) - Fund of Funds Scheme (Domestic)": true,
		"Overseas Fund of Funds - Fund of Funds investing overseas":         true,
		"Equity Scheme - Large Cap Fund":                                    false,
		"Debt Scheme - Liquid Fund":                                         false,
		"Other Scheme - Index Funds":                                        false,
		"Sofort Fund":                                                       false, // "fof" inside a word
		"":                                                                  false,
	} {
		if got := IsFundOfFunds(cat); got != want {
			t.Errorf("%q: %v", cat, got)
		}
	}
}

// Due times on the real 2026 calendar: 23:00 IST on the day; a fund of
// funds 10:00 IST the next business day, over weekends and holidays
// (Friday 14-Aug-2026 -> Monday 17th; Friday 11-Sep -> Tuesday 15th, the
// 14th being a holiday).
func TestNAVDueAt(t *testing.T) {
	cal := calendar2026(t)
	ist := IST()
	for _, tc := range []struct {
		d    Date
		cat  string
		want time.Time
	}{
		{NewDate(2026, 8, 18), "Equity Scheme - Large Cap Fund", time.Date(2026, 8, 18, 23, 0, 0, 0, ist)},
		{NewDate(2026, 8, 18), "Other Scheme - FoF Overseas", time.Date(2026, 8, 19, 10, 0, 0, 0, ist)},
		{NewDate(2026, 8, 14), "Other Scheme - FoF Domestic", time.Date(2026, 8, 17, 10, 0, 0, 0, ist)},
		{NewDate(2026, 9, 11), "Other Scheme - FoF Domestic", time.Date(2026, 9, 15, 10, 0, 0, 0, ist)},
	} {
		if got := must[time.Time](t)(NAVDueAt(tc.d, tc.cat, cal)); !got.Equal(tc.want) {
			t.Errorf("%s %q: %v, want %v", tc.d, tc.cat, got, tc.want)
		}
	}
	if got := must[Date](t)(NextNAVDate(NewDate(2026, 9, 11), cal)); got != NewDate(2026, 9, 15) {
		t.Errorf("next after Fri 11-Sep-2026: %s (14th is a holiday)", got)
	}
}

func TestLastDueBusinessDay(t *testing.T) {
	cal := calendar2026(t)
	ist := IST()
	for _, tc := range []struct {
		at   time.Time
		want Date
	}{
		{time.Date(2026, 8, 18, 22, 59, 0, 0, ist), NewDate(2026, 8, 17)},
		{time.Date(2026, 8, 18, 23, 0, 0, 0, ist), NewDate(2026, 8, 18)},
		{time.Date(2026, 8, 18, 17, 31, 0, 0, time.UTC), NewDate(2026, 8, 18)}, // 23:01 IST
		{time.Date(2026, 8, 16, 12, 0, 0, 0, ist), NewDate(2026, 8, 14)},       // Sunday
		{time.Date(2026, 9, 14, 23, 30, 0, 0, ist), NewDate(2026, 9, 11)},      // a holiday Monday
	} {
		if got := must[Date](t)(LastDueBusinessDay(tc.at, cal)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.at, got, tc.want)
		}
	}
}
