package main

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
)

// Kafka topics: every topic the config's pipelines write or read, and every
// topic with events still waiting in the outbox, must exist on the cluster.
// The case that motivated it: payments.status, new in one version, missing
// on a cluster without auto-create, stopped the relay.
func TestDoctorKafkaTopics(t *testing.T) {
	ctx := testkit.Ctx(t)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "transactions.completed", "orders.status", "orders.placed"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	broker := kc.ListenAddrs()[0]
	pool, url := testkit.PG(t)
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload, published_at) VALUES
		('e1', 'payments.status', 'INV1', '{}', NULL),
		('e2', 'custom.events', 'INV1', '{}', NULL),
		('e3', 'custom.events', 'INV2', '{}', NULL),
		('e4', 'retired.topic', 'INV1', '{}', now())`); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Pipelines: config.Pipelines{Orders: &config.Orders{Topic: "orders.placed"}}}
	pending, err := pendingOutboxTopics(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	uses := append(configTopics(cfg), pending...)

	got := map[string]finding{}
	for _, f := range topicFindings(ctx, broker, uses) {
		got[f.Check] = f
	}
	// Seeded: transactions.completed, orders.status, orders.placed. Needed
	// besides: payments.status (the relay, and 1 event waits) and
	// custom.events (2 events wait). retired.topic's only event is relayed.
	if len(got) != 2 {
		t.Errorf("findings %+v, want exactly the two missing topics", got)
	}
	if f := got["kafka topic payments.status"]; f.Status != statusFail || !strings.Contains(f.Detail, "outbox relay writes") ||
		!strings.Contains(f.Detail, "1 outbox event(s) wait") || !strings.Contains(f.Fix, "--topic payments.status") {
		t.Errorf("payments.status: %+v, want fail naming the relay, the 1 waiting event and the create command", f)
	}
	if f := got["kafka topic custom.events"]; f.Status != statusFail || !strings.Contains(f.Detail, "2 outbox event(s) wait") {
		t.Errorf("custom.events: %+v, want fail naming the 2 waiting events", f)
	}

	// Created: one ok finding counting the 5 distinct topics needed.
	kc2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "transactions.completed", "orders.status", "orders.placed", "payments.status", "custom.events"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc2.Close()
	fs := topicFindings(ctx, kc2.ListenAddrs()[0], uses)
	if len(fs) != 1 || fs[0].Status != statusOK || !strings.Contains(fs[0].Detail, "all 5 topic(s)") {
		t.Errorf("all present: %+v, want one ok counting 5 topics", fs)
	}
	// No Kafka use at all: nothing to check.
	if fs := topicFindings(ctx, broker, nil); len(fs) != 0 {
		t.Errorf("nothing needed: %+v, want no finding", fs)
	}
}
