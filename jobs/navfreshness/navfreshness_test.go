package navfreshness

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// The alert detail names the count, the SLA, the latest scheme with its
// due time in IST, and at most ten codes.
func TestStaleDetail(t *testing.T) {
	ist := fund.IST()
	due := time.Date(2026, 8, 18, 23, 0, 0, 0, ist)
	age := func(code string, late time.Duration) freshness.Age {
		return freshness.Age{Latest: freshness.Latest{Code: code}, Next: fund.NewDate(2026, 8, 18), Due: due, Late: late}
	}
	twelve := make([]freshness.Age, 12)
	codes := make([]string, 10)
	for i := range twelve {
		twelve[i] = age(fmt.Sprintf("S%02d", i), 15*time.Minute+time.Duration(i+1)*time.Minute+400*time.Millisecond)
		if i < 10 {
			codes[i] = twelve[i].Code
		}
	}
	cases := []struct {
		name string
		as   []freshness.Age
		want string
	}{
		{"one", []freshness.Age{age("B", 20*time.Minute)},
			"1 scheme(s) past the 15m0s freshness SLA; worst B: NAV of 2026-08-18 due 2026-08-18 23:00 IST, 20m0s late; schemes B"},
		{"worst is not first", []freshness.Age{age("A", 16*time.Minute), age("D", 24*time.Hour+20*time.Minute), age("F", 17*time.Minute)},
			"3 scheme(s) past the 15m0s freshness SLA; worst D: NAV of 2026-08-18 due 2026-08-18 23:00 IST, 24h20m0s late; schemes A, D, F"},
		// S11 is 15m+12m+0.4s late, rounded to the second.
		{"more than ten", twelve,
			"12 scheme(s) past the 15m0s freshness SLA; worst S11: NAV of 2026-08-18 due 2026-08-18 23:00 IST, 27m0s late; schemes " +
				strings.Join(codes, ", ") + " and 2 more"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := staleDetail(c.as, 15*time.Minute); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
