package pipelines

// Breaker trips when too many of the most recent records were rejected.
// It looks at a sliding window of the last Window records so that a feed that
// turns bad halfway is caught quickly and an early burst of bad rows in a
// large good file does not trip it.
type Breaker struct {
	MaxRate    float64 // reject fraction above which the breaker opens, e.g. 0.2; 0 disables it
	Window     int     // records looked at
	MinSamples int     // records needed before it may open

	ring   []bool
	next   int
	filled int
	bad    int
}

// NewBreaker returns a breaker with a window of 1000 records that opens
// only after at least 100 records were seen.
func NewBreaker(maxRate float64) *Breaker {
	return &Breaker{MaxRate: maxRate, Window: 1000, MinSamples: 100}
}

// Observe records one outcome and reports whether the breaker is now open.
func (b *Breaker) Observe(rejected bool) bool {
	if b == nil || b.MaxRate <= 0 {
		return false
	}
	if b.ring == nil {
		if b.Window <= 0 {
			b.Window = 1000
		}
		b.ring = make([]bool, b.Window)
	}
	if b.filled == len(b.ring) {
		if b.ring[b.next] {
			b.bad--
		}
	} else {
		b.filled++
	}
	b.ring[b.next] = rejected
	if rejected {
		b.bad++
	}
	b.next = (b.next + 1) % len(b.ring)
	return b.filled >= b.MinSamples && float64(b.bad)/float64(b.filled) > b.MaxRate
}

// Rate is the reject fraction in the current window.
func (b *Breaker) Rate() float64 {
	if b == nil || b.filled == 0 {
		return 0
	}
	return float64(b.bad) / float64(b.filled)
}

// Reset forgets every outcome: the next input unit starts a fresh window.
func (b *Breaker) Reset() {
	if b == nil {
		return
	}
	clear(b.ring)
	b.next, b.filled, b.bad = 0, 0, 0
}
