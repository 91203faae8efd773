// Package kycbank is bank account verification's HTTP side (issue 23): the
// handler of the gateway's fund_account.validation.* webhooks, mounted by
// serve on the payment webhooks' listener. The pass that asks the penny
// drops runs in the kra job (investors.Banks.Pass).
package kycbank

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/investors"
)

// Handler receives the validation webhooks: the signature checked on the
// raw body (401 and nothing stored when it does not verify), the outcome
// stored and the restriction reconciled before the 2xx, so an answer the
// gateway saw acknowledged is never lost; a redelivery changes nothing. A
// webhook naming no penny drop of ours is acknowledged and logged as an
// error (the gateway would redeliver it for a day to no end); a transient
// failure answers 503 and the gateway redelivers.
type Handler struct {
	Secrets [][]byte
	Banks   *investors.Banks
	MaxBody int64 // 0: 1 MiB
	Log     *slog.Logger
}

// Path is where serve mounts the handler.
const Path = "/webhooks/razorpayx/validations"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	max := h.MaxBody
	if max <= 0 {
		max = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		http.Error(w, "reading the body", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > max {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !webhook.Verify(body, r.Header.Get(webhook.HeaderSignature), h.Secrets) {
		http.Error(w, "signature does not verify", http.StatusUnauthorized)
		return
	}
	eventID := r.Header.Get(webhook.HeaderEventID)
	ev, err := razorpay.ParseValidationEvent(body)
	if err != nil {
		// Signed by the gateway but not a validation we can read: a
		// redelivery would be the same, so it is acknowledged and logged.
		h.log().Error("validation webhook not applied", "event_id", eventID, "reason", err.Error())
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintln(w, "not applied:", err)
		return
	}
	switch err := h.Banks.Apply(r.Context(), eventID, ev); {
	case errors.Is(err, investors.ErrUnknownValidation):
		h.log().Error("validation webhook for no penny drop of ours", "event_id", eventID, "validation", ev.Validation.ID, "reference", ev.Validation.ReferenceID)
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintln(w, "unknown reference")
	case err != nil:
		h.log().Warn("validation webhook: will be redelivered", "event_id", eventID, "err", err)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "try again", http.StatusServiceUnavailable)
	default:
		_, _ = fmt.Fprintln(w, "ok")
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
