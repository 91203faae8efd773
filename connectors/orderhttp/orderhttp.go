// Package orderhttp receives order requests over HTTP, for platforms without
// Kafka: POST one request (the same JSON as a message on orders.placed) and
// get back what became of it. The client's order_id is the idempotency key:
// the same request posted again answers the order's current state and
// changes nothing.
package orderhttp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ratelimit"
	"github.com/fundflow/fundflow/pipelines"
)

// Outcome codes a Placer reports (the HTTP status follows from them).
const (
	Accepted  = "accepted"  // 201
	Duplicate = "duplicate" // 200
	Rejected  = "rejected"  // 422
	Conflict  = "conflict"  // 409
)

// Placer places one order request durably before it returns.
type Placer interface {
	// Place stores the intake (a valid request, or one refused by a rule)
	// and returns an outcome code and the body to answer with.
	Place(ctx context.Context, in fund.OrderIntake) (outcome string, body any, err error)
}

// Handler is POST /v1/orders.
type Handler struct {
	Placer  Placer
	Token   string        // bearer token callers must present; "" accepts any caller (config refuses that unless insecure_no_auth is set)
	Timeout time.Duration // default 5 s
	Log     *slog.Logger
	// Now is our clock: the receipt time of every request; nil: time.Now.
	Now func() time.Time
	// MaxSkew is how long before our receipt a client's placed_at may lie
	// to be used as the order's time (fund.EffectiveTime).
	MaxSkew time.Duration
	// Failed counts failed authentications per client address; nil: not
	// limited.
	Failed *ratelimit.Failures
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func writeJSON(w http.ResponseWriter, code int, ctype string, v any) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, c, detail string) {
	writeJSON(w, code, "application/problem+json", problem{Status: code, Code: c, Detail: detail})
}

// ServeHTTP places one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST an order request")
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	received := now()
	if h.Token != "" {
		if blocked, wait := h.Failed.Blocked(r); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			fail(w, http.StatusTooManyRequests, "rate_limited", "too many failed authentications from this address")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) != 1 {
			h.Failed.Failed(r)
			fail(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, fund.MaxOrderRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "too_large", "an order request is at most 16 KiB")
			return
		}
		fail(w, http.StatusBadRequest, "unreadable", "could not read the body")
		return
	}
	in, ok, err := fund.IntakeOf(body, fund.Receipt{Source: "http", At: received, MaxSkew: h.MaxSkew})
	if !ok {
		fail(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	outcome, resp, err := h.Placer.Place(ctx, in)
	if err != nil {
		log := h.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("order not placed", "order_id", in.Req.ID, "err", err)
		// 503 only when sending it again can help: the database was
		// unreachable, restarting, or too slow this time. Any other failure
		// would fail the same way on every retry.
		if pipelines.IsTransient(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			w.Header().Set("Retry-After", "1")
			fail(w, http.StatusServiceUnavailable, "unavailable", "the order was not stored; send it again (same order_id)")
			return
		}
		fail(w, http.StatusUnprocessableEntity, "not_storable", "the order cannot be stored as sent; sending it again will not help")
		return
	}
	code := http.StatusOK
	switch outcome {
	case Accepted:
		code = http.StatusCreated
	case Rejected:
		code = http.StatusUnprocessableEntity
	case Conflict:
		code = http.StatusConflict
	}
	writeJSON(w, code, "application/json", resp)
}
