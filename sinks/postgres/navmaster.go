package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
)

// deferMasterFrom is the number of master changes from which a batch's
// change is written after the batch (masterChange): a first NAVAll file's
// 16,000 new schemes and their audit rows held its transaction for 0.9 s,
// with fundflow idle (issue 15).
const deferMasterFrom = 1000

// errMasterAfterBatch is a master change written after its batch that
// failed again (settleMasters): not the batch's to retry.
var errMasterAfterBatch = errors.New("postgres: the scheme-master change written after its batch failed")

// masterChange is a batch's change of the scheme master (its versions and
// their audit rows), written in a transaction of its own once the batch
// committed, while the next batches are written. Only with HoldLatest: the
// engine commits the batch's checkpoint after Flush, which waits for the
// change first (settleMasters), so a crash or a failure before it commits
// replays the batch, which finds its NAVs stored and makes the change
// again. A batch that changes the master, or reads it again, waits for the
// changes in flight first. Meanwhile readers may see the batch's NAVs of
// schemes that are not yet in schemes.
type masterChange struct {
	rows []versionRow
	done chan struct{}
	err  error // under NAVSink.masterMu once done
}

// startMaster writes rows' master change in the background (see
// masterChange). The rows are copied: the batch's items are not the
// sink's to keep.
func (s *NAVSink) startMaster(ctx context.Context, rows []versionRow) {
	lines := make([]fund.NAVLine, len(rows))
	kept := make([]versionRow, len(rows))
	for i, r := range rows {
		lines[i] = *r.NAVLine
		kept[i] = versionRow{NAVLine: &lines[i], version: r.version}
	}
	c := &masterChange{rows: kept, done: make(chan struct{})}
	s.masterMu.Lock()
	s.masters = append(s.masters, c)
	s.masterMu.Unlock()
	s.mastersOpen.Add(1)
	s.deferred.Add(1)
	go func() {
		defer close(c.done)
		c.err = s.writeMaster(ctx, c.rows)
	}()
}

// writeMaster writes a master change in one transaction: the versions,
// guarded by the versions the state read, and their audit rows.
func (s *NAVSink) writeMaster(ctx context.Context, rows []versionRow) error {
	return pgx.BeginTxFunc(ctx, s.Pool, readCommitted, func(tx pgx.Tx) error {
		q := &pgx.Batch{}
		mastered := queueVersions(q, rows)
		if err := tx.SendBatch(ctx, q).Close(); err != nil {
			return fmt.Errorf("scheme master: %w", err)
		}
		if *mastered != int64(len(rows)) {
			return fmt.Errorf("scheme master: %d of %d schemes were not at the version read: %w",
				int64(len(rows))-*mastered, len(rows), errStale)
		}
		if err := AppendAudits(ctx, tx, "nav-ingest", versionAudits(rows)); err != nil {
			return fmt.Errorf("scheme master: %w", err)
		}
		return nil
	})
}

// settleMasters waits for the master changes in flight, oldest first, and
// writes one that failed again. It returns the first that fails again: a
// change another writer's made stale stays so (the versions it would make
// follow a master it did not read), and the run fails, to be run again
// from its last checkpoint on the master as it is.
func (s *NAVSink) settleMasters(ctx context.Context) error {
	s.masterMu.Lock()
	defer s.masterMu.Unlock()
	for len(s.masters) > 0 {
		c := s.masters[0]
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err != nil {
			if c.err = s.writeMaster(ctx, c.rows); c.err != nil {
				return classify(fmt.Errorf("%w (%d schemes): %w", errMasterAfterBatch, len(c.rows), c.err))
			}
		}
		s.masters = s.masters[1:]
		s.mastersOpen.Add(-1)
	}
	return nil
}
