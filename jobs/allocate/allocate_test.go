package allocate

import (
	"testing"
)

// A pass counts as a run: legs looked at in (allotted and still waiting),
// allotted out, nothing quarantined and so no quarantine reasons; payments
// matched are the pass's own count, not a reason.
func TestStatsRun(t *testing.T) {
	cases := []struct {
		st      Stats
		in, out int64
	}{
		{Stats{}, 0, 0},
		{Stats{Allotted: 3, Waiting: 2, Matched: 1}, 5, 3},
		{Stats{Waiting: 4}, 4, 0},
	}
	for _, c := range cases {
		r := c.st.Run()
		if r.In != c.in || r.Out != c.out || r.Quarantined != 0 || r.Batches != 0 || r.Reasons == nil || len(r.Reasons) != 0 {
			t.Errorf("%+v.Run() = %+v, want in %d out %d and no reasons", c.st, r, c.in, c.out)
		}
	}
}
