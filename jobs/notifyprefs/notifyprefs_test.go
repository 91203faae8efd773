package notifyprefs

import (
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/notify/pgstore"
)

// Preferences from Kafka are stored, a bad one goes to dead letter naming
// the field and the stream goes on; a restarted consumer resumes after the
// committed offset.
func TestPreferencesFromKafka(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 1, Topic)
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: Topic}
	defer w.Close()
	if err := w.WriteMessages(ctx,
		kafkago.Message{Key: []byte("INV1"), Value: []byte(`{"event_type":"*","channels":["email","sms"],"quiet_start":"22:00","quiet_end":"07:00"}`)},
		kafkago.Message{Key: []byte("INV2"), Value: []byte(`{"investor_id":"INV2","event_type":"orders.status","channels":["pager"]}`)},
		kafkago.Message{Key: []byte("INV3"), Value: []byte(`{"event_type":"orders.status","opted_out":true}`)},
	); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: pool}
	consume := func(want int) (stored, dead int) {
		src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: Topic, GroupID: "notify-prefs"})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		j := Job{Source: src, Store: st}
		for stored+dead < want {
			s, d, err := j.Batch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stored, dead = stored+s, dead+d
		}
		return stored, dead
	}
	if s, d := consume(3); s != 2 || d != 1 {
		t.Fatalf("stored %d, dead %d; want 2 and 1", s, d)
	}
	p, err := st.Preference(ctx, "INV1", "orders.status")
	if err != nil || p == nil || p.QuietStart != 1320 || p.QuietEnd != 420 || len(p.Channels) != 2 {
		t.Fatalf("INV1: %+v %v", p, err)
	}
	if p, _ := st.Preference(ctx, "INV3", "orders.status"); p == nil || !p.OptedOut {
		t.Fatalf("INV3: %+v", p)
	}
	var reason string
	pool.QueryRow(ctx, `SELECT reason FROM notify_dead_letters`).Scan(&reason)
	if reason != `preference: channels[0]: unknown channel "pager" (email, sms, push)` {
		t.Fatalf("dead letter: %q", reason)
	}
	// A restart reads only what came after the commit.
	if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("INV1"), Value: []byte(`{"event_type":"*","channels":["push"],"push_token":"tok"}`)}); err != nil {
		t.Fatal(err)
	}
	if s, d := consume(1); s != 1 || d != 0 {
		t.Fatalf("after restart: stored %d, dead %d", s, d)
	}
	var dl int
	pool.QueryRow(ctx, `SELECT count(*) FROM notify_dead_letters`).Scan(&dl)
	if p, _ := st.Preference(ctx, "INV1", "*"); p == nil || p.PushToken != "tok" || dl != 1 {
		t.Fatalf("INV1 after restart: %+v, dead letters %d", p, dl)
	}
}
