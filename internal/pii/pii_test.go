package pii

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealOpen(t *testing.T) {
	s, err := New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(key(2))
	sealed, err := s.Seal("INV-1", "pan", "ABCDE1234F")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("ABCDE1234F")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	// Decrypt by hand with the standard library, from the documented layout.
	block, _ := aes.NewCipher(key(1))
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, sealed[5:17], sealed[17:], []byte("INV-1/pan"))
	if err != nil || string(pt) != "ABCDE1234F" {
		t.Fatalf("layout: %q %v", pt, err)
	}
	again, _ := s.Seal("INV-1", "pan", "ABCDE1234F")
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name          string
		s             *Sealer
		owner, field  string
		sealed        []byte
		want, errPart string
	}{
		{"same owner and field", s, "INV-1", "pan", sealed, "ABCDE1234F", ""},
		{"another investor", s, "INV-2", "pan", sealed, "", "another investor"},
		{"another field", s, "INV-1", "bank_account", sealed, "", "another investor or field"},
		{"another key", other, "INV-1", "pan", sealed, "", "another key"},
		{"altered", s, "INV-1", "pan", flipped, "", "altered"},
		{"truncated", s, "INV-1", "pan", sealed[:10], "", "not a sealed value"},
		{"empty", s, "INV-1", "pan", nil, "", "not a sealed value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.s.Open(c.owner, c.field, c.sealed)
			if c.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), c.errPart) {
					t.Fatalf("got %q, %v; want error with %q", got, err, c.errPart)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestParseKeyAndFromEnv(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(key(7))
	for _, in := range []string{b64, base64.RawURLEncoding.EncodeToString(key(7)), strings.Repeat("07", 32), " " + b64 + "\n"} {
		k, err := ParseKey(in)
		if err != nil || !bytes.Equal(k, key(7)) {
			t.Fatalf("%q: %x %v", in, k, err)
		}
	}
	for _, in := range []string{"", "short", base64.StdEncoding.EncodeToString(key(7)[:16])} {
		if _, err := ParseKey(in); err == nil {
			t.Fatalf("%q accepted", in)
		}
	}
	if _, err := FromEnv(func(string) string { return "" }, "X_KEY"); err == nil || !strings.Contains(err.Error(), "X_KEY is not set") {
		t.Fatalf("missing key: %v", err)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"ABCDE1234F":   "XXXXXX234F",
		"123456789012": "XXXXXXXX9012",
		"1234":         "XXXX",
		"12":           "XX",
		"":             "",
		"ÄBCDÉ1234F":   "XXXXXX234F",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	k := key(7)
	s, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	// The independent route: derive the key and hash by hand.
	derive := hmac.New(sha256.New, k)
	derive.Write([]byte("fundflow-fingerprint-v1"))
	hash := func(v string) string {
		m := hmac.New(sha256.New, derive.Sum(nil))
		m.Write([]byte(v))
		return hex.EncodeToString(m.Sum(nil))
	}
	for _, c := range []struct{ field, value, normal string }{
		{"email", "  Asha@Example.IN ", "asha@example.in"},
		{"mobile", "+91 98765-43210", "919876543210"},
		{"bank_account", " hdfc0001234 : 5010 0012 345 ", "HDFC0001234:50100012345"},
		{"bank_account", "5010-0012345", "50100012345"},
		{"name", " Asha Rao ", "Asha Rao"},
	} {
		if got, want := s.Fingerprint(c.field, c.value), hash(c.normal); got != want {
			t.Errorf("Fingerprint(%s, %q) = %s, want HMAC of %q = %s", c.field, c.value, got, c.normal, want)
		}
	}
	if s.Fingerprint("email", "a@b.in") != s.Fingerprint("email", "A@B.IN") {
		t.Error("equal emails, different fingerprints")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if other.Fingerprint("email", "a@b.in") == s.Fingerprint("email", "a@b.in") {
		t.Error("another key, same fingerprint")
	}
}
