package scheduler

import (
	"testing"
	"time"
)

// A firing's tick is the latest time its schedule names that is not after
// the firing: the same in every process however late each one's timer
// fires, and never the same twice in one process.
func TestTicks(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, IST)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		spec  string
		from  string   // when the schedule was added
		fires []string // when the scheduler fired it
		want  []string // the ticks named
	}{
		{"* * * * *", "2026-08-20 09:59:41.200", []string{"2026-08-20 10:00:00.003", "2026-08-20 10:01:00.900", "2026-08-20 10:02:07.000"},
			[]string{"2026-08-20 10:00:00.000", "2026-08-20 10:01:00.000", "2026-08-20 10:02:00.000"}},
		// A firing skipped while the job still ran: the next firing names its own tick, not the skipped one.
		{"*/15 * * * *", "2026-08-20 09:50:00.000", []string{"2026-08-20 10:00:00.010", "2026-08-20 10:30:00.020"},
			[]string{"2026-08-20 10:00:00.000", "2026-08-20 10:30:00.000"}},
		{"30 9 * * *", "2026-08-19 23:00:00.000", []string{"2026-08-20 09:30:00.500"}, []string{"2026-08-20 09:30:00.000"}},
		// @every D fires at multiples of D, whenever the process started.
		{"@every 5s", "2026-08-20 10:00:01.700", []string{"2026-08-20 10:00:05.001", "2026-08-20 10:00:10.400"},
			[]string{"2026-08-20 10:00:05.000", "2026-08-20 10:00:10.000"}},
		{"@every 5s", "2026-08-20 10:00:03.100", []string{"2026-08-20 10:00:05.002", "2026-08-20 10:00:10.003"},
			[]string{"2026-08-20 10:00:05.000", "2026-08-20 10:00:10.000"}},
	}
	for _, c := range cases {
		s, err := parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		from := at(c.from)
		if n := s.Next(from); !n.Equal(at(c.want[0])) {
			t.Errorf("%s from %s: next %s, want %s", c.spec, c.from, n, c.want[0])
		}
		k := newTicker(s, from)
		for i, f := range c.fires {
			if got := k.at(at(f)); !got.Equal(at(c.want[i])) {
				t.Errorf("%s fired at %s: tick %s, want %s", c.spec, f, got, c.want[i])
			}
		}
	}
}
