package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	investorstore "github.com/fundflow/fundflow/investors/pgstore"
	notifypg "github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

var secret = []byte("test-secret-of-at-least-32-bytes!!")

type env struct {
	srv     *httptest.Server
	api     *api.Server
	written ledgerfix.Written
	rsaKey  *rsa.PrivateKey
	store   *readmodel.Store
	plan    plans.Plan // INV-1's SIP on F-1 (planFixture)
	pg      *pgxpool.Pool
}

// setup loads the sample ledger (see ledgerfix.Sample), two ClickHouse NAVs
// of scheme 100001, and serves the API over real HTTP.
func setup(t *testing.T, tweak func(*api.Config)) *env {
	t.Helper()
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	sealer, err := pii.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ledgerfix.Load(ctx, pool, ledgerfix.Sample(sealer))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		d   time.Time
		nav string
	}{{time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), "10.0000"}, {time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC), "12.5000"}} {
		if err := b.Append("100001", n.d, decimal.RequireFromString(n.nav), "Alpha MF", "Equity", "sha", uint32(2), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	key := rsaKey(t)
	now := func() time.Time { return time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC) }
	svc, plan := planFixture(t, pool, now)
	cfg := api.Config{
		Auth: &api.Auth{HS256Secret: secret, RS256Key: &key.PublicKey},
		PII:  sealer, RatePerSecond: 1000, Burst: 1000,
		Now:       now,
		Plans:     svc,
		Investors: &investors.Service{Store: investorstore.Store{Pool: pool}, PII: sealer, Now: now, Log: testkit.Logger(t)},
		// analytics_test.go
		Analytics:    query.Service{PG: pool, CH: ch},
		Wallets:      fakeWallets{}, // api/managed_test.go
		Pools:        fakePools{},   // api/pool_test.go
		Drift:        fakeDrift{},   // api/managed_drift_test.go
		FeeCharges:   walletpg.Store{Pool: pool},
		RiskProfiles: fakeRisk{}, // api/managed_risk_test.go
		Notify:       api.NotifyConfig{Service: notifypg.Store{Pool: pool}, TwilioAuthToken: twilioToken, TwilioStatusURL: twilioStatusURL},
		Tax:          tax.NewAPI(&taxpg.Store{Pool: pool}, fund.NewCalendar()),
		PayoutHolds:  investorstore.Store{Pool: pool}, // api/payoutholds_test.go
	}
	if tweak != nil {
		tweak(&cfg)
	}
	store := &readmodel.Store{PG: pool, CH: ch}
	s := api.New(cfg, store, &exports.Exporter{PG: pool, PII: sealer}, testkit.Logger(t))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{srv: hs, api: s, written: w, rsaKey: key, store: store, plan: plan, pg: pool}
}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyErr  error
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() { key, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return key
}

func claims(role, sub string, ttl time.Duration) api.Claims {
	now := time.Now()
	return api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: sub, ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute))}, Role: role}
}

func token(t *testing.T, c api.Claims) string {
	t.Helper()
	s, err := api.Mint(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func investor(t *testing.T, id string, folios ...string) string {
	c := claims(api.RoleInvestor, "user-"+id, time.Hour)
	c.InvestorID, c.Folios = id, folios
	return token(t, c)
}

func (e *env) get(t *testing.T, path, tok string) (int, http.Header, []byte) {
	t.Helper()
	return e.do(t, "GET", path, tok, "")
}

func (e *env) do(t *testing.T, method, path, tok, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func problemCode(t *testing.T, h http.Header, body []byte) string {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, body %s", ct, body)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Code
}

// routeURLs gives every authenticated route a URL on folio F-1 (INV-1's),
// its first transaction or its plan, and a body for the POST routes.
func (e *env) routeURLs() map[string]string {
	pl := "/v1/plans/" + e.plan.ID
	return map[string]string{
		"/v1/schemes/{code}/nav":           "/v1/schemes/100001/nav?from=2024-01-01&to=2024-12-31",
		"/v1/schemes/{code}/analytics":     "/v1/schemes/100001/analytics", // analytics_test.go
		"/v1/folios/{folio}/risk":          "/v1/folios/F-1/risk",
		"/v1/folios/{folio}/portfolio":     "/v1/folios/F-1/portfolio",
		"/v1/folios/{folio}/transactions":  "/v1/folios/F-1/transactions",
		"/v1/folios/{folio}/statement.pdf": "/v1/folios/F-1/statement.pdf?from=2024-01-01&to=2024-12-31",
		"/v1/transactions/{id}/lineage":    fmt.Sprintf("/v1/transactions/%d/lineage", e.written.TxIDs[0]),
		"/v1/orders/{id}":                  "/v1/orders/" + e.written.OrderIDs[0],
		"/v1/exports/{kind}":               "/v1/exports/transactions?from=2024-01-01&to=2024-12-31",
		"/v1/investors/{id}/capital-gains": "/v1/investors/INV-1/capital-gains?fy=2024-25",
		"/v1/investors/{id}/tds":           "/v1/investors/INV-1/tds?fy=2024-25",
		"/v1/idcw/declarations":            "/v1/idcw/declarations",
		"/v1/tax/mergers":                  "/v1/tax/mergers",              // taxroutes_test.go
		"/v1/schemes/{code}/tax-types":     "/v1/schemes/100001/tax-types", // taxroutes_test.go
		"/v1/plans":                        "/v1/plans",
		"/v1/plans/{id}":                   pl,
		"/v1/plans/{id}/instalments":       pl + "/instalments",
		"/v1/folios/{folio}/plans":         "/v1/folios/F-1/plans",
		"/v1/plans/{id}/pause":             pl + "/pause",
		"/v1/plans/{id}/resume":            pl + "/resume",
		"/v1/plans/{id}/modify":            pl + "/modify",
		"/v1/plans/{id}/cancel":            pl + "/cancel",
		"/v1/investors":                    "/v1/investors",
		"/v1/investors/{id}":               "/v1/investors/INV-1",
		// fraud review (api/fraud.go): role ops only
		"/v1/ops/holds":                                        "/v1/ops/holds",
		"/v1/ops/holds/{id}/release":                           "/v1/ops/holds/1/release",
		"/v1/ops/holds/{id}/reject":                            "/v1/ops/holds/1/reject",
		"/v1/ops/alerts/{id}/close":                            "/v1/ops/alerts/a1/close",
		"/v1/ops/payout-holds":                                 "/v1/ops/payout-holds",
		"/v1/investors/{id}/payout-holds":                      "/v1/investors/INV-1/payout-holds",
		"/v1/wallets/{id}":                                     "/v1/wallets/W-1",
		"/v1/wallets/{id}/pools":                               "/v1/wallets/W-1/pools",
		"/v1/wallets/{id}/drift":                               "/v1/wallets/W-1/drift",
		"/v1/wallets/{id}/fees":                                "/v1/wallets/W-1/fees",
		"/v1/wallets/{id}/withdrawals/{wid}/cancel":            "/v1/wallets/W-1/withdrawals/r1/cancel",
		"/v1/investors/{id}/notification-preferences":          "/v1/investors/INV-1/notification-preferences",
		"/v1/distributors/{arn}/payouts/{month}":               "/v1/distributors/ARN-1/payouts/2024-04",
		"/v1/distributors/{arn}/payouts/{month}/explain":       "/v1/distributors/ARN-1/payouts/2024-04/explain",
		"/v1/distributors/{arn}/payouts/{month}/statement.pdf": "/v1/distributors/ARN-1/payouts/2024-04/statement.pdf",
		"/v1/investors/{id}/risk-profile":                      "/v1/investors/INV-1/risk-profile",
	}
}

// routeBodies are the bodies of the POST routes (on INV-1's F-1).
var routeBodies = map[string]string{
	"/v1/plans":                                   strings.Replace(planBody, `"c-1"`, `"c-2"`, 1),
	"/v1/plans/{id}/pause":                        `{"instalments":1}`,
	"/v1/plans/{id}/modify":                       `{"amount":"2000"}`,
	"/v1/investors":                               investorBody,
	"/v1/investors/{id}":                          `{"mobile":"9123456789"}`,
	"/v1/ops/alerts/{id}/close":                   `{"status":"confirmed"}`,
	"/v1/investors/{id}/notification-preferences": `{"event_type":"*","channels":["email"]}`,
	"/v1/investors/{id}/risk-profile":             `{"answers":{"horizon":"long"}}`,
	"/v1/idcw/declarations":                       `{"scheme":"100001","record_date":"2024-06-28","ex_date":"2024-06-28","per_unit":"0.50","option":"payout"}`,
	"/v1/tax/mergers":                             `{"from":"100002","to":"100001","date":"2024-12-31"}`,
	"/v1/schemes/{code}/tax-types":                `{"from":"2024-04-01","type":"other","reason":"an index fund"}`,
}

// Words of INV-1's data that must never reach a caller who may not see it.
var secrets = []string{"Asha", "ABCDE", "234F", "9012", "999.95", "10000.00", "13498.95", "100001", "ORD-F-1", "evt_"}

// For every route: no token, an expired token, a forged token → 401; an
// investor token of another investor (or narrowed to another folio of the
// same investor) → 404 or 403 with nothing of the folio in the body.
func TestEveryRouteRefusesStrangers(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	expired := claims(api.RoleOps, "ops-1", -time.Minute)
	forged, _ := api.Mint([]byte("another-secret-another-secret-!!"), claims(api.RoleOps, "ops-1", time.Hour))
	noExp := token(t, api.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ops-1"}, Role: api.RoleOps})
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(api.RoleOps, "ops-1", time.Hour)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	badRole := token(t, claims("root", "x", time.Hour))
	urls := e.routeURLs()
	for _, rt := range e.api.Routes() {
		if rt.Public {
			continue
		}
		u, ok := urls[rt.Pattern]
		if !ok {
			t.Fatalf("route %s has no URL in this test", rt.Pattern)
		}
		t.Run(rt.Pattern, func(t *testing.T) {
			for _, c := range []struct {
				name, tok, code string
			}{
				{"no token", "", api.CodeUnauthenticated},
				{"expired", token(t, expired), api.CodeTokenExpired},
				{"wrong key", forged, api.CodeInvalidToken},
				{"no exp", noExp, api.CodeInvalidToken},
				{"alg none", unsigned, api.CodeInvalidToken},
				{"unknown role", badRole, api.CodeInvalidToken},
				{"garbage", "not.a.jwt", api.CodeInvalidToken},
			} {
				status, h, body := e.do(t, rt.Method, u, c.tok, routeBodies[rt.Pattern])
				if status != http.StatusUnauthorized || problemCode(t, h, body) != c.code || h.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %d %s", c.name, status, body)
				}
				noSecrets(t, c.name, body)
			}
			others := map[string]string{
				"another investor":               investor(t, "INV-2"),
				"another investor naming F-1":    investor(t, "INV-2", "F-1"),
				"same investor, narrowed to F-2": investor(t, "INV-1", "F-2"),
				"folios only, not F-1":           investor(t, "", "G-1"),
			}
			for name, tok := range others {
				status, h, body := e.do(t, rt.Method, u, tok, routeBodies[rt.Pattern])
				if rt.Pattern == "/v1/schemes/{code}/nav" || rt.Pattern == "/v1/schemes/{code}/analytics" {
					// NAVs are public scheme data: any role reads them.
					if status != http.StatusOK {
						t.Errorf("%s: NAV history %d %s", name, status, body)
					}
					continue
				}
				code := problemCode(t, h, body)
				if !(status == http.StatusNotFound && code == api.CodeNotFound) && !(status == http.StatusForbidden && code == api.CodeForbidden) {
					t.Errorf("%s: %d %s", name, status, body)
				}
				noSecrets(t, name, body)
			}
			// The owner gets through (exports are for compliance: 403).
			status, _, body := e.do(t, rt.Method, u, investor(t, "INV-1"), routeBodies[rt.Pattern])
			want := http.StatusOK
			switch rt.Pattern {
			case "/v1/exports/{kind}", "/v1/ops/holds", "/v1/ops/payout-holds", "/v1/ops/holds/{id}/release", "/v1/ops/holds/{id}/reject", "/v1/ops/alerts/{id}/close",
				"/v1/idcw/declarations", "/v1/distributors/{arn}/payouts/{month}", "/v1/distributors/{arn}/payouts/{month}/explain",
				"/v1/distributors/{arn}/payouts/{month}/statement.pdf", "/v1/tax/mergers", "/v1/schemes/{code}/tax-types":
				want = http.StatusForbidden // compliance's exports, ops' case review, ops' and admin's IDCW declarations, mergers and tax types, distributors' payouts
			case "/v1/plans":
				want = http.StatusCreated
			case "/v1/investors":
				want = http.StatusForbidden // only the onboarding service (admin) writes records
			case "/v1/investors/{id}":
				// PATCH is the onboarding service's; GET finds no record: the
				// sample ledger's INV-1 was never onboarded (investors_test.go
				// reads an onboarded investor's own record).
				want = map[string]int{"GET": http.StatusNotFound, "PATCH": http.StatusForbidden}[rt.Method]
			}
			if status != want {
				t.Errorf("owner: %d %s", status, body)
			}
		})
	}
}

func noSecrets(t *testing.T, what string, body []byte) {
	t.Helper()
	// A problem's instance echoes the path the caller asked for: not data.
	var p map[string]any
	if json.Unmarshal(body, &p) == nil {
		delete(p, "instance")
		body, _ = json.Marshal(p)
	}
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Errorf("%s: body leaks %q: %s", what, s, body)
		}
	}
}

// A folio that does not exist and a folio that is not yours look the same.
func TestNotYoursLooksLikeMissing(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := investor(t, "INV-2")
	_, _, notYours := e.get(t, "/v1/folios/F-1/portfolio", tok)
	_, _, missing := e.get(t, "/v1/folios/NOPE/portfolio", tok)
	if string(bytes.ReplaceAll(notYours, []byte("F-1"), []byte("X"))) != string(bytes.ReplaceAll(missing, []byte("NOPE"), []byte("X"))) {
		t.Fatalf("bodies differ:\n%s\n%s", notYours, missing)
	}
	// Analysts read NAVs, not folios.
	status, h, body := e.get(t, "/v1/folios/F-1/portfolio", token(t, claims(api.RoleAnalyst, "an-1", time.Hour)))
	if status != http.StatusForbidden || problemCode(t, h, body) != api.CodeForbidden {
		t.Fatalf("analyst: %d %s", status, body)
	}
}

func TestRS256Tokens(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	c := claims(api.RoleInvestor, "u", time.Hour)
	c.InvestorID = "INV-1"
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(e.rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := e.get(t, "/v1/folios/F-1/portfolio", tok); status != http.StatusOK {
		t.Fatalf("RS256: %d %s", status, body)
	}
	// An HS256 token whose "secret" is the RSA public key (algorithm confusion) is refused.
	pub, _ := json.Marshal(e.rsaKey.PublicKey)
	confused, _ := api.Mint(pub, c)
	if status, _, _ := e.get(t, "/v1/folios/F-1/portfolio", confused); status != http.StatusUnauthorized {
		t.Fatalf("confused token: %d", status)
	}
}

type portfolioResp struct {
	readmodel.Portfolio
	Investor api.InvestorView `json:"investor"`
}

func TestPortfolioMasksPIIUnlessCompliance(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	cases := []struct {
		name, tok, pan, bank string
		masked               bool
	}{
		{"investor", investor(t, "INV-1"), "XXXXXX234F", "XXXXXXXX9012", true},
		{"ops", token(t, claims(api.RoleOps, "o", time.Hour)), "XXXXXX234F", "XXXXXXXX9012", true},
		{"admin", token(t, claims(api.RoleAdmin, "a", time.Hour)), "XXXXXX234F", "XXXXXXXX9012", true},
		{"compliance", token(t, claims(api.RoleCompliance, "c", time.Hour)), "ABCDE1234F", "123456789012", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := e.get(t, "/v1/folios/F-1/portfolio?as_of=2024-03-31", c.tok)
			if status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
			var p portfolioResp
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if *p.Investor.PAN != c.pan || *p.Investor.BankAccount != c.bank || p.Investor.Masked != c.masked {
				t.Fatalf("pii %+v", p.Investor)
			}
			if c.masked && (bytes.Contains(body, []byte("ABCDE")) || bytes.Contains(body, []byte("12345678"))) {
				t.Fatalf("clear PII in a masked response: %s", body)
			}
			// As of 31 March 2024 (worked out in ledgerfix.Sample): 1399.930 units of 100001 at 12.5 = 17499.13.
			if len(p.Holdings) != 2 || p.Holdings[0].Units != "1399.930" || !p.Holdings[0].Value.Equal(decimal.RequireFromString("17499.13")) {
				t.Fatalf("holdings %+v", p.Holdings)
			}
		})
	}
	if status, h, body := e.get(t, "/v1/folios/F-1/portfolio?as_of=31-03-2024", investor(t, "INV-1")); status != 400 || problemCode(t, h, body) != api.CodeBadRequest {
		t.Fatalf("bad as_of: %d %s", status, body)
	}
}

func TestTransactionsAreCursorPaged(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := investor(t, "INV-1")
	var ids []int64
	path := "/v1/folios/F-1/transactions?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		status, _, body := e.get(t, path, tok)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		var page struct {
			Items []readmodel.LedgerTx `json:"items"`
			Next  *string              `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		path = ""
		if page.Next != nil {
			path = "/v1/folios/F-1/transactions?limit=3&cursor=" + *page.Next
		}
	}
	w := e.written.TxIDs
	if fmt.Sprint(ids) != fmt.Sprint([]int64{w[3], w[2], w[1], w[0]}) {
		t.Fatalf("paged ids %v, written %v", ids, w)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=%21%21", "cursor=eDE"} {
		if status, h, body := e.get(t, "/v1/folios/F-1/transactions?"+q, tok); status != 400 || problemCode(t, h, body) != api.CodeBadRequest {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
}

func TestLineageRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, body := e.get(t, fmt.Sprintf("/v1/transactions/%d/lineage", e.written.TxIDs[0]), investor(t, "INV-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var l readmodel.Lineage
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	if l.Order.ID != e.written.OrderIDs[0] || l.Payment == nil || l.Payment.WebhookEventID != e.written.EventIDs[0] ||
		l.NAV == nil || l.NAV.SourceFile != "NAVAll_fixture_100001.txt" || l.NAV.Line != 2 || l.NAV.SHA256 != e.written.NAVSource["100001"] {
		t.Fatalf("lineage %s", body)
	}
	for _, bad := range []string{"/v1/transactions/0/lineage", "/v1/transactions/x/lineage"} {
		if status, _, _ := e.get(t, bad, investor(t, "INV-1")); status != 400 {
			t.Errorf("%s: %d", bad, status)
		}
	}
	if status, _, _ := e.get(t, "/v1/transactions/99999999/lineage", token(t, claims(api.RoleOps, "o", time.Hour))); status != 404 {
		t.Errorf("missing transaction: %d", status)
	}
}

// An order shows its legs; a held leg shows held with its public reason,
// or under_review with none for a fraud hold (the rule is never shown).
func TestOrderRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	inv := investor(t, "INV-1")
	status, _, body := e.get(t, "/v1/orders/"+e.written.OrderIDs[0], inv)
	var o readmodel.OrderRequest
	if status != 200 || json.Unmarshal(body, &o) != nil || o.Status != "accepted" || len(o.Legs) != 1 ||
		o.Legs[0].Status != "allotted" || o.Legs[0].Folio != "F-1" || o.Legs[0].TxID == nil {
		t.Fatalf("%d %s", status, body)
	}
	for _, q := range []string{
		`INSERT INTO order_requests (id, kind, body, body_sha256, source, status) VALUES ('H-1', 'purchase', '{}', 'x', 'http', 'accepted'), ('H-2', 'purchase', '{}', 'y', 'http', 'accepted')`,
		`INSERT INTO orders (id, request_id, kind, investor_id, folio_no, scheme_code, amount, placed_at, status, nav_date)
			VALUES ('H-1', 'H-1', 'purchase', 'INV-1', 'F-1', '100001', 500, now(), 'pending_nav', '2024-03-11'),
			       ('H-2', 'H-2', 'purchase', 'INV-1', 'F-1', '100001', 700, now(), 'pending_nav', '2024-03-11')`,
		`INSERT INTO order_holds (order_id, investor_id, source, reason, detail, raised_by) VALUES
			('H-1', 'INV-1', 'fraud', 'under_review', 'rule ato_redeem_after_bank_change', 'fraud'),
			('H-2', 'INV-1', 'kyc', 'pan_inoperative', 'PAN-Aadhaar feed 2024-03-01', 'kra-feed')`,
	} {
		if _, err := e.store.PG.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string][2]string{"H-1": {"under_review", ""}, "H-2": {"held", "pan_inoperative"}} {
		status, _, body := e.get(t, "/v1/orders/"+id, inv)
		var o readmodel.OrderRequest
		if status != 200 || json.Unmarshal(body, &o) != nil || len(o.Legs) != 1 || o.Legs[0].Status != want[0] || o.Legs[0].HoldReason != want[1] {
			t.Errorf("%s: %d %s; want %s %q", id, status, body, want[0], want[1])
		}
		if strings.Contains(string(body), "rule") || strings.Contains(string(body), "feed") {
			t.Errorf("%s: a hold's detail reached the investor: %s", id, body)
		}
		if status, _, _ := e.get(t, "/v1/orders/"+id, investor(t, "INV-2")); status != 404 {
			t.Errorf("%s read by another investor: %d", id, status)
		}
	}
	if status, _, _ := e.get(t, "/v1/orders/NOPE", token(t, claims(api.RoleOps, "o", time.Hour))); status != 404 {
		t.Errorf("missing order: %d", status)
	}
}

func TestNAVRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := token(t, claims(api.RoleAnalyst, "an", time.Hour))
	status, _, body := e.get(t, "/v1/schemes/100001/nav?from=2024-01-01&to=2024-02-29", tok)
	var got struct {
		Navs []readmodel.NAVPoint `json:"navs"`
	}
	if status != 200 || json.Unmarshal(body, &got) != nil || len(got.Navs) != 1 || !got.Navs[0].NAV.Equal(decimal.RequireFromString("10")) {
		t.Fatalf("%d %s", status, body)
	}
	// Default window: the year to "today" (2025-01-15 in this test) holds 11 March 2024 only... and no earlier.
	status, _, body = e.get(t, "/v1/schemes/100001/nav", tok)
	if status != 200 || !strings.Contains(string(body), `"2024-03-11"`) || strings.Contains(string(body), `"2024-01-10"`) {
		t.Fatalf("default window: %d %s", status, body)
	}
	for q, want := range map[string]int{
		"/v1/schemes/999999/nav":                               404,
		"/v1/schemes/100001/nav?from=2024-02-30":               400,
		"/v1/schemes/100001/nav?from=2024-03-01&to=2024-02-01": 400,
		"/v1/schemes/100001/nav?from=1900-01-01&to=2024-01-01": 400,
	} {
		if status, h, body := e.get(t, q, tok); status != want || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
}

func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)
	e := setup(t, func(c *api.Config) {
		c.RatePerSecond, c.Burst = 1, 2
		c.Now = func() time.Time { return now }
	})
	a, b := investor(t, "INV-1"), token(t, claims(api.RoleOps, "ops-9", time.Hour))
	for i := 0; i < 2; i++ {
		if status, _, body := e.get(t, "/v1/folios/F-1/portfolio", a); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, h, body := e.get(t, "/v1/folios/F-1/portfolio", a)
	if status != http.StatusTooManyRequests || problemCode(t, h, body) != api.CodeRateLimited || h.Get("Retry-After") != "1" {
		t.Fatalf("third request: %d %s %v", status, body, h)
	}
	noSecrets(t, "429", body)
	if status, _, _ := e.get(t, "/v1/folios/F-1/portfolio", b); status != 200 {
		t.Fatalf("another token is limited too: %d", status)
	}
	now = now.Add(time.Second)
	if status, _, _ := e.get(t, "/v1/folios/F-1/portfolio", a); status != 200 {
		t.Fatalf("after a second: %d", status)
	}
}

func TestLimitsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *api.Config) { c.MaxBodyBytes = 1024 })
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/folios/F-1/portfolio", strings.NewReader(strings.Repeat("x", 4096)))
	req.Header.Set("Authorization", "Bearer "+investor(t, "INV-1"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || problemCode(t, resp.Header, body) != api.CodeTooLarge {
		t.Fatalf("large body: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/v1/nope", "/", "/v1/folios/F-1"} {
		if status, h, body := e.get(t, p, ""); status != 404 || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", p, status, body)
		}
	}
	slow := setup(t, func(c *api.Config) { c.RequestTimeout = time.Nanosecond })
	if status, h, body := slow.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-1")); status != http.StatusGatewayTimeout || problemCode(t, h, body) != api.CodeTimeout {
		t.Fatalf("timeout: %d %s", status, body)
	}
}

// Every route is in the OpenAPI document and the document has no other.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, h, body := e.get(t, "/openapi.json", "")
	if status != 200 || h.Get("Content-Type") != "application/json" || !bytes.Equal(body, api.OpenAPI) {
		t.Fatalf("served document: %d", status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	routed := map[string]bool{}
	for _, rt := range e.api.Routes() {
		key := strings.ToLower(rt.Method) + " " + rt.Pattern
		routed[key] = true
		if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s is not in api/openapi.json", key)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !routed[m+" "+p] {
				t.Errorf("api/openapi.json documents %s %s, which is not routed", m, p)
			}
		}
	}
}

// Compliance downloads the exports; the file is the exporter's.
func TestExportRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := token(t, claims(api.RoleCompliance, "c", time.Hour))
	status, h, body := e.get(t, "/v1/exports/fatca-crs?from=2024-01-01&to=2024-12-31", tok)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "fatca-crs_2024-01-01_2024-12-31.csv") {
		t.Fatalf("%d %v %s", status, h, body)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 4 || !strings.Contains(string(body), "PQRSX9876Z") {
		t.Fatalf("fatca-crs csv:\n%s", body)
	}
	status, h, body = e.get(t, "/v1/exports/transactions?from=2024-01-01&to=2024-12-31&format=parquet", tok)
	if status != 200 || h.Get("Content-Type") != "application/vnd.apache.parquet" || !bytes.HasPrefix(body, []byte("PAR1")) {
		t.Fatalf("parquet: %d %v", status, h)
	}
	for q, want := range map[string]int{
		"/v1/exports/nope?from=2024-01-01&to=2024-12-31":              404,
		"/v1/exports/audit?from=2024-01-01":                           400,
		"/v1/exports/audit?from=2024-01-01&to=2024-12-31&format=xlsx": 400,
	} {
		if status, _, body := e.get(t, q, tok); status != want {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
	for _, role := range []string{api.RoleOps, api.RoleAnalyst} {
		if status, _, _ := e.get(t, "/v1/exports/audit?from=2024-01-01&to=2024-12-31", token(t, claims(role, "x", time.Hour))); status != 403 {
			t.Errorf("%s: %d", role, status)
		}
	}
}

// Every answered request reaches the access log with who, what and status.
func TestAccessEvents(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []api.AccessEvent
	e := setup(t, func(c *api.Config) {
		c.Access = func(ev api.AccessEvent) { mu.Lock(); got = append(got, ev); mu.Unlock() }
	})
	e.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-1"))
	e.get(t, "/v1/folios/F-1/portfolio", investor(t, "INV-2"))
	e.get(t, "/v1/folios/F-1/portfolio", token(t, claims(api.RoleCompliance, "auditor", time.Hour)))
	e.get(t, "/v1/folios/F-1/portfolio", "")
	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		sub    string
		status int
		clear  bool
	}{{"user-INV-1", 200, false}, {"user-INV-2", 404, false}, {"auditor", 200, true}, {"", 401, false}}
	if len(got) != len(want) {
		t.Fatalf("%d events: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Subject != w.sub || g.Status != w.status || g.PIIInClear != w.clear || g.Folio != "F-1" || g.Route != "/v1/folios/{folio}/portfolio" {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
}

// A path the route table has, asked with a method it does not have, is 405
// with Allow listing the methods it does have (RFC 9110 15.5.6); a path it
// does not have stays 404. Issue 16: every wrong method was 404.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tok := investor(t, "INV-1")
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/v1/folios/F-1/portfolio", "GET, HEAD"},
		{"DELETE", "/v1/schemes/100001/nav", "GET, HEAD"},
		{"GET", "/v1/plans", "POST"},
		{"PUT", "/v1/plans/7/pause", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		status, h, body := e.do(t, c.method, c.path, tok, "")
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != c.allow || problemCode(t, h, body) != api.CodeMethodNotAllowed {
			t.Errorf("%s %s: %d Allow %q %s; want 405 Allow %q", c.method, c.path, status, h.Get("Allow"), body, c.allow)
		}
	}
	if status, h, body := e.do(t, "POST", "/v1/nope", tok, ""); status != 404 || h.Get("Allow") != "" || problemCode(t, h, body) != api.CodeNotFound {
		t.Errorf("POST /v1/nope: %d Allow %q %s", status, h.Get("Allow"), body)
	}
}
