package fraud

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// The windows of a 5,000,000-event stream are millions of small states
// kept for days of event time, marked by the garbage collector on every
// cycle (a cycle on the 4 GB heap cost 15 CPU-seconds). An entry used to
// hold strings, a time.Time and a decimal (a pointer to a big.Int). A
// window now stores its entries as fixed-size rows without pointers (times
// as Unix nanoseconds, amounts as integer paise) and their strings one
// after another in one string, none of which the collector has to look
// inside: measured over a month of the shipped rules, 2.6 heap objects and
// 270 bytes a window live instead of 3.5 and 315 (most windows hold one
// entry, whose strings used to be shared with the event). Eval works on the rich Entry (Entries
// unpacks a window without copying its strings) and NewState packs it back.

// Entry is one event remembered in a window, unpacked (NewState packs it).
type Entry struct {
	Ref
	At       time.Time
	Investor string // shared_contact: who uses the value
	// Paise is the event's amount in paise: amounts are exact paise
	// (Decode refuses more decimals and amounts that do not fit).
	Paise int64
	// account_takeover keeps the big redemptions too, so a change that
	// arrives after a redemption it precedes (two topics, no order between
	// them) still fires on the redemption, once.
	Redemption bool
	OrderID    string
	Fired      bool
}

// Amount is the entry's amount.
func (e Entry) Amount() fund.Amount { return fund.AmountFromPaise(e.Paise) }

// entryJSON is an Entry as Postgres has it (fraud_windows, the JSON
// snapshots): the format of every session before 36.
type entryJSON struct {
	Ref
	At         time.Time   `json:"at"`
	Investor   string      `json:"investor,omitempty"`
	Amount     fund.Amount `json:"amount"`
	Redemption bool        `json:"redemption,omitempty"`
	OrderID    string      `json:"order_id,omitempty"`
	Fired      bool        `json:"fired,omitempty"`
}

// MarshalJSON writes the stored JSON form (amount in rupees, a string).
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(entryJSON{Ref: e.Ref, At: e.At, Investor: e.Investor, Amount: e.Amount(),
		Redemption: e.Redemption, OrderID: e.OrderID, Fired: e.Fired})
}

// UnmarshalJSON reads the stored JSON form; an amount or a time the
// packed form cannot hold exactly is an error, never rounded.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var w entryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p, err := PaiseOf(w.Amount)
	if err != nil {
		return err
	}
	if err := CheckTime(w.At); err != nil {
		return err
	}
	*e = Entry{Ref: w.Ref, At: w.At.UTC(), Investor: w.Investor, Paise: p, Redemption: w.Redemption, OrderID: w.OrderID, Fired: w.Fired}
	return nil
}

// ErrAmountRange: an amount beyond what int64 paise hold (±92 quadrillion
// rupees): no real order or payment; refused, never wrapped.
var ErrAmountRange = errors.New("amount out of range")

// PaiseOf is a in paise, or an error when it does not fit in an int64.
func PaiseOf(a fund.Amount) (int64, error) {
	d := a.Decimal().Shift(fund.AmountScale)
	if !d.IsInteger() {
		return 0, fmt.Errorf("amount %s has a fraction of a paisa", a)
	}
	if d.GreaterThan(maxPaise) || d.LessThan(minPaise) {
		return 0, fmt.Errorf("%w: %s", ErrAmountRange, a)
	}
	return d.IntPart(), nil
}

var (
	maxPaise = fund.AmountFromPaise(math.MaxInt64).Decimal().Shift(fund.AmountScale)
	minPaise = fund.AmountFromPaise(math.MinInt64).Decimal().Shift(fund.AmountScale)
)

// The years an event time may have: what Unix nanoseconds hold (1678 to
// 2262), with room; anything else is a mistyped date, not an event.
const minYear, maxYear = 1900, 2200

// ErrTimeRange: a time outside minYear..maxYear, which the packed form
// does not hold.
var ErrTimeRange = errors.New("time out of range")

// CheckTime says whether t fits the packed form (Unix nanoseconds).
func CheckTime(t time.Time) error {
	if y := t.Year(); y < minYear || y > maxYear {
		return fmt.Errorf("%w: %s is outside the years %d-%d", ErrTimeRange, t.Format(time.RFC3339), minYear, maxYear)
	}
	return nil
}

// row is a packed Entry: no pointers (its strings are spans of the
// State's strs).
type row struct {
	at, paise               int64
	id, lineage, inv, order span
	flags                   uint8
}

const (
	flagRedemption = 1 << iota
	flagFired
)

// span is a string of a window's strs.
type span struct{ off, n uint32 }

// State is one rule's window for one scope key. The zero value is an
// empty window. Stored states are never changed: Eval returns a new one.
// In Postgres it is JSON ({"entries":[...]}, fraud_windows) or a packed
// snapshot record (pgstore).
type State struct {
	rows []row
	strs string
}

// NewState packs es (their times must pass CheckTime).
func NewState(es []Entry) State {
	if es == nil {
		return State{}
	}
	n := 0
	for i := range es {
		e := &es[i]
		n += len(e.EventID) + len(e.Lineage) + len(e.Investor) + len(e.OrderID)
	}
	var b strings.Builder
	b.Grow(n)
	put := func(s string) span {
		sp := span{uint32(b.Len()), uint32(len(s))}
		b.WriteString(s)
		return sp
	}
	rows := make([]row, len(es))
	for i := range es {
		e := &es[i]
		r := row{at: e.At.UnixNano(), paise: e.Paise, id: put(e.EventID), lineage: put(e.Lineage), inv: put(e.Investor), order: put(e.OrderID)}
		if e.Redemption {
			r.flags |= flagRedemption
		}
		if e.Fired {
			r.flags |= flagFired
		}
		rows[i] = r
	}
	return State{rows: rows, strs: b.String()}
}

// Len is how many entries the window holds.
func (st State) Len() int { return len(st.rows) }

// IsNil: the window was written without an entry list (JSON null).
func (st State) IsNil() bool { return st.rows == nil }

func (st State) str(s span) string { return st.strs[s.off : s.off+s.n] }

// Entry is the i-th entry (its strings share the window's).
func (st State) Entry(i int) Entry {
	r := &st.rows[i]
	return Entry{Ref: Ref{EventID: st.str(r.id), Lineage: st.str(r.lineage)}, At: time.Unix(0, r.at).UTC(),
		Investor: st.str(r.inv), Paise: r.paise, Redemption: r.flags&flagRedemption != 0, OrderID: st.str(r.order),
		Fired: r.flags&flagFired != 0}
}

// Entries unpacks the window (nil for a nil window).
func (st State) Entries() []Entry {
	if st.rows == nil {
		return nil
	}
	es := make([]Entry, len(st.rows))
	for i := range st.rows {
		es[i] = st.Entry(i)
	}
	return es
}

// Newest is the time of the newest entry (the zero time for an empty
// window).
func (st State) Newest() time.Time {
	if len(st.rows) == 0 {
		return time.Time{}
	}
	n := st.rows[0].at
	for i := range st.rows {
		n = max(n, st.rows[i].at)
	}
	return time.Unix(0, n).UTC()
}

type stateJSON struct {
	Entries []Entry `json:"entries"`
}

// MarshalJSON writes {"entries":[...]} as every session before 36 did.
func (st State) MarshalJSON() ([]byte, error) { return json.Marshal(stateJSON{Entries: st.Entries()}) }

// UnmarshalJSON reads {"entries":[...]}. An entry that versions before 36
// could store but the packed form cannot hold (a time outside
// minYear..maxYear, an amount beyond int64 paise: Decode refuses both
// now) is dropped with a warning and counted in DroppedOnLoad, so a
// window saved by an older version never stops the evaluation; no real
// event's window can reach such an entry. Anything else unreadable (a
// third decimal, bad JSON) is an error.
func (st *State) UnmarshalJSON(b []byte) error {
	var w struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	es := make([]Entry, 0, len(w.Entries))
	for _, raw := range w.Entries {
		var e Entry
		if err := json.Unmarshal(raw, &e); err != nil {
			if errors.Is(err, ErrTimeRange) || errors.Is(err, ErrAmountRange) {
				DroppedOnLoad.Add(1)
				slog.Warn("fraud: a stored window entry the packed form cannot hold is dropped", "entry", string(raw), "reason", err)
				continue
			}
			return err
		}
		es = append(es, e)
	}
	*st = NewState(es)
	return nil
}

// DroppedOnLoad counts the stored entries UnmarshalJSON dropped.
var DroppedOnLoad atomic.Int64
