package freshness

import (
	"testing"
	"time"
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
