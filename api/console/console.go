// Package console is the operators' console in the browser, served by
// `fundflow serve` on the query API's listener under /ops/: job runs, NAV
// freshness by AMC and the day's completeness, quarantined NAV rows with
// replay and accept, reconciliation breaks by type and age with explain,
// open alerts, payment breaks and refunds due.
//
// It is server-rendered (html/template, embedded assets, no script). A
// browser sends no bearer header, so /ops/login takes a token (`fundflow
// token --role ops`), verifies it with the API's own Auth, and keeps it in
// an HttpOnly, SameSite=Strict cookie; every request verifies it again
// (expiry, signature, role). Only the ops and admin roles get in. Every POST
// also needs a CSRF token: an HMAC, under a per-process key, of the session
// cookie, carried in a hidden form field (a cross-site page can neither read
// the cookie nor compute the HMAC). Each action runs the code of its CLI
// command (jobs/replay as `quarantine replay [--accept --id]`, ExplainBreak
// as `recon explain`) and records who (the token's subject) and when the
// same way.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Prefix is where the console is mounted.
const Prefix = "/ops/"

// CookieName is the session cookie: the token itself, HttpOnly.
const CookieName = "fundflow_ops"

// Roles may use the console.
var Roles = []string{api.RoleOps, api.RoleAdmin}

//go:embed templates/*.html static/*
var assets embed.FS

// Config is what the console needs.
type Config struct {
	Auth       *api.Auth           // the query API's token verifier
	FailedAuth *ratelimit.Failures // failed logins per address; nil: unlimited
	Store      *Store
	// NAV and NAVIngest are what `fundflow quarantine replay` writes
	// through (nav-ingest's sinks and rules); a nil NAVIngest turns replay
	// and accept off, as the CLI refuses them without that section.
	NAV       navingest.Deps
	NAVIngest *config.NAVIngest
	Now       func() time.Time // nil: time.Now
	// Timeout bounds a page's reads (the API's request_timeout); actions
	// get ActionTimeout: a replay of many rows takes long. 0: 10 s and 10 min.
	Timeout, ActionTimeout time.Duration
	Log                    *slog.Logger
	// CSRFKey signs the CSRF tokens; nil: 32 random bytes (forms from
	// before a restart then need a reload).
	CSRFKey []byte
	// Fraud is the fraud and AML review (holds and alerts page); nil: that
	// page says it is not configured.
	Fraud *review.Service
	// Access receives every answered request, like the API's (ClickHouse
	// api_requests: who looked at what); nil: none recorded. Must not block.
	Access func(api.AccessEvent)
}

// Handler serves the console.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New builds the console.
func New(cfg Config) (*Handler, error) {
	if cfg.Auth == nil || cfg.Store == nil || cfg.Store.PG == nil {
		return nil, errors.New("console: Auth and Store are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 10 * time.Minute
	}
	if len(cfg.CSRFKey) == 0 {
		cfg.CSRFKey = make([]byte, 32)
		if _, err := rand.Read(cfg.CSRFKey); err != nil {
			return nil, err
		}
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	if err := h.parse(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(assets, "static")
	h.mux.Handle("GET /ops/static/", http.StripPrefix("/ops/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /ops/login", h.loginForm)
	h.mux.HandleFunc("POST /ops/login", h.login)
	h.mux.Handle("POST /ops/logout", h.action(h.logout))
	h.mux.Handle("GET /ops/{$}", h.page(h.overview))
	h.mux.Handle("GET /ops/runs", h.page(h.runs))
	h.mux.Handle("GET /ops/runs/{id}", h.page(h.run))
	h.mux.Handle("GET /ops/freshness", h.page(h.freshness))
	h.mux.Handle("GET /ops/quarantine", h.page(h.quarantine))
	h.mux.Handle("GET /ops/quarantine/{id}", h.page(h.quarantined))
	h.mux.Handle("POST /ops/quarantine/replay", h.action(h.replay))
	h.mux.Handle("POST /ops/quarantine/{id}/accept", h.action(h.accept))
	h.mux.Handle("GET /ops/breaks", h.page(h.breaks))
	h.mux.Handle("POST /ops/breaks/{id}/explain", h.action(h.explain))
	h.mux.Handle("GET /ops/alerts", h.page(h.alerts))
	h.mux.Handle("GET /ops/payments", h.page(h.payments))
	h.mux.Handle("GET /ops/payout-holds", h.page(h.payoutHolds))
	h.fraudRoutes()
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_, pattern := h.mux.Handler(r)
	if h.cfg.Access != nil {
		start, sw := time.Now(), &api.StatusWriter{ResponseWriter: w, Status: http.StatusOK}
		w = sw
		defer func() {
			var p api.Principal
			if s, prob := h.authenticate(r); prob == nil {
				p = s.P
			}
			route := strings.TrimPrefix(pattern, r.Method+" ")
			if route == "" {
				route = Prefix
			}
			h.cfg.Access(api.AccessEvent{At: start, Subject: p.Subject, Role: p.Role, Method: r.Method, Route: route, Path: r.URL.Path,
				Status: sw.Status, Duration: time.Since(start)})
		}()
	}
	if pattern == "" {
		if allow := h.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			h.render(w, http.StatusMethodNotAllowed, "error", view{Title: "Method not allowed", Error: r.URL.Path + " answers " + strings.Join(allow, " and ") + " only."})
			return
		}
		h.render(w, http.StatusNotFound, "error", view{Title: "Not found", Error: "There is no console page at " + r.URL.Path + "."})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// allowed are the methods the path answers to, for a 405's Allow.
func (h *Handler) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := h.mux.Handler(r2); p != "" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// session is a signed-in operator.
type session struct {
	P    api.Principal
	CSRF string
}

// authenticate verifies the session cookie's token with the API's Auth.
func (h *Handler) authenticate(r *http.Request) (session, *api.Problem) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return session{}, &api.Problem{Status: http.StatusUnauthorized, Code: api.CodeUnauthenticated, Detail: "sign in with a token"}
	}
	p, prob := h.verify(c.Value)
	if prob != nil {
		return session{}, prob
	}
	return session{P: p, CSRF: h.csrfFor(c.Value)}, nil
}

// verify checks a token as the API checks a bearer token.
func (h *Handler) verify(tok string) (api.Principal, *api.Problem) {
	r := &http.Request{Header: http.Header{"Authorization": {"Bearer " + strings.TrimSpace(tok)}}}
	return h.cfg.Auth.Authenticate(r)
}

func allowed(role string) bool {
	for _, r := range Roles {
		if r == role {
			return true
		}
	}
	return false
}

// csrfFor is the CSRF token of a session: HMAC-SHA256 of its cookie.
func (h *Handler) csrfFor(cookie string) string {
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	m.Write([]byte("fundflow-ops-csrf\x00"))
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// page wraps a GET page: no session sends the browser to the login, a
// role that may not use the console gets 403.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request, s session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, prob := h.authenticate(r)
		if prob != nil {
			q := url.Values{"next": {r.URL.RequestURI()}}
			if prob.Code != api.CodeUnauthenticated {
				clearCookie(w, r)
				q.Set("why", prob.Detail)
			}
			http.Redirect(w, r, "/ops/login?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if !allowed(s.P.Role) {
			h.render(w, http.StatusForbidden, "error", view{Title: "Forbidden", Error: "The " + s.P.Role + " role may not use the ops console: sign in with an ops or admin token."})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
		defer cancel()
		if err := fn(w, r.WithContext(ctx), s); err != nil {
			h.fail(w, r, s, err)
		}
	})
}

// action wraps a POST: it needs a session of an allowed role and the
// session's CSRF token, else 403 and nothing runs.
func (h *Handler) action(fn func(w http.ResponseWriter, r *http.Request, s session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, prob := h.authenticate(r)
		switch {
		case prob != nil:
			h.render(w, http.StatusForbidden, "error", view{Title: "Forbidden", Error: "Sign in first (" + prob.Detail + ")."})
			return
		case !allowed(s.P.Role):
			h.render(w, http.StatusForbidden, "error", view{Title: "Forbidden", Error: "The " + s.P.Role + " role may not use the ops console."})
			return
		}
		got := r.PostFormValue("csrf")
		if got == "" {
			got = r.Header.Get("X-CSRF-Token")
		}
		if got == "" || !hmac.Equal([]byte(got), []byte(s.CSRF)) {
			h.cfg.Log.Warn("ops console: POST refused: CSRF token missing or wrong", "path", r.URL.Path, "sub", s.P.Subject)
			h.render(w, http.StatusForbidden, "error", view{Title: "Forbidden", Error: "The form's CSRF token is missing or wrong: reload the page and try again."})
			return
		}
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.ActionTimeout + 5*time.Second))
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ActionTimeout)
		defer cancel()
		if err := fn(w, r.WithContext(ctx), s); err != nil {
			h.fail(w, r, s, err)
		}
	})
}

// notFound is an error a page answers 404 with.
type notFound string

func (e notFound) Error() string { return string(e) }

// badInput is an error a page answers 400 with.
type badInput string

func (e badInput) Error() string { return string(e) }

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s session, err error) {
	v := view{Title: "Error", User: s.P.Subject, Role: s.P.Role, CSRF: s.CSRF, Error: err.Error()}
	var nf notFound
	var bad badInput
	switch {
	case errors.As(err, &nf), errors.Is(err, postgres.ErrNotFound):
		v.Title = "Not found"
		h.render(w, http.StatusNotFound, "error", v)
	case errors.As(err, &bad):
		v.Title = "Bad request"
		h.render(w, http.StatusBadRequest, "error", v)
	case errors.Is(err, context.DeadlineExceeded):
		v.Title, v.Error = "Timed out", "The page took longer than allowed; try again, or narrow it (a limit, a reason, a type)."
		h.render(w, http.StatusGatewayTimeout, "error", v)
	case pipelines.IsTransient(err):
		h.cfg.Log.Warn("ops console: a backing store is unavailable", "path", r.URL.Path, "err", err)
		v.Error = "A backing store is unavailable; try again shortly. (" + err.Error() + ")"
		w.Header().Set("Retry-After", "5")
		h.render(w, http.StatusServiceUnavailable, "error", v)
	default:
		h.cfg.Log.Error("ops console", "path", r.URL.Path, "err", err)
		h.render(w, http.StatusInternalServerError, "error", v)
	}
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// safeNext is where a login may send the browser: a console path only.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h.render(w, http.StatusOK, "login", view{Title: "Sign in", Data: loginView{Next: safeNext(q.Get("next")), Why: q.Get("why")}})
}

type loginView struct{ Next, Why string }

// login takes a token, checks it and its role, and sets the session
// cookie. A failure counts against the address like a bad bearer token.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	// A login posted from another site would sign the browser in as the
	// attacker: the browser says where a form came from.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			h.render(w, http.StatusForbidden, "login", view{Title: "Sign in", Error: "The sign-in form must come from this site.", Data: loginView{Next: next}})
			return
		}
	}
	if blocked, wait := h.cfg.FailedAuth.Blocked(r); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		h.render(w, http.StatusTooManyRequests, "login", view{Title: "Sign in", Error: "Too many failed sign-ins from this address: wait a little.", Data: loginView{Next: next}})
		return
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	p, prob := h.verify(tok)
	if prob != nil {
		h.cfg.FailedAuth.Failed(r)
		h.render(w, http.StatusUnauthorized, "login", view{Title: "Sign in", Error: "That token is not accepted: " + prob.Detail + ".", Data: loginView{Next: next}})
		return
	}
	if !allowed(p.Role) {
		h.render(w, http.StatusForbidden, "login", view{Title: "Sign in", Error: "The " + p.Role + " role may not use the ops console: use `fundflow token --role ops`.", Data: loginView{Next: next}})
		return
	}
	// A session cookie: it ends with the browser, and the token's own exp
	// still ends it sooner (every request verifies it).
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: tok, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	h.cfg.Log.Info("ops console: signed in", "sub", p.Subject, "role", p.Role, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s session) error {
	clearCookie(w, r)
	http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
	return nil
}
