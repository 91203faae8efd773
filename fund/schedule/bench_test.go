package schedule_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund/schedule"
)

// BenchmarkWindow is the instalment run's call: one plan, one day's window.
// A plan with 30 years of history (and two changes of day) costs what a
// plan started last month costs: the ratio_vs_new metric is that ratio (≈1
// means O(window), not O(history)). ns_per_business_day_step is the raw
// baseline, cal.BusinessDayOnOrAfter on the same dates, for scale.
func BenchmarkWindow(b *testing.B) {
	cal := nse(b)
	day := d("2026-03-31")
	old := schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("1996-01-01"),
		Changes: []schedule.Change{{From: d("2001-05-01"), Day: 5}, {From: d("2010-07-01"), Day: 31}}}
	fresh := schedule.Spec{Frequency: schedule.Monthly, Day: 31, Start: d("2026-02-01")}
	run := func(spec schedule.Spec, n int) {
		for range n {
			w, err := schedule.Window(spec, cal, day.AddDays(-31), day.AddDays(1))
			if err != nil || len(w) != 1 {
				b.Fatalf("%v %v", w, err)
			}
		}
	}
	// the baselines, timed in the same run (nested testing.Benchmark
	// would deadlock)
	measure := func(f func(int)) float64 {
		const n = 20000
		t0 := time.Now()
		f(n)
		return float64(time.Since(t0).Nanoseconds()) / n
	}
	base := measure(func(n int) {
		for range n {
			_, _ = cal.BusinessDayOnOrAfter(day)
		}
	})
	newNs := measure(func(n int) { run(fresh, n) })
	b.ResetTimer()
	run(old, b.N)
	b.StopTimer()
	oldNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(oldNs/newNs, "ratio_vs_new")
	b.ReportMetric(base, "ns_per_business_day_step")
	b.ReportMetric(oldNs/base, "ratio_vs_business_day_step")
}
