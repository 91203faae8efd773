package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// NAVSink writes validated NAVs: every NAV to navs (with its file and line),
// the newest per scheme to nav_latest (forward only), and the scheme master
// with a new version whenever a scheme's attributes change (each change also
// an audit_log row). One batch is one transaction (but for the second half
// of many new NAVs, copied alongside in one of its own: see sideCopy);
// replaying a batch changes nothing.
//
// The sink keeps the scheme master and nav_latest in memory (loaded with a
// run's first batch, see navState) and sends Postgres only what changes
// something: a row identical to the stored one is skipped, rows dated after
// their scheme's latest NAV are copied straight into navs, only older rows
// go through ON CONFLICT, only schemes that move forward touch nav_latest
// and only schemes that changed touch the master. A concurrent writer (a
// second process, a retraction) is caught by the guards in SQL: the batch
// is rolled back, the state read again and the batch written anew.
//
// A batch that carries a checkpoint position commits without waiting for
// the WAL flush, with a witness of the checkpoint in the same transaction: the
// checkpoint commit that follows (SaveCheckpoint, FileDone) waits for the
// flush, which covers the batch too, and refuses to move past a batch whose
// witness a crash of the database took with it (see Store.SaveCheckpoint).
//
// With HoldLatest, nav_latest follows navs at the engine's flush rather
// than in each batch's transaction, to the rows navs holds. A crash
// between the two leaves navs ahead of nav_latest for batches whose
// checkpoints did not commit: the next run reads them again (the same
// bytes, or a file published again), finds their keys in navs (a COPY
// refused on the key sends the batch through ON CONFLICT instead) and
// moves nav_latest with its own moves. With LatestEvery a batch's checkpoint
// may commit before its moves are sent: a run that dies between the two
// leaves nav_latest behind navs, and the next Load moves it up
// (catchUpLatest). Readers of nav_latest see it behind navs by up to two
// flushes' batches (one in flight, one gathering) while a load runs; with
// LatestEvery, by up to that long and a flush.
//
// Use one NAVSink per run (a pointer: it holds the state).
type NAVSink struct {
	Pool *pgxpool.Pool
	// HoldLatest makes the sink a pipelines.Holder for nav_latest:
	// Write stores the NAVs and keeps each scheme's move of nav_latest,
	// Flush sends the moves cut for it (every batch's since the last cut)
	// as one update. In a backfill every scheme moves with every file,
	// and one update per file cost Postgres as much CPU as the COPY of
	// the NAVs (issue 15). Set it only in a pipeline with HoldRows: the engine
	// commits a batch's checkpoint only after Flush, so a crash replays
	// the batches whose moves were not sent (see the type's comment; but
	// for LatestEvery's).
	HoldLatest bool
	// LatestEvery, with HoldLatest, lets the moves wait past the engine's
	// flushes: a Flush sends them only once LatestEvery has passed since
	// the first Flush or the last send, and Finish (at the run's end) or
	// Close sends what is left. Each send moves every scheme a NAVAll file
	// names, however few files it covers: on the 60-day backfill, its 7
	// sends took about 1.2 s of Postgres statement time (issue 15). 0:
	// every Flush sends.
	LatestEvery time.Duration
	state       navState
	sources     navSources
	// pending are the held moves of nav_latest, one a scheme: its newest
	// row that navs holds (committed) and nav_latest does not yet.
	pendMu  sync.Mutex
	pending *heldMoves
	cut     *heldMoves // the moves the next Flush sends (Cut)
	// deferred are moves a Flush let wait (LatestEvery): the engine let
	// their batches commit, so Held does not count them. sentAt starts
	// LatestEvery's wait: the first Flush, then each send.
	deferred *heldMoves
	sentAt   time.Time
	// witnessed is the witness each stream's last committed batch left:
	// the next batch of the stream moves it on only from there (see write).
	witnessMu sync.Mutex
	witnessed map[string][]byte
	// Skipped counts the rows Write found stored already.
	Skipped atomic.Int64
	// split and prepared count the batches whose second half was copied
	// on another connection and whose audit step was made ready on one;
	// conflicted those written again through ON CONFLICT, having found
	// keys taken for new stored; unsplit those written again in one
	// transaction after a split try waited too long for a lock.
	split, prepared, conflicted, unsplit atomic.Int64
}

// Name labels the sink's metrics.
func (*NAVSink) Name() string { return "postgres" }

// Load moves nav_latest up to navs where a run's moves were never sent
// (catchUpLatest), then reads the scheme master and nav_latest (Write reads
// them when they are not loaded): Holds knows nothing until they are.
func (s *NAVSink) Load(ctx context.Context) error {
	// Retried: a deadlock with another run's send is transient.
	if err := pipelines.DefaultRetry.Do(ctx, "catch up nav_latest", func(ctx context.Context) error {
		return classify(catchUpLatest(ctx, s.Pool))
	}); err != nil {
		return err
	}
	return classify(s.state.ensure(ctx, s.Pool))
}

// Latest is nav_latest as Load read it (empty before Load): what a run's
// validator measures NAV jumps from, so the table is read once per run.
func (s *NAVSink) Latest() map[string]fund.DatedNAV { return s.state.latest() }

// Holds reports whether a row is stored already exactly as it is (see
// navState.holds): writing it would change nothing in Postgres.
func (s *NAVSink) Holds(rec fund.NAVRecord) bool { return s.state.holds(rec) }

// errStale is a guard in SQL firing on a state another writer changed.
var errStale = errors.New("postgres: NAV state changed by another writer")

// Write stores a batch in one transaction (see sideCopy for the second half
// of many new NAVs), retrying a stale one.
func (s *NAVSink) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	var how writeHow
	for attempt := 1; ; attempt++ {
		err := s.write(ctx, b, how)
		if err == nil {
			return nil
		}
		// Whatever failed, the state may be what the rolled-back batch
		// left or what another writer changed: read it again.
		s.state.drop()
		// Keys the state took for new are in navs: another writer's, or
		// this sink's own from batches replayed after a crash (HoldLatest:
		// nav_latest behind navs). The batch goes through ON CONFLICT.
		if !how.viaConflict && errors.Is(err, errKeyStored) {
			s.conflicted.Add(1)
		}
		how.viaConflict = how.viaConflict || errors.Is(err, errKeyStored)
		// A split batch that waited too long for a lock may have been in a
		// cycle through its own wait for its second half (another writer of
		// the same keys), which Postgres cannot see: one transaction now.
		if !how.unsplit && errors.Is(err, errSideLocked) {
			s.unsplit.Add(1)
		}
		how.unsplit = how.unsplit || errors.Is(err, errSideLocked)
		if errors.Is(err, errStale) && attempt < 5 {
			continue
		}
		return classify(err)
	}
}

// errKeyStored is the COPY into navs refused on a key navs holds.
var errKeyStored = errors.New("postgres: a NAV taken for new is stored already")

// errSideLocked is a COPY of a split batch (either half, sideCopy) that
// waited for a lock longer than its bound (setSideLockTimeout).
var errSideLocked = errors.New("postgres: a batch copied in two halves waited too long for a lock")

// writeHow is how write takes a batch on a retry: every row through ON
// CONFLICT (keys taken for new were stored), in one transaction.
type writeHow struct{ viaConflict, unsplit bool }

func (s *NAVSink) write(ctx context.Context, b pipelines.Batch[fund.NAVLine], how writeHow) error {
	// Only a batch whose position a checkpoint commits next is fenced (the
	// quarantine replay's batches carry a stream but no position).
	witness := b.Through.Stream != "" && len(b.Through.Pos) > 0
	if len(b.Items) == 0 && !witness {
		return nil
	}
	if err := s.state.ensure(ctx, s.Pool); err != nil {
		return fmt.Errorf("load scheme master and latest NAVs: %w", err)
	}
	p := s.plan(b.Items)
	if how.viaConflict {
		p.old, p.fresh = append(p.old, p.fresh...), nil
	}
	moved, first := latestRows(p.moved), latestRows(p.first)
	ids, err := s.sources.resolve(ctx, s.Pool, p.fresh, p.old)
	if err != nil {
		return err
	}
	// Work that runs on other connections meanwhile: the batch's
	// transaction waits for it, so its connections are taken first, before
	// any lock, and only if the pool gives them soon (spareConn; else the
	// batch runs in one transaction, as a small pool always does).
	// The batch's own connection first: it never waits for the pool while
	// its second half holds locks.
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	hctx, cancel := context.WithCancel(ctx)
	var side *sideCopy // the second half of many new NAVs, copied meanwhile
	defer func() {
		cancel() // a side copy the batch no longer waits for stops now
		side.abandon(ctx)
	}()
	var prepared chan preparedAudits // many master changes: their audit step, made ready meanwhile
	if len(p.changed) >= prepareAuditsFrom {
		if c := s.spareConn(hctx); c != nil {
			prepared = make(chan preparedAudits, 1)
			s.prepared.Add(1)
			go func() {
				defer c.Release()
				step, err := PrepareAudits(hctx, c, versionAudits(p.changed))
				prepared <- preparedAudits{step, err}
			}()
		}
	}
	fresh := p.fresh
	if n := len(fresh); n >= splitCopyFrom && !how.unsplit {
		if c := s.spareConn(hctx); c != nil {
			side = startSideCopy(hctx, c, fresh[n/2:], ids)
			fresh = fresh[:n/2]
			s.split.Add(1)
		}
	}
	err = pgx.BeginTxFunc(ctx, conn, readCommitted, func(tx pgx.Tx) error {
		var sessionLockTimeout string
		if side != nil {
			// Until the second half commits this transaction waits for it
			// in Go, holding its locks: a wait of its own for another
			// writer could close a cycle Postgres cannot see.
			if err := tx.QueryRow(ctx, setSideLockTimeout).Scan(&sessionLockTimeout, nil); err != nil {
				return err
			}
		}
		if len(fresh) > 0 {
			if _, err := copyNAVs(ctx, tx, fresh, ids); err != nil {
				return copyNAVsError(err, fresh, side != nil)
			}
		}
		// The second half commits now: before this transaction's
		// statements that read navs (nav_latest's moves without
		// HoldLatest) and before the audit step takes the chain's head.
		if err := side.commit(ctx); err != nil {
			return err
		}
		q := &pgx.Batch{}
		if side != nil {
			// The session's own, not DEFAULT: that would drop a SET the
			// connection's owner made for the session.
			q.Queue(`SELECT set_config('lock_timeout', $1, true)`, sessionLockTimeout)
		}
		if witness {
			// Safe without the flush: see the type's comment. The engine
			// writes this batch while the previous one's checkpoint
			// commits, so the witness is chained: it moves on only from
			// the witness of the stream's previous batch (or this batch's
			// own, when a retry follows a commit whose answer was lost).
			// Else a restart of the database took the previous batch, and
			// the witness is broken (empty), so that no checkpoint of the
			// stream passes until a new run writes it from the start.
			q.Queue(`SET LOCAL synchronous_commit = off`)
			q.Queue(`INSERT INTO checkpoints (stream, pos) VALUES ($1, CASE WHEN $3::bytea IS NULL THEN $2::bytea ELSE ''::bytea END)
				ON CONFLICT (stream) DO UPDATE SET pos = CASE WHEN $3::bytea IS NULL OR checkpoints.pos IN ($2::bytea, $3::bytea)
				    THEN $2::bytea ELSE ''::bytea END, updated_at = now()`,
				witnessStream(b.Through.Stream), b.Through.Pos, s.lastWitness(b.Through.Stream))
		}
		if len(p.old) > 0 {
			cols, err := navArrays(p.old, ids)
			if err != nil {
				return err
			}
			q.Queue(`INSERT INTO navs (scheme_code, nav_date, nav, repurchase, sale, source_id, source_line)
				SELECT * FROM unnest($1::text[], $2::date[], $3::numeric[], $4::numeric[], $5::numeric[], $6::int[], $7::int[])
				ON CONFLICT (scheme_code, nav_date) DO NOTHING`, cols...)
		}
		if !s.HoldLatest {
			queueLatest(q, moved, first)
		}
		var mastered *int64
		if len(p.changed) > 0 {
			mastered = queueVersions(q, p.changed)
		}
		if q.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, q).Close(); err != nil {
			return fmt.Errorf("write navs: %w", err)
		}
		if mastered != nil && *mastered != int64(len(p.changed)) {
			// Another process changed the master since it was read.
			return fmt.Errorf("scheme master: %d of %d schemes were not at the version read: %w",
				int64(len(p.changed))-*mastered, len(p.changed), errStale)
		}
		var err error
		if prepared != nil {
			r := <-prepared
			if err = r.err; err == nil {
				err = AppendPrepared(ctx, tx, "nav-ingest", r.step)
			}
		} else {
			err = AppendAudits(ctx, tx, "nav-ingest", versionAudits(p.changed))
		}
		if err != nil {
			return fmt.Errorf("scheme master: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.apply(p)
	if s.HoldLatest {
		s.hold(moved, first)
	}
	if witness {
		s.witnessMu.Lock()
		if s.witnessed == nil {
			s.witnessed = map[string][]byte{}
		}
		s.witnessed[b.Through.Stream] = b.Through.Pos
		s.witnessMu.Unlock()
	}
	return nil
}

// lastWitness is the witness the stream's last batch written by this sink
// left (nil: none yet in this run, the first batch writes it as it is: it
// follows a checkpoint that is durable).
func (s *NAVSink) lastWitness(stream string) []byte {
	s.witnessMu.Lock()
	defer s.witnessMu.Unlock()
	return s.witnessed[stream]
}

// copyNAVsError is a failed COPY into navs as write reports it: a key
// navs holds already makes the batch stale (written again through ON
// CONFLICT), and so does a split batch's lock timeout (written again in
// one transaction); any other error names the row.
func copyNAVsError(err error, rows []*fund.NAVLine, split bool) error {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23505":
		return fmt.Errorf("copy navs: %w: %w: %w", errStale, errKeyStored, err)
	case split && errors.As(err, &pe) && pe.Code == "55P03": // lock_not_available, past setSideLockTimeout's bound
		return fmt.Errorf("copy navs: %w: %w: %w", errStale, errSideLocked, err)
	}
	return fmt.Errorf("copy navs%s: %w", copyRowOf(err, rows), err)
}

// splitCopyFrom is the number of new NAVs in a batch from which their
// second half is copied on another connection while the batch's
// transaction copies the first (a 16,000-row NAVAll file: the COPY was
// most of the writer's time, with a core to spare; issue 15).
const splitCopyFrom = 4000

// minSpareConns is the pool size from which a batch uses other
// connections meanwhile (its second half, its audit step made ready),
// and spareWait how long it waits for one: the pool's other users (the
// checkpoint commits, the background flush, the quarantine) come first.
// A pool that can still grow opens one (spareConnectWait: a run's first
// batch, on a pool of one connection, is the largest).
const (
	minSpareConns    = 4
	spareWait        = 20 * time.Millisecond
	spareConnectWait = 500 * time.Millisecond
)

// spareConn is a connection for work beside the batch's transaction, or
// nil when the pool has none to spare now.
func (s *NAVSink) spareConn(ctx context.Context) *pgxpool.Conn {
	st := s.Pool.Stat()
	if st.MaxConns() < minSpareConns {
		return nil
	}
	wait := spareWait
	if st.TotalConns() < st.MaxConns() {
		wait = spareConnectWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c, err := s.Pool.Acquire(ctx)
	if err != nil {
		return nil
	}
	return c
}

// sideLockTimeout bounds a split batch's waits for a lock, in both halves
// until the second commits: the batch's transaction waits for it in Go,
// where Postgres' deadlock detector cannot see, so with another writer of
// the same keys either wait could close a cycle.
const sideLockTimeout = "2s"

// setSideLockTimeout sets the transaction's lock_timeout to
// sideLockTimeout, or keeps the session's where it is stricter (a role's
// or a connection's own setting, above zero), and returns the session's
// and the one set.
const setSideLockTimeout = `SELECT prev, set_config('lock_timeout',
	    CASE WHEN prev::interval > interval '0' AND prev::interval < interval '` + sideLockTimeout + `' THEN prev ELSE '` + sideLockTimeout + `' END, true)
	FROM (SELECT current_setting('lock_timeout') AS prev OFFSET 0) s`

// sideCopy copies the second half of a batch's new NAVs in a transaction
// of its own. It commits after the first half's COPY and before the
// batch's other statements: the batch's commit, with the witness, follows
// it in the WAL, so a witness that a crash of the database left proves
// both durable (see NAVSink). When the batch's transaction fails after
// that (a crash, a stale master, a refusal), the second half stays in
// navs without the rest: the replay finds its keys stored and writes the
// batch through ON CONFLICT, as for a batch whose nav_latest moves a crash
// took; a file that fails keeps it, like the rows of its batches past its
// last commit (navingest.Undo names them). Readers of navs, and a
// retraction, may see the second half a moment before the first.
type sideCopy struct {
	rows      []*fund.NAVLine
	done      chan struct{}
	conn      *pgxpool.Conn
	tx        pgx.Tx
	err       error
	committed bool
}

func startSideCopy(ctx context.Context, conn *pgxpool.Conn, rows []*fund.NAVLine, ids sourceIDs) *sideCopy {
	c := &sideCopy{rows: rows, done: make(chan struct{}), conn: conn}
	go func() {
		defer close(c.done)
		if c.tx, c.err = conn.BeginTx(ctx, readCommitted); c.err != nil {
			return
		}
		if _, c.err = c.tx.Exec(ctx, `SET LOCAL synchronous_commit = off; `+setSideLockTimeout); c.err == nil {
			_, c.err = copyNAVs(ctx, c.tx, rows, ids)
		}
	}()
	return c
}

// commit waits for the copy and commits it (nil: no side copy).
func (c *sideCopy) commit(ctx context.Context) error {
	if c == nil {
		return nil
	}
	<-c.done
	if c.err != nil {
		return copyNAVsError(c.err, c.rows, true)
	}
	if err := c.tx.Commit(ctx); err != nil {
		return fmt.Errorf("copy navs: commit the second half: %w", err)
	}
	c.committed = true
	return nil
}

// abandon waits for the copy, rolls it back unless it committed, and
// gives its connection back.
func (c *sideCopy) abandon(ctx context.Context) {
	if c == nil {
		return
	}
	<-c.done
	if c.tx != nil && !c.committed {
		_ = c.tx.Rollback(context.WithoutCancel(ctx))
	}
	c.conn.Release()
}

// witnessStream is where the NAV sink leaves its witness of a checkpoint.
func witnessStream(stream string) string { return stream + "#postgres-navs" }

var navColumns = []string{"scheme_code", "nav_date", "nav", "repurchase", "sale", "source_id", "source_line"}

// navPlan is what one batch changes. It points into the batch's items
// (a NAVLine is over 300 bytes: copying the rows cost more than sorting
// them) and at the state's entries of their schemes (epoch: the state's
// load they belong to).
type navPlan struct {
	fresh    []*fund.NAVLine // dated after their scheme's latest NAV: new keys
	old      []*fund.NAVLine // at or before it: may be stored (ON CONFLICT)
	moved    []*fund.NAVLine // each scheme's newest row, where it moves nav_latest forward
	first    []*fund.NAVLine // the same for schemes nav_latest has no row for yet
	latestOf []*schemeState  // the state of moved's schemes, then first's
	changed  []versionRow    // schemes whose master changes
	skipped  int
	epoch    uint64
}

type versionRow struct {
	*fund.NAVLine
	version int32 // the new one
	st      *schemeState
}

// plan sorts a batch by what it changes, as of the state. The newest row
// of a scheme in the batch (by date, then line) decides its nav_latest and
// its version, as a stale row older than the current version's start makes
// none. A key said twice keeps its first line.
//
// Each row's scheme is looked up once: the batch's schemes are grouped by
// marks on their state entries (made for schemes the state lacks: an entry
// at its zero value says what no entry says), not by a map of the batch
// (issue 15: the maps were a fifth of a backfill's CPU).
func (s *NAVSink) plan(items []fund.NAVLine) navPlan {
	var p navPlan
	st := &s.state
	st.mu.Lock() // released once the entries are read (and ranked): the sorts need none
	schemes := st.schemes
	if schemes == nil {
		schemes = map[string]*schemeState{} // dropped: plan as of nothing known
	}
	p.epoch = st.epoch
	st.marks++
	mark := st.marks
	states := make([]*schemeState, len(items))
	newest := make([]int32, 0, min(len(items), len(schemes))) // each scheme's newest row, in order of first appearance
	repeats := false                                          // a scheme more than once: a key may be said twice
	unranked := false                                         // a scheme the last ranking has not seen
	for i := range items {
		n := &items[i]
		e := schemes[n.SchemeCode]
		if e == nil {
			e = &schemeState{}
			schemes[n.SchemeCode] = e
		}
		unranked = unranked || e.rank == 0
		states[i] = e
		if e.mark != mark {
			e.mark, e.slot = mark, int32(len(newest))
			newest = append(newest, int32(i))
			continue
		}
		repeats = true
		j := newest[e.slot]
		if c := n.Date.Compare(items[j].Date); c > 0 || (c == 0 && n.From.Line > items[j].From.Line) {
			newest[e.slot] = int32(i)
		}
	}
	// A daily file has each scheme once; only a batch with repeats pays
	// for the map that keeps a key's first line.
	type key struct {
		code string
		date fund.Date
	}
	var first map[key]int
	if repeats {
		first = make(map[key]int, len(items))
		for i, n := range items {
			k := key{n.SchemeCode, n.Date}
			if j, ok := first[k]; !ok || n.From.Line < items[j].From.Line {
				first[k] = i
			}
		}
	}
	// Ranks are compared only within a batch, so an entry made since the
	// last ranking matters only when the batch has it. A ranking sorts all
	// the map's codes (16,000: about 4 ms), so it is made only for a batch
	// of a quarter of the map's schemes or more, whose own sort by code
	// would cost about as much; a smaller batch with a new scheme is sorted
	// by code (a stream of one-row batches would rank the map every time).
	byRank := !unranked
	if unranked && 4*len(newest) >= len(schemes) {
		rankCodes(schemes)
		byRank = true
	}
	// Most rows of a batch are fresh: growing the slice row by row copied
	// it several times over.
	fresh := make([]rankedLine, 0, len(items))
	for i := range items {
		n := &items[i]
		if first != nil && first[key{n.SchemeCode, n.Date}] != i {
			continue
		}
		e := states[i]
		switch c := n.Date.Compare(e.latestDate); {
		case e.latestDate.IsZero() || c > 0:
			fresh = append(fresh, rankedLine{uint64(e.rank)<<32 | uint64(uint32(n.Date.Order())), n})
		case c == 0:
			// nav_latest's key is in navs: the row is a no-op there.
			if n.NAV.Equal(e.latestNAV) {
				p.skipped++
			}
		default:
			p.old = append(p.old, n)
		}
	}
	p.moved = make([]*fund.NAVLine, 0, len(newest))
	var movedOf, firstOf []*schemeState
	movedOf = make([]*schemeState, 0, len(newest))
	for _, i := range newest {
		n, e := &items[i], states[i]
		switch {
		case e.latestDate.IsZero():
			p.first, firstOf = append(p.first, n), append(firstOf, e)
		case n.Date.Compare(e.latestDate) > 0:
			p.moved, movedOf = append(p.moved, n), append(movedOf, e)
		}
		if e.version == 0 || (n.Date.Compare(e.validFrom) >= 0 && attrsOf(n.NAVRecord) != e.attrs) {
			p.changed = append(p.changed, versionRow{n, e.version + 1, e})
		}
	}
	p.latestOf = append(movedOf, firstOf...)
	st.mu.Unlock()
	// The COPY in navs' key order: each row's index entry then goes next
	// to the one before it, in pages just touched, where a file's order
	// (by AMC) sends every row to another leaf of an index larger than
	// the CPU's caches. A 60-day backfill's COPYs took a fifth less
	// Postgres time sorted (issue 15). By the codes' ranks where it can:
	// comparing the codes was half of plan's CPU.
	if byRank {
		slices.SortFunc(fresh, func(a, b rankedLine) int { return cmp.Compare(a.key, b.key) })
	} else {
		slices.SortFunc(fresh, func(a, b rankedLine) int {
			if c := strings.Compare(a.line.SchemeCode, b.line.SchemeCode); c != 0 {
				return c
			}
			return a.line.Date.Compare(b.line.Date)
		})
	}
	p.fresh = make([]*fund.NAVLine, len(fresh))
	for i, r := range fresh {
		p.fresh[i] = r.line
	}
	// The audit trail gets its rows in scheme order, whatever the batch's.
	slices.SortFunc(p.changed, func(a, b versionRow) int { return strings.Compare(a.SchemeCode, b.SchemeCode) })
	return p
}

// apply moves the state to what a committed plan stored: through the
// plan's pointers while the state is the load it planned on, else by code
// (reloaded since; a dropped state is read again by the next batch).
func (s *NAVSink) apply(p navPlan) {
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	s.Skipped.Add(int64(p.skipped))
	if s.state.schemes == nil {
		return
	}
	same := s.state.epoch == p.epoch
	entry := func(code string, planned *schemeState) *schemeState {
		if same {
			return planned
		}
		return s.state.mutable(code)
	}
	for i, n := range slices.Concat(p.moved, p.first) { // latestOf's order
		e := entry(n.SchemeCode, p.latestOf[i])
		e.latestDate, e.latestNAV = n.Date, n.NAV
		if n.Date.Compare(s.state.newest) > 0 {
			s.state.newest = n.Date
		}
	}
	for _, c := range p.changed {
		e := entry(c.SchemeCode, c.st)
		e.version, e.validFrom, e.attrs = c.version, c.Date, attrsOf(c.NAVRecord)
	}
}

// rankedLine is a row with its key in navs' order: its scheme's rank,
// then its date (fund.Date.Order, 32 bits for years below 2^23).
type rankedLine struct {
	key  uint64
	line *fund.NAVLine
}

// navArrays are a batch's navs columns as arrays for unnest.
func navArrays(rows []*fund.NAVLine, ids sourceIDs) ([]any, error) {
	codes, dates := make([]string, len(rows)), make([]time.Time, len(rows))
	navs, rep, sale := make([]decimal.Decimal, len(rows)), make([]decimal.NullDecimal, len(rows)), make([]decimal.NullDecimal, len(rows))
	sources, lines := make([]int32, len(rows)), make([]int32, len(rows))
	var hit sourceHit
	for i, n := range rows {
		codes[i], dates[i], navs[i], rep[i], sale[i] = n.SchemeCode, n.Date.Time(), n.NAV, n.Repurchase, n.Sale
		id, err := ids.idOf(n, &hit)
		if err != nil {
			return nil, fmt.Errorf("navs: %w", err)
		}
		sources[i], lines[i] = id, int32(n.From.Line)
	}
	return []any{codes, dates, navs, rep, sale, sources, lines}, nil
}

// queueVersions queues the scheme-master change of the changed schemes:
// the new master rows, guarded by the version the state read (a new scheme
// by its absence), and for the schemes the guard let through the old
// versions closed and the new ones added, in one statement (the arrays are
// sent once: a first NAVAll file's 16,000 new schemes made two statements
// cost 360 ms), in the transaction of the NAVs that made them
// (their audit rows follow once the batch ran, versionAudits). The returned
// count, known once the batch ran, must be len(rows): a scheme another
// writer moved (or created) since the state read it is left alone here,
// so that the batch is rolled back as stale and written again from the
// master as it is, not refused on scheme_versions' key.
func queueVersions(q *pgx.Batch, rows []versionRow) *int64 {
	n := len(rows)
	codes, versions, froms := make([]string, n), make([]int32, n), make([]time.Time, n)
	names, ig, ir, plans, opts, cats, types, amcs := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	shas, lines := make([]string, n), make([]int32, n)
	for i, r := range rows {
		codes[i], versions[i], froms[i] = r.SchemeCode, r.version, r.Date.Time()
		names[i], ig[i], ir[i], plans[i], opts[i] = r.SchemeName, r.ISINGrowth, r.ISINReinvest, r.Plan, r.Option
		cats[i], types[i], amcs[i], shas[i], lines[i] = r.Category, r.SchemeType, r.AMC, r.From.SHA256, int32(r.From.Line)
	}
	args := []any{codes, versions, froms, names, ig, ir, plans, opts, cats, types, amcs, shas, lines}
	var n64 int64
	q.Queue(`WITH changed AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::text[], $11::text[], $12::text[], $13::int[])
        AS c(code, new_version, valid_from, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc,
             source_sha256, source_line)
), updated AS (
    UPDATE schemes s SET name = c.name, isin_growth = c.isin_growth, isin_reinvest = c.isin_reinvest, plan = c.plan,
        option = c.option, category = c.category, scheme_type = c.scheme_type, amc = c.amc,
        version = c.new_version, valid_from = c.valid_from, updated_at = now()
    FROM changed c WHERE c.new_version > 1 AND s.code = c.code AND s.version = c.new_version - 1
    RETURNING s.code
), inserted AS (
    INSERT INTO schemes (code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc, version, valid_from)
    SELECT code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc, 1, valid_from
    FROM changed WHERE new_version = 1
    ON CONFLICT (code) DO NOTHING
    RETURNING code
), guarded AS (
    SELECT code FROM updated UNION ALL SELECT code FROM inserted
), closed AS (
    UPDATE scheme_versions v SET valid_to = c.valid_from
    FROM changed c WHERE v.code = c.code AND v.valid_to IS NULL AND c.code IN (SELECT code FROM guarded)
), versioned AS (
    INSERT INTO scheme_versions (code, version, valid_from, name, isin_growth, isin_reinvest, plan, option, category,
                                 scheme_type, amc, source_sha256, source_line)
    SELECT code, new_version, valid_from, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc,
           source_sha256, source_line
    FROM changed WHERE code IN (SELECT code FROM guarded)
)
SELECT count(*) FROM guarded`, args...).QueryRow(func(r pgx.Row) error { return r.Scan(&n64) })
	return &n64
}

// schemeAudit is a scheme-master change's audit payload.
type schemeAudit struct {
	Version      int32  `json:"version"`
	ValidFrom    string `json:"valid_from"`
	Name         string `json:"name"`
	ISINGrowth   string `json:"isin_growth"`
	ISINReinvest string `json:"isin_reinvest"`
	Plan         string `json:"plan"`
	Option       string `json:"option"`
	Category     string `json:"category"`
	SchemeType   string `json:"scheme_type"`
	AMC          string `json:"amc"`
	SHA256       string `json:"source_sha256"`
	Line         int    `json:"source_line"`
}

// versionAudits are the audit rows of the scheme-master changes (rows in
// scheme order): appended last in their transaction, as one step of the
// chain (AppendAudits). The chain's row trigger instead took 1.6 s for the
// 16,000 schemes a first NAVAll file creates, a fifth of a 60-day
// backfill (issue 15).
func versionAudits(rows []versionRow) []AuditEntry {
	entries := make([]AuditEntry, len(rows))
	for i, r := range rows {
		action := "version"
		if r.version == 1 {
			action = "created"
		}
		entries[i] = AuditEntry{Entity: "scheme", ID: r.SchemeCode, Action: action, Payload: schemeAudit{
			Version: r.version, ValidFrom: r.Date.String(), Name: r.SchemeName, ISINGrowth: r.ISINGrowth,
			ISINReinvest: r.ISINReinvest, Plan: r.Plan, Option: r.Option, Category: r.Category,
			SchemeType: r.SchemeType, AMC: r.AMC, SHA256: r.From.SHA256, Line: r.From.Line,
		}}
	}
	return entries
}

// prepareAuditsFrom is the number of master changes from which their
// audit step is made ready on another connection while the batch's
// COPY and versions run (PrepareAudits): a first NAVAll file's 16,000.
const prepareAuditsFrom = 1000

// preparedAudits is the audit step of a batch's master changes, made
// ready on another connection.
type preparedAudits struct {
	step *AuditStep
	err  error
}

var copyLine = regexp.MustCompile(`^COPY \w+, line (\d+)`)

// copyRowOf names the record a COPY error is about (Postgres says "COPY
// nav_in, line 3, column nav"), so an error says which file line to look at.
func copyRowOf(err error, items []*fund.NAVLine) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	m := copyLine.FindStringSubmatch(pe.Where)
	if m == nil {
		return ""
	}
	i, _ := strconv.Atoi(m[1])
	if i < 1 || i > len(items) {
		return ""
	}
	f := items[i-1].From
	return fmt.Sprintf(" (%s line %d, scheme %s)", f.File, f.Line, items[i-1].SchemeCode)
}

// LatestNAVs returns every scheme's newest NAV (the jump check's baseline).
func LatestNAVs(ctx context.Context, pool *pgxpool.Pool) (map[string]fund.DatedNAV, error) {
	rows, err := pool.Query(ctx, `SELECT scheme_code, nav_date, nav FROM nav_latest`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]fund.DatedNAV{}
	for rows.Next() {
		var code string
		var l fund.DatedNAV
		var d time.Time
		if err := rows.Scan(&code, &d, &l.NAV); err != nil {
			return nil, err
		}
		l.Date = fund.DateOf(d)
		out[code] = l
	}
	return out, classify(rows.Err())
}

// NAVSelector picks stored NAVs to retract: every NAV a file gave (SHA256),
// or one scheme's NAVs (Scheme) on one date (Date) or from a date on
// (From). At least SHA256 or Scheme is set.
type NAVSelector struct {
	SHA256 string
	Scheme string
	Date   fund.Date // zero: any
	From   fund.Date // zero: any
}

// RetractedNAV is one NAV taken back out of navs.
type RetractedNAV struct {
	Scheme string
	Date   fund.Date
	NAV    string
	From   fund.Origin
}

// ErrNAVInUse refuses to retract a NAV that allotted transactions applied.
var ErrNAVInUse = errors.New("NAV applied by allotted transactions")

// RetractNAVs is the repair path for NAVs that should never have been
// accepted (a mis-dated file, a row accepted from quarantine by mistake):
// in one transaction it deletes them from navs, rebuilds each affected
// scheme's nav_latest from the NAVs that remain (nav_latest only ever moves
// forward on its own, so a NAV dated 2062 would hold it there forever),
// marks a quarantined row that had been accepted or replayed as dismissed,
// and writes one audit_log row per NAV, by whom. A NAV that an allotment
// applied is refused (ErrNAVInUse): that needs the transaction reversed
// first.
func (s Store) RetractNAVs(ctx context.Context, sel NAVSelector, by string) ([]RetractedNAV, error) {
	if sel.SHA256 == "" && sel.Scheme == "" {
		return nil, errors.New("retract: name a file (sha256) or a scheme")
	}
	var out []RetractedNAV
	err := pgx.BeginTxFunc(ctx, s.Pool, readCommitted, func(tx pgx.Tx) (err error) {
		out, err = retractNAVs(ctx, tx, sel, by)
		return err
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// navOfFile is a navs row (n) from the file whose SHA-256 is $1.
const navOfFile = `n.source_id IN (SELECT id FROM nav_sources WHERE sha256 = $1)`

// retractNAVs is RetractNAVs in tx (READ COMMITTED: each statement after
// the lock sees what committed before it).
func retractNAVs(ctx context.Context, tx pgx.Tx, sel NAVSelector, by string) ([]RetractedNAV, error) {
	var out []RetractedNAV
	dateArg := func(d fund.Date) any {
		if d.IsZero() {
			return nil
		}
		return d.Time()
	}
	where := `($1 = '' OR ` + navOfFile + `) AND ($2 = '' OR scheme_code = $2)
		AND ($3::date IS NULL OR nav_date = $3) AND ($4::date IS NULL OR nav_date >= $4)`
	args := []any{sel.SHA256, sel.Scheme, dateArg(sel.Date), dateArg(sel.From)}
	if _, err := tx.Exec(ctx, lockLatestExclusive); err != nil { // no move of nav_latest meanwhile (see queueLatest)
		return nil, err
	}
	var used int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions t JOIN navs n USING (scheme_code, nav_date) WHERE `+where,
		args...).Scan(&used); err != nil {
		return nil, err
	}
	if used > 0 {
		return nil, fmt.Errorf("retract: %w: %d transaction(s)", ErrNAVInUse, used)
	}
	// The file by subquery: a NAV whose id names no file is refused by
	// name, not dropped from the retraction.
	rows, err := tx.Query(ctx, `DELETE FROM navs n WHERE `+where+`
		RETURNING n.scheme_code, n.nav_date, n.nav::text, (SELECT file FROM nav_sources WHERE id = n.source_id),
		    (SELECT sha256 FROM nav_sources WHERE id = n.source_id), n.source_line, n.source_id`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r RetractedNAV
		var d time.Time
		var file, sha *string
		var sourceID int32
		if err := rows.Scan(&r.Scheme, &d, &r.NAV, &file, &sha, &r.From.Line, &sourceID); err != nil {
			return nil, err
		}
		r.Date = fund.DateOf(d)
		if file == nil || sha == nil {
			rows.Close()
			return nil, fmt.Errorf("retract: the NAV of %s on %s names source_id %d, which nav_sources does not hold", r.Scheme, r.Date, sourceID)
		}
		r.From.File, r.From.SHA256 = *file, *sha
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	codes := make([]string, 0, len(out))
	audits := make([]AuditEntry, 0, len(out))
	b := &pgx.Batch{}
	for _, r := range out {
		codes = append(codes, r.Scheme)
		audits = append(audits, AuditEntry{Entity: "nav", ID: r.Scheme + "|" + r.Date.String(), Action: "retracted", Payload: retractedAudit{
			Scheme: r.Scheme, Date: r.Date.String(), NAV: r.NAV, File: r.From.File, SHA256: r.From.SHA256, Line: r.From.Line}})
		b.Queue(`UPDATE quarantine SET status = 'dismissed', resolved_at = now(), resolved_by = $2
			WHERE pos_key = $1 AND status IN ('accepted', 'replayed')`, PosKey(pipelines.Position(r.From)), by)
	}
	b.Queue(`DELETE FROM nav_latest WHERE scheme_code = ANY($1)`, codes)
	b.Queue(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, nav, source_file, source_sha256, source_line
		FROM nav_lineage WHERE scheme_code = ANY($1) ORDER BY scheme_code, nav_date DESC`, codes)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	// one step of the chain, last (AppendAudits), not a row trigger a NAV
	return out, AppendAudits(ctx, tx, by, audits)
}

// retractedAudit is a retracted NAV's audit payload.
type retractedAudit struct {
	Scheme string `json:"scheme_code"`
	Date   string `json:"nav_date"`
	NAV    string `json:"nav"`
	File   string `json:"source_file"`
	SHA256 string `json:"source_sha256"`
	Line   int    `json:"source_line"`
}

// StoredNAV returns the NAV navs holds for a scheme on a date, if any.
func (s Store) StoredNAV(ctx context.Context, scheme string, date fund.Date) (fund.NAVLine, bool, error) {
	var l fund.NAVLine
	err := s.Pool.QueryRow(ctx, `SELECT nav, source_file, source_sha256, source_line FROM nav_lineage WHERE scheme_code = $1 AND nav_date = $2`,
		scheme, date.Time()).Scan(&l.NAV, &l.From.File, &l.From.SHA256, &l.From.Line)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, classify(err)
	}
	l.SchemeCode, l.Date = scheme, date
	return l, true, nil
}

// FileNAVsAfter returns the keys (scheme|date) of the NAVs navs holds from
// the file sha256 past line, in line order: what a file that failed kept in
// Postgres past its last commit (its batches were written while ClickHouse
// held them, before their checkpoints).
func (s Store) FileNAVsAfter(ctx context.Context, sha256 string, line int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code || '|' || nav_date::text FROM navs n
		WHERE `+navOfFile+` AND source_line > $2 ORDER BY source_line`, sha256, line)
	if err != nil {
		return nil, classify(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, classify(err)
	}
	return keys, nil
}
