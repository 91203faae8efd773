package pgstore

import (
	"slices"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/internal/config"
)

// A rule drops a window's old entries only when its key has a new event,
// so the window of a key that never comes back (most investors' bank
// change, a month's SIP purchase) stayed in memory and in every full
// snapshot for ever: the windows grew with the stream, not with the rules'
// windows (session 33's 5,000,000-event run). Expiry drops a window once
// no event still to come can keep any of its entries: exactly what the
// rule would have done to it on the key's next event (fraud.Rule.Eval
// drops entries older than that event less the window, and less
// fraud.MaxSkew for the cross-partition rules), done without the event.

// Lateness is how far behind its partition's newest event an event may
// still arrive. The per-investor rules assume an investor's events in
// order on one partition; a partition interleaves many investors, whose
// event times (set where each event was made, published in commit order)
// can be out of order by the time a transaction takes: a day is far more.
// A failed payment carries the gateway's time, up to
// payments.max_event_age before receipt: config refuses a larger one.
const Lateness = config.FraudLateness // the default of Store.Lateness

// FutureTolerance is how far after its Kafka timestamp (Seen) an event's
// own time may be and still count in full towards its partition's newest
// event time (expiry's floors). Event times are set where each event was
// made (a nominee change's effective_from as sent): one dated 60 days
// ahead moved its partition's floor by 60 days, froze the sweep on the
// newest and, on an orders or payments partition, dropped live windows.
const FutureTolerance = time.Hour

// expiry keeps the windows by rule and by the hour at which all their
// entries fall out of the rule's window, and drops them against the
// rule's floor (floors): the earliest event time still to come on any
// partition that feeds the rule. A per-investor rule's windows are not fed
// by one partition: orders.status is keyed by folio, so an investor with
// two folios has order events on two partitions, and a window created on
// the faster one must wait for the slower one. A window is in one bucket,
// at the hour it was due when put there; when the bucket comes due it is
// dropped or, if an event moved it on, put in its new hour. Windows loaded
// from a snapshot are bucketed by their rule the same way (a replay
// expires what the live run did), and those of a rule no longer in the set
// are dropped at the next sweep.
type expiry struct {
	buckets map[string]map[int64][]string // rule id -> Unix hour -> state keys
	taken   map[string]int64              // rule id -> its floor's hour at the last take
	// loaded from a snapshot: bucketed at the next Apply, which knows
	// the rules
	unbucketed []string
	// due: windows whose bucket came due, checked sweepPerEvent for each
	// event of a batch (a month's first events make a million windows due
	// at once: checked in one go they stopped the stream for seconds, and
	// 20,000 a batch still held up the small batches of a paced stream)
	due     []string
	Dropped int64 // windows dropped so far
	// Late: events applied at a time before their partition's floor (its
	// newest less Lateness) — a window they belonged in may have gone
	Late int64
	// the rules' windows by id, for the rule set rs
	rs    *fraud.RuleSet
	rules map[string]ruleSpan
}

// sweepPerEvent is how many due windows a batch checks for each of its
// events (at least minSweep): a stream makes at most a few windows an
// event, so the due list keeps up, and the work stays in proportion to
// the batch.
const sweepPerEvent, minSweep = 8, 1000

// ruleSpan is what expiry needs of a rule.
type ruleSpan struct {
	window time.Duration
	cross  bool // account_takeover, shared_contact: fraud.MaxSkew more
	// reads: the event kinds the rule's windows are fed by (nil: any)
	reads []fraud.EventKind
}

// readsOf is the event kinds a per-investor rule of kind k reads
// (fraud.Rule.wants); nil for a kind not known here: every partition.
func readsOf(k fraud.Kind) []fraud.EventKind {
	switch k {
	case fraud.KindRedemptionVelocity, fraud.KindRoundTrip, fraud.KindStructuring:
		return []fraud.EventKind{fraud.EventOrder}
	case fraud.KindFailedPayments:
		return []fraud.EventKind{fraud.EventPayment}
	}
	return nil
}

// setRules indexes rs's rules; it says whether the set changed.
func (x *expiry) setRules(rs *fraud.RuleSet) bool {
	if x.rs == rs {
		return false
	}
	x.rs, x.rules = rs, make(map[string]ruleSpan, len(rs.Rules))
	for i := range rs.Rules {
		r := &rs.Rules[i]
		cross := r.Kind == fraud.KindAccountTakeover || r.Kind == fraud.KindSharedContact
		sp := ruleSpan{window: r.Window, cross: cross}
		if !cross {
			sp.reads = readsOf(r.Kind)
		}
		x.rules[r.ID] = sp
	}
	return true
}

// rule is the span of a state key's rule (rule id | scope key).
func (x *expiry) rule(rs *fraud.RuleSet, sk string) (string, ruleSpan, bool) {
	x.setRules(rs)
	id, _, _ := strings.Cut(sk, "|")
	r, ok := x.rules[id]
	return id, r, ok
}

// dueAt is when every entry of st has fallen out of r's window for any
// event at or after it: its newest entry plus the window (plus MaxSkew for
// the cross-partition rules).
func dueAt(r ruleSpan, st fraud.State) time.Time {
	d := st.Newest().Add(r.window)
	if r.cross {
		d = d.Add(fraud.MaxSkew)
	}
	return d
}

func hourOf(t time.Time) int64 {
	u := t.Unix()
	h := u / 3600
	if u < 0 && u%3600 != 0 {
		h--
	}
	return h
}

// track puts the window sk (now st) in its rule's bucket; false when its
// rule is no longer in the set.
func (x *expiry) track(rs *fraud.RuleSet, sk string, st fraud.State) bool {
	id, r, ok := x.rule(rs, sk)
	if !ok {
		return false
	}
	if x.buckets == nil {
		x.buckets = map[string]map[int64][]string{}
	}
	b := x.buckets[id]
	if b == nil {
		b = map[int64][]string{}
		x.buckets[id] = b
	}
	h := hourOf(dueAt(r, st))
	b[h] = append(b[h], sk)
	return true
}

// noteKind records that stream carries events of kind k (what a rule's
// floor looks at).
func (m *mem) noteKind(stream string, k fraud.EventKind) {
	ks := m.streamKinds[stream]
	if slices.Contains(ks, k) {
		return
	}
	if m.streamKinds == nil {
		m.streamKinds = map[string][]fraud.EventKind{}
	}
	m.streamKinds[stream] = append(ks, k)
}

// feeds: partition sp may carry events that r reads. A stream whose events
// are not known yet (none since the load) may.
func (m *mem) feeds(r ruleSpan, sp streamPart) bool {
	if r.cross || r.reads == nil {
		return true
	}
	ks, known := m.streamKinds[sp.stream]
	if !known {
		return true
	}
	for _, k := range r.reads {
		if slices.Contains(ks, k) {
			return true
		}
	}
	return false
}

// floor is the earliest event time still to come that r's windows can be
// fed; ok false when nothing is known. Each partition's next events are at
// or after its newest applied event less Lateness; a partition with a
// position but no event since this process started at or after the fastest
// partition's newest less MaxSkew (the evaluation's skew allowance). A
// per-investor rule looks at the partitions of the topics it reads (all
// their partitions: an investor's folios are on several); a
// cross-partition rule at every partition, and no later than the fastest's
// newest less MaxSkew.
func (m *mem) floor(r ruleSpan) (time.Time, bool) {
	var newest time.Time
	for _, at := range m.evAt {
		if at.After(newest) {
			newest = at
		}
	}
	if newest.IsZero() {
		return time.Time{}, false
	}
	skew := newest.Add(-fraud.MaxSkew)
	var f time.Time
	lower := func(t time.Time) {
		if f.IsZero() || t.Before(f) {
			f = t
		}
	}
	for sp, at := range m.evAt {
		if m.feeds(r, sp) {
			lower(at.Add(-m.lateness))
		}
	}
	for sp := range m.pos {
		if _, seen := m.evAt[sp]; !seen && m.feeds(r, sp) {
			lower(skew)
		}
	}
	if r.cross {
		lower(skew)
	}
	if f.IsZero() {
		return f, false
	}
	return f, true
}

// sweepExpired drops the windows no event still to come can keep an entry
// of (marked dirty, so the next snapshot drops them too). When a rule's
// floor moved into a new hour it takes that rule's buckets that came due;
// a batch of n events checks up to sweepPerEvent*n of their windows.
// Called with s.mu held, after a batch.
func (m *mem) sweepExpired(rs *fraud.RuleSet, events int) {
	x := &m.expiry
	drop := func(sk string) {
		delete(m.states, sk)
		m.dirty[sk] = fraud.State{}
		x.Dropped++
	}
	if x.setRules(rs) {
		// a rule no longer in the set: its windows are never read again
		for id, b := range x.buckets {
			if _, ok := x.rules[id]; ok {
				continue
			}
			for _, keys := range b {
				for _, sk := range keys {
					if _, ok := m.states[sk]; ok {
						drop(sk)
					}
				}
			}
			delete(x.buckets, id)
			delete(x.taken, id)
		}
	}
	for _, sk := range x.unbucketed {
		if st, ok := m.states[sk]; ok && !x.track(rs, sk, st) {
			drop(sk)
		}
	}
	x.unbucketed = nil
	floors := make(map[string]time.Time, len(x.rules))
	for id, r := range x.rules {
		f, ok := m.floor(r)
		if !ok {
			continue
		}
		floors[id] = f
		fh := hourOf(f)
		if last, ok := x.taken[id]; ok && fh <= last {
			continue
		}
		if x.taken == nil {
			x.taken = map[string]int64{}
		}
		x.taken[id] = fh
		x.takeDue(x.buckets[id], fh)
	}
	n := min(len(x.due), max(minSweep, sweepPerEvent*events))
	for _, sk := range x.due[:n] {
		st, ok := m.states[sk]
		if !ok {
			continue
		}
		id, r, ok := x.rule(rs, sk)
		if !ok {
			drop(sk)
			continue
		}
		if f, ok := floors[id]; ok && dueAt(r, st).Before(f) {
			drop(sk)
			continue
		}
		x.track(rs, sk, st) // an event moved it on: its new hour
	}
	x.due = x.due[n:]
	if len(x.due) == 0 {
		x.due = nil // let the backing array go
	}
}

// takeDue moves the windows of the buckets that are all due before the
// floor's hour fh to the due list.
func (x *expiry) takeDue(buckets map[int64][]string, fh int64) {
	// bucket h holds windows due in [h, h+1): all before the floor when
	// h+1 <= the floor's hour
	for h, keys := range buckets {
		if h+1 > fh {
			continue
		}
		delete(buckets, h)
		x.due = append(x.due, keys...)
	}
}
