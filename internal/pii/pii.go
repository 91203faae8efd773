// Package pii seals investors' personal data (PAN, bank account) for storage
// with AES-256-GCM and masks it for display. The key comes from the
// environment, never from the config file or the database.
//
// A sealed value is: version byte 1, the key's id (the first 4 bytes of
// SHA-256 of the key, so a wrong key gives a clear error instead of a tag
// failure), a 12-byte random nonce, then the GCM ciphertext and tag. The
// additional data binds a value to its owner and field ("INV-1/pan"), so a
// ciphertext copied onto another investor or column does not open.
package pii

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/fundflow/fundflow/fund"
)

// KeyEnv is the default environment variable holding the key: 32 bytes,
// base64 (standard or URL alphabet) or hex.
const KeyEnv = "FUNDFLOW_PII_KEY"

const version = 1

// Sealer seals and opens PII with one key.
type Sealer struct {
	aead  cipher.AEAD
	keyID [4]byte
	fpKey []byte // the fingerprint key, derived from the key (FingerprintLabel)
}

// FingerprintLabel derives the fingerprint key from the PII key:
// HMAC-SHA256(key, label). A separate key means a fingerprint reveals
// nothing about the sealing key.
const FingerprintLabel = "fundflow-fingerprint-v1"

// ErrNoKey says the key variable is empty.
var ErrNoKey = errors.New("pii: no key: set " + KeyEnv + " to 32 random bytes, base64 (e.g. `openssl rand -base64 32`)")

// ErrWrongKey says a value was sealed with another key.
var ErrWrongKey = errors.New("pii: value sealed with another key")

// ParseKey decodes a 32-byte key written as base64 or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoKey
	}
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if k, err := dec(s); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	return nil, errors.New("pii: the key must be 32 bytes written as base64 or hex")
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("pii: key is %d bytes, want 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(FingerprintLabel))
	s := &Sealer{aead: aead, fpKey: m.Sum(nil)}
	sum := sha256.Sum256(key)
	copy(s.keyID[:], sum[:4])
	return s, nil
}

// FromEnv builds a Sealer from the key in the value of an environment
// variable (getenv is os.Getenv in production).
func FromEnv(getenv func(string) string, name string) (*Sealer, error) {
	k, err := ParseKey(getenv(name))
	if err != nil {
		if errors.Is(err, ErrNoKey) {
			return nil, fmt.Errorf("pii: %s is not set: 32 random bytes, base64 (e.g. `openssl rand -base64 32`)", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return New(k)
}

func aad(owner, field string) []byte { return []byte(owner + "/" + field) }

// Seal encrypts plaintext for owner's field ("pan", "bank_account").
func (s *Sealer) Seal(owner, field, plaintext string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pii: nonce: %w", err)
	}
	out := make([]byte, 0, 1+4+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, version)
	out = append(out, s.keyID[:]...)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, []byte(plaintext), aad(owner, field)), nil
}

// Open decrypts a value sealed for owner's field.
func (s *Sealer) Open(owner, field string, sealed []byte) (string, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+4+ns+s.aead.Overhead() || sealed[0] != version {
		return "", fmt.Errorf("pii: %s of %s: not a sealed value", field, owner)
	}
	if !bytes.Equal(sealed[1:5], s.keyID[:]) {
		return "", fmt.Errorf("pii: %s of %s: %w", field, owner, ErrWrongKey)
	}
	nonce := sealed[5 : 5+ns]
	pt, err := s.aead.Open(nil, nonce, sealed[5+ns:], aad(owner, field))
	if err != nil {
		return "", fmt.Errorf("pii: %s of %s: altered, or sealed for another investor or field", field, owner)
	}
	return string(pt), nil
}

// Mask hides all but the last 4 characters: "ABCDE1234F" → "XXXXXX234F".
// Values of 4 characters or fewer are hidden whole.
func Mask(v string) string { return fund.MaskTail(v) }

// Fingerprint is the keyed fingerprint of a field's value: hex
// HMAC-SHA256 over the normalised value with a key derived from the PII key
// (FingerprintLabel). Equal values give equal fingerprints, so a consumer
// (fraud rules) can find one bank account or mobile shared by several
// investors without ever seeing it; without the key a fingerprint cannot be
// tested against guesses. Normalisation by field: every value is trimmed;
// "email" is lower-cased; "mobile" keeps digits only; "bank_account" is
// "IFSC:ACCOUNT" with the IFSC upper-cased and the account digits only (a
// value without ':' keeps digits only).
func (s *Sealer) Fingerprint(field, value string) string {
	m := hmac.New(sha256.New, s.fpKey)
	m.Write([]byte(NormaliseForFingerprint(field, value)))
	return hex.EncodeToString(m.Sum(nil))
}

// NormaliseForFingerprint is the normal form Fingerprint hashes.
func NormaliseForFingerprint(field, value string) string {
	v := strings.TrimSpace(value)
	switch field {
	case "email":
		return strings.ToLower(v)
	case "mobile":
		return digits(v)
	case "bank_account":
		if ifsc, acct, ok := strings.Cut(v, ":"); ok {
			return strings.ToUpper(strings.TrimSpace(ifsc)) + ":" + digits(acct)
		}
		return digits(v)
	}
	return v
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
