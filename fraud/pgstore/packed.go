package pgstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fraud"
)

// A snapshot chunk of session 36 on is packed, not JSON: its first byte is
// packedFormat (a JSON chunk, as every earlier session wrote, starts with
// '{', and load still reads it), then records of
//
//	key, n entries (0: the window is gone), and per entry
//	at (Unix nanoseconds), paise (both zig-zag varints),
//	event id, lineage, investor, order id (each front-coded against the
//	same field of the chunk's previous entry: uvarint shared prefix,
//	uvarint length, the rest), flags (1 redemption, 2 fired)
//
// An entry was about 200 bytes of JSON, mostly names and the same topic
// prefixes again; a chunk with another first byte is refused, never
// guessed at (written by a newer version).
//
// After the format byte, a 4-byte little-endian count of the chunk's
// records: a chunk cut at a record boundary would otherwise read as a
// valid, shorter one and lose windows silently (review r36-3 F2).
// packedFormatNoCount is the first packed form (no count), still read.
const (
	packedFormatNoCount = 0x02
	packedFormat        = 0x03
	packedHeader        = 5
)

// startChunk begins a packed chunk in b (its count filled by endChunk).
func startChunk(b []byte) []byte { return append(b[:0], packedFormat, 0, 0, 0, 0) }

// endChunk writes the chunk's record count into its header.
func endChunk(b []byte, records int) []byte {
	binary.LittleEndian.PutUint32(b[1:packedHeader], uint32(records))
	return b
}

// packer front-codes one chunk's strings (reset at each chunk: a chunk is
// read on its own).
type packer struct{ prev [4]string }

func (p *packer) str(b []byte, f int, s string) []byte {
	prev := p.prev[f]
	n := 0
	for n < len(prev) && n < len(s) && prev[n] == s[n] {
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.AppendUvarint(b, uint64(len(s)-n))
	p.prev[f] = s
	return append(b, s[n:]...)
}

// appendPacked appends the record of window k (st nil: gone).
func (p *packer) appendPacked(b []byte, k string, st *fraud.State) []byte {
	b = binary.AppendUvarint(b, uint64(len(k)))
	b = append(b, k...)
	n := 0
	if st != nil {
		n = st.Len()
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i := range n {
		e := st.Entry(i)
		b = binary.AppendVarint(b, e.At.UnixNano())
		b = binary.AppendVarint(b, e.Paise)
		b = p.str(b, 0, e.EventID)
		b = p.str(b, 1, e.Lineage)
		b = p.str(b, 2, e.Investor)
		b = p.str(b, 3, e.OrderID)
		var fl byte
		if e.Redemption {
			fl |= 1
		}
		if e.Fired {
			fl |= 2
		}
		b = append(b, fl)
	}
	return b
}

var errPacked = errors.New("fraud snapshot: a packed record is cut short or malformed")

// applyPacked reads a packed chunk (after its header) over states; want
// is the header's record count (-1: a chunk of packedFormatNoCount).
func applyPacked(data []byte, states map[string]fraud.State, want int) error {
	var prev [4]string
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return 0, false
		}
		data = data[n:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(data)
		if n <= 0 {
			return 0, false
		}
		data = data[n:]
		return v, true
	}
	bytesOf := func(n uint64) ([]byte, bool) {
		if n > uint64(len(data)) {
			return nil, false
		}
		b := data[:n]
		data = data[n:]
		return b, true
	}
	str := func(f int) (string, bool) {
		shared, ok1 := uv()
		rest, ok2 := uv()
		if !ok1 || !ok2 || shared > uint64(len(prev[f])) {
			return "", false
		}
		b, ok := bytesOf(rest)
		if !ok {
			return "", false
		}
		s := prev[f][:shared] + string(b)
		prev[f] = s
		return s, true
	}
	var es []fraud.Entry
	rec := 0
	for ; len(data) > 0; rec++ {
		kl, ok := uv()
		if !ok {
			return fmt.Errorf("%w (record %d)", errPacked, rec)
		}
		kb, ok := bytesOf(kl)
		if !ok {
			return fmt.Errorf("%w (record %d)", errPacked, rec)
		}
		k := string(kb)
		n, ok := uv()
		if !ok || n > uint64(len(data)) { // an entry takes at least a byte
			return fmt.Errorf("%w (record %d)", errPacked, rec)
		}
		if n == 0 {
			delete(states, k)
			continue
		}
		es = es[:0]
		for range n {
			var e fraud.Entry
			at, ok1 := sv()
			paise, ok2 := sv()
			if !ok1 || !ok2 {
				return fmt.Errorf("%w (record %d)", errPacked, rec)
			}
			e.At, e.Paise = time.Unix(0, at).UTC(), paise
			for f, dst := range []*string{&e.EventID, &e.Lineage, &e.Investor, &e.OrderID} {
				if *dst, ok = str(f); !ok {
					return fmt.Errorf("%w (record %d)", errPacked, rec)
				}
			}
			fl, ok := bytesOf(1)
			if !ok || fl[0]&^3 != 0 {
				return fmt.Errorf("%w (record %d)", errPacked, rec)
			}
			e.Redemption, e.Fired = fl[0]&1 != 0, fl[0]&2 != 0
			es = append(es, e)
		}
		states[k] = fraud.NewState(es)
	}
	if want >= 0 && rec != want {
		return fmt.Errorf("%w: %d records of the %d its header counts", errPacked, rec, want)
	}
	return nil
}
