package amfi

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// A NAVAll file's business date is its most frequent date; a history
// report's is its latest, however the rows spread over its days.
func TestBusinessDateOf(t *testing.T) {
	d := func(day int) fund.Date { return fund.NewDate(2026, 8, day) }
	counts := map[fund.Date]int{d(14): 9000, d(16): 800, d(17): 10, d(3): 0}
	for _, tc := range []struct {
		layout Layout
		want   fund.Date
	}{
		{LayoutNAVAll6, d(14)},
		{LayoutNAVAll8PlanOpt, d(14)},
		{LayoutNAVAll8RepSale, d(14)},
		{LayoutHistory, d(17)},
	} {
		if got := BusinessDateOf(tc.layout, counts); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.layout, got, tc.want)
		}
	}
	if got := BusinessDateOf(LayoutHistory, map[fund.Date]int{d(5): 0}); !got.IsZero() {
		t.Errorf("no rows: %s", got)
	}
}
