// Package api is fundflow's HTTP query API for investors (through the
// platform's apps), operations and compliance: portfolios valued at the
// latest NAV or replayed to a date, transactions, PDF statements, the
// lineage of any transaction, NAV history and compliance exports; and the
// systematic plans (SIP, STP, SWP): registration, pause, resume, modify,
// cancel and their instalment history (plans.go).
//
// Every route but /openapi.json and /healthz needs a JWT bearer token
// (HS256 or RS256, exp required); object-level checks run on every route
// that names a folio or transaction, and a folio that is not the caller's
// gets the same 404 as one that does not exist. Errors are
// application/problem+json with a stable code. Requests are size-limited,
// time-limited and rate-limited per token.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/wallet"
	"github.com/shopspring/decimal"
)

// Store is what the API reads.
type Store interface {
	NAVHistory(ctx context.Context, code string, from, to fund.Date) ([]readmodel.NAVPoint, bool, error)
	FolioOwner(ctx context.Context, folio string) (string, error)
	Portfolio(ctx context.Context, folio string, asOf *fund.Date) (*readmodel.Portfolio, error)
	Transactions(ctx context.Context, folio string, before int64, limit int) ([]readmodel.LedgerTx, error)
	TxFolio(ctx context.Context, id int64) (string, error)
	Lineage(ctx context.Context, id int64) (*readmodel.Lineage, error)
	OrderRequest(ctx context.Context, id string) (*readmodel.OrderRequest, error)
	Statement(ctx context.Context, folio string, from, to fund.Date) (*readmodel.Statement, error)
}

// Exporter writes a compliance export to w (see package exports).
type Exporter interface {
	Export(ctx context.Context, kind, format string, from, to fund.Date, w io.Writer) (rows int64, err error)
	Kinds() []string
	ContentType(format string) string
}

// Config sets the server's limits.
type Config struct {
	Auth           *Auth
	PII            *pii.Sealer   // nil: PII fields are left out of responses
	RatePerSecond  float64       // per token; 0 = unlimited
	Burst          int           // per token
	RequestTimeout time.Duration // per request (exports get ExportTimeout)
	ExportTimeout  time.Duration
	MaxBodyBytes   int64 // requests carrying more are refused with 413
	Now            func() time.Time
	Access         func(AccessEvent) // every answered request (ClickHouse api_requests); must not block
	// FailedAuth limits failed authentications per client address (429
	// rate_limited); nil: not limited.
	FailedAuth *ratelimit.Failures
	// Ready reports whether the backing stores answer (GET /readyz); nil:
	// always ready.
	Ready func(ctx context.Context) error
	// Plans serves the /v1/plans routes; nil: they answer 503.
	Plans Plans
	// Investors serves the /v1/investors routes (investors.go); nil: they
	// answer 503.
	Investors Investors
	// Tax serves /v1/investors/{id}/capital-gains (api/tax.go); nil: 503.
	Tax Tax
	// Distributors serves the /v1/distributors routes; nil: they answer 503.
	Distributors Distributors
	// Console serves /ops/ (the ops console, api/console: its own cookie
	// sign-in, roles and CSRF); nil: not mounted.
	Console http.Handler
	// Analytics serves the analytics routes (analytics.go); nil: they
	// answer 503.
	Analytics Analytics
	// Metrics counts and times every request by route (metrics.go); nil:
	// not measured.
	Metrics *HTTPMetrics
	// FraudReview serves the ops routes of fraud and AML cases
	// (api/fraud.go); nil: they answer 503.
	FraudReview FraudReview
	// Wallets serves GET /v1/wallets/{id} and POST
	// /v1/wallets/{id}/withdrawals/{wid}/cancel (api/managed.go); nil: 503.
	Wallets Wallets
	// WalletStatements adds the lines of the wallets investing into a folio
	// (and their pools, through Pools) to its statement PDF; nil: none.
	WalletStatements WalletStatements
	// Pools serves GET /v1/wallets/{id}/pools (api/pool.go); nil: 503.
	Pools Pools
	// Drift serves GET /v1/wallets/{id}/drift (api/managed.go) at
	// DriftThresholdPP (nil: wallet.DefaultThresholdPP; 0 is a threshold:
	// any drift is due); Drift nil: 503.
	Drift            WalletDrift
	DriftThresholdPP *decimal.Decimal
	// FeeCharges serves GET /v1/wallets/{id}/fees (api/managed.go); nil: 503.
	FeeCharges wallet.FeeChargeStore
	// RiskProfiles serves /v1/investors/{id}/risk-profile (api/managed_risk.go); nil: 503.
	RiskProfiles RiskProfiles
	// Notify serves the notification routes (notify.go); zero: they answer 503.
	Notify NotifyConfig
	// PayoutHolds serves the payout hold routes (payoutholds.go); nil:
	// they answer 503.
	PayoutHolds PayoutHolds
}

// AccessEvent is one answered request, for the access log: who read what,
// and whether PAN and bank details went out in the clear.
type AccessEvent struct {
	At         time.Time
	Subject    string
	Role       string
	Method     string
	Route      string
	Path       string
	Folio      string
	Status     int
	Duration   time.Duration
	PIIInClear bool
}

// Server serves the API.
type Server struct {
	cfg    Config
	store  Store
	export Exporter // nil: the export route answers 503
	log    *slog.Logger
	lim    *ratelimit.Limiter
	mux    *http.ServeMux
	routes []Route
}

// Route is one route of the API.
type Route struct {
	Method, Pattern string
	Public          bool // no token needed
	Roles           []string
	Timeout         time.Duration // 0: Config.RequestTimeout
	carriesPII      bool          // its answer may hold PAN or bank details
	handle          func(w http.ResponseWriter, r *http.Request, p Principal) error
}

// New builds the server.
func New(cfg Config, store Store, export Exporter, log *slog.Logger) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.ExportTimeout == 0 {
		cfg.ExportTimeout = 10 * time.Minute
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(2*cfg.RatePerSecond))
	}
	s := &Server{cfg: cfg, store: store, export: export, log: log, lim: ratelimit.New(cfg.RatePerSecond, cfg.Burst, cfg.Now), mux: http.NewServeMux()}
	folioReaders := []string{RoleInvestor, RoleOps, RoleCompliance, RoleAdmin}
	s.routes = []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, handle: s.health},
		{Method: "GET", Pattern: "/readyz", Public: true, handle: s.ready},
		{Method: "GET", Pattern: "/openapi.json", Public: true, handle: s.openAPI},
		{Method: "GET", Pattern: "/v1/schemes/{code}/nav", Roles: roles, handle: s.navHistory},
		{Method: "GET", Pattern: "/v1/folios/{folio}/portfolio", Roles: folioReaders, carriesPII: true, handle: s.portfolio},
		{Method: "GET", Pattern: "/v1/folios/{folio}/transactions", Roles: folioReaders, handle: s.transactions},
		{Method: "GET", Pattern: "/v1/folios/{folio}/statement.pdf", Roles: folioReaders, carriesPII: true, handle: s.statement},
		{Method: "GET", Pattern: "/v1/transactions/{id}/lineage", Roles: folioReaders, handle: s.lineage},
		{Method: "GET", Pattern: "/v1/orders/{id}", Roles: folioReaders, handle: s.order},
		{Method: "GET", Pattern: "/v1/wallets/{id}", Roles: folioReaders, handle: s.walletView},
		{Method: "GET", Pattern: "/v1/wallets/{id}/pools", Roles: folioReaders, handle: s.walletPools},
		{Method: "GET", Pattern: "/v1/wallets/{id}/drift", Roles: folioReaders, handle: s.walletDrift},                           // managed.go
		{Method: "GET", Pattern: "/v1/wallets/{id}/fees", Roles: folioReaders, handle: s.walletFees},                             // managed.go
		{Method: "POST", Pattern: "/v1/wallets/{id}/withdrawals/{wid}/cancel", Roles: walletWriters, handle: s.cancelWithdrawal}, // managed.go
		{Method: "GET", Pattern: "/v1/investors/{id}/risk-profile", Roles: taxReaders, handle: s.getRiskProfile},                 // managed_risk.go
		{Method: "PUT", Pattern: "/v1/investors/{id}/risk-profile", Roles: riskWriters, handle: s.putRiskProfile},                // managed_risk.go
		{Method: "POST", Pattern: "/v1/plans", Roles: planWriters, handle: s.registerPlan},
		{Method: "GET", Pattern: "/v1/plans/{id}", Roles: folioReaders, handle: s.getPlan},
		{Method: "GET", Pattern: "/v1/plans/{id}/instalments", Roles: folioReaders, handle: s.planInstalments},
		{Method: "GET", Pattern: "/v1/folios/{folio}/plans", Roles: folioReaders, handle: s.folioPlans},
		{Method: "POST", Pattern: "/v1/plans/{id}/pause", Roles: planWriters, handle: s.pausePlan},
		{Method: "POST", Pattern: "/v1/plans/{id}/resume", Roles: planWriters, handle: s.resumePlan},
		{Method: "POST", Pattern: "/v1/plans/{id}/modify", Roles: planWriters, handle: s.modifyPlan},
		{Method: "POST", Pattern: "/v1/plans/{id}/cancel", Roles: planWriters, handle: s.cancelPlan},
		{Method: "POST", Pattern: "/v1/investors", Roles: investorWriters, carriesPII: true, handle: s.createInvestor},
		{Method: "PATCH", Pattern: "/v1/investors/{id}", Roles: investorWriters, carriesPII: true, handle: s.patchInvestor},
		{Method: "GET", Pattern: "/v1/investors/{id}", Roles: investorReaders, carriesPII: true, handle: s.getInvestor},
		{Method: "GET", Pattern: "/v1/schemes/{code}/analytics", Roles: roles, handle: s.schemeAnalytics}, // analytics.go
		{Method: "GET", Pattern: "/v1/folios/{folio}/risk", Roles: folioReaders, handle: s.folioRisk},     // analytics.go
		{Method: "PUT", Pattern: "/v1/investors/{id}/notification-preferences", Roles: notifyWriters, handle: s.putPreference},
		{Method: "POST", Pattern: "/v1/notify/twilio/status", Public: true, handle: s.twilioStatus},
		{Method: "GET", Pattern: "/v1/investors/{id}/capital-gains", Roles: taxReaders, handle: s.capitalGains},
		{Method: "GET", Pattern: "/v1/investors/{id}/tds", Roles: taxReaders, handle: s.tdsSummary},
		{Method: "POST", Pattern: "/v1/idcw/declarations", Roles: idcwWriters, handle: s.declareIDCW},
		{Method: "POST", Pattern: "/v1/tax/mergers", Roles: taxWriters, handle: s.mergeSchemes},                  // taxroutes.go
		{Method: "POST", Pattern: "/v1/schemes/{code}/tax-types", Roles: taxWriters, handle: s.setSchemeTaxType}, // taxroutes.go
		{Method: "GET", Pattern: "/v1/distributors/{arn}/payouts/{month}", Roles: distributorReaders, handle: s.distributorPayout},
		{Method: "GET", Pattern: "/v1/distributors/{arn}/payouts/{month}/explain", Roles: distributorReaders, handle: s.distributorExplain},
		{Method: "GET", Pattern: "/v1/distributors/{arn}/payouts/{month}/statement.pdf", Roles: distributorReaders, handle: s.distributorPayoutPDF},
		{Method: "GET", Pattern: "/v1/exports/{kind}", Roles: []string{RoleCompliance, RoleAdmin}, Timeout: cfg.ExportTimeout, carriesPII: true, handle: s.exportFile},
	}
	s.routes = append(s.routes, s.fraudRoutes()...)
	s.routes = append(s.routes, s.payoutHoldRoutes()...)
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	if cfg.Console != nil {
		s.mux.Handle("/ops/", cfg.Console)
	}
	return s
}

// Routes lists the routes (the OpenAPI test checks each is documented).
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP answers unknown paths with a problem too; every request is
// measured by its route (Config.Metrics).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.cfg.Metrics.measure(s.mux, w, r, s.serve)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		if allow := s.allowed(r); allow != "" {
			w.Header().Set("Allow", allow)
			writeProblem(w, r, problem(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here; allowed: "+allow))
			return
		}
		writeProblem(w, r, notFound())
		return
	}
	s.mux.ServeHTTP(w, r)
}

// allowed lists the methods the route table has for r's path (HEAD with
// GET, as the mux serves it), or "" when no route has the path: a known path
// asked with another method is 405 with Allow (RFC 9110), not 404.
func (s *Server) allowed(r *http.Request) string {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// HTTPServer returns an http.Server for s on addr with its timeouts set.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second, // exports extend their own
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// wrap runs a route's checks in order: body size, token, role, rate, then
// the handler under a deadline; errors become problems.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w}
		var p Principal
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("api panic", "route", rt.Pattern, "panic", v, "stack", string(debug.Stack()))
				if !sw.Wrote {
					writeProblem(sw, r, problem(http.StatusInternalServerError, CodeInternal, ""))
				}
			}
			s.log.Debug("api", "method", r.Method, "path", r.URL.Path, "status", sw.Status, "sub", p.Subject, "role", p.Role, "ms", time.Since(start).Milliseconds())
			if s.cfg.Access != nil {
				s.cfg.Access(AccessEvent{At: start, Subject: p.Subject, Role: p.Role, Method: r.Method, Route: rt.Pattern, Path: r.URL.Path,
					Folio: r.PathValue("folio"), Status: sw.Status, Duration: time.Since(start),
					PIIInClear: p.SeesPII() && sw.Status == http.StatusOK && rt.carriesPII})
			}
		}()
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeProblem(sw, r, problem(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("at most %d bytes", s.cfg.MaxBodyBytes)))
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
		if prob := checkEncoding(r); prob != nil {
			writeProblem(sw, r, prob)
			return
		}
		if !rt.Public {
			if blocked, wait := s.cfg.FailedAuth.Blocked(r); blocked {
				pr := problem(http.StatusTooManyRequests, CodeRateLimited, "too many failed authentications from this address")
				pr.RetryAfter = wait
				writeProblem(sw, r, pr)
				return
			}
			var prob *Problem
			if p, prob = s.cfg.Auth.Authenticate(r); prob != nil {
				s.cfg.FailedAuth.Failed(r)
				writeProblem(sw, r, prob)
				return
			}
			if !hasRole(rt.Roles, p.Role) {
				writeProblem(sw, r, problem(http.StatusForbidden, CodeForbidden, "the "+p.Role+" role may not use this route"))
				return
			}
			if ok, wait := s.lim.Allow(p.Role + "|" + p.Subject); !ok {
				pr := problem(http.StatusTooManyRequests, CodeRateLimited, "slow down")
				pr.RetryAfter = max(1, int(math.Ceil(wait.Seconds())))
				writeProblem(sw, r, pr)
				return
			}
		}
		timeout := s.cfg.RequestTimeout
		if rt.Timeout > 0 {
			timeout = rt.Timeout
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout + 5*time.Second))
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := rt.handle(sw, r.WithContext(ctx), p); err != nil {
			s.fail(sw, r, ctx, err)
		}
	})
}

func (s *Server) fail(w *StatusWriter, r *http.Request, ctx context.Context, err error) {
	if w.Wrote {
		s.log.Error("api: failed after the response started", "path", r.URL.Path, "err", err)
		return
	}
	var prob *Problem
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &prob):
	case errors.Is(err, readmodel.ErrNotFound):
		prob = notFound()
	case errors.As(err, &tooBig):
		prob = problem(http.StatusRequestEntityTooLarge, CodeTooLarge, "")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		prob = problem(http.StatusGatewayTimeout, CodeTimeout, "")
	case pipelines.IsTransient(err):
		// A store that is down or restarting: the same request later works.
		s.log.Warn("api: a backing store is unavailable", "path", r.URL.Path, "err", err)
		prob = problem(http.StatusServiceUnavailable, CodeUnavailable, "a backing store is unavailable; try again later")
		prob.RetryAfter = retryAfterUnavailable
	default:
		s.log.Error("api", "path", r.URL.Path, "err", err)
		prob = problem(http.StatusInternalServerError, CodeInternal, "")
	}
	writeProblem(w, r, prob)
}

func hasRole(rs []string, r string) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// StatusWriter remembers the status a response was answered with (for the
// access log and the request metrics; the ops console's too).
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Wrote  bool // Status was set by the handler
}

func (w *StatusWriter) WriteHeader(code int) {
	if !w.Wrote {
		w.Status, w.Wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if !w.Wrote {
		w.Status, w.Wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, v any) error { return writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// retryAfterUnavailable is the Retry-After (seconds) of a 503.
const retryAfterUnavailable = 5

// health is liveness: the process answers. It does not look at the stores,
// so an orchestrator does not restart a healthy process while Postgres is
// down; readiness (ready) does.
func (s *Server) health(w http.ResponseWriter, r *http.Request, _ Principal) error {
	return writeJSON(w, map[string]string{"status": "ok"})
}

// ready is readiness: 200 when the backing stores answer, else 503 with
// Retry-After, so a load balancer sends requests elsewhere.
func (s *Server) ready(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			s.log.Warn("api: not ready", "err", err)
			prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "not ready: "+err.Error())
			prob.RetryAfter = retryAfterUnavailable
			return prob
		}
	}
	return writeJSON(w, map[string]string{"status": "ready"})
}

// checkEncoding refuses a path or query parameter that is not UTF-8 or
// holds a NUL (%FF, %00): no store can look such a value up, and a
// database would answer with an encoding error.
func checkEncoding(r *http.Request) *Problem {
	if e := fund.CheckText("path", r.URL.Path); e != nil {
		return badRequest("%s", e.Detail)
	}
	for k, vs := range r.URL.Query() {
		if e := fund.CheckText("parameter", k); e != nil {
			return badRequest("%s", e.Detail)
		}
		for _, v := range vs {
			if e := fund.CheckText(k, v); e != nil {
				return badRequest("%s", e.Detail)
			}
		}
	}
	return nil
}

// dateParam reads an optional YYYY-MM-DD query parameter.
func dateParam(r *http.Request, name string) (*fund.Date, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	d, err := fund.ParseISODate(v)
	if err != nil {
		return nil, badRequest("%s: %q is not a date (YYYY-MM-DD)", name, v)
	}
	return &d, nil
}

func (s *Server) today() fund.Date { return fund.DateOf(s.cfg.Now().In(fund.IST())) }

// folioFor checks that p may read folio; a folio that is not p's is
// reported exactly like one that does not exist.
func (s *Server) folioFor(ctx context.Context, p Principal, folio string) (owner string, err error) {
	owner, err = s.store.FolioOwner(ctx, folio)
	if err != nil {
		return "", err
	}
	if !p.MayReadFolio(folio, owner) {
		return "", notFound()
	}
	return owner, nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("id: %q is not a transaction id", s)
	}
	return id, nil
}
