package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/fundflow/fundflow/fund"
)

// redactedKeys are the members whose string values are masked before a
// body is stored: the bank account an e-mandate token carries
// (token.bank_details.account_number) and any other account number a
// gateway entity may carry. The inbox keeps every event for ever, so an
// account number in it would be PII in the clear beside the sealed copy in
// mandates.bank_account_enc.
var redactedKeys = map[string]bool{"account_number": true}

// Redact returns body with the value of every "account_number" member, at
// any depth, masked to its last 4 characters (fund.MaskTail); every other
// byte is kept. The result no longer verifies against the signature: it is
// what is stored, after verification and parsing ran on the signed bytes.
// A body that is not JSON is returned as is (it is stored as failed and
// holds no parsed account).
func Redact(body []byte) []byte {
	type frame struct{ object, key bool } // in an object; the next string is a key
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []frame
	var out []byte
	last := 0
	redactNext := false
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return body
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			redactNext = false
			switch v {
			case '{':
				stack = append(stack, frame{object: true, key: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				if top > 0 && stack[top-1].object {
					stack[top-1].key = true
				}
			}
			continue
		case string:
			if top >= 0 && stack[top].object && stack[top].key {
				stack[top].key = false
				redactNext = redactedKeys[v]
				continue
			}
			if redactNext {
				// The value's bytes: from the opening quote after the colon
				// to the token's end.
				end := int(dec.InputOffset())
				start := before + bytes.IndexByte(body[before:end], '"')
				masked, _ := json.Marshal(fund.MaskTail(v))
				out = append(out, body[last:start]...)
				out = append(out, masked...)
				last = end
			}
		}
		redactNext = false
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}
