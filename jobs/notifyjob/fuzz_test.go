package notifyjob_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/jobs/notifyjob"
)

// Any message reads as an event: named by its payload's event_id when it
// has one, else by its position (so its dead letter says where it was),
// never an error and never a panic.
func FuzzEvent(f *testing.F) {
	for _, s := range []string{`{"event_id":"tx-1","investor_id":"INV1"}`, `{"event_id": 7}`, `{"event_id":""}`, `not json`, ``, `[]`, `{"event_id":"a\u0000b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		m := kafka.Message{Topic: "transactions.completed", Partition: 1, Offset: 42, Value: value}
		e, err := notifyjob.Event(context.Background(), m)
		if err != nil {
			t.Fatalf("Event: %v", err)
		}
		var head struct {
			EventID string `json:"event_id"`
		}
		want := "kafka:transactions.completed/1/42"
		if json.Unmarshal(value, &head) == nil && head.EventID != "" {
			want = head.EventID
		}
		if e.EventID != want || e.Topic != m.Topic || string(e.Payload) != string(value) {
			t.Fatalf("Event(%q) = %+v, want id %q", value, e, want)
		}
	})
}
