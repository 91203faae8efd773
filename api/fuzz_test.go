package api

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Any Authorization header: no panic; an accepted one is a bearer token
// signed with the secret, unexpired, with a known role and a subject.
func FuzzAuthenticate(f *testing.F) {
	secret := []byte("fuzz-secret-fuzz-secret-fuzz-secret!")
	good, _ := Mint(secret, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "s", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Role: RoleOps})
	inv, _ := Mint(secret, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "s", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Role: RoleInvestor, Folios: []string{"F"}})
	for _, s := range []string{"", "Bearer", "Bearer ", "Basic abc", "Bearer " + good, "bearer " + good, "Bearer " + inv, "Bearer a.b.c", "Bearer " + good + "x",
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJzIiwicm9sZSI6Im9wcyJ9."} {
		f.Add(s)
	}
	a := &Auth{HS256Secret: secret}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		p, prob := a.Authenticate(r)
		if prob != nil {
			if prob.Status != 401 || p.Subject != "" {
				t.Fatalf("refusal %+v with principal %+v", prob, p)
			}
			return
		}
		if p.Subject == "" || !slices.Contains(roles, p.Role) || (p.Role == RoleInvestor && p.InvestorID == "" && len(p.Folios) == 0) {
			t.Fatalf("accepted %q as %+v", h, p)
		}
	})
}

// Cursors: what encodeCursor makes decodes to its id; anything else either
// is refused or decodes to a positive id whose cursor decodes the same.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "dDE", "dDA", "eDE", encodeCursor(1), encodeCursor(1 << 62), "!!", "dC0x", "dDAwMDAx"} {
		f.Add(s, int64(5))
	}
	f.Fuzz(func(t *testing.T, s string, id int64) {
		if id > 0 {
			if got, err := decodeCursor(encodeCursor(id)); err != nil || got != id {
				t.Fatalf("id %d: %d %v", id, got, err)
			}
		}
		got, err := decodeCursor(s)
		if err != nil {
			return
		}
		if got <= 0 {
			t.Fatalf("%q decoded to %d", s, got)
		}
		if again, err := decodeCursor(encodeCursor(got)); err != nil || again != got {
			t.Fatalf("%q → %d → %d %v", s, got, again, err)
		}
	})
}
