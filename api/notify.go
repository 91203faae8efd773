package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/fundflow/fundflow/notify"
)

// Notify is the notifications service the notify routes drive
// (notify/pgstore.Store).
type Notify interface {
	PutPreference(ctx context.Context, p notify.Preference) error
	Receipt(ctx context.Context, provider, providerID string, delivered bool, reason string, at time.Time) (bool, error)
}

// NotifyConfig serves the notify routes; the zero value answers 503.
type NotifyConfig struct {
	Service Notify
	// TwilioAuthToken checks X-Twilio-Signature on delivery receipts;
	// TwilioStatusURL is the full URL Twilio calls (the signature covers it).
	TwilioAuthToken string
	TwilioStatusURL string
}

// Who may set an investor's notification preferences: the investor
// (their own only) and the staff who act for investors.
var notifyWriters = []string{RoleInvestor, RoleOps, RoleAdmin}

func (s *Server) notifySvc() (Notify, error) {
	if s.cfg.Notify.Service == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "notifications are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.Notify.Service, nil
}

// putPreference is PUT /v1/investors/{id}/notification-preferences: the
// investor's channels, quiet hours and opt-out for one event type ("*": all).
// An investor token sets only its own, and only when not narrowed to some
// folios (else 404, as for another's).
func (s *Server) putPreference(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.notifySvc()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	// Investor-wide settings: a token narrowed to some folios does not cover them.
	if p.Role == RoleInvestor && (p.InvestorID != id || len(p.Folios) > 0) {
		return notFound()
	}
	var b notify.PreferenceMessage
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return badRequest("body: %v", err)
	}
	if b.InvestorID != "" && b.InvestorID != id {
		return badRequest("investor_id: %q is not the path's investor", b.InvestorID)
	}
	b.InvestorID = id
	pref, err := b.Preference()
	if err != nil {
		return &Problem{Type: "https://fundflow.dev/problems/bad_field", Title: "Request refused", Status: http.StatusUnprocessableEntity, Code: "bad_field", Detail: err.Error()}
	}
	if err := svc.PutPreference(r.Context(), pref); err != nil {
		return err
	}
	return writeJSON(w, b)
}

// twilioStatus is POST /v1/notify/twilio/status, Twilio's status callback
// (a delivery receipt): no bearer token, the X-Twilio-Signature instead
// (403 when it does not match). delivered → the row is delivered;
// undelivered/failed → failed with the error code, and a dead letter to
// replay. 204 also for a message we do not know (Twilio would retry).
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request, _ Principal) error {
	svc, err := s.notifySvc()
	if err != nil {
		return err
	}
	if s.cfg.Notify.TwilioAuthToken == "" {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "no Twilio auth token configured")
	}
	if err := r.ParseForm(); err != nil {
		return badRequest("body: %v", err)
	}
	rc, err := notify.ParseTwilioCallback(s.cfg.Notify.TwilioAuthToken, s.cfg.Notify.TwilioStatusURL, r.Header.Get("X-Twilio-Signature"), r.PostForm)
	if err != nil {
		return problem(http.StatusForbidden, CodeForbidden, err.Error())
	}
	if rc.Final {
		if _, err := svc.Receipt(r.Context(), rc.Provider, rc.ProviderID, rc.Delivered, rc.Reason, s.cfg.Now().UTC()); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
