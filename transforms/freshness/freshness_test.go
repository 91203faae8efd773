package freshness

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// ByAMC folds the schemes into one verdict per AMC: the latest scheme's
// lateness, the live and the stale counts; an AMC whose schemes are all on
// time is there with zeros.
func TestByAMC(t *testing.T) {
	age := func(code, amc string, late time.Duration) Age {
		return Age{Latest: Latest{Code: code, AMC: amc}, Late: late}
	}
	b, d, f := age("B", "Alpha", 20*time.Minute), age("D", "Beta", 25*time.Hour), age("F", "Beta", 16*time.Minute)
	r := Report{
		SLA:   15 * time.Minute,
		Live:  []Age{age("A", "Alpha", 0), b, age("C", "Beta", 5*time.Minute), d, f, age("G", "Gamma", 0), age("H", "", 2*time.Hour)},
		Stale: map[string][]Age{"Alpha": {b}, "Beta": {d, f}, "": {age("H", "", 2*time.Hour)}},
	}
	want := map[string]AMCAge{
		"Alpha": {Live: 2, MaxLate: 20 * time.Minute, Stale: 1},
		"Beta":  {Live: 3, MaxLate: 25 * time.Hour, Stale: 2},
		"Gamma": {Live: 1},
		"":      {Live: 1, MaxLate: 2 * time.Hour, Stale: 1},
	}
	got := r.ByAMC()
	if len(got) != len(want) {
		t.Fatalf("%d AMCs: %+v", len(got), got)
	}
	for amc, w := range want {
		if got[amc] != w {
			t.Errorf("%q: %+v, want %+v", amc, got[amc], w)
		}
	}
}

// On the evening of 31-Dec-2026, with holiday files for 2026 only: the
// scheme whose latest NAV is dated 30-Dec owes 31-Dec's, due 23:00 IST, so
// at 23:30 it is 30 minutes late; the scheme whose latest NAV is dated
// 31-Dec owes the first business day of 2027, which no file covers: it is
// reported with the reason, not judged, and does not fail the others.
func TestEvaluateReportsSchemesOwedOnUncoveredDays(t *testing.T) {
	cal := fund.HolidayCalendar(fund.NewDate(2026, 12, 25))
	now := time.Date(2026, 12, 31, 23, 30, 0, 0, fund.IST())
	latest := []Latest{
		{Code: "A", AMC: "amc1", Category: "Equity", Date: fund.NewDate(2026, 12, 30)},
		{Code: "B", AMC: "amc1", Category: "Equity", Date: fund.NewDate(2026, 12, 31)},
	}
	r, err := Evaluate(latest, now, Options{SLA: 15 * time.Minute, DeadAfterDays: 30, Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Live) != 1 || r.Live[0].Code != "A" || r.Live[0].Late != 30*time.Minute || len(r.Stale["amc1"]) != 1 {
		t.Fatalf("live %+v stale %+v, want A 30m late and stale", r.Live, r.Stale)
	}
	if len(r.Uncovered) != 1 || r.Uncovered[0].Code != "B" || r.Uncovered[0].Reason != "holiday calendar does not cover 2027-01-01" {
		t.Fatalf("uncovered %+v, want B with the reason", r.Uncovered)
	}
}
