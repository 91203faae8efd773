package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"

	"github.com/fundflow/fundflow/sinks/postgres"
)

const outboxUsage = `usage: fundflow outbox [--after SEQ] [--topic TOPIC] [--limit N]

Prints the money path's events (transactions.completed, orders.status) from
the Postgres outbox as JSON lines, oldest first: the bus when no Kafka is
configured. Each line has seq, event_id, topic, key and the event. Keep the
last seq and pass it as --after to read on; dedupe by event_id.`

// cmdOutbox is `fundflow outbox`: it reads the outbox table.
func cmdOutbox(ctx context.Context, g globals, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := newFlags("outbox")
	after := fs.Int64("after", 0, "events after this seq")
	topic := fs.String("topic", "", "only this topic")
	limit := fs.Int("limit", 100, "at most this many events")
	if err := fs.Parse(args); err != nil {
		return usageErr("outbox: %v\n%s", err, outboxUsage)
	}
	_, pool, err := loadAndConnectPG(ctx, g)
	if err != nil {
		return err
	}
	defer pool.Close()
	evs, err := postgres.ReadOutbox(ctx, pool, *after, *topic, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, e := range evs {
		if err := enc.Encode(struct {
			Seq     int64           `json:"seq"`
			EventID string          `json:"event_id"`
			Topic   string          `json:"topic"`
			Key     string          `json:"key"`
			Event   json.RawMessage `json:"event"`
		}{e.Seq, e.EventID, e.Topic, e.Key, e.Payload}); err != nil {
			return err
		}
	}
	return nil
}
