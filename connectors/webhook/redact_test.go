package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// The e-mandate token's account: 14 digits, the last 4 kept.
		{tokenConfirmedEmandate, strings.Replace(tokenConfirmedEmandate, `"account_number":"50100012345678"`, `"account_number":"XXXXXXXXXX5678"`, 1)},
		{`{"a":{"account_number" : "1234567890"},"b":[{"account_number":"9876"}]}`, `{"a":{"account_number" : "XXXXXX7890"},"b":[{"account_number":"XXXX"}]}`},
		// A value named account_number elsewhere is not a key: kept.
		{`{"note":"account_number","x":["account_number","12345678"]}`, `{"note":"account_number","x":["account_number","12345678"]}`},
		// Not a string: kept (nothing to mask).
		{`{"account_number":12345678,"y":null}`, `{"account_number":12345678,"y":null}`},
		{`not json`, `not json`},
		{`{"account_number":"12\u00345678"}`, `{"account_number":"XXX5678"}`}, // \u0034 is 4: 1245678, 7 characters
	} {
		if got := string(Redact([]byte(c.in))); got != c.want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	// The parsed mandate is unchanged by storing the redacted body: parsing
	// runs on the signed bytes, the redacted body is only stored.
	if bytes.Contains(Redact([]byte(tokenRejected)), []byte("50100012345678")) {
		t.Error("account number kept")
	}
}

// Any input: no panic; valid JSON stays valid JSON with the same shape and
// no account_number value longer than 4 characters in the clear.
func FuzzRedact(f *testing.F) {
	f.Add(tokenConfirmedEmandate)
	f.Add(`{"account_number":"1","a":[{"account_number":"123456789"}]}`)
	f.Add(`[{"k":{"account_number":"\"quoted\""}}]`)
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact([]byte(s))
		var a, b any
		if json.Unmarshal([]byte(s), &a) != nil {
			return
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("redacted %q is not JSON: %q", s, out)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					r, ok := e.(string)
					if rs := []rune(r); ok && k == "account_number" && len(rs) > 4 && strings.Trim(string(rs[:len(rs)-4]), "X") != "" {
						t.Fatalf("account_number %q in the clear in %q", r, out)
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(b)
	})
}

type captureStore struct{ got []Delivery }

func (c *captureStore) Receive(_ context.Context, d Delivery) (bool, string, error) {
	c.got = append(c.got, d)
	return false, "applied", nil
}

// The receiver hands the store a body with the account masked, while the
// parsed mandate keeps the account (the ledger seals it into mandates).
func TestReceiverStoresRedactedBody(t *testing.T) {
	secret := []byte("whsec")
	st := &captureStore{}
	rc := &Receiver{Secrets: [][]byte{secret}, Store: st}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tokenConfirmedEmandate))
	req := httptest.NewRequest("POST", "/webhooks/razorpay", strings.NewReader(tokenConfirmedEmandate))
	req.Header.Set(HeaderSignature, hex.EncodeToString(m.Sum(nil)))
	req.Header.Set(HeaderEventID, "evt_tc")
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, req)
	if w.Code != 200 || len(st.got) != 1 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	d := st.got[0]
	if bytes.Contains(d.Body, []byte("50100012345678")) || !bytes.Contains(d.Body, []byte(`"XXXXXXXXXX5678"`)) {
		t.Errorf("stored body: %s", d.Body)
	}
	if d.Mandate == nil || d.Mandate.AccountNumber != "50100012345678" {
		t.Errorf("parsed mandate: %+v", d.Mandate)
	}
}
