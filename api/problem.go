package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem detail. Code is stable: clients branch on
// it, never on Title or Detail.
type Problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Code       string `json:"code"`
	Detail     string `json:"detail,omitempty"`
	Instance   string `json:"instance,omitempty"`
	RetryAfter int    `json:"-"` // seconds, for 429 and 503
	// Errors lists every refused field of a 422 (investors.go): the field's
	// path in the request document and the reason.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one refused field of a request.
type FieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail) }

// The stable problem codes.
const (
	CodeUnauthenticated  = "unauthenticated"         // 401: no bearer token
	CodeInvalidToken     = "invalid_token"           // 401: bad signature, algorithm, issuer, audience or claims
	CodeTokenExpired     = "token_expired"           // 401
	CodeTokenLifetime    = "token_lifetime_too_long" // 401: exp too far after iat or now (serve.api.max_token_lifetime)
	CodeForbidden        = "forbidden"               // 403: the role may not use this route
	CodeNotFound         = "not_found"               // 404: no such thing, or not the caller's
	CodeBadRequest       = "bad_request"             // 400: a bad parameter (Detail says which)
	CodeMethodNotAllowed = "method_not_allowed"      // 405: the path exists for other methods (Allow lists them)
	CodeTooLarge         = "request_too_large"       // 413
	CodeRateLimited      = "rate_limited"            // 429: too many requests for the token, or too many failed authentications from the address
	CodeTimeout          = "timeout"                 // 504: the request took longer than allowed
	CodeInternal         = "internal"                // 500
	CodeUnavailable      = "unavailable"             // 503: a backing service is not configured or down (Retry-After says when to try again)
)

var titles = map[string]string{
	CodeUnauthenticated:  "Authentication required",
	CodeInvalidToken:     "Invalid token",
	CodeTokenExpired:     "Token expired",
	CodeTokenLifetime:    "Token lifetime too long",
	CodeForbidden:        "Forbidden",
	CodeNotFound:         "Not found",
	CodeBadRequest:       "Bad request",
	CodeMethodNotAllowed: "Method not allowed",
	CodeTooLarge:         "Request too large",
	CodeRateLimited:      "Too many requests",
	CodeTimeout:          "Request timed out",
	CodeInternal:         "Internal error",
	CodeUnavailable:      "Service unavailable",
}

func problem(status int, code, detail string) *Problem {
	return &Problem{Type: "https://fundflow.dev/problems/" + code, Title: titles[code], Status: status, Code: code, Detail: detail}
}

func badRequest(format string, args ...any) *Problem {
	return problem(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(format, args...))
}

// notFound is the one answer for "does not exist" and "not yours": the body
// never says which.
func notFound() *Problem { return problem(http.StatusNotFound, CodeNotFound, "") }

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="fundflow", error="`+p.Code+`"`)
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
