package kafka

import (
	"strconv"
	"unicode/utf8"
)

// A NAV file publishes ~14,000 events at once; encoding them through
// encoding/json's reflection took as long as sending them. These functions
// write the same bytes json.Marshal writes for NAVFact and NAVEvent (a test
// and a fuzz target compare them), without reflection.

// appendFact appends the JSON of f, byte for byte as json.Marshal(f).
func appendFact(b []byte, f *NAVFact) []byte {
	b = append(b, `{"scheme_code":`...)
	b = appendString(b, f.SchemeCode)
	b = append(b, `,"nav_date":`...)
	b = appendString(b, f.NAVDate)
	b = append(b, `,"nav":`...)
	b = appendString(b, f.NAV)
	if f.Repurchase != nil {
		b = append(b, `,"repurchase":`...)
		b = appendString(b, *f.Repurchase)
	}
	if f.Sale != nil {
		b = append(b, `,"sale":`...)
		b = appendString(b, *f.Sale)
	}
	b = append(b, `,"scheme_name":`...)
	b = appendString(b, f.SchemeName)
	for _, o := range [...]struct{ key, v string }{
		{`,"isin_growth":`, f.ISINGrowth}, {`,"isin_reinvest":`, f.ISINReinvest}, {`,"plan":`, f.Plan}, {`,"option":`, f.Option},
	} {
		if o.v != "" { // omitempty
			b = append(b, o.key...)
			b = appendString(b, o.v)
		}
	}
	b = append(b, `,"category":`...)
	b = appendString(b, f.Category)
	b = append(b, `,"scheme_type":`...)
	b = appendString(b, f.SchemeType)
	b = append(b, `,"amc":`...)
	b = appendString(b, f.AMC)
	return append(b, '}')
}

// appendEvent appends the JSON of the NAVEvent made of id, the already
// encoded fact and src, byte for byte as json.Marshal would.
func appendEvent(b []byte, id string, fact []byte, src EventSource) []byte {
	b = append(b, `{"event_id":`...)
	b = appendString(b, id)
	b = append(b, ',')
	b = append(b, fact[1:len(fact)-1]...) // the fact's fields are the event's (embedded struct)
	b = append(b, `,"source":{"file":`...)
	b = appendString(b, src.File)
	b = append(b, `,"sha256":`...)
	b = appendString(b, src.SHA256)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(src.Line), 10)
	return append(b, '}', '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does: HTML
// characters and U+2028/U+2029 escaped, control characters as \n, \r, \t, \b, \f or
// \u00XX, and invalid UTF-8 (mojibake in old NAV files) as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
