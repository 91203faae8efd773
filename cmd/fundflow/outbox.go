package main

import (
	"encoding/json"

	"github.com/fundflow/fundflow/sinks/postgres"
)

type outboxCmd struct {
	After int64  `help:"Events after this seq." placeholder:"SEQ"`
	Topic string `help:"Only this topic." placeholder:"TOPIC"`
	Limit int    `default:"100" help:"At most this many events (>= 1)." placeholder:"N"`
}

func (outboxCmd) Help() string {
	return `The events from the Postgres outbox as JSON lines, oldest first: the bus when no Kafka is configured. Each line has seq, event_id, topic, key and the event. Keep the last seq and pass it as --after to read on; dedupe by event_id.`
}

func (c outboxCmd) Run(a *app) error {
	if c.Limit < 1 {
		return usageErr("outbox: --limit must be at least 1")
	}
	_, pool, err := a.connectPG()
	if err != nil {
		return err
	}
	defer pool.Close()
	evs, err := postgres.ReadOutbox(a.ctx, pool, c.After, c.Topic, c.Limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(a.stdout)
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
