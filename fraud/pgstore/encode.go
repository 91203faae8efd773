package pgstore

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/fundflow/fundflow/fraud"
)

// appendRec appends one snapshot record, exactly the bytes json.Encoder
// writes for it (the same format load reads, and older code too), without
// reflection: a snapshot encodes every window an event touched, and
// encoding/json's reflection was most of its cost. ok false: a time
// encoding/json refuses (a year outside 0-9999; a packed window's times
// are within 1678-2262, so never since session 36): the caller encodes
// the record with encoding/json, for its error.
func appendRec(b []byte, k string, st *fraud.State) (_ []byte, ok bool) {
	b = append(b, `{"k":`...)
	b = appendString(b, k)
	if st != nil {
		b = append(b, `,"s":{"entries":`...)
		if st.IsNil() {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i := range st.Len() {
				if i > 0 {
					b = append(b, ',')
				}
				e := st.Entry(i)
				b = appendEntry(b, &e)
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
	b = appendPaise(b, e.Paise)
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

// appendPaise writes p paise as fund.Amount's JSON does: "-12.50".
func appendPaise(b []byte, p int64) []byte {
	b = append(b, '"')
	u := uint64(p)
	if p < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	b = append(b, '.', byte('0'+u%100/10), byte('0'+u%10))
	return append(b, '"')
}
