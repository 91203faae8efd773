package console_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/api/console"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, u, cookie string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: console.CookieName, Value: cookie})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// A browser signs in with a token of the ops or admin role only, and gets
// an HttpOnly, SameSite=Strict cookie scoped to /ops/. Every POST needs
// that role and the session's CSRF token: without one, with a wrong one,
// with another session's, or from a role that may not use the console, it
// is 403 and the database is as it was.
func TestConsolePostsNeedTheRoleAndTheCSRFToken(t *testing.T) {
	f := newFixture(t)
	base := f.srv.URL
	before := f.state(t)
	if before.QStatus != "open" || before.BStatus != "open" || before.GammaNAVOn21 != 0 {
		t.Fatalf("seeded state %+v", before)
	}

	// A wrong method is 405 with Allow; an unknown page 404.
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/ops/runs", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/ops/breaks/1/explain", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/ops/login", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"GET", "/ops/nope", http.StatusNotFound, ""},
	} {
		resp, _ := do(t, c.method, base+c.path, "", nil)
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.status, c.allow)
		}
	}

	// /ops is /ops/.
	if resp, _ := do(t, "GET", base+"/ops", "", nil); resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/ops/" {
		t.Errorf("GET /ops: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Pages without a session send the browser to the sign-in.
	resp, _ := do(t, "GET", base+"/ops/quarantine", "", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ops/login?next=%2Fops%2Fquarantine") {
		t.Fatalf("no session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Sign-in: roles other than ops and admin, and bad tokens, get no cookie.
	for _, c := range []struct {
		name, tok string
		status    int
	}{
		{"analyst", token(t, api.RoleAnalyst, "ana"), http.StatusForbidden},
		{"investor", token(t, api.RoleInvestor, "inv"), http.StatusForbidden},
		{"compliance", token(t, api.RoleCompliance, "comp"), http.StatusForbidden},
		{"garbage", "not-a-token", http.StatusUnauthorized},
		{"wrong key", mustMint(t, []byte("another-secret-0123456789abcdefgh"), api.RoleOps), http.StatusUnauthorized},
	} {
		resp, _ := do(t, "POST", base+"/ops/login", "", url.Values{"token": {c.tok}})
		if resp.StatusCode != c.status || len(resp.Cookies()) != 0 {
			t.Errorf("sign in as %s: %d with %d cookies, want %d and none", c.name, resp.StatusCode, len(resp.Cookies()), c.status)
		}
	}
	// A sign-in form posted from another site is refused.
	req, _ := http.NewRequest("POST", base+"/ops/login", strings.NewReader(url.Values{"token": {token(t, api.RoleOps, "x")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-site sign-in: %v %v", resp, err)
	}

	opsTok := token(t, api.RoleOps, "ops-alice")
	resp, _ = do(t, "POST", base+"/ops/login", "", url.Values{"token": {opsTok}, "next": {"/ops/breaks"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/breaks" {
		t.Fatalf("sign in as ops: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 || cs[0].Name != console.CookieName || cs[0].Value != opsTok || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/ops/" {
		t.Fatalf("session cookie %+v", cs)
	}
	// next must stay in the console.
	resp, _ = do(t, "POST", base+"/ops/login", "", url.Values{"token": {opsTok}, "next": {"//evil.example/x"}})
	if resp.Header.Get("Location") != "/ops/" {
		t.Fatalf("next outside the console: %s", resp.Header.Get("Location"))
	}

	// The page carries the session's CSRF token, derived independently here.
	resp, page := do(t, "GET", base+"/ops/breaks", opsTok, nil)
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("breaks page: %d, csrf field %v", resp.StatusCode, m)
	}
	good := m[1]
	if want := csrfOf(f.csrfKey, opsTok); good != want {
		t.Fatalf("csrf %q, want HMAC of the cookie %q", good, want)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}

	otherTok := token(t, api.RoleOps, "ops-bob")
	analystTok := token(t, api.RoleAnalyst, "ana")
	explain := fmt.Sprintf("%s/ops/breaks/%d/explain", base, f.breakID)
	accept := fmt.Sprintf("%s/ops/quarantine/%d/accept", base, f.held)
	replay := base + "/ops/quarantine/replay"
	held := fmt.Sprint(f.held)
	for _, c := range []struct {
		name, url, cookie string
		form              url.Values
	}{
		{"explain, no session", explain, "", url.Values{"note": {"x"}, "csrf": {good}}},
		{"explain, no csrf", explain, opsTok, url.Values{"note": {"x"}}},
		{"explain, wrong csrf", explain, opsTok, url.Values{"note": {"x"}, "csrf": {"AAAA" + good[4:]}}},
		{"explain, another session's csrf", explain, opsTok, url.Values{"note": {"x"}, "csrf": {csrfOf(f.csrfKey, otherTok)}}},
		{"explain, analyst with its own csrf", explain, analystTok, url.Values{"note": {"x"}, "csrf": {csrfOf(f.csrfKey, analystTok)}}},
		{"accept, no csrf", accept, opsTok, url.Values{}},
		{"accept, wrong csrf", accept, opsTok, url.Values{"csrf": {"x"}}},
		{"replay, no csrf", replay, opsTok, url.Values{"id": {held}}},
		{"replay, wrong csrf", replay, opsTok, url.Values{"id": {held}, "csrf": {good + "x"}}},
		{"logout, no csrf", base + "/ops/logout", opsTok, url.Values{}},
	} {
		resp, _ := do(t, "POST", c.url, c.cookie, c.form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s: set a cookie", c.name)
		}
	}
	if after := f.state(t); after != before {
		t.Fatalf("refused POSTs changed the database: %+v, was %+v", after, before)
	}

	// With the role and the token, explain runs ExplainBreak as the token's
	// subject.
	resp, _ = do(t, "POST", explain, opsTok, url.Values{"note": {"timing: CAMS file a day late"}, "csrf": {good}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("explain: %d", resp.StatusCode)
	}
	if s := f.state(t); s.BStatus != "explained" || s.BBy != "ops-alice" || s.QStatus != "open" {
		t.Fatalf("after explain: %+v", s)
	}
	// Each request is in the access log with who, the route and the answer.
	var refused, explained int
	for _, e := range f.accessLog() {
		if e.Method == "POST" && e.Route == "/ops/breaks/{id}/explain" {
			switch {
			case e.Status == http.StatusForbidden:
				refused++
			case e.Status == http.StatusSeeOther && e.Subject == "ops-alice" && e.Role == api.RoleOps:
				explained++
			}
		}
	}
	if refused != 5 || explained != 1 {
		t.Fatalf("access log: %d refused and %d answered explains, want 5 and 1", refused, explained)
	}
	// Accepting a row that was not held for nav_jump is refused, as the CLI
	// refuses it, before anything is written.
	var other int64
	if err := f.pg.QueryRow(t.Context(), `INSERT INTO quarantine (pipeline, pos_key, raw, reason, detail) VALUES ('nav-ingest', 'x:1', 'junk', 'unparseable', 'junk')
		RETURNING id`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "POST", fmt.Sprintf("%s/ops/quarantine/%d/accept", base, other), opsTok, url.Values{"csrf": {good}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "only rows held for nav_jump can be accepted") {
		t.Fatalf("accept a non-jump row: %d", resp.StatusCode)
	}
}

func csrfOf(key []byte, cookie string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("fundflow-ops-csrf\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func mustMint(t *testing.T, key []byte, role string) string {
	t.Helper()
	c := api.Claims{Role: role}
	c.Subject = "x"
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	tok, err := api.Mint(key, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A page whose reads take longer than the API's request timeout answers
// 504 with a page that says so, not a hung request or a 500.
func TestConsolePageTimeout(t *testing.T) {
	_, _, app, _ := testkit.PGApp(t)
	auth := &api.Auth{HS256Secret: secret}
	h, err := console.New(console.Config{Auth: auth, Store: &console.Store{PG: &postgres.Store{Pool: app}}, Timeout: time.Nanosecond, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, body := do(t, "GET", srv.URL+"/ops/runs", token(t, api.RoleOps, "ops-alice"), nil)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "took longer than allowed") {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
}

// Failed sign-ins count against the address like failed bearer tokens: once
// its failures are used up, even a good token is refused (429) until they
// refill, and no cookie is set.
func TestConsoleSignInIsLimitedPerAddress(t *testing.T) {
	_, _, app, _ := testkit.PGApp(t)
	var now atomic.Int64 // the limiter's clock, in Unix seconds
	now.Store(time.Date(2026, 8, 24, 9, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	h, err := console.New(console.Config{Auth: &api.Auth{HS256Secret: secret}, FailedAuth: ratelimit.NewFailures(1.0/60, 2, clock),
		Store: &console.Store{PG: &postgres.Store{Pool: app}}, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i, c := range []struct {
		tok    string
		status int
	}{
		{"bad-1", http.StatusUnauthorized}, {"bad-2", http.StatusUnauthorized},
		{token(t, api.RoleOps, "ops-alice"), http.StatusTooManyRequests},
	} {
		resp, _ := do(t, "POST", srv.URL+"/ops/login", "", url.Values{"token": {c.tok}})
		if resp.StatusCode != c.status || len(resp.Cookies()) != 0 {
			t.Fatalf("sign-in %d: %d with %d cookies, want %d and none", i+1, resp.StatusCode, len(resp.Cookies()), c.status)
		}
	}
	now.Add(60) // a minute: one failure refilled
	if resp, _ := do(t, "POST", srv.URL+"/ops/login", "", url.Values{"token": {token(t, api.RoleOps, "ops-alice")}}); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("sign-in after the refill: %d", resp.StatusCode)
	}
}
