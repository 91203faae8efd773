package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/pipelines"
)

// Event kinds in ingest_events.
const (
	EventRun        = "run"        // one per finished run: reason = ok|failed, detail = the error, records = records written
	EventQuarantine = "quarantine" // one per quarantined record: file, sha256, line, reason, detail; records = 1
)

// Events copies the engine's run log and quarantine into ingest_events, for
// analysts. It wraps the Postgres bookkeeping, which stays the source of
// truth: every call writes Postgres first and ClickHouse only after Postgres
// succeeded, so ClickHouse never shows a run or a quarantined record that
// Postgres does not have.
//
// Delivery is at-least-once. A quarantine write that fails in ClickHouse
// fails the call; the engine retries the whole Put (Postgres ignores the
// repeat, ClickHouse gets the rows again) and the batch's checkpoint waits.
// A batch replayed after a crash quarantines its records again in ClickHouse
// too. Count distinct (sha256, line) when exact numbers matter. A run row is
// written once, after job_runs is updated; if ClickHouse fails then, the
// error is reported and job_runs still has the run.
//
// With Hold set, Put keeps the quarantine events instead of inserting them
// (pipelines.Holder): Flush inserts those kept up to the engine's Cut as
// one block, so a run whose batches mostly carry a reject or two makes one
// insert per group of batches, not a second tiny insert per batch. The engine commits a batch
// only after Flush; a crash before it replays the batch, which quarantines
// its records again. Set Hold only for a pipeline with HoldRows: a Put
// outside the engine would keep its events until a Flush nobody calls.
//
// One Events serves one pipeline run at a time (the run id it puts on
// quarantine rows is the last one Start returned).
type Events struct {
	Conn       driver.Conn
	Runs       pipelines.RunLog
	Quarantine pipelines.Quarantine
	Now        func() time.Time // default time.Now
	Hold       bool             // keep quarantine events until Flush

	mu       sync.Mutex
	runID    int64
	pipeline string
	held     []event // Hold: quarantine events waiting for Flush
	cut      int     // held[:cut] is what Flush sends
	flushMu  sync.Mutex
}

// Start records the run in the wrapped run log and remembers its id.
func (e *Events) Start(ctx context.Context, pipeline string) (int64, error) {
	id, err := e.Runs.Start(ctx, pipeline)
	if err != nil {
		return id, err
	}
	e.mu.Lock()
	e.runID, e.pipeline = id, pipeline
	e.mu.Unlock()
	return id, nil
}

// Finish records the run's outcome in the wrapped run log, then one "run"
// event.
func (e *Events) Finish(ctx context.Context, runID int64, st pipelines.Stats, runErr error) error {
	if err := e.Runs.Finish(ctx, runID, st, runErr); err != nil {
		return err
	}
	e.mu.Lock()
	pipeline := e.pipeline
	e.mu.Unlock()
	ev := event{pipeline: pipeline, runID: runID, kind: EventRun, reason: "ok", records: st.Out}
	if runErr != nil {
		ev.reason, ev.detail = "failed", runErr.Error()
	}
	return e.insert(ctx, []event{ev})
}

// Put quarantines records in the wrapped quarantine, then writes one
// "quarantine" event per record.
func (e *Events) Put(ctx context.Context, rs []pipelines.Rejected) error {
	if err := e.Quarantine.Put(ctx, rs); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	e.mu.Lock()
	runID := e.runID
	e.mu.Unlock()
	evs := make([]event, len(rs))
	for i, r := range rs {
		file := r.Pos.File
		switch {
		case file == "" && r.Pos.Topic != "":
			file = fmt.Sprintf("kafka:%s/%d/%d", r.Pos.Topic, r.Pos.Part, r.Pos.Offset)
		case file == "" && r.Pos.Event != "":
			file = "event:" + r.Pos.Event
		}
		evs[i] = event{pipeline: r.Pipeline, runID: runID, kind: EventQuarantine, file: file, sha256: r.Pos.SHA256,
			line: r.Pos.Line, reason: r.Reason, detail: r.Detail, records: 1}
	}
	if e.Hold {
		e.mu.Lock()
		e.held = append(e.held, evs...)
		e.mu.Unlock()
		return nil
	}
	return e.insert(ctx, evs)
}

// Held is how many quarantine events wait for the next Cut.
func (e *Events) Held() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.held) - e.cut
}

// Cut marks the quarantine events held now as what Flush sends.
func (e *Events) Cut() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cut = len(e.held)
}

// Flush inserts the quarantine events cut as one block; Put may add more
// meanwhile (after them). After a failure they are held again, in front of
// those.
func (e *Events) Flush(ctx context.Context) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.Lock()
	evs := e.held[:e.cut] // Put appends after them, never into them
	e.mu.Unlock()
	if len(evs) == 0 {
		return nil
	}
	err := e.insert(ctx, evs)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		// what Put added meanwhile moves to the front; the sent tail is
		// cleared so its strings are not kept alive
		n := copy(e.held, e.held[len(evs):])
		clear(e.held[n:])
		e.held = e.held[:n]
	}
	e.cut = 0
	return err
}

type event struct {
	pipeline, kind, file, sha256, reason, detail string
	runID                                        int64
	line                                         int
	records                                      int64
}

func (e *Events) insert(ctx context.Context, evs []event) error {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	at := now().UTC().Truncate(time.Second)
	b, err := e.Conn.PrepareBatch(ctx, `INSERT INTO ingest_events
		(event_time, pipeline, run_id, kind, file, sha256, line, reason, detail, records)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare ingest_events: %w", err))
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, ev := range evs {
		if err := b.Append(at, ev.pipeline, uint64(ev.runID), ev.kind, ev.file, ev.sha256, uint32(ev.line),
			ev.reason, ev.detail, uint64(ev.records)); err != nil {
			return fmt.Errorf("clickhouse: append ingest event: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send %d ingest events: %w", len(evs), err))
	}
	return nil
}
