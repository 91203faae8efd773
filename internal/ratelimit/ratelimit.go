// Package ratelimit holds the token buckets of the HTTP surfaces: requests
// per token in the query API, and failed authentications per client address
// in the query API and /v1/orders.
package ratelimit

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limiter is a token bucket per key: Rate tokens a second on average,
// bursts of Burst. A rate <= 0 never limits.
type Limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter; now is its clock (nil: time.Now).
func New(rate float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key; when there is none it returns false and
// how long until there is.
func (l *Limiter) Allow(key string) (bool, time.Duration) { return l.take(key, true) }

// Ready reports whether Allow would succeed for key, and takes nothing.
func (l *Limiter) Ready(key string) (bool, time.Duration) { return l.take(key, false) }

func (l *Limiter) take(key string, take bool) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if !take {
			return true, 0
		}
		if len(l.buckets) >= 100000 {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		if take {
			b.tokens--
		}
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled (they are as good as new).
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// Failures limits failed authentications per client address: Burst
// failures at once, then Rate a second. An address past its limit is
// refused before its credentials are even looked at, so a flood of guessed
// tokens costs the guesser time instead of costing us nothing. A nil
// *Failures never limits.
type Failures struct{ l *Limiter }

// NewFailures returns a limit of burst failures, refilled at rate a second.
func NewFailures(rate float64, burst int, now func() time.Time) *Failures {
	return &Failures{l: New(rate, burst, now)}
}

// Blocked reports whether r's address has used up its failures, and the
// whole seconds to wait (for Retry-After).
func (f *Failures) Blocked(r *http.Request) (bool, int) {
	if f == nil {
		return false, 0
	}
	ok, wait := f.l.Ready(ClientAddr(r))
	if ok {
		return false, 0
	}
	return true, max(1, int(math.Ceil(wait.Seconds())))
}

// Failed records one failed authentication from r's address.
func (f *Failures) Failed(r *http.Request) {
	if f != nil {
		f.l.Allow(ClientAddr(r))
	}
}

// ClientAddr is the address a request came from: the host of RemoteAddr
// (a proxy's X-Forwarded-For is not trusted: anyone can write it).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
