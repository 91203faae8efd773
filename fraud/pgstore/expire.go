package pgstore

import (
	"strings"
	"time"

	"github.com/fundflow/fundflow/fraud"
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
const Lateness = 24 * time.Hour

// expiry keeps the windows by the hour at which all their entries fall
// out of the rule's window. A per-investor rule's window is fed by one
// partition (an investor's events of one topic, in order): it is due
// against that partition's newest event less Lateness, so a partition that
// goes quiet (investors.changed after the month's first days) holds back
// only its own windows. A cross-partition rule's window is due against the
// slowest partition's newest less Lateness or the fastest's less MaxSkew,
// whichever is earlier (a partition that has sent nothing yet may be that
// far behind); so is a window loaded from a snapshot (its partition is not
// known). A window is in one bucket, at the hour it was due when put
// there; when the bucket comes due it is dropped or, if an event moved it
// on, put in its new hour.
type expiry struct {
	local map[streamPart]map[int64][]string // partition -> Unix hour -> state keys
	cross map[int64][]string                // and the windows of unknown partition
	// loaded from a snapshot: bucketed at the next Apply, which knows
	// the rules
	unbucketed []string
	// due: windows whose bucket came due, checked sweepPerEvent for each
	// event of a batch (a month's first events make a million windows due
	// at once: checked in one go they stopped the stream for seconds, and
	// 20,000 a batch still held up the small batches of a paced stream)
	due     []dueKey
	swept   time.Time // the newest partition's floor at the last sweep
	Dropped int64     // windows dropped so far
	// the rules' windows by id, for the rule set rs
	rs    *fraud.RuleSet
	rules map[string]ruleSpan
}

// dueKey is a window whose bucket came due: sp is its partition (known
// false: a cross-partition or loaded window).
type dueKey struct {
	sk    string
	sp    streamPart
	known bool
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
}

// rule is the span of a state key's rule (rule id | scope key).
func (x *expiry) rule(rs *fraud.RuleSet, sk string) (ruleSpan, bool) {
	if x.rs != rs {
		x.rs, x.rules = rs, make(map[string]ruleSpan, len(rs.Rules))
		for i := range rs.Rules {
			r := &rs.Rules[i]
			x.rules[r.ID] = ruleSpan{window: r.Window, cross: r.Kind == fraud.KindAccountTakeover || r.Kind == fraud.KindSharedContact}
		}
	}
	id, _, _ := strings.Cut(sk, "|")
	r, ok := x.rules[id]
	return r, ok
}

// dueAt is when every entry of st has fallen out of r's window for any
// event at or after it: its newest entry plus the window (plus MaxSkew for
// the cross-partition rules).
func dueAt(r ruleSpan, st fraud.State) time.Time {
	var newest time.Time
	for _, e := range st.Entries {
		if e.At.After(newest) {
			newest = e.At
		}
	}
	d := newest.Add(r.window)
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

// track puts the window sk (now st), last fed from partition sp (known
// false: not known), in its bucket.
func (x *expiry) track(rs *fraud.RuleSet, sk string, st fraud.State, sp streamPart, known bool) {
	r, ok := x.rule(rs, sk)
	if !ok {
		return // a rule no longer in the set: its window is never read
	}
	h := hourOf(dueAt(r, st))
	if r.cross || !known {
		if x.cross == nil {
			x.cross = map[int64][]string{}
		}
		x.cross[h] = append(x.cross[h], sk)
		return
	}
	if x.local == nil {
		x.local = map[streamPart]map[int64][]string{}
	}
	if x.local[sp] == nil {
		x.local[sp] = map[int64][]string{}
	}
	x.local[sp][h] = append(x.local[sp][h], sk)
}

// floors are the earliest event time still to come, for the per-partition
// rules and for the cross-partition ones; ok false when nothing is known.
// Each partition's next events are at or after its newest applied event
// less Lateness; a partition with a position but no event since this
// process started, or one not seen at all, at or after the fastest
// partition's newest less MaxSkew (the evaluation's skew allowance).
func (m *mem) floors() (local, cross time.Time, ok bool) {
	var lw, h time.Time
	for _, at := range m.evAt {
		if lw.IsZero() || at.Before(lw) {
			lw = at
		}
		if at.After(h) {
			h = at
		}
	}
	if lw.IsZero() {
		return local, cross, false
	}
	local = lw.Add(-Lateness)
	skew := h.Add(-fraud.MaxSkew)
	for sp := range m.pos {
		if _, seen := m.evAt[sp]; !seen && skew.Before(local) {
			local = skew
		}
	}
	cross = local
	if skew.Before(cross) {
		cross = skew
	}
	return local, cross, true
}

// sweepExpired drops the windows no event still to come can keep an entry
// of (marked dirty, so the next snapshot drops them too). When the newest
// partition's floor moved an hour or more it takes the buckets that came
// due; a batch of n events checks up to sweepPerEvent*n of their windows.
// Called with s.mu held, after a batch.
func (m *mem) sweepExpired(rs *fraud.RuleSet, events int) {
	x := &m.expiry
	for _, sk := range x.unbucketed {
		if st, ok := m.states[sk]; ok {
			x.track(rs, sk, st, streamPart{}, false)
		}
	}
	x.unbucketed = nil
	_, cross, ok := m.floors()
	if !ok {
		return
	}
	var newest time.Time
	for _, at := range m.evAt {
		if at.After(newest) {
			newest = at
		}
	}
	if newest.Add(-Lateness).Sub(x.swept) >= time.Hour {
		x.swept = newest.Add(-Lateness)
		for sp, buckets := range x.local {
			if at, ok := m.evAt[sp]; ok { // else not heard from since the load: nothing new is due
				x.takeDue(buckets, at.Add(-Lateness), sp, true)
			}
		}
		x.takeDue(x.cross, cross, streamPart{}, false)
	}
	n := min(len(x.due), max(minSweep, sweepPerEvent*events))
	for _, d := range x.due[:n] {
		st, ok := m.states[d.sk]
		if !ok {
			continue
		}
		r, ok := x.rule(rs, d.sk)
		if !ok {
			continue
		}
		floor := cross
		if d.known {
			floor = m.evAt[d.sp].Add(-Lateness)
		}
		if dueAt(r, st).Before(floor) {
			delete(m.states, d.sk)
			m.dirty[d.sk] = struct{}{}
			x.Dropped++
			continue
		}
		x.track(rs, d.sk, st, d.sp, d.known) // an event moved it on: its new hour
	}
	x.due = x.due[n:]
	if len(x.due) == 0 {
		x.due = nil // let the backing array go
	}
}

// takeDue moves the windows of the buckets of one set that are all due
// before floor to the due list.
func (x *expiry) takeDue(buckets map[int64][]string, floor time.Time, sp streamPart, known bool) {
	// bucket h holds windows due in [h, h+1): all before floor when h+1
	// <= the floor's hour
	fh := hourOf(floor)
	for h, keys := range buckets {
		if h+1 > fh {
			continue
		}
		delete(buckets, h)
		for _, sk := range keys {
			x.due = append(x.due, dueKey{sk: sk, sp: sp, known: known})
		}
	}
}
