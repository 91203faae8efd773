package pgstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fraud"
)

// The windows live in memory (mem), owned by the one evaluation that holds
// the evaluation lock (Exclusive). Postgres gets, per batch, only what must
// be durable at once: the alerts and their holds. The windows and the
// positions they are valid at reach Postgres by Snapshot (migration
// 046_fraud_snapshots.sql), and a start replays the streams from there.

// mem is the evaluation's state. Stored States are never changed in place
// (fraud.Rule.Eval returns new slices), so a snapshot may encode the
// values it copied under the lock after letting it go.
type mem struct {
	loaded bool
	states map[string]fraud.State // fraud.StateKey -> window; an empty window is not kept
	// dirty: the windows changed since the last snapshot, with their
	// state then (an empty State: gone), so a snapshot takes the map as
	// it is instead of looking each window up while the stream waits
	dirty   map[string]fraud.State
	pos     map[streamPart]int64 // applied, in memory
	durable map[streamPart]int64 // in the last committed snapshot (what Kafka may commit)
	pending int                  // events applied since the last snapshot
	// evAt is each partition's newest applied event time since the load
	// (expiry's floors), expiry the windows by when they fall due
	evAt     map[streamPart]time.Time
	lateness time.Duration // Store.Lateness or its default
	expiry   expiry
	// streamKinds: the event kinds each stream carried since the load (a
	// per-investor rule's floor looks only at the streams it reads)
	streamKinds map[string][]fraud.EventKind
	// compaction: a delta snapshot adds chunks; when they outgrow the last
	// full one, the next is full and drops everything before it
	fullGen              int64
	fullBytes, sinceFull int64
	deltas               int
}

// chunkBytes is the most one fraud_snapshot_chunks row holds (bytea's
// limit is 1 GB; a few MB keeps one row's memory small on both sides).
const chunkBytes = 8 << 20

type snapRec struct {
	K string       `json:"k"`
	S *fraud.State `json:"s,omitempty"`
}

// load reads the last full snapshot, the deltas after it and the
// positions (before any snapshot: the windows of fraud_windows, where the
// evaluation kept them before 046). Called with s.mu held.
func (s *Store) load(ctx context.Context) error {
	if s.m.loaded {
		return nil
	}
	m := mem{states: map[string]fraud.State{}, dirty: map[string]fraud.State{}, pos: map[streamPart]int64{}, durable: map[streamPart]int64{}}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// a repeatable view: a snapshot committing meanwhile is all in or out
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(gen), 0), COALESCE(max(bytes) FILTER (WHERE is_full), 0) FROM fraud_snapshots WHERE is_full`).
			Scan(&m.fullGen, &m.fullBytes); err != nil {
			return fmt.Errorf("fraud snapshots: %w", err)
		}
		if m.fullGen == 0 {
			rows, err := tx.Query(ctx, `SELECT rule_id, scope_key, state FROM fraud_windows`)
			if err != nil {
				return fmt.Errorf("fraud windows: %w", err)
			}
			for rows.Next() {
				var r, k string
				var st fraud.State
				if err := rows.Scan(&r, &k, &st); err != nil {
					rows.Close()
					return fmt.Errorf("fraud windows: %w", err)
				}
				if st.Len() > 0 {
					m.states[fraud.StateKey(r, k)] = st
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("fraud windows: %w", err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT c.data, s.is_full FROM fraud_snapshot_chunks c JOIN fraud_snapshots s USING (gen)
			WHERE c.gen >= $1 ORDER BY c.gen, c.seq`, m.fullGen)
		if err != nil {
			return fmt.Errorf("fraud snapshots: %w", err)
		}
		for rows.Next() {
			var data []byte
			var full bool
			if err := rows.Scan(&data, &full); err != nil {
				rows.Close()
				return fmt.Errorf("fraud snapshots: %w", err)
			}
			if !full {
				m.sinceFull += int64(len(data))
			}
			if err := m.apply(data); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("fraud snapshots: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT stream, part, last_off FROM fraud_positions`)
		if err != nil {
			return fmt.Errorf("fraud positions: %w", err)
		}
		for rows.Next() {
			var sp streamPart
			var off int64
			if err := rows.Scan(&sp.stream, &sp.part, &off); err != nil {
				rows.Close()
				return fmt.Errorf("fraud positions: %w", err)
			}
			m.pos[sp], m.durable[sp] = off, off
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return classify(fmt.Errorf("fraud state load: %w", err))
	}
	if m.fullGen == 0 {
		// the first snapshot is full (it takes over fraud_windows)
		for k, st := range m.states {
			m.dirty[k] = st
		}
	}
	m.evAt = map[streamPart]time.Time{}
	if m.lateness = s.Lateness; m.lateness <= 0 {
		m.lateness = Lateness
	}
	for k := range m.states {
		m.expiry.unbucketed = append(m.expiry.unbucketed, k)
	}
	m.loaded = true
	s.m = m
	return nil
}

// apply reads one chunk's records over m.states: packed (session 36 on)
// or JSON lines (before; a restart after the upgrade reads them, and its
// next full snapshot is packed).
func (m *mem) apply(data []byte) error {
	switch {
	case len(data) == 0:
		return nil
	case data[0] == packedFormat && len(data) >= packedHeader:
		return applyPacked(data[packedHeader:], m.states, int(binary.LittleEndian.Uint32(data[1:packedHeader])))
	case data[0] == packedFormat:
		return fmt.Errorf("%w: a header of %d bytes", errPacked, len(data))
	case data[0] == packedFormatNoCount:
		return applyPacked(data[1:], m.states, -1)
	case data[0] != '{':
		return fmt.Errorf("fraud snapshot: a chunk of format %d, which this version does not know (written by a newer one?)", data[0])
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, chunkBytes+(1<<20))
	for sc.Scan() {
		var r snapRec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("fraud snapshot record: %w", err)
		}
		if r.S == nil || r.S.Len() == 0 {
			delete(m.states, r.K)
		} else {
			m.states[r.K] = *r.S
		}
	}
	return sc.Err()
}

// Load reads the state now (Apply does it on first use): a start knows its
// positions before the first message arrives.
func (s *Store) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load(ctx)
}

// Windows is how many windows are in memory, and how many expiry has
// dropped since the load.
func (s *Store) Windows() (live int, dropped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m.states), s.m.expiry.Dropped
}

// Late is how many events since the load arrived with a time before their
// partition's newest less Lateness: below the floor expiry drops windows
// against, so a window they belonged in may have been dropped.
func (s *Store) Late() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.expiry.Late
}

// Pending is how many events were applied since the last snapshot.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.pending
}

// Durable is the last snapshot's position of stream's partition part (-1:
// none): the furthest a consumer may commit, since a start replays from it.
func (s *Store) Durable(stream string, part int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off, ok := s.m.durable[streamPart{stream, part}]; ok {
		return off
	}
	return -1
}

// Snapshot writes the windows changed since the last snapshot (all of
// them when it is time to compact) and the positions they are valid at,
// in one transaction. The evaluation goes on while it encodes and writes.
// On failure the windows stay due for the next one.
func (s *Store) Snapshot(ctx context.Context) error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	if !s.m.loaded {
		s.mu.Unlock()
		return nil
	}
	m := &s.m
	// full: the first, or when the deltas since the last full one weigh
	// more than twice it (so a start reads at most about 3x the state)
	full := m.fullGen == 0 || m.sinceFull > 2*m.fullBytes+chunkBytes || m.deltas >= 500
	// what to write, taken without a look-up a window: the changed
	// windows' map as it is, or a copy of all of them (maps.Clone copies
	// the table whole; iterating millions of windows held the stream up
	// for a second at 5,000,000 events). States are never changed in
	// place, so encoding them after the unlock is safe.
	dirty := m.dirty
	recs := dirty
	if full {
		recs = maps.Clone(m.states)
	}
	pos := make(map[streamPart]int64, len(m.pos))
	moved := false
	for sp, off := range m.pos {
		pos[sp] = off
		moved = moved || m.durable[sp] != off
	}
	m.dirty, m.pending = make(map[string]fraud.State, min(len(dirty), 1<<16)), 0
	s.mu.Unlock()
	if len(recs) == 0 && !moved && !full {
		return nil
	}
	t0 := time.Now()
	gen, size, err := s.writeSnapshot(ctx, full, recs, pos)
	if err == nil && gen > 0 {
		s.stats.Snapshots++
		if full {
			s.stats.Full++
		}
		s.stats.Windows += int64(len(recs))
		s.stats.Bytes += size
		s.stats.Took += time.Since(t0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for k := range dirty {
			if _, newer := m.dirty[k]; !newer {
				m.dirty[k] = m.states[k] // as it is now (empty: gone)
			}
		}
		return classify(fmt.Errorf("fraud snapshot: %w", err))
	}
	for sp, off := range pos {
		m.durable[sp] = off
	}
	switch {
	case full:
		m.fullGen, m.fullBytes, m.sinceFull, m.deltas = gen, size, 0, 0
	case gen > 0:
		m.sinceFull += size
		m.deltas++
	}
	return nil
}

// writeSnapshot encodes recs in chunks and commits them with pos; it
// returns the snapshot's gen (0: positions only) and its bytes. The chunks
// are encoded one at a time as COPY sends them: a full snapshot of
// millions of windows is hundreds of MB encoded, which used to be all in
// memory at once beside the windows themselves.
func (s *Store) writeSnapshot(ctx context.Context, full bool, recs map[string]fraud.State, pos map[streamPart]int64) (int64, int64, error) {
	var gen, size int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		size = 0
		if len(recs) > 0 || full {
			if err := tx.QueryRow(ctx, `INSERT INTO fraud_snapshots (is_full, windows, bytes) VALUES ($1, $2, 0) RETURNING gen`,
				full, len(recs)).Scan(&gen); err != nil {
				return err
			}
			buf := make([]byte, 0, min(chunkBytes+(64<<10), 256*len(recs)+4096))
			seq := int32(0)
			next, stop := iter.Pull2(maps.All(recs))
			defer stop()
			k, st, more := next()
			// the next chunk: records up to chunkBytes (the buffer is
			// reused: pgx has written the last row before asking for
			// the next)
			chunk := func() bool {
				if !more {
					return false
				}
				buf = startChunk(buf)
				var p packer
				n := 0
				for ; more && len(buf) < chunkBytes; k, st, more = next() {
					var sp *fraud.State
					if st.Len() > 0 {
						sp = &st
					}
					buf = p.appendPacked(buf, k, sp)
					n++
				}
				buf = endChunk(buf, n)
				size += int64(len(buf))
				return true
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"fraud_snapshot_chunks"}, []string{"gen", "seq", "data"},
				pgx.CopyFromFunc(func() ([]any, error) {
					if !chunk() {
						return nil, nil
					}
					seq++
					return []any{gen, seq - 1, buf}, nil
				}))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE fraud_snapshots SET bytes = $2 WHERE gen = $1`, gen, size); err != nil {
				return err
			}
			if full {
				// everything before is in this one
				if _, err := tx.Exec(ctx, `DELETE FROM fraud_snapshots WHERE gen < $1`, gen); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `DELETE FROM fraud_windows`); err != nil {
					return err
				}
			}
		}
		if len(pos) == 0 {
			return nil
		}
		var ss []string
		var ps []int32
		var os []int64
		for sp, off := range pos {
			ss, ps, os = append(ss, sp.stream), append(ps, int32(sp.part)), append(os, off)
		}
		_, err := tx.Exec(ctx, `INSERT INTO fraud_positions AS f (stream, part, last_off)
			SELECT s, p, o FROM unnest($1::text[], $2::int[], $3::bigint[]) AS x(s, p, o) ORDER BY s, p
			ON CONFLICT (stream, part) DO UPDATE SET last_off = excluded.last_off, updated_at = now()
			WHERE f.last_off IS DISTINCT FROM excluded.last_off`, ss, ps, os)
		return err
	})
	return gen, size, err
}

// exclusiveKey is the advisory lock of the evaluation: one process
// evaluates, since its windows are in its memory (a second one waits).
const exclusiveKey = "fundflow-fraud-evaluation"

// Exclusive takes the evaluation lock (a Postgres session advisory lock
// on a connection of its own), waiting while another process holds it;
// wait false returns an error at once instead. The lock goes with the
// connection: a killed process's is released by Postgres. lost is closed
// when the connection fails (the evaluation must stop: another may start).
func (s *Store) Exclusive(ctx context.Context, wait bool) (release func(), lost <-chan struct{}, err error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("fraud evaluation lock: %w", err))
	}
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, exclusiveKey)
	} else {
		var got bool
		if err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, exclusiveKey).Scan(&got); err == nil && !got {
			err = fmt.Errorf("another fraud evaluation is running (serve or fraud run): it evaluates these events already")
		}
	}
	if err != nil {
		conn.Release()
		return nil, nil, fmt.Errorf("fraud evaluation lock: %w", err)
	}
	done := make(chan struct{})
	lostc := make(chan struct{})
	var mu sync.Mutex // the connection is not for two goroutines at once
	go func() {
		// a ping every 2 s: a dead lock connection stops the evaluation
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				err := conn.Ping(ctx)
				mu.Unlock()
				if err != nil && ctx.Err() == nil {
					close(lostc)
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			mu.Lock()
			defer mu.Unlock()
			_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, exclusiveKey)
			conn.Release()
		})
	}, lostc, nil
}
