package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// EventSource reads the outbox's transactions.completed rows the commission
// engine has not consumed (commissioned_at NULL), oldest first, as a
// pipelines.Source: the bus without Kafka. Commit marks the batch's rows
// after the sink wrote them. A mark rather than an id cursor, so a row whose
// transaction commits late is still read; a row redelivered after a crash
// between the write and the mark writes nothing (unique keys).
//
// A batch run (Follow false) ends with ErrEndOfInput when nothing is left;
// a following source polls every Poll (default 500 ms).
type EventSource struct {
	Store  Store
	Batch  int // default 500
	Follow bool
	Poll   time.Duration

	after    int64 // read cursor; back to 0 when nothing is after it
	mu       sync.Mutex
	inflight map[int64]bool
}

// Close does nothing: the pool is shared.
func (s *EventSource) Close() error { return nil }

// Read implements pipelines.Source.
func (s *EventSource) Read(ctx context.Context) (pipelines.Batch[fund.OutboxEvent], error) {
	n := s.Batch
	if n <= 0 {
		n = 500
	}
	for {
		rows, err := s.Store.Pool.Query(ctx, `SELECT id, event_id, topic, key, payload::text, created_at FROM outbox
			WHERE commissioned_at IS NULL AND topic = '`+fund.TopicTransactions+`' AND id > $1 ORDER BY id LIMIT $2`, s.after, n)
		if err != nil {
			return pipelines.Batch[fund.OutboxEvent]{}, postgres.Classify(err)
		}
		var b pipelines.Batch[fund.OutboxEvent]
		var ids []int64
		var seen int64
		s.mu.Lock()
		if s.inflight == nil {
			s.inflight = map[int64]bool{}
		}
		for rows.Next() {
			var e fund.OutboxEvent
			var payload string
			if err := rows.Scan(&e.Seq, &e.EventID, &e.Topic, &e.Key, &payload, &e.CreatedAt); err != nil {
				s.mu.Unlock()
				rows.Close()
				return b, err
			}
			seen = e.Seq
			if s.inflight[e.Seq] {
				continue
			}
			s.inflight[e.Seq] = true
			e.Payload = []byte(payload)
			b.Items = append(b.Items, e)
			ids = append(ids, e.Seq)
		}
		s.mu.Unlock()
		rows.Close()
		if err := rows.Err(); err != nil {
			return b, postgres.Classify(err)
		}
		if len(b.Items) > 0 {
			pos, _ := json.Marshal(ids)
			b.Through = pipelines.Checkpoint{Stream: "outbox/commissions", Pos: pos}
			s.after = ids[len(ids)-1]
			return b, nil
		}
		if seen > 0 {
			s.after = seen // a page still in flight: look further
			continue
		}
		s.after = 0
		if !s.Follow {
			return b, pipelines.ErrEndOfInput
		}
		poll := s.Poll
		if poll <= 0 {
			poll = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Commit implements pipelines.Source: marks the rows consumed.
func (s *EventSource) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	var ids []int64
	if err := json.Unmarshal(cp.Pos, &ids); err != nil {
		return fmt.Errorf("commission outbox checkpoint: %w", err)
	}
	if _, err := s.Store.Pool.Exec(ctx, `UPDATE outbox SET commissioned_at = now() WHERE id = ANY($1) AND commissioned_at IS NULL`, ids); err != nil {
		return postgres.Classify(err)
	}
	s.mu.Lock()
	for _, id := range ids {
		delete(s.inflight, id)
	}
	s.mu.Unlock()
	return nil
}
