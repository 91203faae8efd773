package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
)

// A path or query value that is not UTF-8 or holds a NUL (%FF, %00) is a
// bad request (issue 11, item 6): before, Postgres refused it with an
// encoding error and the caller got 500.
func TestBadlyEncodedParametersAre400(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	for _, u := range []string{
		"/v1/folios/F%00-1/portfolio",
		"/v1/folios/F%FF/portfolio",
		"/v1/folios/%C3%28/transactions",
		"/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31%00",
		"/v1/schemes/1000%0001/nav",
		"/v1/folios/F-1/transactions?cursor=%FF",
	} {
		status, h, body := e.get(t, u, ops)
		if status != http.StatusBadRequest || problemCode(t, h, body) != api.CodeBadRequest {
			t.Errorf("%s: %d %s, want 400 bad_request", u, status, body)
		}
	}
	if status, _, body := e.get(t, "/v1/folios/F-1/portfolio", ops); status != 200 {
		t.Errorf("a good folio after them: %d %s", status, body)
	}
}

// With Postgres unreachable the API answers 503 with Retry-After (a retry
// later works), not 500; /healthz (liveness) stays 200 and /readyz
// (readiness) says 503 (issue 11, item 6).
func TestDatabaseDownIs503AndNotReady(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	down, err := pgxpool.New(testkit.Ctx(t), "postgres://fundflow@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	cfg := api.Config{Auth: &api.Auth{HS256Secret: secret}, RatePerSecond: 1000, Burst: 1000,
		Ready: func(ctx context.Context) error { return down.Ping(ctx) }}
	srv := api.New(cfg, &readmodel.Store{PG: down, CH: e.store.CH}, nil, testkit.Logger(t))
	e.srv.Config.Handler = srv
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	for _, u := range []string{"/v1/folios/F-1/portfolio", "/v1/folios/F-1/transactions", "/readyz"} {
		status, h, body := e.get(t, u, ops)
		if status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("%s with Postgres down: %d %s (Retry-After %q), want 503 unavailable with Retry-After", u, status, body, h.Get("Retry-After"))
		}
	}
	if status, _, body := e.get(t, "/healthz", ""); status != 200 {
		t.Errorf("/healthz (liveness) with Postgres down: %d %s", status, body)
	}
	// The same server on a live database is ready.
	live := api.New(api.Config{Auth: cfg.Auth, Ready: func(ctx context.Context) error { return e.store.PG.Ping(ctx) }}, e.store, nil, testkit.Logger(t))
	e.srv.Config.Handler = live
	if status, _, body := e.get(t, "/readyz", ""); status != 200 {
		t.Errorf("/readyz with Postgres up: %d %s", status, body)
	}
}

// A token valid for longer than the maximum lifetime is refused with its
// own code (issue 11, item 15): an exp in year 9999 was accepted.
func TestTokenLifetimeIsBounded(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *api.Config) { c.Auth.MaxLifetime = 24 * time.Hour })
	now := time.Now()
	mk := func(iat *time.Time, exp time.Time) string {
		c := api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ops-1", ExpiresAt: jwt.NewNumericDate(exp)}, Role: api.RoleOps}
		if iat != nil {
			c.IssuedAt = jwt.NewNumericDate(*iat)
		}
		return token(t, c)
	}
	hourAgo := now.Add(-time.Hour)
	cases := []struct {
		name string
		tok  string
		code string // "" : accepted
	}{
		{"an hour", mk(&hourAgo, now.Add(time.Hour)), ""},
		{"23 hours from iat", mk(&hourAgo, hourAgo.Add(23*time.Hour)), ""},
		{"exp in year 9999", mk(&hourAgo, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), api.CodeTokenLifetime},
		{"25 hours from iat", mk(&hourAgo, hourAgo.Add(25*time.Hour)), api.CodeTokenLifetime},
		{"no iat, exp in 2 days", mk(nil, now.Add(48*time.Hour)), api.CodeTokenLifetime},
		{"no iat, exp in an hour", mk(nil, now.Add(time.Hour)), ""},
	}
	for _, c := range cases {
		status, h, body := e.get(t, "/v1/folios/F-1/portfolio", c.tok)
		switch {
		case c.code == "" && status != 200:
			t.Errorf("%s: %d %s, want 200", c.name, status, body)
		case c.code != "" && (status != http.StatusUnauthorized || problemCode(t, h, body) != c.code):
			t.Errorf("%s: %d %s, want 401 %s", c.name, status, body, c.code)
		}
	}
}

// Failed authentications are limited per client address (issue 11, item
// 15): 2,000 bad tokens got 2,000 × 401 in 0.27 s. After the burst the
// address gets 429 rate_limited with Retry-After, a good token from it
// too, until the bucket refills; public routes stay open.
func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const burst = 10
	e := setup(t, func(c *api.Config) { c.FailedAuth = ratelimit.NewFailures(1, burst, clock) })
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		status, h, body := e.get(t, "/v1/folios/F-1/portfolio", "not.a.jwt")
		counts[status]++
		if status == http.StatusTooManyRequests && (problemCode(t, h, body) != api.CodeRateLimited || h.Get("Retry-After") != "1") {
			t.Fatalf("429 without its code or Retry-After: %s %v", body, h)
		}
	}
	if counts[http.StatusUnauthorized] != burst || counts[http.StatusTooManyRequests] != 2000-burst {
		t.Errorf("answers %v; want %d × 401 then %d × 429", counts, burst, 2000-burst)
	}
	good := investor(t, "INV-1")
	if status, _, _ := e.get(t, "/v1/folios/F-1/portfolio", good); status != http.StatusTooManyRequests {
		t.Errorf("a good token from the blocked address: %d, want 429", status)
	}
	if status, _, _ := e.get(t, "/healthz", ""); status != 200 {
		t.Errorf("/healthz from the blocked address: %d", status)
	}
	now = now.Add(time.Second) // one failure refilled
	if status, _, body := e.get(t, "/v1/folios/F-1/portfolio", good); status != 200 {
		t.Errorf("a good token a second later: %d %s", status, body)
	}
}
