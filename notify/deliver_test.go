package notify

import (
	"testing"
	"time"
)

// Delay after n failed attempts lies in [d/2, d] with d = Base·2^(n−1),
// capped at Max; the jitter spreads it (not one value for 200 draws).
func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for _, c := range []struct {
		attempts int
		d        time.Duration
	}{
		{1, time.Second},      // 1 s
		{2, 2 * time.Second},  // 1·2
		{4, 8 * time.Second},  // 1·2·2·2
		{6, 32 * time.Second}, // 2^5
		{7, time.Minute},      // 64 s capped at 60 s
		{30, time.Minute},
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := b.Delay(c.attempts)
			if got < c.d/2 || got > c.d {
				t.Fatalf("Delay(%d) = %s, want in [%s, %s]", c.attempts, got, c.d/2, c.d)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d): no jitter", c.attempts)
		}
	}
}
