package ratelimit

import (
	"net/http/httptest"
	"testing"
	"time"
)

// Failures: burst failures from one address, then blocked until a failure
// refills; Blocked takes nothing, other addresses are not affected, and a
// nil *Failures never blocks.
func TestFailuresPerAddress(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	f := NewFailures(0.5, 3, func() time.Time { return now }) // one failure back every 2 s
	a := httptest.NewRequest("GET", "/", nil)
	a.RemoteAddr = "192.0.2.1:5000"
	b := httptest.NewRequest("GET", "/", nil)
	b.RemoteAddr = "192.0.2.2:5000"
	for i := 0; i < 3; i++ {
		if blocked, _ := f.Blocked(a); blocked {
			t.Fatalf("blocked after %d failures, the burst is 3", i)
		}
		f.Failed(a)
	}
	for i := 0; i < 5; i++ { // asking does not use anything up
		if blocked, wait := f.Blocked(a); !blocked || wait != 2 {
			t.Fatalf("after 3 failures: blocked %v, Retry-After %d; want true, 2", blocked, wait)
		}
	}
	a.RemoteAddr = "192.0.2.1:6000" // another port, the same address
	if blocked, _ := f.Blocked(a); !blocked {
		t.Error("a new connection from the same address is not blocked")
	}
	if blocked, _ := f.Blocked(b); blocked {
		t.Error("another address is blocked")
	}
	now = now.Add(2 * time.Second)
	if blocked, _ := f.Blocked(a); blocked {
		t.Error("still blocked after a failure refilled")
	}
	var none *Failures
	none.Failed(a)
	if blocked, _ := none.Blocked(a); blocked {
		t.Error("a nil limit blocks")
	}
}
