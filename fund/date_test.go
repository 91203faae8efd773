package fund

import (
	"testing"
	"time"
)

// Order increases with every day, across month and year ends and leap
// days, over a century: checked day by day against time.Time.
func TestDateOrderFollowsTheCalendar(t *testing.T) {
	day := time.Date(1950, time.January, 1, 0, 0, 0, 0, time.UTC)
	prev := DateOf(day)
	for range 365 * 100 {
		day = day.AddDate(0, 0, 1)
		d := DateOf(day)
		if d.Order() <= prev.Order() {
			t.Fatalf("%s has Order %d, not above %s's %d", d, d.Order(), prev, prev.Order())
		}
		prev = d
	}
}
