package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
)

// navSource is a NAV's file as nav_sources keys it (migration 069).
type navSource struct{ file, sha256 string }

// navSources are the nav_sources ids a sink has used in its run: a file is
// looked up (or added) once, not with each of its batches.
type navSources struct {
	mu  sync.Mutex
	ids map[navSource]int32
}

// sourceIDs are the ids of a batch's files.
type sourceIDs map[navSource]int32

// resolve returns the ids of the files of rows. A new file is added to
// nav_sources in a statement of its own, committed before the batch: both
// halves of a split batch name it, from two transactions, and a file whose
// batch then fails is an id nothing names, which is harmless.
func (s *navSources) resolve(ctx context.Context, pool *pgxpool.Pool, rows ...[]*fund.NAVLine) (sourceIDs, error) {
	out := sourceIDs{}
	var last sourceHit
	for _, rs := range rows {
		for _, n := range rs {
			k := navSource{n.From.File, n.From.SHA256}
			if last.ok && k == last.src {
				continue
			}
			last = sourceHit{src: k, ok: true}
			if _, ok := out[k]; ok {
				continue
			}
			s.mu.Lock()
			id, ok := s.ids[k]
			s.mu.Unlock()
			if !ok {
				if err := pool.QueryRow(ctx, `SELECT nav_source($1, $2)`, k.file, k.sha256).Scan(&id); err != nil {
					return nil, fmt.Errorf("nav source %s (%s): %w", k.file, k.sha256, err)
				}
				s.mu.Lock()
				if s.ids == nil {
					s.ids = map[navSource]int32{}
				}
				s.ids[k] = id
				s.mu.Unlock()
			}
			out[k] = id
		}
	}
	return out, nil
}

// idOf is the id of n's file, which resolve took. It remembers the last
// one: a batch's rows come file by file.
func (ids sourceIDs) idOf(n *fund.NAVLine, last *sourceHit) (int32, error) {
	k := navSource{n.From.File, n.From.SHA256}
	if !last.ok || k != last.src {
		id, ok := ids[k]
		if !ok {
			return 0, fmt.Errorf("nav source %s (%s) was not resolved", k.file, k.sha256)
		}
		*last = sourceHit{k, id, true}
	}
	return last.id, nil
}

// sourceHit is the last file idOf looked up.
type sourceHit struct {
	src navSource
	id  int32
	ok  bool
}
