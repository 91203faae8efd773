package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Delivery is one verified webhook delivery, typed.
type Delivery struct {
	Source    string // "razorpay"
	EventID   string // X-Razorpay-Event-Id, or "sha256:<hex of body>" when the header is missing
	EventType string
	Body      []byte             // the signed bytes with account numbers masked (Redact)
	Payment   *fund.PaymentEvent // nil: not a payment event, or Problem
	Mandate   *fund.MandateEvent // nil: not a mandate (token.*) event, or Problem
	Problem   string             // why the event cannot be applied; it is stored anyway
}

// Store keeps deliveries. Receive must store the delivery durably (and may
// apply it) before it returns nil, and must be idempotent on
// (Source, EventID): a redelivery reports duplicate and changes nothing.
// An error marked pipelines.Transient means "try again later" (the gateway
// is answered 503 and redelivers); any other error means this delivery
// cannot be applied: the receiver stores it once more with Problem set.
type Store interface {
	Receive(ctx context.Context, d Delivery) (duplicate bool, status string, err error)
}

// Receiver is the HTTP handler of one gateway's webhooks.
type Receiver struct {
	Secrets [][]byte // the webhook secrets accepted (two during a rotation)
	Store   Store
	MaxBody int64         // bytes; default 1 MiB (Razorpay's events are a few KB)
	Timeout time.Duration // for storing; default 4 s, well inside the gateway's 5 s
	Log     *slog.Logger
	Stats   *Stats // nil: not counted
	// Now is our clock (receipt times); nil: time.Now.
	Now func() time.Time
	// MaxEventAge is how long before our receipt a payment event's
	// created_at may lie to be used as its time (the funds time of a
	// capture); an older one, or one after the receipt, is replaced by the
	// receipt time (fund.EffectiveTime). 0: always the receipt time.
	MaxEventAge time.Duration
}

// Stats counts what the receiver answered (safe for concurrent use).
type Stats struct {
	Unauthorized, Stored, Duplicate, Failed, TooLarge, Unavailable atomic.Int64
}

func (rc *Receiver) log() *slog.Logger {
	if rc.Log != nil {
		return rc.Log
	}
	return slog.Default()
}

func (rc *Receiver) stat(f func(*Stats) *atomic.Int64) {
	if rc.Stats != nil {
		f(rc.Stats).Add(1)
	}
}

type reply struct {
	Status  string `json:"status"`
	EventID string `json:"event_id,omitempty"`
	Error   string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP checks the size and the signature, then stores the delivery and
// answers 200 once it is durable.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, reply{Status: "error", Error: "POST only"})
		return
	}
	max := rc.MaxBody
	if max <= 0 {
		max = 1 << 20
	}
	if r.ContentLength > max {
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.TooLarge })
		writeJSON(w, http.StatusRequestEntityTooLarge, reply{Status: "error", Error: "body too large"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rc.stat(func(s *Stats) *atomic.Int64 { return &s.TooLarge })
			writeJSON(w, http.StatusRequestEntityTooLarge, reply{Status: "error", Error: "body too large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, reply{Status: "error", Error: "could not read the body"})
		return
	}
	if !Verify(body, r.Header.Get(HeaderSignature), rc.Secrets) {
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.Unauthorized })
		writeJSON(w, http.StatusUnauthorized, reply{Status: "error", Error: "signature does not verify"})
		return
	}
	now := time.Now
	if rc.Now != nil {
		now = rc.Now
	}
	received := now()
	// Stored with account numbers masked (Redact); the id, the parse and
	// the signature use the signed bytes.
	d := Delivery{Source: "razorpay", EventID: r.Header.Get(HeaderEventID), Body: Redact(body)}
	if d.EventID == "" || len(d.EventID) > 128 || fund.CheckText("event id", d.EventID) != nil {
		// No usable id (missing, too long, or text the store cannot hold):
		// the body's hash is as stable a key for a redelivery.
		sum := sha256.Sum256(body)
		d.EventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	parsed, perr := Parse(body, d.EventID)
	p := parsed.Payment
	d.EventType, d.Payment, d.Mandate = parsed.EventType, p, parsed.Mandate
	if perr != nil {
		// Stored as failed with the reason, and acknowledged: a redelivery
		// would fail the same way.
		d.Problem = fund.SafeText(perr.Error())
	}
	if p != nil {
		at, src := fund.EffectiveTime(p.EventAt, received, rc.MaxEventAge)
		if src == fund.TimeReceived && !p.EventAt.IsZero() {
			rc.log().Warn("webhook created_at not used: it is after our receipt or older than max_event_age; the receipt time is the event time",
				"event_id", d.EventID, "created_at", p.EventAt, "received_at", received)
		}
		p.EventAt, p.TimeSource = at, src
	}
	if m := d.Mandate; m != nil {
		// A mandate's events are ordered by the gateway's time whatever its
		// age (a late redelivery must stay old, or it would undo a newer
		// state); only a missing time, or one after our receipt, is ours.
		m.TimeSource = fund.TimeClient
		if m.EventAt.IsZero() || m.EventAt.After(received) {
			m.EventAt, m.TimeSource = received, fund.TimeReceived
		}
	}
	timeout := rc.Timeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	dup, status, err := rc.Store.Receive(ctx, d)
	if err != nil && !pipelines.IsTransient(err) && ctx.Err() == nil {
		// Applying it failed for a reason a retry will not cure: keep the
		// event (as failed, for an operator) and acknowledge it, rather than
		// have the gateway redeliver it for days.
		rc.log().Error("webhook event cannot be applied; stored as failed", "event_id", d.EventID, "err", err)
		d.Payment, d.Mandate, d.Problem = nil, nil, fund.SafeText("apply failed: "+err.Error())
		dup, status, err = rc.Store.Receive(ctx, d)
	}
	if err != nil {
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.Unavailable })
		rc.log().Warn("webhook not stored; the gateway will redeliver", "event_id", d.EventID, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, reply{Status: "error", EventID: d.EventID, Error: "not stored, retry"})
		return
	}
	switch {
	case dup:
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.Duplicate })
		status = "duplicate"
	case status == "failed":
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.Failed })
	default:
		rc.stat(func(s *Stats) *atomic.Int64 { return &s.Stored })
	}
	writeJSON(w, http.StatusOK, reply{Status: status, EventID: d.EventID})
}
