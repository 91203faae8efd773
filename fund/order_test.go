package fund

import (
	"bytes"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDecodeOrderRequest(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		id     string // "" : no id (plain error)
		reason string // "" : valid
		legs   []string
	}{
		{"purchase", `{"order_id":"A-1","type":"purchase","investor_id":"I","folio":"F","scheme_code":"119551","amount":"5000.00","placed_at":"2026-08-21T10:00:00+05:30"}`, "A-1", "", []string{"A-1"}},
		{"redemption by units", `{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"10.5","placed_at":"2026-08-21T10:00:00Z"}`, "R", "", []string{"R"}},
		{"redemption by units as a JSON number", `{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":10.5,"placed_at":"2026-08-21T10:00:00Z"}`, "R", "", []string{"R"}},
		{"switch", `{"order_id":"S","type":"switch","investor_id":"I","folio":"F","scheme_code":"A","to_scheme_code":"B","all_units":true,"placed_at":"2026-08-21T10:00:00Z"}`, "S", "", []string{"S#out", "S#in"}},
		{"cancel", `{"order_id":"C","type":"cancel","target_order_id":"A-1","placed_at":"2026-08-21T10:00:00Z"}`, "C", "", nil},
		{"purchase through a distributor", `{"order_id":"D","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","arn":"ARN-12345","euin":"E123456","placed_at":"2026-08-21T10:00:00Z"}`, "D", "", []string{"D"}},
		{"arn without ARN-", `{"order_id":"D","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","arn":"12345","placed_at":"2026-08-21T10:00:00Z"}`, "D", "bad_arn", nil},
		{"euin of 5 digits", `{"order_id":"D","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","arn":"ARN-1","euin":"E12345","placed_at":"2026-08-21T10:00:00Z"}`, "D", "bad_euin", nil},
		{"euin without arn", `{"order_id":"D","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","euin":"E123456","placed_at":"2026-08-21T10:00:00Z"}`, "D", "bad_euin", nil},
		{"amount with 3 decimals", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.001","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_json", nil},
		{"amount as a JSON number", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":1,"placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_json", nil},
		{"zero amount", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"0.00","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_amount", nil},
		{"units with 10 decimals", `{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"1.0000000001","placed_at":"2026-08-21T10:00:00Z"}`, "R", "bad_units", nil},
		{"purchase with units", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","units":"1","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_quantity", nil},
		{"redemption without quantity", `{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","placed_at":"2026-08-21T10:00:00Z"}`, "R", "bad_quantity", nil},
		{"switch into itself", `{"order_id":"S","type":"switch","investor_id":"I","folio":"F","scheme_code":"A","to_scheme_code":"A","units":"1","placed_at":"2026-08-21T10:00:00Z"}`, "S", "bad_field", nil},
		{"cancel of itself", `{"order_id":"C","type":"cancel","target_order_id":"C","placed_at":"2026-08-21T10:00:00Z"}`, "C", "bad_target", nil},
		{"no time stamp", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00"}`, "A", "missing_field", nil},
		{"time without offset", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","placed_at":"2026-08-21T10:00:00"}`, "A", "bad_json", nil},
		{"USD", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","currency":"USD","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_currency", nil},
		{"unknown type", `{"order_id":"A","type":"sip","placed_at":"2026-08-21T10:00:00Z"}`, "A", "missing_field", nil},
		{"unknown field", `{"order_id":"A","type":"purchase","nav":"1"}`, "A", "bad_json", nil},
		{"trailing data", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","placed_at":"2026-08-21T10:00:00Z"} {}`, "", "", nil},
		{"id with a hash", `{"order_id":"A#in","type":"purchase"}`, "", "", nil},
		{"id too long", `{"order_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`, "", "", nil},
		{"id a number", `{"order_id":1}`, "", "", nil},
		{"not JSON", `purchase`, "", "", nil},
		// Values no column can hold: refused here, never left to fail the
		// transaction (which a client would retry forever).
		{"amount beyond numeric(18,2)", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"10000000000000000.00","placed_at":"2026-08-21T10:00:00Z"}`, "A", "out_of_range", nil},
		{"largest amount numeric(18,2) holds", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"9999999999999999.99","placed_at":"2026-08-21T10:00:00Z"}`, "A", "", []string{"A"}},
		{"units beyond numeric(24,9)", `{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"1000000000000000","placed_at":"2026-08-21T10:00:00Z"}`, "R", "out_of_range", nil},
		{"NUL in payment_ref", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","payment_ref":"order_\u0000x","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_encoding", nil},
		{"NUL in folio", `{"order_id":"A","type":"purchase","investor_id":"I","folio":"F\u0000","scheme_code":"S","amount":"1.00","placed_at":"2026-08-21T10:00:00Z"}`, "A", "bad_encoding", nil},
		{"Latin-1 byte", "{\"order_id\":\"A\",\"type\":\"purchase\",\"investor_id\":\"I\",\"folio\":\"F\",\"scheme_code\":\"S\",\"amount\":\"1.00\",\"payment_ref\":\"caf\xe9\",\"placed_at\":\"2026-08-21T10:00:00Z\"}", "A", "bad_encoding", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := DecodeOrderRequest([]byte(c.body))
			var ie *InvalidOrderError
			switch {
			case c.id == "":
				if err == nil || errors.As(err, &ie) {
					t.Fatalf("err = %v, want a plain error (no usable id)", err)
				}
			case c.reason == "":
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, l := range r.Legs() {
					got = append(got, l.ID)
					if l.ARN != r.ARN || l.EUIN != r.EUIN {
						t.Errorf("leg %s: distributor %q/%q, want the request's %q/%q", l.ID, l.ARN, l.EUIN, r.ARN, r.EUIN)
					}
				}
				if len(got) != len(c.legs) || (len(got) > 0 && (got[0] != c.legs[0] || got[len(got)-1] != c.legs[len(c.legs)-1])) {
					t.Errorf("legs %v, want %v", got, c.legs)
				}
			default:
				if !errors.As(err, &ie) || ie.Reason != c.reason || r.ID != c.id {
					t.Fatalf("err = %v (id %q), want reason %q for id %q", err, r.ID, c.reason, c.id)
				}
			}
		})
	}
}

// A refusal's detail can be stored as text whatever the request held.
func TestInvalidDetailIsStorable(t *testing.T) {
	for _, body := range []string{
		`{"order_id":"A","type":"purchase\u0000","placed_at":"2026-08-21T10:00:00Z"}`,
		"{\"order_id\":\"A\",\"type\":\"\xff\"}",
		`{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","payment_ref":"\u0000","placed_at":"2026-08-21T10:00:00Z"}`,
	} {
		_, err := DecodeOrderRequest([]byte(body))
		var ie *InvalidOrderError
		if !errors.As(err, &ie) {
			t.Fatalf("%q: err = %v, want an *InvalidOrderError", body, err)
		}
		if e := CheckText("detail", ie.Detail); e != nil {
			t.Errorf("%q: detail %q cannot be stored: %v", body, ie.Detail, e)
		}
	}
}

// The effective time: the client's placed_at within the skew before our
// receipt, else the receipt time; never a time after the receipt.
func TestEffectiveTime(t *testing.T) {
	rcv := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	const skew = 5 * time.Minute
	cases := []struct {
		name    string
		claimed time.Time
		want    time.Time
		src     TimeSource
	}{
		{"a second before", rcv.Add(-time.Second), rcv.Add(-time.Second), TimeClient},
		{"exactly the skew before", rcv.Add(-skew), rcv.Add(-skew), TimeClient},
		{"a second more than the skew before", rcv.Add(-skew - time.Second), rcv, TimeReceived},
		{"the same instant", rcv, rcv, TimeClient},
		{"a second after", rcv.Add(time.Second), rcv, TimeReceived},
		{"16-Jun-2025 (the old NAV of the report)", time.Date(2025, 6, 16, 10, 0, 0, 0, time.UTC), rcv, TimeReceived},
		{"year 5138", time.Date(5138, 11, 17, 0, 0, 0, 0, time.UTC), rcv, TimeReceived},
		{"none", time.Time{}, rcv, TimeReceived},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src := EffectiveTime(c.claimed, rcv, skew)
			if !got.Equal(c.want) || src != c.src {
				t.Errorf("EffectiveTime = %v %s, want %v %s", got, src, c.want, c.src)
			}
		})
	}
}

// An intake's legs carry the effective time; the request keeps the
// client's placed_at (its fingerprint must not depend on when it arrived).
func TestIntakeEffectiveTime(t *testing.T) {
	raw := []byte(`{"order_id":"S","type":"switch","investor_id":"I","folio":"F","scheme_code":"A","to_scheme_code":"B","units":"1","placed_at":"2025-06-16T10:00:00+05:30"}`)
	rcv := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a, ok, err := IntakeOf(raw, Receipt{Source: "http", At: rcv, MaxSkew: 5 * time.Minute})
	if !ok || err != nil || a.Invalid != nil {
		t.Fatalf("IntakeOf: %v %v %+v", ok, err, a.Invalid)
	}
	if a.TimeSource != TimeReceived || !a.At.Equal(rcv) {
		t.Errorf("effective %v (%s), want the receipt time %v", a.At, a.TimeSource, rcv)
	}
	for _, l := range a.Legs() {
		if !l.PlacedAt.Equal(rcv) {
			t.Errorf("leg %s placed at %v, want %v", l.ID, l.PlacedAt, rcv)
		}
	}
	b, _, _ := IntakeOf(raw, Receipt{Source: "http", At: rcv.Add(time.Hour), MaxSkew: 5 * time.Minute})
	if a.Req.Fingerprint() != b.Req.Fingerprint() {
		t.Error("the same request received at two times has two fingerprints")
	}
}

// The canonical form names the request whatever its spelling.
func TestOrderFingerprint(t *testing.T) {
	a, err := DecodeOrderRequest([]byte(`{"order_id":"A","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"1.50","placed_at":"2026-08-21T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeOrderRequest([]byte(`{ "placed_at":"2026-08-21T04:30:00Z", "units": 1.5, "scheme_code":"S", "folio":"F", "investor_id":"I", "type":"redemption", "order_id":"A" }`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := DecodeOrderRequest([]byte(`{"order_id":"A","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"1.501","placed_at":"2026-08-21T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("same request, different fingerprints:\n%s\n%s", a.Canonical(), b.Canonical())
	}
	if a.Fingerprint() == c.Fingerprint() {
		t.Errorf("different units, same fingerprint")
	}
}

// Whatever the bytes, decoding does not panic; a valid request survives its
// canonical form unchanged.
func FuzzDecodeOrderRequest(f *testing.F) {
	f.Add([]byte(`{"order_id":"A-1","type":"purchase","investor_id":"I","folio":"F","scheme_code":"119551","amount":"5000.00","placed_at":"2026-08-21T10:00:00+05:30","payment_ref":"order_x"}`))
	f.Add([]byte(`{"order_id":"S","type":"switch","investor_id":"I","folio":"F","scheme_code":"A","to_scheme_code":"B","units":"0.001","placed_at":"2026-08-21T10:00:00Z"}`))
	f.Add([]byte(`{"order_id":"C","type":"cancel","target_order_id":"A-1","placed_at":"2026-08-21T10:00:00Z"}`))
	f.Add([]byte(`{"order_id":"R","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","all_units":true,"placed_at":"2026-08-21T10:00:00Z"}`))
	f.Add([]byte(`{"order_id":1e400}`))
	f.Add([]byte(`{"order_id":"A","type":"purchase","investor_id":"I","folio":"F","scheme_code":"S","amount":"1.00","payment_ref":"\u0000","placed_at":"2026-08-21T10:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeOrderRequest(b)
		var ie *InvalidOrderError
		if errors.As(err, &ie) {
			if e := CheckText("detail", ie.Detail); e != nil {
				t.Fatalf("a refusal's detail cannot be stored: %v", e)
			}
		}
		if err != nil {
			return
		}
		// An accepted request is storable: its canonical body is UTF-8
		// without the \u0000 that jsonb refuses.
		if c := r.Canonical(); !utf8.Valid(c) || bytes.Contains(c, []byte(`\u0000`)) {
			t.Fatalf("accepted a request that cannot be stored: %s", c)
		}
		again, err := DecodeOrderRequest(r.Canonical())
		if err != nil {
			t.Fatalf("canonical form of a valid request does not decode: %v\n%s", err, r.Canonical())
		}
		if again.Fingerprint() != r.Fingerprint() {
			t.Fatalf("canonical form changes the request:\n%s\n%s", r.Canonical(), again.Canonical())
		}
		for _, l := range r.Legs() {
			if l.ID == "" || !l.Kind.Valid() {
				t.Fatalf("bad leg %+v", l)
			}
		}
	})
}
