package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/ledger"
)

// The fraud and AML page: open holds (release or reject) and open alerts
// with their evidence (close as confirmed or a false positive), through
// fraud/review as the /v1/ops routes do: four eyes (the user who raised a
// hold or last touched its case may not release or reject it), every
// action audited under the token's subject.

type fraudView struct {
	Holds  []ledger.Hold
	Alerts []review.OpenAlert
}

func (h *Handler) fraudRoutes() {
	h.mux.Handle("GET /ops/fraud", h.page(h.fraudPage))
	h.mux.Handle("POST /ops/fraud/holds/{id}/release", h.action(h.releaseHold))
	h.mux.Handle("POST /ops/fraud/holds/{id}/reject", h.action(h.rejectHold))
	h.mux.Handle("POST /ops/fraud/alerts/close", h.action(h.closeAlert))
}

var errNoReview = errors.New("fraud review is not configured here (serve runs it with the ledger: pipelines.allocate)")

func (h *Handler) fraudPage(w http.ResponseWriter, r *http.Request, s session) error {
	if h.cfg.Fraud == nil {
		return errNoReview
	}
	holds, err := h.cfg.Fraud.Holds(r.Context(), ledger.HoldFilter{OpenOnly: true, Limit: 500})
	if err != nil {
		return err
	}
	alerts, err := h.cfg.Fraud.OpenAlerts(r.Context(), 500)
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "fraud", h.view(r, s, "Fraud and AML: holds and alerts", "fraud", fraudView{Holds: holds, Alerts: alerts}))
	return nil
}

// reviewed answers a review action: back to the page with what was done,
// or the refusal (four eyes 403, closed already 409) on an error page.
func (h *Handler) reviewed(w http.ResponseWriter, r *http.Request, s session, done string, err error) error {
	var status int
	switch {
	case err == nil:
		h.cfg.Log.Info("ops console: "+done, "by", s.P.Subject)
		http.Redirect(w, r, "/ops/fraud?done="+url.QueryEscape(done), http.StatusSeeOther)
		return nil
	case errors.Is(err, review.ErrFourEyes):
		status = http.StatusForbidden
	case errors.Is(err, review.ErrClosed):
		status = http.StatusConflict
	case errors.Is(err, review.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, review.ErrBadInput):
		return badInput(err.Error())
	default:
		return err
	}
	v := h.view(r, s, "Refused", "fraud", nil)
	v.Flash, v.Error = "", err.Error()
	h.render(w, status, "error", v)
	return nil
}

func (h *Handler) releaseHold(w http.ResponseWriter, r *http.Request, s session) error {
	if h.cfg.Fraud == nil {
		return errNoReview
	}
	id, err := idParam(r)
	if err != nil {
		return err
	}
	_, err = h.cfg.Fraud.Release(r.Context(), id, s.P.Subject)
	return h.reviewed(w, r, s, fmt.Sprintf("hold %d released by %s", id, s.P.Subject), err)
}

func (h *Handler) rejectHold(w http.ResponseWriter, r *http.Request, s session) error {
	if h.cfg.Fraud == nil {
		return errNoReview
	}
	id, err := idParam(r)
	if err != nil {
		return err
	}
	_, err = h.cfg.Fraud.Reject(r.Context(), id, s.P.Subject, strings.TrimSpace(r.PostFormValue("note")))
	return h.reviewed(w, r, s, fmt.Sprintf("hold %d rejected by %s", id, s.P.Subject), err)
}

func (h *Handler) closeAlert(w http.ResponseWriter, r *http.Request, s session) error {
	if h.cfg.Fraud == nil {
		return errNoReview
	}
	id := r.PostFormValue("id")
	if id == "" {
		return badInput("id: the alert to close")
	}
	status := r.PostFormValue("status")
	_, err := h.cfg.Fraud.CloseAlert(r.Context(), id, s.P.Subject, status, strings.TrimSpace(r.PostFormValue("note")))
	return h.reviewed(w, r, s, fmt.Sprintf("alert %s closed as %s by %s", id, status, s.P.Subject), err)
}
