package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The push wire format as FCM HTTP v1 reads it, and its answers: 200 with
// the message name; 503 retried; 429 with Retry-After; 404 UNREGISTERED
// permanent.
func TestFCMWireFormat(t *testing.T) {
	var got fcmMessage
	var auth, path string
	answers := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { w.Write([]byte(`{"name":"projects/p1/messages/0:123"}`)) },
		func(w http.ResponseWriter) {
			w.WriteHeader(503)
			w.Write([]byte(`{"error":{"code":503,"message":"backend","status":"UNAVAILABLE"}}`))
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
			w.Write([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}`))
		},
		func(w http.ResponseWriter) {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`))
		},
	}
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		json.NewDecoder(r.Body).Decode(&got)
		answers[i](w)
		i++
	}))
	defer srv.Close()
	f := &FCM{BaseURL: srv.URL, Project: "p1", Token: func(context.Context) (string, error) { return "ya29.tok", nil }, Client: srv.Client()}
	n := Notification{EventID: "e1", Channel: Push, EventType: "orders.status", Recipient: "device-token", Subject: "Order allotted", Body: "purchase in X is allotted"}
	name, err := f.Send(context.Background(), n)
	if err != nil || name != "projects/p1/messages/0:123" {
		t.Fatalf("send: %q %v", name, err)
	}
	if auth != "Bearer ya29.tok" || path != "/v1/projects/p1/messages:send" || got.Message.Token != "device-token" ||
		got.Message.Notification["title"] != "Order allotted" || got.Message.Android.CollapseKey != MessageID("e1", Push) || got.Message.Data["event_id"] != "e1" {
		t.Fatalf("request: %s %s %+v", auth, path, got)
	}
	if _, err := f.Send(context.Background(), n); err == nil || IsPermanent(err) {
		t.Fatalf("503 is retried: %v", err)
	}
	var ra *RetryAfterError
	if _, err := f.Send(context.Background(), n); !errors.As(err, &ra) || ra.After.Seconds() != 30 {
		t.Fatalf("429: %v", err)
	}
	if _, err := f.Send(context.Background(), n); !IsPermanent(err) {
		t.Fatalf("404 UNREGISTERED is permanent: %v", err)
	}
}
