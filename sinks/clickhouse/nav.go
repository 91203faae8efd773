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
	"github.com/shopspring/decimal"

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

// checkDate refuses a date that a Date column would silently wrap.
func checkDate(d fund.Date, what string, from fund.Origin) error {
	if d.Before(MinDate) || d.After(MaxDate) {
		return fmt.Errorf("clickhouse: %s dated %s (%s line %d): %w", what, d, from.File, from.Line, ErrDateOutOfRange)
	}
	return nil
}

// Write inserts a batch as one block. A batch with a date outside the Date
// range is refused as a whole, before anything is sent: the stage should
// have quarantined the row, so this is a bug to report, never a row to
// store wrong.
func (s NAVHistory) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	if err := checkDates(b.Items); err != nil {
		return err
	}
	return s.send(ctx, b.Items)
}

func checkDates(items []fund.NAVLine) error {
	for _, n := range items {
		if err := checkDate(n.Date, "NAV of scheme "+n.SchemeCode, n.From); err != nil {
			return err
		}
	}
	return nil
}

// send inserts rows as one block.
func (s NAVHistory) send(ctx context.Context, items []fund.NAVLine) error {
	rows := make([]navRow, len(items))
	for i, n := range items {
		rows[i] = rowOf(n)
	}
	if err := s.sendRows(ctx, rows); err != nil {
		return err
	}
	if s.Latest != nil {
		s.Latest.saw(items)
	}
	return nil
}

// navRow is what nav_history keeps of a NAV: a held row keeps only these
// columns, not the whole NAVLine (scheme name, ISINs, prices, the file's
// name), so that 25,000 held rows cost a few MB, not tens.
type navRow struct {
	code, amc, category, sha string
	date                     fund.Date
	nav                      decimal.Decimal
	line                     uint32
}

func rowOf(n fund.NAVLine) navRow {
	return navRow{code: n.SchemeCode, amc: n.AMC, category: n.Category, sha: n.From.SHA256, date: n.Date, nav: n.NAV, line: uint32(n.From.Line)}
}

func (s NAVHistory) sendRows(ctx context.Context, rows []navRow) error {
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
	for _, n := range rows {
		if err := batch.Append(n.code, n.date.Time(), n.nav, n.amc, n.category, n.sha, n.line, loaded); err != nil {
			return fmt.Errorf("clickhouse: append %s %s: %w", n.code, n.date, err)
		}
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

// Write checks a batch and keeps its rows for Flush. The same batch again
// (a retry after another sink failed) replaces its rows; once cut, it is
// kept as it is.
func (h *HeldNAVHistory) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	if err := checkDates(b.Items); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if k := len(h.batches) - 1; k >= 0 && sameCheckpoint(h.batches[k].through, b.Through) {
		if k < h.cut {
			return nil
		}
		from := len(h.rows) - h.batches[k].n
		clear(h.rows[from:])
		h.rows, h.batches = h.rows[:from], h.batches[:k]
	}
	h.batches = append(h.batches, heldBatch{through: b.Through, n: len(b.Items)})
	for _, n := range b.Items {
		h.rows = append(h.rows, rowOf(n))
	}
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
	h.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	err := h.sendRows(ctx, rows)
	if err == nil && h.Latest != nil {
		h.Latest.sawDates(newestDates(rows))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		n := copy(h.rows, h.rows[h.cutRows:])
		clear(h.rows[n:]) // the backing array is kept: let the strings go
		h.rows = h.rows[:n]
		k := copy(h.batches, h.batches[h.cut:])
		clear(h.batches[k:])
		h.batches = h.batches[:k]
	}
	h.cut, h.cutRows = 0, 0
	return err
}

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
	if err := h.sendRows(ctx, rows); err != nil {
		return err
	}
	if h.Latest != nil {
		h.Latest.sawDates(newestDates(rows))
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
	clear(h.rows[len(h.rows):cap(h.rows)][:n])
	h.batches = append(h.batches[:k], h.batches[k+1:]...)
	if k < h.cut {
		h.cut, h.cutRows = h.cut-1, h.cutRows-n
	}
}

// newestDates is each scheme's newest date in rows.
func newestDates(rows []navRow) map[string]fund.Date {
	m := map[string]fund.Date{}
	for _, r := range rows {
		if d, ok := m[r.code]; !ok || r.date.After(d) {
			m[r.code] = r.date
		}
	}
	return m
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
