package notify

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// Any payload on any known topic is planned into messages or a dead letter
// (never a panic, never an error: no database here), and no message shows
// the full folio.
func FuzzPlanEvent(f *testing.F) {
	f.Add(fund.TopicTransactions, []byte(txPayload))
	f.Add(fund.TopicOrderStatus, []byte(`{"event_id":"s-1","order_id":"O9","kind":"purchase","folio":"1234567890","scheme_code":"1","status":"rejected","reason":"payment failed","at":""}`))
	f.Add("sip.instalment.failed", []byte(`{"event_id":"e","plan_id":"p","investor_id":"INV1","folio_no":"1234567890","scheme_code":"1","amount":"5000.00","due_date":"2026-08-05","reason":"x"}`))
	f.Add("investors.changed", []byte(`{"event_id":"e","investor_id":"INV1","fields":["mobile"],"at":"2026-12-05T04:30:00.123Z"}`))
	f.Add(fund.TopicTransactions, []byte(`{"amount":"1e400"}`))
	ts, err := LoadTemplates(Builtin())
	if err != nil {
		f.Fatal(err)
	}
	p := Planner{Templates: ts, RM: fakeRM{}, Prefs: fakePrefs{}}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		ns, dl, err := p.Plan(context.Background(), fund.OutboxEvent{EventID: "e", Topic: topic, Payload: payload})
		if err != nil {
			t.Fatalf("error without a database: %v", err)
		}
		if dl != nil && len(ns) > 0 {
			t.Fatal("both messages and a dead letter")
		}
		for _, n := range ns {
			if strings.Contains(n.Body, "1234567890") || strings.Contains(n.Subject, "1234567890") {
				t.Fatalf("full folio in %q", n.Body)
			}
		}
	})
}

// A status callback is read or refused, never a panic; a read one has a SID.
func FuzzTwilioCallback(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=delivered", "")
	f.Add("MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30003", "bad")
	f.Fuzz(func(t *testing.T, body, sig string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if sig == "" {
			sig = TwilioSignature("tok", "https://x/cb", form)
		}
		r, err := ParseTwilioCallback("tok", "https://x/cb", sig, form)
		if err == nil && r.ProviderID == "" {
			t.Fatal("a receipt without a SID")
		}
	})
}

// A preference message is a valid preference or an error naming a field.
func FuzzPreferenceMessage(f *testing.F) {
	f.Add([]byte(`{"investor_id":"I","event_type":"*","channels":["email"],"quiet_start":"22:00","quiet_end":"07:00"}`))
	f.Add([]byte(`{"investor_id":"I","event_type":"orders.status","quiet_start":"7:5"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m PreferenceMessage
		if json.Unmarshal(b, &m) != nil {
			return
		}
		p, err := m.Preference()
		if err == nil {
			if p.Validate() != nil {
				t.Fatalf("accepted an invalid preference %+v", p)
			}
			return
		}
		if !strings.Contains(err.Error(), ":") {
			t.Fatalf("error names no field: %v", err)
		}
	})
}
