package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/notify"
	notifypg "github.com/fundflow/fundflow/notify/pgstore"
)

const (
	twilioToken     = "tw-auth-token"
	twilioStatusURL = "https://fundflow.example/v1/notify/twilio/status" // the public URL Twilio calls and signs
)

func TestNotificationPreferenceRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	path := "/v1/investors/INV-1/notification-preferences"
	for _, c := range []struct {
		name, tok, body string
		status          int
		detail          string
	}{
		{"own, quiet hours", investor(t, "INV-1"), `{"event_type":"orders.status","channels":["sms","push"],"quiet_start":"22:00","quiet_end":"07:00","push_token":"fcm-1"}`, 200, ""},
		{"another investor's", investor(t, "INV-2"), `{"event_type":"*","channels":["email"]}`, 404, ""},
		{"ops for the investor", token(t, claims("ops", "ops-1", 3600e9)), `{"event_type":"*","opted_out":true}`, 200, ""},
		{"analyst", token(t, claims("analyst", "a-1", 3600e9)), `{"event_type":"*"}`, 403, ""},
		{"bad channel", investor(t, "INV-1"), `{"event_type":"*","channels":["email","fax"]}`, 422, `channels[1]: unknown channel "fax"`},
		{"bad time", investor(t, "INV-1"), `{"event_type":"*","quiet_start":"25:00"}`, 422, `quiet_start: "25:00" is not a time of day`},
		{"unknown event type", investor(t, "INV-1"), `{"event_type":"nav.validated"}`, 422, `event_type: unknown "nav.validated"`},
		{"unknown field", investor(t, "INV-1"), `{"event_type":"*","pan":"X"}`, 400, `unknown field "pan"`},
	} {
		status, _, body := e.do(t, "PUT", path, c.tok, c.body)
		var prob api.Problem
		json.Unmarshal(body, &prob)
		if status != c.status || !strings.Contains(prob.Detail, c.detail) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, body, c.status, c.detail)
		}
	}
	st := notifyStore(t, e)
	p, err := st.Preference(testkit.Ctx(t), "INV-1", "orders.status")
	if err != nil || p == nil || p.QuietStart != 22*60 || p.QuietEnd != 7*60 || len(p.Channels) != 2 || p.PushToken != "fcm-1" {
		t.Fatalf("stored: %+v %v", p, err)
	}
	p, _ = st.Preference(testkit.Ctx(t), "INV-1", "transactions.completed")
	if p == nil || !p.OptedOut || p.EventType != "*" {
		t.Fatalf("the default: %+v", p)
	}
}

func TestTwilioStatusCallback(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	st := notifyStore(t, e)
	ctx := testkit.Ctx(t)
	if _, err := st.Pool.Exec(ctx, `INSERT INTO notifications (event_id, channel, investor_id, event_type, template, recipient, body, status, provider, provider_id)
		VALUES ('e1', 'sms', 'INV-1', 'orders.status', 't', '+919800000001', 'b', 'sent', 'twilio', 'SM1'),
		       ('e2', 'sms', 'INV-1', 'orders.status', 't', '+919800000001', 'b', 'sent', 'twilio', 'SM2')`); err != nil {
		t.Fatal(err)
	}
	post := func(form url.Values, sig string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/notify/twilio/status", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	delivered := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {"AC1"}}
	if s := post(delivered, notify.TwilioSignature("another-token", twilioStatusURL, delivered)); s != http.StatusForbidden {
		t.Fatalf("a forged receipt: %d", s)
	}
	if s := post(delivered, notify.TwilioSignature(twilioToken, twilioStatusURL, delivered)); s != http.StatusNoContent {
		t.Fatalf("delivered: %d", s)
	}
	failed := url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	if s := post(failed, notify.TwilioSignature(twilioToken, twilioStatusURL, failed)); s != http.StatusNoContent {
		t.Fatalf("undelivered: %d", s)
	}
	var s1, s2, reason string
	var at bool
	st.Pool.QueryRow(ctx, `SELECT status, delivered_at IS NOT NULL FROM notifications WHERE provider_id = 'SM1'`).Scan(&s1, &at)
	st.Pool.QueryRow(ctx, `SELECT status FROM notifications WHERE provider_id = 'SM2'`).Scan(&s2)
	st.Pool.QueryRow(ctx, `SELECT reason FROM notify_dead_letters WHERE event_id = 'e2'`).Scan(&reason)
	if s1 != "delivered" || !at || s2 != "failed" || reason != "receipt: 30003 undelivered" {
		t.Fatalf("SM1 %s (delivered_at %v), SM2 %s, dead letter %q", s1, at, s2, reason)
	}
}

func notifyStore(t *testing.T, e *env) notifypg.Store { return notifypg.Store{Pool: e.store.PG} }
