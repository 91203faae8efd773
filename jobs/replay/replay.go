// Package replay is the quarantine replay job: open NAV rows are read again
// from their raw bytes through today's parser and validation, and the rows
// that pass now are published through nav-ingest's sinks, as an engine
// pipeline run (a job_runs row and the run metrics like every job). A row
// that still fails stays open, with the reason of this replay recorded.
package replay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

// Name is the replay's name in job_runs and the metrics.
const Name = "quarantine-replay"

// Batch bounds one write to the sinks.
const Batch = 2000

// ErrNotAcceptable is returned, before anything is written, when an
// accepted row was not held for a NAV jump: only a jump is a judgement a
// person can overrule.
var ErrNotAcceptable = errors.New("only rows held for " + nav.ReasonNAVJump + " can be accepted")

// Options choose the rows and how they are published.
type Options struct {
	Filter postgres.QuarantineFilter
	Accept bool   // publish nav_jump rows without the jump check
	By     string // who replayed or accepted
}

// Summary is what a replay did.
type Summary struct {
	Considered int              `json:"considered"`
	Published  int              `json:"published"`
	MarkedAs   string           `json:"marked_as"`
	IDs        []int64          `json:"ids"`               // published and marked
	StillOpen  map[string]int64 `json:"still_quarantined"` // reason they still fail -> count
}

// Run replays the open rows opt.Filter selects, oldest first, with
// nav-ingest's validator (starting from nav_latest) and sinks. A batch's
// rows are marked resolved when its checkpoint commits, after every sink
// wrote it; the sinks are idempotent, so a replay cut short and run again
// publishes nothing twice.
func Run(ctx context.Context, d navingest.Deps, c *config.NAVIngest, opt Options) (Summary, error) {
	sum := Summary{MarkedAs: "replayed", IDs: []int64{}, StillOpen: map[string]int64{}}
	if opt.Accept {
		sum.MarkedAs = "accepted"
	}
	recs, err := d.PG.Quarantine(ctx, opt.Filter, true)
	if err != nil {
		return sum, err
	}
	sum.Considered = len(recs)
	for _, q := range recs {
		if opt.Accept && q.Reason != nav.ReasonNAVJump {
			return sum, fmt.Errorf("record %d was quarantined for %s: %w", q.ID, q.Reason, ErrNotAcceptable)
		}
	}
	v := navingest.Validator(nil, c) // after review the jump is accepted: no previous NAV to jump from
	if !opt.Accept {
		latest, err := postgres.LatestNAVs(ctx, d.PG.Pool)
		if err != nil {
			return sum, fmt.Errorf("%s: load latest NAVs: %w", Name, err)
		}
		v = navingest.Validator(latest, c)
	}
	src := &source{recs: recs, pg: d.PG, status: sum.MarkedAs, by: opt.By, failed: map[int64]bool{}}
	p := &pipelines.Pipeline[postgres.Quarantined, fund.NAVLine]{
		Name:       Name,
		Source:     src,
		Locate:     locate,
		Stage:      stage(d.PG, v),
		Sinks:      navingest.Sinks(d, c),
		Quarantine: stillOpen{src},
		Metrics:    d.Metrics,
		Runs:       d.PG,
		Log:        d.Log,
	}
	st, err := p.Run(ctx)
	sum.Published, sum.IDs = int(st.Out), append(sum.IDs, src.resolved...)
	for r, n := range st.Reasons {
		sum.StillOpen[r] = n
	}
	return sum, err
}

// stage reads a row again and validates it. Every store must keep the same
// NAV for a key (Postgres keeps the one it has, ClickHouse the newest
// written), so a row that says otherwise than a stored NAV stays in
// quarantine: retract the stored one first if it is the wrong one. The
// stage runs ahead of the sinks, so it also holds back a row that differs
// from one this replay passed before it and the sinks may not have yet.
// ReasonUnreadable is a replayed row whose raw bytes no longer read as a
// NAV line (a quarantine reason beside nav.Reasons).
const ReasonUnreadable = "unreadable"

func stage(pg *postgres.Store, v *nav.Validator) pipelines.Stage[postgres.Quarantined, fund.NAVLine] {
	passed := map[string]fund.NAVLine{} // scheme|date -> the row this replay publishes
	return func(ctx context.Context, q postgres.Quarantined) (fund.NAVLine, error) {
		it, err := nav.Reread(q.Raw, q.Context, q.Pos)
		if err != nil {
			return fund.NAVLine{}, &pipelines.RejectError{Reason: ReasonUnreadable, Detail: err.Error()}
		}
		line, err := v.Stage(ctx, it)
		if err != nil {
			return line, err
		}
		stored, ok, err := pg.StoredNAV(ctx, line.SchemeCode, line.Date)
		if err != nil {
			return line, err
		}
		if ok && !stored.NAV.Equal(line.NAV) {
			return line, pipelines.Reject(nav.ReasonDuplicateConflict, "navs has NAV %s for scheme %s on %s from %s line %d; this row says %s",
				stored.NAV, line.SchemeCode, line.Date, stored.From.File, stored.From.Line, line.NAV)
		}
		key := line.SchemeCode + "|" + line.Date.String()
		if prev, ok := passed[key]; ok && !prev.NAV.Equal(line.NAV) {
			return line, pipelines.Reject(nav.ReasonDuplicateConflict, "this replay publishes NAV %s for scheme %s on %s from %s line %d; this row says %s",
				prev.NAV, line.SchemeCode, line.Date, prev.From.File, prev.From.Line, line.NAV)
		}
		passed[key] = line
		return line, nil
	}
}

// locate is a row's place in its file, and its quarantine id as the event:
// stillOpen finds the row again by it.
func locate(q postgres.Quarantined) (pipelines.Position, []byte) {
	p := pipelines.Position(q.Pos)
	p.Event = strconv.FormatInt(q.ID, 10)
	return p, q.Raw
}

// source hands out the selected rows in batches; committing a batch marks
// its rows that passed as resolved.
type source struct {
	recs        []postgres.Quarantined
	pg          *postgres.Store
	status, by  string
	next, batch int
	mu          sync.Mutex
	pending     [][]int64 // ids of the batches read and not yet committed
	failed      map[int64]bool
	resolved    []int64
}

func (s *source) Read(ctx context.Context) (pipelines.Batch[postgres.Quarantined], error) {
	if s.next >= len(s.recs) {
		return pipelines.Batch[postgres.Quarantined]{}, pipelines.ErrEndOfInput
	}
	end := min(s.next+Batch, len(s.recs))
	items := s.recs[s.next:end]
	s.next = end
	ids := make([]int64, len(items))
	for i, q := range items {
		ids[i] = q.ID
	}
	s.mu.Lock()
	s.pending = append(s.pending, ids)
	s.batch++
	s.mu.Unlock()
	return pipelines.Batch[postgres.Quarantined]{Items: items, Through: pipelines.Checkpoint{Stream: Name, Pos: []byte(strconv.Itoa(s.batch))}}, nil
}

// Commit comes in the order batches were read, after the sinks wrote the
// batch and stillOpen recorded its rejects.
func (s *source) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	s.mu.Lock()
	ids := s.pending[0]
	var passed []int64
	for _, id := range ids {
		if !s.failed[id] {
			passed = append(passed, id)
		}
	}
	s.mu.Unlock()
	if len(passed) > 0 {
		if _, err := s.pg.ResolveQuarantined(ctx, passed, s.status, s.by); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.pending = s.pending[1:]
	s.resolved = append(s.resolved, passed...)
	s.mu.Unlock()
	return nil
}

func (s *source) Close() error { return nil }

// stillOpen is the replay's quarantine: a row that fails again is not
// quarantined a second time; its open row records this replay's reason.
type stillOpen struct{ s *source }

func (q stillOpen) Put(ctx context.Context, rs []pipelines.Rejected) error {
	for _, r := range rs {
		id, err := strconv.ParseInt(r.Pos.Event, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: rejected row without its quarantine id: %w", Name, err)
		}
		if err := q.s.pg.ReplayFailed(ctx, id, r.Reason+": "+r.Detail); err != nil {
			return err
		}
		q.s.mu.Lock()
		q.s.failed[id] = true
		q.s.mu.Unlock()
	}
	return nil
}
