package pgstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
)

// randomWindows: windows of every shape (strings that JSON escapes, empty
// strings, negative and extreme amounts, the first and last years a window
// keeps), and some gone (nil).
func randomWindows(seed uint64, n int) ([]string, []*fraud.State) {
	rng := rand.New(rand.NewPCG(seed, 36))
	strs := []string{"", "INV-1", "orders.status:P1:awaiting_payment", "kafka:orders.status/3/1234", "kafka:orders.status/3/1299",
		`a"b\c`, "<&>", "tab\there", "naïve", "\u2028x", "\x7f", "bank:9f86d081884c7d65"}
	times := []time.Time{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 8, 3, 10, 0, 0, 123456789, time.UTC), time.Date(2200, 12, 31, 23, 59, 59, 0, time.UTC)}
	paise := []int64{0, 1, -1, 4750000, -1250, 1<<63 - 1, -1 << 63}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	keys := make([]string, n)
	sts := make([]*fraud.State, n)
	for i := range n {
		keys[i] = fmt.Sprintf("%s|%d", pick(strs), i)
		if i%4 == 0 {
			continue // gone
		}
		var es []fraud.Entry
		for range 1 + rng.IntN(5) {
			es = append(es, fraud.Entry{Ref: fraud.Ref{EventID: pick(strs), Lineage: pick(strs)}, At: times[rng.IntN(len(times))],
				Investor: pick(strs), Paise: paise[rng.IntN(len(paise))], Redemption: rng.IntN(2) == 0, OrderID: pick(strs), Fired: rng.IntN(2) == 0})
		}
		st := fraud.NewState(es)
		sts[i] = &st
	}
	return keys, sts
}

func jsonOf(t *testing.T, st fraud.State) string {
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A packed chunk reads back the windows it was written from, and a gone
// record deletes the window; the same windows as JSON lines (the format
// before session 36) read back the same, so a snapshot of the old code is
// read by the new one.
func TestPackedChunkReadsBackAndJSONChunkToo(t *testing.T) {
	keys, sts := randomWindows(1, 3000)
	packed := startChunk(nil)
	var p packer
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for i, k := range keys {
		packed = p.appendPacked(packed, k, sts[i])
		if err := enc.Encode(snapRec{K: k, S: sts[i]}); err != nil {
			t.Fatal(err)
		}
	}
	packed = endChunk(packed, len(keys))
	// the first packed form, without the record count, is still read
	noCount := append([]byte{packedFormatNoCount}, packed[packedHeader:]...)
	for name, chunk := range map[string][]byte{"packed": packed, "packed without a count": noCount, "json": lines.Bytes()} {
		m := mem{states: map[string]fraud.State{}}
		for i, k := range keys {
			if sts[i] == nil {
				m.states[k] = fraud.NewState([]fraud.Entry{{At: time.Unix(0, 0)}}) // a window the record drops
			}
		}
		if err := m.apply(chunk); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, k := range keys {
			got, ok := m.states[k]
			if sts[i] == nil {
				if ok {
					t.Fatalf("%s: window %q should be gone", name, k)
				}
				continue
			}
			if !ok || jsonOf(t, got) != jsonOf(t, *sts[i]) {
				t.Fatalf("%s: window %q:\n got %s\nwant %s", name, k, jsonOf(t, got), jsonOf(t, *sts[i]))
			}
		}
	}
	if len(packed)*2 > lines.Len() {
		t.Errorf("packed %d bytes, JSON %d: expected less than half", len(packed), lines.Len())
	}
}

// A JSON record as the code before session 36 wrote it, by hand: every
// field lands where it did.
func TestOldJSONRecordIsRead(t *testing.T) {
	line := `{"k":"ato|INV-1","s":{"entries":[{"event_id":"investors.changed:INV-1:2","lineage":"kafka:investors.changed/0/5","at":"2026-08-03T10:00:00.5+05:30","amount":"0.00"},` +
		`{"event_id":"orders.status:R1:pending_nav","lineage":"kafka:orders.status/2/9","at":"2026-08-04T00:00:00Z","investor":"INV-1","amount":"47500.05","redemption":true,"order_id":"R1","fired":true}]}}` + "\n"
	m := mem{states: map[string]fraud.State{}}
	if err := m.apply([]byte(line)); err != nil {
		t.Fatal(err)
	}
	es := m.states["ato|INV-1"].Entries()
	want := []fraud.Entry{
		{Ref: fraud.Ref{EventID: "investors.changed:INV-1:2", Lineage: "kafka:investors.changed/0/5"}, At: time.Date(2026, 8, 3, 4, 30, 0, 5e8, time.UTC)},
		{Ref: fraud.Ref{EventID: "orders.status:R1:pending_nav", Lineage: "kafka:orders.status/2/9"}, At: time.Date(2026, 8, 4, 0, 0, 0, 0, time.UTC),
			Investor: "INV-1", Paise: 4750005, Redemption: true, OrderID: "R1", Fired: true},
	}
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d", len(es), len(want))
	}
	for i := range want {
		if es[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, es[i], want[i])
		}
	}
	// an amount with a third decimal is refused, not rounded into paise
	bad := strings.Replace(line, `"47500.05"`, `"47500.055"`, 1)
	if err := m.apply([]byte(bad)); err == nil {
		t.Error("an amount of 47500.055 was read")
	}
}

// A window an older version saved with an entry the packed form cannot
// hold (a year-9999 time, an amount beyond int64 paise: Decode accepted
// both before session 36) loads without it, counted, instead of stopping
// the evaluation on every start (review r36-3 F1).
func TestOldJSONEntryBeyondThePackedFormIsDropped(t *testing.T) {
	line := `{"k":"ato|INV-1","s":{"entries":[{"event_id":"e1","lineage":"l1","at":"9999-12-31T00:00:00Z","amount":"0.00"},` +
		`{"event_id":"e2","lineage":"l2","at":"2026-08-04T00:00:00Z","investor":"INV-1","amount":"92233720368547758.08"},` +
		`{"event_id":"e3","lineage":"l3","at":"2026-08-04T00:00:00Z","investor":"INV-1","amount":"100.00","redemption":true}]}}` + "\n"
	before := fraud.DroppedOnLoad.Load()
	m := mem{states: map[string]fraud.State{}}
	if err := m.apply([]byte(line)); err != nil {
		t.Fatal(err)
	}
	es := m.states["ato|INV-1"].Entries()
	if len(es) != 1 || es[0].Ref.EventID != "e3" || es[0].Paise != 10000 {
		t.Fatalf("entries %+v, want only e3 of 100.00", es)
	}
	if d := fraud.DroppedOnLoad.Load() - before; d != 2 {
		t.Errorf("%d entries counted as dropped, want 2", d)
	}
}

// A chunk of a format this version does not know, or a packed one cut
// short, is an error: never misread as windows.
func TestUnknownOrCutChunkIsAnError(t *testing.T) {
	keys, sts := randomWindows(2, 50)
	packed := startChunk(nil)
	var p packer
	for i, k := range keys {
		packed = p.appendPacked(packed, k, sts[i])
	}
	packed = endChunk(packed, len(keys))
	m := mem{states: map[string]fraud.State{}}
	if err := m.apply(append([]byte{0x04}, packed[1:]...)); err == nil {
		t.Error("a chunk of format 4 was read")
	}
	if err := m.apply(packed); err != nil {
		t.Fatalf("the whole chunk: %v", err)
	}
	// every cut is refused, at a record's boundary too (review r36-3 F2:
	// a chunk cut after its first record read as one window)
	for n := 1; n < len(packed); n++ {
		if err := m.apply(packed[:n]); err == nil {
			t.Errorf("the chunk cut to %d of its %d bytes was read", n, len(packed))
		}
	}
	// a flags byte with unknown bits is refused
	var q packer
	one := endChunk(q.appendPacked(startChunk(nil), "k", sts[1]), 1)
	one[len(one)-1] |= 0x80
	if err := m.apply(one); err == nil {
		t.Error("unknown flags were read")
	}
}
