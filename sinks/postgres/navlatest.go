package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
)

// latestRow is one scheme's move of nav_latest: to the NAV navs holds
// for (code, date).
type latestRow struct {
	code string
	date fund.Date
}

// latestRows copies what a move needs of rows (a held move must not keep
// its batch's records alive).
func latestRows(rows []*fund.NAVLine) []latestRow {
	out := make([]latestRow, len(rows))
	for i, n := range rows {
		out[i] = latestRow{n.SchemeCode, n.Date}
	}
	return out
}

// queueLatest queues the moves of nav_latest: an UPDATE for the schemes it
// has (moved), an upsert for those it had none of when the batch was
// planned (first). Forward only, in SQL too: the state may be behind
// another writer. Each scheme moves to the row navs holds for the key, its
// NAV and lineage, never to the batch's copy: a key said twice keeps its
// first line in navs, and a batch replayed from other bytes (a file
// published again) keeps the first file's row. A key navs lacks moves
// nothing: a held move is sent in its own transaction, after its NAVs'
// commit, which a crash of the database may have taken back (it did not
// wait for the WAL flush); moved there, nav_latest would say the NAVs are
// stored, and the replay would skip them.
func queueLatest(q *pgx.Batch, moved, first []latestRow) {
	if len(moved)+len(first) > 0 {
		q.Queue(lockLatestShared)
	}
	if len(moved) > 0 {
		keys := latestArrays(moved)
		// An UPDATE, not an upsert: no speculative insert per row.
		q.Queue(`UPDATE nav_latest l SET nav_date = n.nav_date, nav = n.nav, source_file = n.source_file,
			    source_sha256 = n.source_sha256, source_line = n.source_line, updated_at = now()
			FROM unnest($1::text[], $2::date[]) AS u(scheme_code, nav_date)
			JOIN nav_lineage n ON n.scheme_code = u.scheme_code AND n.nav_date = u.nav_date
			WHERE l.scheme_code = u.scheme_code AND n.nav_date > l.nav_date`, keys...)
		// A scheme whose row is gone since the state read it (a retraction
		// of all its NAVs) is inserted again: the UPDATE matched nothing.
		q.Queue(upsertLatest, append(keys, true)...)
	}
	if len(first) > 0 {
		q.Queue(upsertLatest, append(latestArrays(first), false)...)
	}
}

// upsertLatest moves nav_latest forward to the navs rows of the keys
// ($1 codes, $2 dates), inserting a scheme's row where it has none; with
// $3 only for the schemes that have none.
const upsertLatest = `INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
	SELECT n.scheme_code, n.nav_date, n.nav, n.source_file, n.source_sha256, n.source_line
	FROM unnest($1::text[], $2::date[]) AS u(scheme_code, nav_date)
	JOIN nav_lineage n ON n.scheme_code = u.scheme_code AND n.nav_date = u.nav_date
	WHERE NOT $3::bool OR NOT EXISTS (SELECT 1 FROM nav_latest l WHERE l.scheme_code = u.scheme_code)
	` + latestForward

// latestForward ends an INSERT into nav_latest: a scheme it has moves
// only forward.
const latestForward = `ON CONFLICT (scheme_code) DO UPDATE SET nav_date = excluded.nav_date, nav = excluded.nav,
	    source_file = excluded.source_file, source_sha256 = excluded.source_sha256,
	    source_line = excluded.source_line, updated_at = now()
	WHERE excluded.nav_date > nav_latest.nav_date`

// The moves of nav_latest and RetractNAVs exclude each other: a move
// joins navs in its statement's snapshot, and a retraction committed after
// that snapshot (deleting the row the move read, and nav_latest's row or
// rebuilding it) would leave nav_latest at a NAV navs no longer holds: the
// move's upsert inserts it, or updates the rebuilt row to it. Moves share
// the lock, so they never wait for one another; a retraction takes it
// alone, before its snapshot, and the moves' statements come after theirs.
// Both run READ COMMITTED (readCommitted): under REPEATABLE READ a
// transaction's snapshot would be taken before its wait for the lock.
const (
	lockLatestShared    = `SELECT pg_advisory_xact_lock_shared(hashtextextended('navs:latest', 0))`
	lockLatestExclusive = `SELECT pg_advisory_xact_lock(hashtextextended('navs:latest', 0))`
)

var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// latestArrays are the moves' keys as arrays for unnest.
func latestArrays(rows []latestRow) []any {
	codes, dates := make([]string, len(rows)), make([]time.Time, len(rows))
	for i, r := range rows {
		codes[i], dates[i] = r.code, r.date.Time()
	}
	return []any{codes, dates}
}

// heldMove is a held move of nav_latest; first: nav_latest had no row of
// the scheme when a batch moved it (the flush upserts it).
type heldMove struct {
	latestRow
	first bool
}

// heldMoves are held moves of nav_latest, one a scheme. A slice indexed by
// a map: a scheme moved again costs one lookup, and the moves are a few
// allocations, not one a scheme (issue 15).
type heldMoves struct {
	at   map[string]int32
	rows []heldMove
}

func newHeldMoves(n int) *heldMoves {
	return &heldMoves{at: make(map[string]int32, n), rows: make([]heldMove, 0, n)}
}

// add holds m, merged with the scheme's move held already (mergeMove).
func (h *heldMoves) add(m heldMove) {
	if i, ok := h.at[m.code]; ok {
		h.rows[i] = mergeMove(h.rows[i], m)
		return
	}
	h.at[m.code] = int32(len(h.rows))
	h.rows = append(h.rows, m)
}

// hold keeps a committed batch's moves of nav_latest for Flush, newest per
// scheme.
func (s *NAVSink) hold(moved, first []latestRow) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if s.pending == nil {
		s.pending = newHeldMoves(len(moved) + len(first))
	}
	for i, rows := range [][]latestRow{moved, first} {
		for _, r := range rows {
			s.pending.add(heldMove{r, i == 1})
		}
	}
}

// mergeMove is a scheme's move after a and b (either zero: none held):
// the newer row, and an upsert if either needed one.
func mergeMove(a, b heldMove) heldMove {
	switch {
	case a.code == "":
		return b
	case b.code == "":
		return a
	}
	out := b
	if a.date.Compare(b.date) > 0 {
		out.latestRow = a.latestRow
	}
	out.first = a.first || b.first
	return out
}

// Held is how many schemes' moves of nav_latest are held and not cut
// (pipelines.Holder; 0 without HoldLatest).
func (s *NAVSink) Held() int {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if s.pending == nil {
		return 0
	}
	return len(s.pending.rows)
}

// Cut marks the moves held now as what the next Flush sends
// (pipelines.Holder): the engine cuts between two batches, so a flush
// carries the batches it will commit, and Write goes on meanwhile.
func (s *NAVSink) Cut() {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	s.cut, s.pending = mergeHeld(s.cut, s.pending), nil
}

// Flush moves nav_latest to every move cut, in one transaction; after a
// failure those moves are held again (with any newer one held since). Its
// commit waits for the WAL flush (unlike a batch's): no witness covers it,
// and the checkpoints it lets commit next must find it durable. With
// LatestEvery, a Flush before that wait is over keeps the moves for a
// later one (or Finish, or Close) instead.
func (s *NAVSink) Flush(ctx context.Context) error {
	s.pendMu.Lock()
	held := s.cut
	s.cut = nil
	if s.LatestEvery > 0 {
		now := time.Now()
		if s.sentAt.IsZero() {
			s.sentAt = now
		}
		if now.Sub(s.sentAt) < s.LatestEvery {
			s.deferred = mergeHeld(s.deferred, held)
			s.pendMu.Unlock()
			return nil
		}
		held, s.deferred = mergeHeld(s.deferred, held), nil
	}
	s.pendMu.Unlock()
	return s.sendOrHold(ctx, held)
}

// Finish sends every move still held or kept (LatestEvery)
// (pipelines.Finisher): Run calls it once every batch is written.
func (s *NAVSink) Finish(ctx context.Context) error {
	s.pendMu.Lock()
	held := mergeHeld(mergeHeld(s.deferred, s.cut), s.pending)
	s.deferred, s.cut, s.pending = nil, nil, nil
	s.pendMu.Unlock()
	if err := s.sendOrHold(ctx, held); err != nil {
		return fmt.Errorf("%w (the next run moves nav_latest up to navs)", err)
	}
	return nil
}

// sendOrHold sends held (nil or empty: nothing to send) and starts
// LatestEvery's wait again, or holds it again after a failure.
func (s *NAVSink) sendOrHold(ctx context.Context, held *heldMoves) error {
	if held == nil || len(held.rows) == 0 {
		return nil
	}
	if err := s.send(ctx, held); err != nil {
		s.holdAgain(held)
		return err
	}
	s.pendMu.Lock()
	s.sentAt = time.Now()
	s.pendMu.Unlock()
	return nil
}

// Close is Finish for a run that failed before it (Run closes its sinks
// when it ends): the moves held are of NAVs committed, whether their
// checkpoints did or not. Its own context: the run's is cancelled by then.
func (s *NAVSink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeSendWait)
	defer cancel()
	return s.Finish(ctx)
}

// closeSendWait bounds Close's send of the moves left.
const closeSendWait = time.Minute

// mergeHeld is a's moves merged with b's, the later (either nil: none).
func mergeHeld(a, b *heldMoves) *heldMoves {
	if a == nil {
		return b
	}
	if b != nil {
		for _, m := range b.rows {
			a.add(m)
		}
	}
	return a
}

// send moves nav_latest to held's moves in one transaction.
func (s *NAVSink) send(ctx context.Context, held *heldMoves) error {
	var moved, first []latestRow
	for _, m := range held.rows {
		if m.first {
			first = append(first, m.latestRow)
		} else {
			moved = append(moved, m.latestRow)
		}
	}
	// In key order, as the COPY (see plan): the probes of navs and the
	// updates of nav_latest walk their indexes from one end to the other.
	byCode := func(a, b latestRow) int { return strings.Compare(a.code, b.code) }
	slices.SortFunc(moved, byCode)
	slices.SortFunc(first, byCode)
	err := pgx.BeginTxFunc(ctx, s.Pool, readCommitted, func(tx pgx.Tx) error {
		q := &pgx.Batch{}
		queueLatest(q, moved, first)
		return tx.SendBatch(ctx, q).Close()
	})
	if err != nil {
		return classify(fmt.Errorf("move nav_latest of %d schemes: %w", len(held.rows), err))
	}
	return nil
}

// catchUpLatest moves each scheme of the master's nav_latest up to its
// newest row in navs where navs holds a newer one: the moves of a run
// that died after its checkpoints committed and before it sent them
// (LatestEvery). Forward only, to the row navs holds, under the moves'
// shared lock, as a move; a row of navs whose file nav_sources lacks
// fails it, as it fails a move (migration 069). About 16,000 index probes of navs: 60 ms on the
// 60-day backfill's tables.
func catchUpLatest(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginTxFunc(ctx, pool, readCommitted, func(tx pgx.Tx) error {
		q := &pgx.Batch{}
		q.Queue(lockLatestShared)
		// A plan of 16,000 probes is costed high enough for JIT, whose
		// compiling took longer than the probes.
		q.Queue(`SET LOCAL jit = off`)
		q.Queue(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
			SELECT n.scheme_code, n.nav_date, n.nav, n.source_file, n.source_sha256, n.source_line
			FROM schemes c
			LEFT JOIN nav_latest l ON l.scheme_code = c.code
			CROSS JOIN LATERAL (SELECT * FROM nav_lineage n
			    WHERE n.scheme_code = c.code AND n.nav_date > coalesce(l.nav_date, '-infinity')
			    ORDER BY n.nav_date DESC LIMIT 1) n
			ORDER BY c.code -- in code order, as a send's upserts: a deadlock with one is unlikely
			` + latestForward)
		return tx.SendBatch(ctx, q).Close()
	})
	if err != nil {
		return fmt.Errorf("move nav_latest up to navs: %w", err)
	}
	return nil
}

// holdAgain holds a failed flush's moves again, in front of the moves held
// since (each newer than the one it follows, or as new).
func (s *NAVSink) holdAgain(held *heldMoves) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	s.pending = mergeHeld(held, s.pending)
}
