package pgstore

import (
	"encoding/json"
	"time"

	"github.com/fundflow/fundflow/fraud"
)

// appendRec appends one snapshot record, exactly the bytes json.Encoder
// writes for it (the same format load reads, and older code too), without
// reflection: a snapshot encodes every window an event touched, and
// encoding/json's reflection was most of its cost. ok false: a time
// encoding/json refuses (a year outside 0-9999; events are parsed from
// RFC 3339, so none is expected): the caller encodes the record with
// encoding/json, for its error.
func appendRec(b []byte, k string, st *fraud.State) (_ []byte, ok bool) {
	if st != nil {
		for i := range st.Entries {
			if y := st.Entries[i].At.Year(); y < 0 || y > 9999 {
				return b, false
			}
		}
	}
	b = append(b, `{"k":`...)
	b = appendString(b, k)
	if st != nil {
		b = append(b, `,"s":{"entries":`...)
		if st.Entries == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i := range st.Entries {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendEntry(b, &st.Entries[i])
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "}\n"...), true
}

func appendEntry(b []byte, e *fraud.Entry) []byte {
	b = append(b, `{"event_id":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"lineage":`...)
	b = appendString(b, e.Lineage)
	b = append(b, `,"at":`...)
	b = appendTime(b, e.At)
	if e.Investor != "" {
		b = append(b, `,"investor":`...)
		b = appendString(b, e.Investor)
	}
	b = append(b, `,"amount":`...)
	b = appendString(b, e.Amount.String())
	if e.Redemption {
		b = append(b, `,"redemption":true`...)
	}
	if e.OrderID != "" {
		b = append(b, `,"order_id":`...)
		b = appendString(b, e.OrderID)
	}
	if e.Fired {
		b = append(b, `,"fired":true`...)
	}
	return append(b, '}')
}

// appendTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds,
// quoted) for a year in 0-9999 (appendRec checks).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString quotes s as encoding/json does: the common id-like string
// (printable ASCII without '"', '\\', '<', '>' or '&') as it is, anything
// else through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s) // a string always encodes
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
