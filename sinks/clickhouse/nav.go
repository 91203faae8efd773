package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// NAVHistory appends validated NAVs to nav_history, a ReplacingMergeTree
// keyed by (scheme_code, nav_date): a replayed batch leaves one row per key
// once merged, and queries that must be exact before a merge use FINAL.
type NAVHistory struct {
	Conn driver.Conn
	Now  func() time.Time // loaded_at, the replacing version; default time.Now
	// Latest, when set, learns every row ClickHouse acknowledged.
	Latest *LatestDates
}

// Name labels the sink's metrics.
func (NAVHistory) Name() string { return "clickhouse" }

// The range of ClickHouse's Date that every supported server reads back as
// written: days since 1970 in a UInt16, which current releases show up to
// 2149-06-06 but 18.16's date tables only up to 2105-12-31 (toDate of
// 2106-01-01 is 0000-00-00 there). A date outside it is not refused by
// ClickHouse but stored as another date (1969-01-01 as 1970-01-01,
// 2150-01-01 as 1970-07-28).
var (
	MinDate = fund.NewDate(1970, 1, 1)
	MaxDate = fund.NewDate(2105, 12, 31)
)

// ErrDateOutOfRange is returned for a record whose date a Date column
// cannot hold.
var ErrDateOutOfRange = errors.New("date outside ClickHouse's Date range 1970-01-01..2105-12-31")

// dateOutOfRange is the error of a date that a Date column would
// silently wrap.
func dateOutOfRange(d fund.Date, what string, from fund.Origin) error {
	return fmt.Errorf("clickhouse: %s dated %s (%s line %d): %w", what, d, from.File, from.Line, ErrDateOutOfRange)
}

// Write inserts a batch as one block. A batch with a date outside the Date
// range or a NAV Decimal(18, 8) cannot hold exactly is refused as a whole,
// before anything is sent: the stage should have quarantined the row, so
// this is a bug to report, never a row to store wrong.
func (s NAVHistory) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	var t strTable
	rows, err := appendRows(nil, &t, b.Items)
	if err != nil {
		return err
	}
	if err := s.sendRows(ctx, rows, t.strs); err != nil {
		return err
	}
	if s.Latest != nil {
		s.Latest.saw(b.Items)
	}
	return nil
}

// sendRows inserts rows (their strings in strs) as one block.
func (s NAVHistory) sendRows(ctx context.Context, rows []navRow, strs []string) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	loaded := now().UTC().Truncate(time.Second)
	batch, err := s.Conn.PrepareBatch(ctx, `INSERT INTO nav_history
		(scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare nav_history: %w", err))
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	if err := fillColumns(batch.Columns(), rows, strs, uint32(loaded.Unix())); err != nil {
		return err
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: send nav_history: %w", err))
	}
	return nil
}

// HeldNAVHistory is NAVHistory for a pipeline that groups batches
// (pipelines.Holder, Pipeline.HoldRows): Write checks a batch and keeps its
// rows, Flush sends the rows cut (Cut) as one insert. Each insert is a part
// that ClickHouse must write and later merge, so ten batches of 2,000 rows
// in one insert cost its server far less than ten inserts. Nothing is lost
// by holding: the engine commits a batch's checkpoint only after Flush.
//
// Flush may run while Write keeps the next batches: their rows go after
// the cut in rows, and Flush reads only rows before it (nothing else
// writes there while it runs).
type HeldNAVHistory struct {
	NAVHistory

	mu      sync.Mutex
	rows    []navRow
	strs    strTable    // the strings rows name
	batches []heldBatch // where each batch's rows are in rows, in order
	cut     int         // batches[:cut] (rows[:cutRows]) are what Flush sends
	cutRows int
}

// heldBatch is one batch's rows in HeldNAVHistory.rows: the n after
// the rows of the batches before it.
type heldBatch struct {
	through pipelines.Checkpoint
	n       int
}

func sameCheckpoint(a, b pipelines.Checkpoint) bool {
	return a.Stream == b.Stream && bytes.Equal(a.Pos, b.Pos)
}

// Write checks a batch and keeps its rows for Flush (refused as a whole
// as NAVHistory.Write refuses it). The same batch again (a retry after
// another sink failed) replaces its rows; once cut, it is kept as it is.
func (h *HeldNAVHistory) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := len(h.batches) - 1
	again := k >= 0 && sameCheckpoint(h.batches[k].through, b.Through)
	if again && k < h.cut {
		return nil
	}
	start := len(h.rows)
	rows, err := appendRows(h.rows, &h.strs, b.Items)
	if err != nil {
		return err
	}
	h.rows = rows
	if again { // the new rows in place of the batch's old ones
		from := start - h.batches[k].n
		h.rows = append(h.rows[:from], h.rows[start:]...)
		h.batches = h.batches[:k]
	}
	h.batches = append(h.batches, heldBatch{through: b.Through, n: len(b.Items)})
	return nil
}

// Held is how many rows wait for the next Cut.
func (h *HeldNAVHistory) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rows) - h.cutRows
}

// Cut marks the rows held now as what Flush sends.
func (h *HeldNAVHistory) Cut() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut, h.cutRows = len(h.batches), len(h.rows)
}

// Flush sends the rows cut as one insert. After a failure they are held
// again, in front of the rows written since.
func (h *HeldNAVHistory) Flush(ctx context.Context) error {
	h.mu.Lock()
	rows := h.rows[:h.cutRows] // Write appends after them, never into them
	strs := h.strs.strs        // Write only appends to it
	h.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	err := h.sendRows(ctx, rows, strs)
	if err == nil && h.Latest != nil {
		h.Latest.sawDates(newestDates(rows, strs))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.rows = h.rows[:copy(h.rows, h.rows[h.cutRows:])] // the backing array is kept
		k := copy(h.batches, h.batches[h.cut:])
		clear(h.batches[k:])
		h.batches = h.batches[:k]
		h.forgetStrings()
	}
	h.cut, h.cutRows = 0, 0
	return err
}

// forgetStrings lets the strings go when no row is held and they have
// become many. The table grows only by distinct values (schemes, AMCs,
// categories, files: about 15,000 on a day's NAVs, a few more each day),
// so a run keeps one table and hashes each string in once.
func (h *HeldNAVHistory) forgetStrings() {
	if len(h.rows) == 0 && len(h.strs.strs) > maxHeldStrings {
		h.strs.reset()
	}
}

// maxHeldStrings is a variable for the test that lowers it.
var maxHeldStrings = 100_000

// FlushBatch sends the rows kept of one batch as one insert, and keeps
// them after a failure (pipelines.BatchHolder: after a Flush ClickHouse
// refused, the engine finds the refused batch this way).
func (h *HeldNAVHistory) FlushBatch(ctx context.Context, through pipelines.Checkpoint) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	k, from := h.find(through)
	if k < 0 {
		return nil
	}
	rows := h.rows[from : from+h.batches[k].n]
	if err := h.sendRows(ctx, rows, h.strs.strs); err != nil {
		return err
	}
	if h.Latest != nil {
		h.Latest.sawDates(newestDates(rows, h.strs.strs))
	}
	h.remove(k, from)
	return nil
}

// DropBatch lets go of the rows kept of one batch (its file failed).
func (h *HeldNAVHistory) DropBatch(through pipelines.Checkpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, from := h.find(through); k >= 0 {
		h.remove(k, from)
	}
}

// find returns the batch's index and where its rows start; -1: none held.
func (h *HeldNAVHistory) find(through pipelines.Checkpoint) (k, from int) {
	for i, b := range h.batches {
		if sameCheckpoint(b.through, through) {
			return i, from
		}
		from += b.n
	}
	return -1, 0
}

// remove takes batch k's rows out (never while a Flush runs); the stage is
// told ClickHouse holds only rows it was sent (Flush, FlushBatch).
func (h *HeldNAVHistory) remove(k, from int) {
	n := h.batches[k].n
	h.rows = append(h.rows[:from], h.rows[from+n:]...)
	h.batches = append(h.batches[:k], h.batches[k+1:]...)
	if k < h.cut {
		h.cut, h.cutRows = h.cut-1, h.cutRows-n
	}
	h.forgetStrings()
}

// DeleteNAVs removes NAVs from nav_history: every NAV a file gave (sha256),
// or a scheme's, on one date or from a date on (zero dates: any). It is the
// ClickHouse half of retracting NAVs that should never have been accepted.
// Deleting again is a no-op.
func DeleteNAVs(ctx context.Context, conn driver.Conn, sha256, scheme string, date, from fund.Date) error {
	var conds []string
	var args []any
	if sha256 != "" {
		conds, args = append(conds, "source_sha256 = ?"), append(args, sha256)
	}
	if scheme != "" {
		conds, args = append(conds, "scheme_code = ?"), append(args, scheme)
	}
	if !date.IsZero() {
		conds, args = append(conds, "nav_date = toDate(?)"), append(args, date.String())
	}
	if !from.IsZero() {
		conds, args = append(conds, "nav_date >= toDate(?)"), append(args, from.String())
	}
	if sha256 == "" && scheme == "" {
		return errors.New("clickhouse: delete NAVs: name a file or a scheme")
	}
	return deleteNAVs(ctx, conn, strings.Join(conds, " AND "), args...)
}

// DeleteFileNAVsAfter removes the NAVs a file gave after a line: the rows of
// batches that reached ClickHouse but not every sink, when the file failed
// for good (feed.Options.Undo).
func DeleteFileNAVsAfter(ctx context.Context, conn driver.Conn, sha256 string, line int) error {
	return deleteNAVs(ctx, conn, "source_sha256 = ? AND source_line > ?", sha256, line)
}

// deleteNAVs deletes and waits until the delete (a mutation, applied in the
// background) is done, so that a query right after no longer sees the rows.
func deleteNAVs(ctx context.Context, conn driver.Conn, where string, args ...any) error {
	if err := conn.Exec(ctx, "ALTER TABLE nav_history DELETE WHERE "+where, args...); err != nil {
		return classify(fmt.Errorf("clickhouse: delete NAVs: %w", err))
	}
	for {
		var pending uint64
		if err := conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = 'nav_history' AND is_done = 0`).Scan(&pending); err != nil {
			return classify(fmt.Errorf("clickhouse: wait for the delete: %w", err))
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var _ pipelines.BatchHolder = (*HeldNAVHistory)(nil)
