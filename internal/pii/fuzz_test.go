package pii

import (
	"bytes"
	"testing"
)

// Arbitrary bytes never open (or panic); a value sealed for one owner and
// field opens only for them, to the same text.
func FuzzOpen(f *testing.F) {
	s, _ := New(bytes.Repeat([]byte{1}, 32))
	sealed, _ := s.Seal("INV-1", "pan", "ABCDE1234F")
	f.Add(sealed, "INV-1", "ABCDE1234F")
	f.Add([]byte{1, 2, 3}, "", "")
	f.Add([]byte{}, "x/y", "ünï")
	f.Fuzz(func(t *testing.T, b []byte, owner, text string) {
		// Only a real seal opens (the seed's, sealed for INV-1 in whichever
		// process made it: the nonce is random); a fuzzer cannot forge the tag.
		if v, err := s.Open(owner, "pan", b); err == nil && (owner != "INV-1" || v != "ABCDE1234F") {
			t.Fatalf("forged value opened to %q for %q", v, owner)
		}
		c, err := s.Seal(owner, "pan", text)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Open(owner, "pan", c); err != nil || got != text {
			t.Fatalf("round trip %q: %q %v", text, got, err)
		}
		if _, err := s.Open(owner+"x", "pan", c); err == nil {
			t.Fatal("opened for another owner")
		}
		_ = Mask(text)
		_, _ = ParseKey(text)
	})
}
