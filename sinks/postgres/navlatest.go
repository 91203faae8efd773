package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// latestRow is one scheme's move of nav_latest: the row navs holds.
type latestRow struct {
	code      string
	date      fund.Date
	nav       decimal.Decimal
	file, sha string
	line      int32
}

// latestRows copies the nav_latest columns of rows (a held move must not
// keep its batch's records alive).
func latestRows(rows []*fund.NAVLine) []latestRow {
	out := make([]latestRow, len(rows))
	for i, n := range rows {
		out[i] = latestRow{n.SchemeCode, n.Date, n.NAV, n.From.File, n.From.SHA256, int32(n.From.Line)}
	}
	return out
}

// queueLatest queues the moves of nav_latest: an UPDATE for the schemes it
// has (moved), an upsert for those it had none of when the batch was
// planned (first). Forward only, in SQL too: the state may be behind
// another writer. Only to a NAV navs holds: a held move is sent in its own
// transaction, after its NAVs' commit, which a crash of the database may
// have taken back (their commit did not wait for the WAL flush); moved
// there, nav_latest would say the NAVs are stored and the replay would
// skip them. The row must be the one navs holds (NAV and lineage), so
// nav_latest never says what navs does not.
func queueLatest(q *pgx.Batch, moved, first []latestRow) {
	// The file and SHA-256 go as one value per file, not one per row: a
	// batch is mostly (or all) of one file.
	for _, g := range byFile(moved) {
		// An UPDATE, not an upsert: no speculative insert per row.
		q.Queue(`UPDATE nav_latest l SET nav_date = u.nav_date, nav = u.nav, source_file = $4::text,
			    source_sha256 = $5::text, source_line = u.source_line, updated_at = now()
			FROM unnest($1::text[], $2::date[], $3::numeric[], $6::int[])
			    AS u(scheme_code, nav_date, nav, source_line)
			WHERE l.scheme_code = u.scheme_code AND u.nav_date > l.nav_date
			    AND EXISTS (SELECT 1 FROM navs n WHERE n.scheme_code = u.scheme_code AND n.nav_date = u.nav_date
			        AND n.nav = u.nav AND n.source_sha256 = $5::text AND n.source_line = u.source_line)`, latestArrays(g)...)
	}
	for _, g := range byFile(first) {
		q.Queue(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
			SELECT u.scheme_code, u.nav_date, u.nav, $4::text, $5::text, u.source_line
			FROM unnest($1::text[], $2::date[], $3::numeric[], $6::int[]) AS u(scheme_code, nav_date, nav, source_line)
			WHERE EXISTS (SELECT 1 FROM navs n WHERE n.scheme_code = u.scheme_code AND n.nav_date = u.nav_date
			        AND n.nav = u.nav AND n.source_sha256 = $5::text AND n.source_line = u.source_line)
			ON CONFLICT (scheme_code) DO UPDATE SET nav_date = excluded.nav_date, nav = excluded.nav,
			    source_file = excluded.source_file, source_sha256 = excluded.source_sha256,
			    source_line = excluded.source_line, updated_at = now()
			WHERE excluded.nav_date > nav_latest.nav_date`, latestArrays(g)...)
	}
}

// latestArrays are nav_latest's columns of rows of one file for unnest:
// scheme, date, NAV as arrays, the file and its SHA-256 once, the lines.
func latestArrays(rows []latestRow) []any {
	codes, dates, navs, lines := make([]string, len(rows)), make([]time.Time, len(rows)), make([]decimal.Decimal, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		codes[i], dates[i], navs[i], lines[i] = r.code, r.date.Time(), r.nav, r.line
	}
	return []any{codes, dates, navs, rows[0].file, rows[0].sha, lines}
}

// byFile splits rows by their file (name and SHA-256), in the order the
// files first appear; one file (the usual batch) is rows itself.
func byFile(rows []latestRow) [][]latestRow {
	if len(rows) == 0 {
		return nil
	}
	type file struct{ name, sha string }
	one := file{rows[0].file, rows[0].sha}
	mixed := false
	for _, r := range rows {
		if r.file != one.name || r.sha != one.sha {
			mixed = true
			break
		}
	}
	if !mixed {
		return [][]latestRow{rows}
	}
	var out [][]latestRow
	at := map[file]int{}
	for _, r := range rows {
		f := file{r.file, r.sha}
		i, ok := at[f]
		if !ok {
			i = len(out)
			at[f] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// heldMove is a held move of nav_latest; first: nav_latest had no row of
// the scheme when a batch moved it (the flush upserts it).
type heldMove struct {
	latestRow
	first bool
}

// hold keeps a committed batch's moves of nav_latest for Flush, newest per
// scheme.
func (s *NAVSink) hold(moved, first []latestRow) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	if s.pending == nil {
		s.pending = make(map[string]heldMove, len(moved)+len(first))
	}
	for i, rows := range [][]latestRow{moved, first} {
		for _, r := range rows {
			s.pending[r.code] = mergeMove(s.pending[r.code], heldMove{r, i == 1})
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
	if dateCmp(a.date, b.date) > 0 {
		out.latestRow = a.latestRow
	}
	out.first = a.first || b.first
	return out
}

// Held is how many schemes' moves of nav_latest wait for Flush
// (pipelines.Holder; 0 without HoldLatest).
func (s *NAVSink) Held() int {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	return len(s.pending)
}

// Flush moves nav_latest to every held move in one transaction. It sends
// what is held when it starts, so that Write may go on meanwhile; after a
// failure it keeps those moves (with any newer one held since). Without
// the flush wait: the checkpoints it lets commit next wait for the WAL
// flush, which covers it.
func (s *NAVSink) Flush(ctx context.Context) error {
	s.pendMu.Lock()
	held := s.pending
	s.pending = nil
	s.pendMu.Unlock()
	if len(held) == 0 {
		return nil
	}
	var moved, first []latestRow
	for _, m := range held {
		if m.first {
			first = append(first, m.latestRow)
		} else {
			moved = append(moved, m.latestRow)
		}
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		q := &pgx.Batch{}
		q.Queue(`SET LOCAL synchronous_commit = off`)
		queueLatest(q, moved, first)
		return tx.SendBatch(ctx, q).Close()
	})
	if err != nil {
		s.pendMu.Lock()
		if s.pending == nil {
			s.pending = held
		} else {
			for code, m := range held {
				s.pending[code] = mergeMove(m, s.pending[code])
			}
		}
		s.pendMu.Unlock()
		return classify(fmt.Errorf("move nav_latest of %d schemes: %w", len(held), err))
	}
	return nil
}

// FlushBatch flushes every held move (pipelines.BatchHolder): each is of
// NAVs navs holds committed, so nav_latest may follow them all, whichever
// batch the engine is sending again.
func (s *NAVSink) FlushBatch(ctx context.Context, _ pipelines.Checkpoint) error { return s.Flush(ctx) }

// DropBatch keeps the batch's moves (pipelines.BatchHolder): its unit
// failed, but navs keeps the NAVs it committed (see navingest.Undo), and
// nav_latest follows navs.
func (s *NAVSink) DropBatch(pipelines.Checkpoint) {}
