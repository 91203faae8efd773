package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
)

// Quarantined is one quarantined record as operators see it.
type Quarantined struct {
	ID               int64
	Pipeline         string
	Pos              fund.Origin
	Raw              []byte
	Context          []byte // JSON, or nil
	Reason, Detail   string
	Status           string // open, replayed, accepted, dismissed
	CreatedAt        time.Time
	ResolvedAt       *time.Time
	ResolvedBy       string
	LastReplayAt     *time.Time
	LastReplayDetail string
}

// QuarantineFilter selects quarantined records; zero fields select all.
type QuarantineFilter struct {
	Pipelines []string
	Reason    string
	Status    string
	IDs       []int64
	Limit     int // 0: no limit
}

// ErrNotFound says a record asked for by id does not exist.
var ErrNotFound = errors.New("not found")

const quarantineColumns = `id, pipeline, source_file, source_sha256, source_line, topic, partition, "offset", event_id,
	raw, context, reason, detail, status, created_at, resolved_at, coalesce(resolved_by, ''), last_replay_at,
	coalesce(last_replay_detail, '')`

// Quarantine lists quarantined records, newest first (oldest first with
// oldestFirst: the order a replay publishes them in).
func (s Store) Quarantine(ctx context.Context, f QuarantineFilter, oldestFirst bool) ([]Quarantined, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.Pipelines) > 0 {
		where = append(where, "pipeline = ANY("+arg(f.Pipelines)+")")
	}
	if f.Reason != "" {
		where = append(where, "reason = "+arg(f.Reason))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if len(f.IDs) > 0 {
		where = append(where, "id = ANY("+arg(f.IDs)+")")
	}
	q := "SELECT " + quarantineColumns + " FROM quarantine"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if oldestFirst {
		q += " ORDER BY id"
	} else {
		q += " ORDER BY id DESC"
	}
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, scanQuarantined)
	return out, classify(err)
}

// QuarantinedByID returns one quarantined record, or ErrNotFound.
func (s Store) QuarantinedByID(ctx context.Context, id int64) (Quarantined, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+quarantineColumns+" FROM quarantine WHERE id = $1", id)
	if err != nil {
		return Quarantined{}, classify(err)
	}
	q, err := pgx.CollectExactlyOneRow(rows, scanQuarantined)
	if errors.Is(err, pgx.ErrNoRows) {
		return Quarantined{}, fmt.Errorf("quarantined record %d: %w", id, ErrNotFound)
	}
	return q, classify(err)
}

func scanQuarantined(row pgx.CollectableRow) (Quarantined, error) {
	var q Quarantined
	var part int
	err := row.Scan(&q.ID, &q.Pipeline, &q.Pos.File, &q.Pos.SHA256, &q.Pos.Line, &q.Pos.Topic, &part, &q.Pos.Offset, &q.Pos.Event,
		&q.Raw, &q.Context, &q.Reason, &q.Detail, &q.Status, &q.CreatedAt, &q.ResolvedAt, &q.ResolvedBy, &q.LastReplayAt, &q.LastReplayDetail)
	q.Pos.Part = part
	return q, err
}

// ResolveQuarantined marks open records as replayed or accepted, by whom,
// now. Records no longer open are left alone (a replay that ran twice, or
// raced another, resolves each record once); it returns how many changed.
func (s Store) ResolveQuarantined(ctx context.Context, ids []int64, status, by string) (int64, error) {
	if status != "replayed" && status != "accepted" && status != "dismissed" {
		return 0, fmt.Errorf("quarantine: cannot resolve as %q", status)
	}
	tag, err := s.Pool.Exec(ctx, `UPDATE quarantine SET status = $2, resolved_at = now(), resolved_by = $3
		WHERE id = ANY($1) AND status = 'open'`, ids, status, by)
	return tag.RowsAffected(), classify(err)
}

// ReplayFailed records why a replay left a record in quarantine.
func (s Store) ReplayFailed(ctx context.Context, id int64, detail string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE quarantine SET last_replay_at = now(), last_replay_detail = $2 WHERE id = $1`, id, detail)
	return classify(err)
}
