package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Outbox relays: which marker column a relay owns and which rows it takes.
const (
	RelayKafka = "kafka" // every topic; marks published_at
	RelayFacts = "facts" // transactions.completed and the systematic plans' events (sip.*, stp.*, swp.*); marks facts_at
	// RelayNotify is the notifications planner's (issue 21): every topic (it
	// skips the ones investors do not hear about); marks notified_at.
	RelayNotify = "notify"
)

// OutboxSource reads outbox rows a relay has not delivered yet, oldest
// first, as a pipelines.Source: the relay's sinks write them (Kafka,
// ClickHouse), then Commit marks them delivered. Rows are picked by their
// marker, not by an id cursor, so a row whose transaction commits late (with
// a lower id than rows already relayed) is still relayed. One folio's rows
// commit in id order (they are written under the folio's lock), so each
// key's events go out in order.
//
// Batch runs (Follow false) end with ErrEndOfInput when nothing is left; a
// following source polls every Poll (default 200 ms) until ctx ends.
type OutboxSource struct {
	Pool   *pgxpool.Pool
	Relay  string // RelayKafka or RelayFacts
	Batch  int    // rows per batch; default 500
	Follow bool
	Poll   time.Duration

	after    int64 // read cursor: rows after it are read next
	mu       sync.Mutex
	inflight map[int64]bool // read, not committed yet: never read twice
}

// OutboxOrigin locates an outbox event (pipelines.Pipeline.Locate): its
// event id and payload.
func OutboxOrigin(e fund.OutboxEvent) (pipelines.Position, []byte) {
	return pipelines.Position{Event: e.EventID}, e.Payload
}

// Close does nothing: the pool is shared, not the source's.
func (s *OutboxSource) Close() error { return nil }

// Read returns the next rows to deliver.
func (s *OutboxSource) Read(ctx context.Context) (pipelines.Batch[fund.OutboxEvent], error) {
	n := s.Batch
	if n <= 0 {
		n = 500
	}
	q := `SELECT id, event_id, topic, key, payload::text, created_at FROM outbox WHERE published_at IS NULL AND id > $1 ORDER BY id LIMIT $2`
	switch s.Relay {
	case RelayKafka:
	case RelayFacts:
		q = sqlFactsPending
	case RelayNotify:
		q = `SELECT id, event_id, topic, key, payload::text, created_at FROM outbox WHERE notified_at IS NULL AND id > $1 ORDER BY id LIMIT $2`
	default:
		return pipelines.Batch[fund.OutboxEvent]{}, fmt.Errorf("outbox: unknown relay %q", s.Relay)
	}
	for {
		rows, err := s.Pool.Query(ctx, q, s.after, n)
		if err != nil {
			return pipelines.Batch[fund.OutboxEvent]{}, classify(err)
		}
		var b pipelines.Batch[fund.OutboxEvent]
		ids := []int64{}
		var seen int64
		for rows.Next() {
			var e fund.OutboxEvent
			var payload string
			if err := rows.Scan(&e.Seq, &e.EventID, &e.Topic, &e.Key, &payload, &e.CreatedAt); err != nil {
				rows.Close()
				return b, err
			}
			e.Payload = []byte(payload)
			b.Items = append(b.Items, e)
			ids = append(ids, e.Seq)
			seen = e.Seq
		}
		rows.Close()
		s.mu.Lock()
		if s.inflight == nil {
			s.inflight = map[int64]bool{}
		}
		keep := b.Items[:0]
		ids = ids[:0]
		for _, e := range b.Items {
			if !s.inflight[e.Seq] {
				s.inflight[e.Seq] = true
				keep = append(keep, e)
				ids = append(ids, e.Seq)
			}
		}
		b.Items = keep
		s.mu.Unlock()
		if err := rows.Err(); err != nil {
			return b, classify(err)
		}
		if len(b.Items) > 0 {
			pos, _ := json.Marshal(ids)
			b.Through = pipelines.Checkpoint{Stream: "outbox/" + s.Relay, Pos: pos}
			s.after = ids[len(ids)-1]
			return b, nil
		}
		if seen > 0 {
			s.after = seen // a page of rows still in flight: look further
			continue
		}
		// Nothing after the cursor: start again from the oldest undelivered
		// row next time (one whose transaction committed late).
		s.after = 0
		if !s.Follow {
			return b, pipelines.ErrEndOfInput
		}
		poll := s.Poll
		if poll <= 0 {
			poll = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// sqlFactsPending reads the facts relay's rows: each half spells its topics
// as literals, exactly as the predicate of its partial index
// (outbox_facts_pending in 003_orders_ledger.sql, outbox_plan_facts_pending
// in *_outbox_plan_facts.sql), so the planner can use both and merge them
// by id.
const sqlFactsPending = `
(SELECT id, event_id, topic, key, payload::text, created_at FROM outbox
 WHERE facts_at IS NULL AND topic = '` + fund.TopicTransactions + `' AND id > $1 ORDER BY id LIMIT $2)
UNION ALL
(SELECT id, event_id, topic, key, payload::text, created_at FROM outbox
 WHERE facts_at IS NULL AND (topic LIKE 'sip.%' OR topic LIKE 'stp.%' OR topic LIKE 'swp.%') AND id > $1 ORDER BY id LIMIT $2)
ORDER BY id LIMIT $2`

// PlanBanks looks up the bank of each SIP plan's mandate for the plan
// facts (clickhouse.PlanBanks).
type PlanBanks struct{ Pool *pgxpool.Pool }

// BankNames returns plan id → the bank_name of its mandate, for the plans
// that exist (an empty name for a plan without a mandate).
func (b PlanBanks) BankNames(ctx context.Context, planIDs []string) (map[string]string, error) {
	rows, err := b.Pool.Query(ctx, `SELECT p.id, coalesce(m.bank_name, '') FROM plans p LEFT JOIN mandates m ON m.id = p.mandate_id
		WHERE p.id = ANY($1)`, planIDs)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := make(map[string]string, len(planIDs))
	for rows.Next() {
		var id, bank string
		if err := rows.Scan(&id, &bank); err != nil {
			return nil, err
		}
		out[id] = bank
	}
	return out, classify(rows.Err())
}

// Commit marks the batch's rows delivered by this relay.
func (s *OutboxSource) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	var ids []int64
	if err := json.Unmarshal(cp.Pos, &ids); err != nil {
		return fmt.Errorf("outbox checkpoint: %w", err)
	}
	col := "published_at"
	switch s.Relay {
	case RelayFacts:
		col = "facts_at"
	case RelayNotify:
		col = "notified_at"
	}
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET `+col+` = now() WHERE id = ANY($1) AND `+col+` IS NULL`, ids)
	if err != nil {
		return classify(err)
	}
	s.mu.Lock()
	for _, id := range ids {
		delete(s.inflight, id)
	}
	s.mu.Unlock()
	return nil
}

// ReadOutbox returns up to limit outbox events with id > after, of topic (""
// for all), in id order: how the platform reads the bus when there is no
// Kafka (`fundflow outbox`). A reader keeps the last Seq it processed and
// dedupes by EventID (a row can appear after a higher id was read if its
// transaction committed later: re-read a small window behind the cursor).
func ReadOutbox(ctx context.Context, pool *pgxpool.Pool, after int64, topic string, limit int) ([]fund.OutboxEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := pool.Query(ctx, `SELECT id, event_id, topic, key, payload::text, created_at FROM outbox
		WHERE id > $1 AND ($2 = '' OR topic = $2) ORDER BY id LIMIT $3`, after, topic, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []fund.OutboxEvent
	for rows.Next() {
		var e fund.OutboxEvent
		var payload string
		if err := rows.Scan(&e.Seq, &e.EventID, &e.Topic, &e.Key, &payload, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Payload = []byte(payload)
		out = append(out, e)
	}
	return out, classify(rows.Err())
}
