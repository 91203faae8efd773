package webhook

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// razorpayGoBody is the webhook body of razorpay/razorpay-go's
// resources/verify_payment_test.go (secret "123456", signature
// ea962f3a…d2a6 there): an independent vector from the gateway's own SDK.
const razorpayGoBody = `{"entity":"event","account_id":"acc_HVFD0PFnHPAzKj","event":"payment.authorized","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_JUEM4c0pSLpFEW","entity":"payment","amount":12300,"currency":"INR","status":"authorized","order_id":"order_JUELuT6cFaHkvd","invoice_id":null,"international":false,"method":"netbanking","amount_refunded":0,"refund_status":null,"captured":false,"description":"#JUELZ1z1EC0pwi","card_id":null,"bank":"SBIN","wallet":null,"vpa":null,"email":"prathmesh.bijjargi@razorpay.com","contact":"+917411714931","notes":[],"fee":null,"tax":null,"error_code":null,"error_description":null,"error_source":null,"error_step":null,"error_reason":null,"acquirer_data":{"bank_transaction_id":"6416615"},"created_at":1652339804}}},"created_at":1652339806}`

const (
	razorpayGoSig     = "ea962f3a2a8090aa14ef10fc178306edcb46ee7ccadae8afe2275cda26f3d2a6"
	pythonFixtureSig  = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9"
	pythonFixtureFile = "payments/razorpay/fake_payment_authorized_webhook.json"
)

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Fixture(t, pythonFixtureFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The signatures published with the gateway's SDKs verify, and nothing near
// them does.
func TestVerify(t *testing.T) {
	py := fixture(t)
	flip := func(b []byte, i int) []byte {
		c := append([]byte(nil), b...)
		c[i] ^= 0x01
		return c
	}
	cases := []struct {
		name    string
		body    []byte
		sig     string
		secrets []string
		want    bool
	}{
		{"razorpay-python fixture, key_secret", py, pythonFixtureSig, []string{"key_secret"}, true},
		{"razorpay-go vector, 123456", []byte(razorpayGoBody), razorpayGoSig, []string{"123456"}, true},
		{"rotation: the old secret second", py, pythonFixtureSig, []string{"new-secret", "key_secret"}, true},
		{"rotation: the old secret first", []byte(razorpayGoBody), razorpayGoSig, []string{"123456", "other"}, true},
		{"upper-case hex is the same signature", py, strings.ToUpper(pythonFixtureSig), []string{"key_secret"}, true},
		{"wrong secret", py, pythonFixtureSig, []string{"key_secret2"}, false},
		{"no secret configured", py, pythonFixtureSig, nil, false},
		{"empty secret never verifies", py, Sign(py, nil), []string{""}, false},
		{"trailing newline dropped", py[:len(py)-1], pythonFixtureSig, []string{"key_secret"}, false},
		{"one bit of the body flipped", flip(py, 100), pythonFixtureSig, []string{"key_secret"}, false},
		{"one bit of the signature flipped", py, "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e8", []string{"key_secret"}, false},
		{"signature of another body", py, razorpayGoSig, []string{"key_secret", "123456"}, false},
		{"missing signature", py, "", []string{"key_secret"}, false},
		{"truncated signature", py, pythonFixtureSig[:63], []string{"key_secret"}, false},
		{"signature too long", py, pythonFixtureSig + "00", []string{"key_secret"}, false},
		{"not hex", py, strings.Repeat("zz", 32), []string{"key_secret"}, false},
		{"re-serialised body", []byte(strings.ReplaceAll(string(py), "\n", "")), pythonFixtureSig, []string{"key_secret"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var secrets [][]byte
			for _, s := range c.secrets {
				secrets = append(secrets, []byte(s))
			}
			if got := Verify(c.body, c.sig, secrets); got != c.want {
				t.Fatalf("Verify = %v, want %v", got, c.want)
			}
		})
	}
}

// Sign reproduces the published signatures (so the tests' and the demo's
// signed webhooks are the gateway's).
func TestSignMatchesPublishedVectors(t *testing.T) {
	if got := Sign(fixture(t), []byte("key_secret")); got != pythonFixtureSig {
		t.Fatalf("Sign(fixture) = %s, want %s", got, pythonFixtureSig)
	}
	if got := Sign([]byte(razorpayGoBody), []byte("123456")); got != razorpayGoSig {
		t.Fatalf("Sign(razorpay-go body) = %s, want %s", got, razorpayGoSig)
	}
}

func TestParseRazorpay(t *testing.T) {
	py := fixture(t)
	cases := []struct {
		name    string
		body    string
		typ     string
		want    *fund.PaymentEvent
		problem string // substring of the error; "" none
	}{
		{"python fixture: entity status wins over the event name", string(py), "payment.authorized", &fund.PaymentEvent{
			Gateway: "razorpay", EventID: "ev1", EventType: "payment.authorized", EventAt: time.Unix(1400826760, 0).UTC(),
			PaymentID: "pay_6koWN7bvxujzxM", GatewayOrderID: "order_100000000order", Amount: fund.MustAmount("10000.00"),
			Currency: "INR", Method: "card", Status: fund.PaymentCaptured}, ""},
		{"razorpay-go vector: notes is an empty array", razorpayGoBody, "payment.authorized", &fund.PaymentEvent{
			Gateway: "razorpay", EventID: "ev1", EventType: "payment.authorized", EventAt: time.Unix(1652339806, 0).UTC(),
			PaymentID: "pay_JUEM4c0pSLpFEW", GatewayOrderID: "order_JUELuT6cFaHkvd", Amount: fund.MustAmount("123.00"),
			Currency: "INR", Method: "netbanking", Status: fund.PaymentAuthorized}, ""},
		{"notes.order_id names our order", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":500001,"currency":"INR","status":"captured","order_id":null,"method":"upi","notes":{"order_id":"ORD-7","x":1}}}},"created_at":1755590400}`,
			"payment.captured", &fund.PaymentEvent{Gateway: "razorpay", EventID: "ev1", EventType: "payment.captured",
				EventAt: time.Unix(1755590400, 0).UTC(), PaymentID: "pay_1", NotesOrderID: "ORD-7", Amount: fund.MustAmount("5000.01"),
				Currency: "INR", Method: "upi", Status: fund.PaymentCaptured}, ""},
		{"not a payment event", `{"entity":"event","event":"settlement.processed","payload":{"settlement":{"entity":{}}},"created_at":1}`, "settlement.processed", nil, ""},
		{"not JSON", `<html>`, "", nil, "not a Razorpay event"},
		{"not an event", `{"entity":"payment","id":"pay_1"}`, "", nil, "not a Razorpay event"},
		{"amount with decimals", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":10.5,"currency":"INR","status":"captured"}}},"created_at":1}`, "payment.captured", nil, "whole number of paise"},
		{"amount as a string", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":"100","currency":"INR","status":"captured"}}},"created_at":1}`, "payment.captured", nil, "whole number of paise"},
		{"negative amount", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":-1,"currency":"INR","status":"captured"}}},"created_at":1}`, "payment.captured", nil, "whole number of paise"},
		{"unknown status", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":1,"currency":"INR","status":"pending"}}},"created_at":1}`, "payment.captured", nil, "status"},
		{"payment without id", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"entity":"payment","amount":1,"currency":"INR","status":"captured"}}},"created_at":1}`, "payment.captured", nil, "without an id"},
		{"bad created_at", `{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":1,"currency":"INR","status":"captured"}}},"created_at":-5}`, "payment.captured", nil, "unix time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, p, err := ParseRazorpay([]byte(c.body), "ev1")
			if typ != c.typ {
				t.Errorf("type %q, want %q", typ, c.typ)
			}
			if c.problem != "" {
				if err == nil || !strings.Contains(err.Error(), c.problem) {
					t.Fatalf("err = %v, want one containing %q", err, c.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (p == nil) != (c.want == nil) {
				t.Fatalf("payment = %+v, want %+v", p, c.want)
			}
			if p == nil {
				return
			}
			if !p.Amount.Equal(c.want.Amount) || !p.EventAt.Equal(c.want.EventAt) {
				t.Errorf("amount %s at %v, want %s at %v", p.Amount, p.EventAt, c.want.Amount, c.want.EventAt)
			}
			got, want := *p, *c.want
			got.Amount, want.Amount, got.EventAt, want.EventAt = fund.Amount{}, fund.Amount{}, time.Time{}, time.Time{}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// Whatever the bytes, the parser does not panic, and what it accepts is
// usable: an id, a known status, a non-negative amount in paise.
func FuzzParseRazorpay(f *testing.F) {
	f.Add([]byte(razorpayGoBody))
	if b, err := os.ReadFile("../../../shared/fixtures/" + pythonFixtureFile); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","entity":"payment","amount":1,"currency":"INR","status":"captured","notes":{"order_id":"A"}}}},"created_at":1}`))
	f.Add([]byte(`{"entity":"event","event":"x","payload":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_\u0000","entity":"payment","amount":1,"currency":"INR","status":"captured"}}},"created_at":1}`))
	// Mandates and recurring debits (mandate_test.go).
	for _, b := range []string{tokenConfirmedEmandate, tokenRejected, tokenPausedUPI, tokenCancelledUPI, tokenConfirmedCard, recurringFailed} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parsed, err := Parse(body, "ev")
		typ, p, m := parsed.EventType, parsed.Payment, parsed.Mandate
		// What is stored of any delivery, parsed or not, is storable text.
		if e := fund.CheckText("event", typ); e != nil {
			t.Fatalf("event type %q from %q: %v", typ, body, e)
		}
		if err != nil {
			if p != nil || m != nil {
				t.Fatalf("an error (%v) with an event from %q", err, body)
			}
			return
		}
		if p != nil && m != nil {
			t.Fatalf("both a payment and a mandate from %q", body)
		}
		if m != nil {
			if e := m.Check(); e != nil {
				t.Fatalf("accepted a mandate the stores cannot hold (%v) from %q", e, body)
			}
			if m.TokenID == "" || !m.Status.Valid() || (m.MaxAmount != nil && m.MaxAmount.Sign() <= 0) {
				t.Fatalf("accepted an unusable mandate %+v from %q", m, body)
			}
		}
		if p == nil {
			return
		}
		if e := p.Check(); e != nil {
			t.Fatalf("accepted a payment the stores cannot hold (%v) from %q", e, body)
		}
		if p.PaymentID == "" || p.Status.Rank() < 0 || p.Amount.IsNegative() || len(p.Currency) != 3 {
			t.Fatalf("accepted an unusable payment %+v from %q", p, body)
		}
		if p.Amount.Paise() < 0 {
			t.Fatalf("negative paise from %q", body)
		}
	})
}
