package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/fundflow/fundflow/fund"
)

// SQLFactsPending is the facts relay's query, for the plan test.
const SQLFactsPending = sqlFactsPending

var RegisterNumeric = registerNumeric

// AppendNAVCopy encodes rows naming each file by its id in ids (keyed by
// file name and SHA-256).
func AppendNAVCopy(buf []byte, m *pgtype.Map, rows []*fund.NAVLine, ids map[[2]string]int32) ([]byte, error) {
	src := sourceIDs{}
	for k, id := range ids {
		src[navSource{k[0], k[1]}] = id
	}
	return appendNAVCopy(buf, m, rows, src)
}

// PrepareAuditsFrom is how many master changes a batch has its audit step
// made ready on another connection from.
const PrepareAuditsFrom = prepareAuditsFrom

// SplitCopyFrom is how many new NAVs a batch copies half of on another
// connection from; MinSpareConns the pool size it needs.
const (
	SplitCopyFrom = splitCopyFrom
	MinSpareConns = minSpareConns
)

// SplitAndPrepared are how many batches s split and had their audit step
// made ready on another connection.
func SplitAndPrepared(s *NAVSink) (int64, int64) { return s.split.Load(), s.prepared.Load() }

// Conflicted is how many batches s wrote again through ON CONFLICT after
// finding keys it took for new stored.
func Conflicted(s *NAVSink) int64 { return s.conflicted.Load() }

// Unsplit is how many batches s wrote again in one transaction after a
// split try waited too long for a lock.
func Unsplit(s *NAVSink) int64 { return s.unsplit.Load() }

// NewLoadedNAVSink is a NAVSink holding nav_latest's moves whose state is
// loaded and empty (a fresh database), for benchmarks without one.
func NewLoadedNAVSink() *NAVSink {
	s := &NAVSink{HoldLatest: true}
	s.state.loaded, s.state.schemes = true, map[string]*schemeState{}
	return s
}

// Committed does a committed batch's bookkeeping without a database: plan,
// apply to the state, hold the moves of nav_latest.
func (s *NAVSink) Committed(items []fund.NAVLine) {
	p := s.plan(items)
	s.apply(p)
	s.hold(latestRows(p.moved), latestRows(p.first))
}

// DropCut forgets the moves cut, as if a flush had sent them.
func (s *NAVSink) DropCut() {
	s.pendMu.Lock()
	s.cut = nil
	s.pendMu.Unlock()
}

// RetractInTx is RetractNAVs in the caller's transaction (a test holds it
// open before its commit).
func RetractInTx(ctx context.Context, tx pgx.Tx, sel NAVSelector, by string) ([]RetractedNAV, error) {
	return retractNAVs(ctx, tx, sel, by)
}
