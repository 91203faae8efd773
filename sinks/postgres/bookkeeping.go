package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/pipelines"
)

// Store is the engine's bookkeeping in Postgres.
type Store struct {
	Pool *pgxpool.Pool
	// RunRecheck is how long a running run's lock holder waits for Finish's
	// notification before it looks at the row itself; default 30 s.
	RunRecheck time.Duration
}

// LoadCheckpoint returns a stream's committed position, or nil if none.
func (s Store) LoadCheckpoint(ctx context.Context, stream string) ([]byte, error) {
	var pos []byte
	err := s.Pool.QueryRow(ctx, `SELECT pos FROM checkpoints WHERE stream = $1`, stream).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return pos, classify(err)
}

// ErrWitnessLost refuses a checkpoint whose batch a database crash took
// back: the NAV sink committed the batch without waiting for the WAL flush,
// the server restarted before the flush, and the batch's witness went with
// its rows. The run fails without moving the checkpoint; the next run loads
// the batch again.
var ErrWitnessLost = errors.New("postgres: the batch of this checkpoint was lost in a database restart")

// saveCheckpoint upserts a stream's position, unless a sink left a witness
// for the stream (see NAVSink) that neither is of this position nor covers
// it: then the batch is not in the database (ErrWitnessLost). The
// checkpoint's own commit waits for the WAL flush, which makes every
// earlier commit durable.
func saveCheckpoint(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, cp pipelines.Checkpoint) error {
	tag, err := db.Exec(ctx, `INSERT INTO checkpoints (stream, pos)
		SELECT $1, $2 WHERE NOT EXISTS (SELECT FROM checkpoints WHERE stream = $3 AND pos <> $2)
		ON CONFLICT (stream) DO UPDATE SET pos = excluded.pos, updated_at = now()`, cp.Stream, cp.Pos, witnessStream(cp.Stream))
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	// The sinks may be writing the next batch while this checkpoint
	// commits: a witness of a later batch of the same file covers this one.
	var w []byte
	if err := db.QueryRow(ctx, `SELECT pos FROM checkpoints WHERE stream = $1`, witnessStream(cp.Stream)).Scan(&w); err != nil {
		return err
	}
	if !witnessCovers(w, cp.Pos) {
		return fmt.Errorf("checkpoint %s: %w", cp.Stream, ErrWitnessLost)
	}
	_, err = db.Exec(ctx, `INSERT INTO checkpoints (stream, pos) VALUES ($1, $2)
		ON CONFLICT (stream) DO UPDATE SET pos = excluded.pos, updated_at = now()`, cp.Stream, cp.Pos)
	return err
}

// witnessCovers reports whether a witness shows that the batch of position
// pos is in the database: it is of a later batch of the same file (a feed
// position: the file's fingerprint and its last line). The NAV sink chains
// a stream's witnesses (each moves on only from the one before, or breaks),
// so a later witness that survived means every batch before it did. A
// broken (empty) witness or a position of another shape covers nothing.
func witnessCovers(witness, pos []byte) bool {
	type at struct {
		SHA  string `json:"sha256"`
		Line *int   `json:"line"`
	}
	var w, p at
	if len(witness) == 0 || json.Unmarshal(witness, &w) != nil || json.Unmarshal(pos, &p) != nil {
		return false
	}
	return w.SHA != "" && w.SHA == p.SHA && w.Line != nil && p.Line != nil && *w.Line >= *p.Line
}

// SaveCheckpoint commits a stream's position.
func (s Store) SaveCheckpoint(ctx context.Context, cp pipelines.Checkpoint) error {
	return classify(saveCheckpoint(ctx, s.Pool, cp))
}

// FileStatus returns the state of a file by its fingerprint ("" if never seen).
func (s Store) FileStatus(ctx context.Context, pipeline, sha string) (string, error) {
	var st string
	err := s.Pool.QueryRow(ctx, `SELECT status FROM ingested_files WHERE pipeline = $1 AND sha256 = $2`, pipeline, sha).Scan(&st)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return st, classify(err)
}

// FileSeen registers a file as loading (first sight wins the name).
func (s Store) FileSeen(ctx context.Context, pipeline, sha, name string, size int64) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO ingested_files (pipeline, sha256, name, size) VALUES ($1, $2, $3, $4)
		ON CONFLICT (pipeline, sha256) DO NOTHING`, pipeline, sha, name, size)
	return classify(err)
}

// FileDone marks a file completely loaded, together with its final
// checkpoint, in one transaction.
func (s Store) FileDone(ctx context.Context, pipeline, sha string, cp pipelines.Checkpoint) error {
	return classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := saveCheckpoint(ctx, tx, cp); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE ingested_files SET status = 'done', done_at = now() WHERE pipeline = $1 AND sha256 = $2`, pipeline, sha)
		return err
	}))
}

// FileRejected marks a whole file as not loadable (not a NAV file, unknown
// header) and raises an alert, in one transaction.
func (s Store) FileRejected(ctx context.Context, pipeline, sha, name string, size int64, reason string) error {
	return classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ingested_files (pipeline, sha256, name, size, status, error) VALUES ($1, $2, $3, $4, 'rejected', $5)
			ON CONFLICT (pipeline, sha256) DO UPDATE SET status = 'rejected', error = excluded.error`, pipeline, sha, name, size, reason); err != nil {
			return err
		}
		return raiseAlert(ctx, tx, "file_rejected", pipeline+"/"+name, reason)
	}))
}

// FileFailed marks a file that failed part-way for good and raises an
// alert, in one transaction; a later run skips it (the rows of its batches
// that were written before stay). size < 0 keeps the size recorded when the
// file was first seen.
func (s Store) FileFailed(ctx context.Context, pipeline, sha, name string, size int64, reason string) error {
	reason = storableText(reason)
	return classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ingested_files (pipeline, sha256, name, size, status, error) VALUES ($1, $2, $3, greatest($4, 0), 'failed', $5)
			ON CONFLICT (pipeline, sha256) DO UPDATE SET status = 'failed', error = excluded.error`, pipeline, sha, name, size, reason); err != nil {
			return err
		}
		return raiseAlert(ctx, tx, "file_failed", pipeline+"/"+name, reason)
	}))
}

// storableText makes an error message storable in a text column: UTF-8,
// no NUL byte (an error may quote the poison bytes that caused it).
func storableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// RaiseAlert opens an alert unless the same one is open already.
func (s Store) RaiseAlert(ctx context.Context, kind, subject, detail string) error {
	return classify(raiseAlert(ctx, s.Pool, kind, subject, detail))
}

// RaiseAlertTx is RaiseAlert in the caller's transaction (the money path
// raises its alerts with the change that needs them).
func RaiseAlertTx(ctx context.Context, tx pgx.Tx, kind, subject, detail string) error {
	return raiseAlert(ctx, tx, kind, subject, detail)
}

// execer is what both a pool and a transaction can do.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func raiseAlert(ctx context.Context, db execer, kind, subject, detail string) error {
	_, err := db.Exec(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ($1, $2, $3)
		ON CONFLICT (kind, subject) WHERE resolved_at IS NULL DO UPDATE SET detail = excluded.detail`, kind, subject, detail)
	return err
}

// Put stores rejected records; a record already quarantined at the same
// position is left as it is, so replaying a batch quarantines it once. One
// statement for them all: a statement a record cost the 60-day NAV backfill
// 0.6 s of Postgres for its 7,144 rejects (issue 15).
func (s Store) Put(ctx context.Context, rs []pipelines.Rejected) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	pipes, keys, files, shas, topics, events, reasons, details := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	lines, parts, offsets := make([]int64, n), make([]int64, n), make([]int64, n)
	raws := make([][]byte, n)
	contexts := make([]*string, n) // NULL unless the record needs one to be replayed
	for i, r := range rs {
		pipes[i], keys[i], files[i], shas[i] = r.Pipeline, PosKey(r.Pos), r.Pos.File, r.Pos.SHA256
		lines[i], topics[i], parts[i], offsets[i], events[i] = int64(r.Pos.Line), r.Pos.Topic, int64(r.Pos.Part), r.Pos.Offset, r.Pos.Event
		raws[i], reasons[i], details[i] = r.Raw, r.Reason, r.Detail
		if raws[i] == nil {
			raws[i] = []byte{} // raw is NOT NULL; an empty record is still a record
		}
		if len(r.Context) > 0 {
			c := string(r.Context)
			contexts[i] = &c
		}
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO quarantine (pipeline, pos_key, source_file, source_sha256, source_line, topic, partition, "offset", event_id, raw, context, reason, detail)
		SELECT p, k, f, h, l, t, pt, o, e, r, c::jsonb, rs, d
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::text[],
		            $10::bytea[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY AS x(p, k, f, h, l, t, pt, o, e, r, c, rs, d, ord)
		ORDER BY ord
		ON CONFLICT (pipeline, pos_key) DO NOTHING`,
		pipes, keys, files, shas, lines, topics, parts, offsets, events, raws, contexts, reasons, details)
	return classify(err)
}

// PosKey is the unique key of a source position.
func PosKey(p pipelines.Position) string {
	switch {
	case p.Event != "":
		return "event:" + p.Event
	case p.Topic != "":
		return fmt.Sprintf("kafka:%s/%d/%d", p.Topic, p.Part, p.Offset)
	default:
		return "file:" + p.SHA256 + ":" + strconv.Itoa(p.Line)
	}
}
