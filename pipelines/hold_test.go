package pipelines

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// holdSink is a Holder: Write keeps, Flush "sends" (moves what is cut
// to sent). failFlush fails the flush of that number (1-based), with a
// Transient error if transient. With release set, the first flush closes
// started and waits for release, without its lock (as an insert on the
// wire: Write goes on meanwhile).
type holdSink struct {
	mu               sync.Mutex
	kept             []string
	cut              int // kept[:cut] is what Flush sends
	sent             []string
	flushes          []int // records per flush
	failFlush        int
	transient        bool
	calls            int
	stored           func(v string) bool // rows the store has already: not kept
	started, release chan struct{}
}

func (h *holdSink) Write(ctx context.Context, b Batch[string]) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range b.Items {
		if h.stored == nil || !h.stored(v) {
			h.kept = append(h.kept, v)
		}
	}
	return nil
}

func (h *holdSink) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.kept) - h.cut
}

func (h *holdSink) Cut() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut = len(h.kept)
}

func (h *holdSink) Flush(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut == 0 {
		return nil
	}
	h.calls++
	if h.calls == 1 && h.release != nil {
		h.mu.Unlock()
		close(h.started)
		<-h.release
		h.mu.Lock()
	}
	if h.calls == h.failFlush {
		h.cut = 0
		if h.transient {
			return Transient(errors.New("clickhouse: connection reset"))
		}
		return errors.New("store refused the insert")
	}
	h.sent = append(h.sent, h.kept[:h.cut]...)
	h.flushes = append(h.flushes, h.cut)
	h.kept, h.cut = slices.Clone(h.kept[h.cut:]), 0
	return nil
}

// sentThrough is the last line sent, from the value "vN".
func (h *holdSink) sentThrough() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sent) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(h.sent[len(h.sent)-1][1:])
	return n
}

// checkedSource is a sliceSource whose every Commit checks that the holder
// has sent the batch the checkpoint closes.
type checkedSource struct {
	sliceSource
	h        *holdSink
	early    []int  // lines committed before they were sent
	onCommit func() // called at each commit (under no lock)
}

func (s *checkedSource) Commit(ctx context.Context, cp Checkpoint) error {
	n, _ := strconv.Atoi(string(cp.Pos))
	// (a line the store had already needs no sending)
	if n > s.h.sentThrough() && (s.h.stored == nil || !s.h.stored("v"+strconv.Itoa(n))) {
		s.mu.Lock()
		s.early = append(s.early, n)
		s.mu.Unlock()
	}
	if s.onCommit != nil {
		s.onCommit()
	}
	return s.sliceSource.Commit(ctx, cp)
}

// With HoldRows, a Holder sink gets one flush per HoldRows records (30
// records in batches of 3 with HoldRows 7: after batches 3, 6 and 9, and
// the last at the end), and no checkpoint commits before the flush that
// sent its batch. Without HoldRows it is flushed after every batch.
func TestRunHoldsRecordsUntilHoldRowsAndCommitsAfterTheFlush(t *testing.T) {
	for _, tc := range []struct {
		holdRows int
		flushes  []int
	}{
		{7, []int{9, 9, 9, 3}},
		{0, []int{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}},
	} {
		h := &holdSink{}
		src := &checkedSource{sliceSource: sliceSource{recs: records(30, nil), n: 3}, h: h}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{&memSink{}, h},
			Retry: fastRetry, HoldRows: tc.holdRows, HoldFor: time.Hour}
		st, err := p.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Out != 30 || len(h.sent) != 30 {
			t.Errorf("HoldRows %d: out %d, sent %d; want 30", tc.holdRows, st.Out, len(h.sent))
		}
		if !slices.Equal(h.flushes, tc.flushes) {
			t.Errorf("HoldRows %d: flushes of %v records, want %v", tc.holdRows, h.flushes, tc.flushes)
		}
		if want := []int{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}; !slices.Equal(src.commits, want) {
			t.Errorf("HoldRows %d: commits %v, want %v", tc.holdRows, src.commits, want)
		}
		if len(src.early) > 0 {
			t.Errorf("HoldRows %d: lines %v committed before the holder sent them", tc.holdRows, src.early)
		}
	}
}

// The threshold flush runs in the background: the writer writes the next
// batch to every sink while the flush before it has not returned, commits
// none of that flush's batches before it returns, and commits in source
// order. 12 records in batches of 3, HoldRows 3: each batch starts a
// flush; the first waits until the test lets it go.
func TestRunWritesTheNextBatchWhileAHeldFlushRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &holdSink{started: make(chan struct{}), release: make(chan struct{})}
		wrote2 := make(chan struct{})
		other := &memSink{fail: func(call int) error {
			if call == 2 {
				close(wrote2)
			}
			return nil
		}}
		src := &checkedSource{sliceSource: sliceSource{recs: records(12, nil), n: 3}, h: h}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{Fanout[string]{other, h}},
			Retry: fastRetry, HoldRows: 3, HoldFor: time.Hour}
		done := make(chan error, 1)
		go func() { _, err := p.Run(context.Background()); done <- err }()
		<-h.started
		<-wrote2 // (a flush in the writer: batch 2 is never written, a deadlock)
		synctest.Wait()
		src.mu.Lock()
		commits := slices.Clone(src.commits)
		src.mu.Unlock()
		h.mu.Lock()
		kept, sent := slices.Clone(h.kept), len(h.sent)
		h.mu.Unlock()
		// the writer waits for the first flush before it starts the second
		if len(commits) != 0 || sent != 0 || !slices.Equal(kept, []string{"v1", "v2", "v3", "v4", "v5", "v6"}) {
			t.Errorf("while the first flush runs: commits %v, %d sent, kept %v; want none, 0, v1-v6 (batch 2 after batch 1)", commits, sent, kept)
		}
		close(h.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 6, 9, 12}; !slices.Equal(src.commits, want) {
			t.Errorf("commits %v, want %v", src.commits, want)
		}
		if len(src.early) > 0 {
			t.Errorf("lines %v committed before the flush that sent them returned", src.early)
		}
		if want := []string{"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"}; !slices.Equal(h.sent, want) ||
			!slices.Equal(h.flushes, []int{3, 3, 3, 3}) {
			t.Errorf("sent %v in flushes of %v; want v1-v12 in four flushes of 3", h.sent, h.flushes)
		}
	})
}

// A flush that fails in the background with a transient error is sent
// again by the writer (with the batches held since, behind it): every
// record reaches the store once, in order, and every batch commits after
// it, in order. 30 records in batches of 3, HoldRows 7: the second flush
// (lines 10-18) fails once.
func TestRunSendsAgainAHeldFlushThatFailedInTheBackground(t *testing.T) {
	h := &holdSink{failFlush: 2, transient: true}
	src := &checkedSource{sliceSource: sliceSource{recs: records(30, nil), n: 3}, h: h}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{&memSink{}, h},
		Retry: fastRetry, HoldRows: 7, HoldFor: time.Hour}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 1; i <= 30; i++ {
		want = append(want, "v"+strconv.Itoa(i))
	}
	if !slices.Equal(h.sent, want) {
		t.Errorf("sent %v, want v1-v30 once each, in order", h.sent)
	}
	if want := []int{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}; !slices.Equal(src.commits, want) {
		t.Errorf("commits %v, want %v", src.commits, want)
	}
	if len(src.early) > 0 {
		t.Errorf("lines %v committed before the holder sent them", src.early)
	}
	if h.calls < 3 {
		t.Errorf("%d flushes, want the failed second sent again", h.calls)
	}
}

// A batch that leaves nothing held (its rows already stored, as a NAV
// file published again) commits at once, and batches that each add a
// few rows commit at least every MaxHeldBatches batches: 200 batches of
// one record, only the first new, HoldRows 7. The first commit comes
// with the MaxHeldBatches-th batch (one flush, of 1 record); each one
// after it commits on its own, since nothing is held any more.
func TestRunCommitsBatchesThatLeaveNothingHeld(t *testing.T) {
	h := &holdSink{stored: func(v string) bool { return v != "v1" }}
	src := &checkedSource{sliceSource: sliceSource{recs: records(200, nil), n: 1}, h: h}
	var firstAt atomic.Int64 // batches read when the first commit came
	src.onCommit = func() { firstAt.CompareAndSwap(0, src.reads.Load()) }
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{h},
		Retry: fastRetry, HoldRows: 7, HoldFor: time.Hour}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.commits) != 200 || !slices.Equal(h.flushes, []int{1}) || !slices.Equal(h.sent, []string{"v1"}) {
		t.Fatalf("%d commits, flushes %v, sent %v; want 200 commits and one flush of v1", len(src.commits), h.flushes, h.sent)
	}
	// the reader runs ahead of the writer by its channel, not by more
	// than a few batches: the first commit came long before the end
	if got := firstAt.Load(); got < MaxHeldBatches || got > MaxHeldBatches+16 {
		t.Errorf("first commit after %d batches read, want about %d", got, MaxHeldBatches)
	}
	if len(src.early) > 0 {
		t.Errorf("lines %v committed before the holder sent them", src.early)
	}
	// all rows stored: every batch commits without a flush
	h = &holdSink{stored: func(string) bool { return true }}
	src = &checkedSource{sliceSource: sliceSource{recs: records(300, nil), n: 3}, h: h}
	var reads []int64
	src.onCommit = func() { reads = append(reads, src.reads.Load()) }
	p = &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{h},
		Retry: fastRetry, HoldRows: 7, HoldFor: time.Hour}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.commits) != 100 || len(h.flushes) != 0 {
		t.Fatalf("%d commits, flushes %v; want 100 and none", len(src.commits), h.flushes)
	}
	if reads[0] > 16 { // read ahead by the channel, far below 64 batches
		t.Errorf("the first commit came after %d batches read, want it at once", reads[0])
	}
}

// A flush that fails commits none of the batches it held: the run fails
// with the batches before it committed, and a rerun loads the rest again.
func TestRunCommitsNoHeldBatchWhenTheFlushFails(t *testing.T) {
	h := &holdSink{failFlush: 2}
	src := &checkedSource{sliceSource: sliceSource{recs: records(30, nil), n: 3}, h: h}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{h},
		Retry: Retry{Attempts: 1}, HoldRows: 7, HoldFor: time.Hour}
	if _, err := p.Run(context.Background()); err == nil {
		t.Fatal("run succeeded with a failed flush")
	}
	if want := []int{3, 6, 9}; !slices.Equal(src.commits, want) {
		t.Errorf("commits %v, want %v (the first flush's batches only)", src.commits, want)
	}
	if len(src.early) > 0 {
		t.Errorf("lines %v committed before the holder sent them", src.early)
	}
}

// stallSource serves its batches, then waits for the run's end, as a
// folder with no new file does.
type stallSource struct{ sliceSource }

func (s *stallSource) Read(ctx context.Context) (Batch[rec], error) {
	b, err := s.sliceSource.Read(ctx)
	if errors.Is(err, ErrEndOfInput) {
		<-ctx.Done()
		return Batch[rec]{}, ctx.Err()
	}
	return b, err
}

// Held batches are flushed and committed once no batch has come for
// HoldFor, even when HoldRows is not reached: a quiet source's data does
// not wait for the run's end.
func TestRunFlushesHeldBatchesWhenNoBatchComesForHoldFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &holdSink{}
		src := &stallSource{sliceSource{recs: records(6, nil), n: 3}}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{h},
			Retry: fastRetry, HoldRows: 1000, HoldFor: 5 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := p.Run(ctx); done <- err }()
		time.Sleep(4 * time.Second)
		src.mu.Lock()
		before := len(src.commits)
		src.mu.Unlock()
		time.Sleep(2 * time.Second)
		src.mu.Lock()
		after := slices.Clone(src.commits)
		src.mu.Unlock()
		cancel()
		<-done
		if before != 0 {
			t.Errorf("%d batches committed before HoldFor passed", before)
		}
		if !slices.Equal(after, []int{3, 6}) || !slices.Equal(h.flushes, []int{6}) {
			t.Errorf("after HoldFor: commits %v, flushes %v; want [3 6] and one flush of 6", after, h.flushes)
		}
	})
}

// A flush in the background that ends while no batch comes commits its
// batches at once, not after HoldFor: 6 records in batches of 3, HoldRows
// 3 (each batch starts a flush), then the source is quiet.
func TestRunCommitsABackgroundFlushsBatchesWhenItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &holdSink{}
		src := &stallSource{sliceSource{recs: records(6, nil), n: 3}}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{h},
			Retry: fastRetry, HoldRows: 3, HoldFor: 5 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := p.Run(ctx); done <- err }()
		time.Sleep(time.Second)
		synctest.Wait()
		src.mu.Lock()
		commits := slices.Clone(src.commits)
		src.mu.Unlock()
		cancel()
		<-done
		if !slices.Equal(commits, []int{3, 6}) || !slices.Equal(h.flushes, []int{3, 3}) {
			t.Errorf("1 s in (HoldFor 5 s): commits %v, flushes %v; want [3 6] and two flushes of 3", commits, h.flushes)
		}
	})
}

// heldUnits holds urecs until Flush.
type heldUnits struct {
	mu         sync.Mutex
	kept, sent []urec
	cut        int
}

func (h *heldUnits) Write(ctx context.Context, b Batch[urec]) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kept = append(h.kept, b.Items...)
	return nil
}

func (h *heldUnits) Held() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.kept) - h.cut }

func (h *heldUnits) Cut() { h.mu.Lock(); defer h.mu.Unlock(); h.cut = len(h.kept) }

func (h *heldUnits) Flush(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent, h.kept, h.cut = append(h.sent, h.kept[:h.cut]...), slices.Clone(h.kept[h.cut:]), 0
	return nil
}

// observedUnits calls onFail when a unit is failed, before the source
// records it.
type observedUnits struct {
	*unitSource
	onFail func()
}

func (o observedUnits) FailUnit(ctx context.Context, cp Checkpoint, err error) error {
	o.onFail()
	return o.unitSource.FailUnit(ctx, cp, err)
}

// Before a unit is failed, what the holders hold is sent and the batches
// before the failed one commit: the failed file's rows a holder took
// (its batch that another sink refused) reach the store before the
// source's FailUnit, whose undo (feed.Options.Undo) takes them back, and
// never after it.
func TestRunFlushesHeldBatchesBeforeAUnitFails(t *testing.T) {
	// 1000: the flush before FailUnit sends all; 3: every batch starts a
	// flush in the background, and the one in flight ends first.
	for _, holdRows := range []int{1000, 3} {
		src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
		h := &heldUnits{}
		refuse := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error {
			if b.Items[0].unit == "b.txt" && b.Items[0].line == 4 {
				return errors.New("copy navs: numeric field overflow")
			}
			return nil
		}}
		var sentAtFail, heldAtFail int
		var commitsAtFail []string
		obs := observedUnits{unitSource: src, onFail: func() {
			h.mu.Lock()
			sentAtFail, heldAtFail = len(h.sent), len(h.kept)
			h.mu.Unlock()
			src.mu.Lock()
			commitsAtFail = slices.Clone(src.commits)
			src.mu.Unlock()
		}}
		p := &Pipeline[urec, urec]{Name: "t", Source: obs, Stage: passUnit, Sinks: []Sink[urec]{h, refuse}, Retry: fastRetry,
			Buffer: 4, HoldRows: holdRows, HoldFor: time.Hour}
		if _, err := p.Run(context.Background()); !errors.Is(err, ErrUnitFailed) {
			t.Fatalf("HoldRows %d: err = %v, want the unit failed", holdRows, err)
		}
		// a 9 records, b 6 (lines 1-3 and the refused 4-6) when b fails.
		if sentAtFail != 15 || heldAtFail != 0 {
			t.Errorf("HoldRows %d: at FailUnit: %d sent, %d held; want 15 and 0", holdRows, sentAtFail, heldAtFail)
		}
		if got, want := strings.Join(commitsAtFail, " "), "a.txt:3 a.txt:6 a.txt:9 b.txt:3"; got != want {
			t.Errorf("HoldRows %d: committed at FailUnit: %s, want %s", holdRows, got, want)
		}
		if got, want := strings.Join(src.commits, " "), "a.txt:3 a.txt:6 a.txt:9 b.txt:3 c.txt:3 c.txt:6 c.txt:9"; got != want {
			t.Errorf("HoldRows %d: commits %s, want %s", holdRows, got, want)
		}
		if len(h.sent) != 24 {
			t.Errorf("HoldRows %d: %d records sent, want 24 (a, b 1-6, c)", holdRows, len(h.sent))
		}
	}
}

// failingHold holds and never manages to send.
type failingHold struct{ heldUnits }

func (f *failingHold) Flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = 0
	return errors.New("clickhouse: connection refused")
}

// The very first batch refused by one sink, its records held by another
// whose flush then fails: the run fails with both causes and commits
// nothing (no batch was held, only the refused batch's records).
func TestRunFailsCleanlyWhenAFailedBatchsRecordsCannotBeFlushed(t *testing.T) {
	src := &unitSource{units: []string{"a.txt"}, lines: 9, n: 3, failed: map[string]error{}}
	h := &failingHold{}
	refuse := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error { return errors.New("copy navs: numeric field overflow") }}
	p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{h, refuse}, Retry: Retry{Attempts: 1},
		HoldRows: 1000, HoldFor: time.Hour}
	_, err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "numeric field overflow") {
		t.Fatalf("err = %v, want the flush's and the batch's errors", err)
	}
	if len(src.commits) != 0 || len(src.failed) != 0 {
		t.Errorf("commits %v, failed units %v; want none", src.commits, src.failed)
	}
}

// A holder wrapped in Isolating is still flushed before its batches
// commit (the wrapper passes Held and Flush through).
func TestRunFlushesAHolderInsideIsolating(t *testing.T) {
	h := &holdSink{}
	src := &checkedSource{sliceSource: sliceSource{recs: records(30, nil), n: 3}, h: h}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Retry: fastRetry, HoldRows: 7, HoldFor: time.Hour,
		Sinks: []Sink[string]{Isolating[string]{Sink: h, Locate: func(string) (Position, []byte) { return Position{}, nil }}}}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.sent) != 30 || len(src.commits) != 10 || len(src.early) > 0 {
		t.Errorf("sent %d, commits %v, early %v; want 30 sent, 10 commits, none early", len(h.sent), src.commits, src.early)
	}
}

// batchHold is a BatchHolder of urecs whose store refuses, for good, any
// insert that carries the record refused (as ClickHouse refuses a whole
// insert for one value it cannot take).
type batchHold struct {
	mu      sync.Mutex
	refused string
	also    string       // a second refused value
	batches []Checkpoint // in the order held
	cut     int          // batches[:cut] are what Flush sends
	kept    map[string][]urec
	sent    []urec
	inserts int
}

func (h *batchHold) key(cp Checkpoint) string { return cp.Stream + "|" + string(cp.Pos) }

func (h *batchHold) Write(ctx context.Context, b Batch[urec]) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kept == nil {
		h.kept = map[string][]urec{}
	}
	k := h.key(b.Through)
	if _, ok := h.kept[k]; !ok {
		h.batches = append(h.batches, b.Through)
	}
	h.kept[k] = slices.Clone(b.Items)
	return nil
}

func (h *batchHold) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, cp := range h.batches[h.cut:] {
		n += len(h.kept[h.key(cp)])
	}
	return n
}

func (h *batchHold) Cut() { h.mu.Lock(); defer h.mu.Unlock(); h.cut = len(h.batches) }

func (h *batchHold) send(rs []urec) error {
	h.inserts++
	for _, r := range rs {
		if r.val == h.refused || (h.also != "" && r.val == h.also) {
			return errors.New("clickhouse: code 53: cannot convert " + r.val)
		}
	}
	h.sent = append(h.sent, rs...)
	return nil
}

func (h *batchHold) Flush(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut == 0 {
		return nil
	}
	var all []urec
	for _, cp := range h.batches[:h.cut] {
		all = append(all, h.kept[h.key(cp)]...)
	}
	cut := h.cut
	h.cut = 0
	if err := h.send(all); err != nil {
		return err
	}
	for _, cp := range h.batches[:cut] {
		delete(h.kept, h.key(cp))
	}
	h.batches = slices.Clone(h.batches[cut:])
	return nil
}

func (h *batchHold) FlushBatch(ctx context.Context, cp Checkpoint) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.key(cp)
	if err := h.send(h.kept[k]); err != nil {
		return err
	}
	h.forget(k)
	return nil
}

func (h *batchHold) DropBatch(cp Checkpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forget(h.key(cp))
}

func (h *batchHold) forget(k string) {
	delete(h.kept, k)
	h.batches = slices.DeleteFunc(h.batches, func(c Checkpoint) bool { return h.key(c) == k })
}

// A store that refuses, at flush time, one value of a file: one held
// insert carries the batches of three files, so the engine sends them
// again batch by batch, fails the refused batch's file only (its batches
// after the refused one are not sent), and loads the other files. The
// holder sits in a Fanout, as ClickHouse's does in nav-ingest.
func TestRunFailsOnlyTheFileOfABatchTheStoreRefusesAtFlush(t *testing.T) {
	// 1000: one flush at the end; 6: flushes of two batches run in the
	// background, and the refused one is in flight while the next batches
	// are written.
	for _, tc := range []struct{ holdRows int }{{1000}, {6}} {
		src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
		h := &batchHold{refused: "b.txt/5"}
		// A holder beside it that cannot send batch by batch (as
		// nav_latest's held moves): in the background case it holds
		// records of the batches written while the refused flush ran.
		plain := &heldUnits{}
		other := &unitSink{got: map[string]int{}, fail: func(Batch[urec]) error { return nil }}
		p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{Fanout[urec]{other, plain, h}},
			Retry: fastRetry, HoldRows: tc.holdRows, HoldFor: time.Hour}
		st, err := p.Run(context.Background())
		if !errors.Is(err, ErrUnitFailed) || !strings.Contains(err.Error(), "b.txt lines 4-6") || !strings.Contains(err.Error(), "cannot convert") {
			t.Fatalf("HoldRows %d: err = %v, want b.txt lines 4-6 failed with the store's refusal", tc.holdRows, err)
		}
		if got, want := strings.Join(src.commits, " "), "a.txt:3 a.txt:6 a.txt:9 b.txt:3 c.txt:3 c.txt:6 c.txt:9"; got != want {
			t.Errorf("HoldRows %d: commits %s, want %s", tc.holdRows, got, want)
		}
		if len(src.failed) != 1 || src.failed["b.txt"] == nil {
			t.Errorf("HoldRows %d: failed units %v, want b.txt only", tc.holdRows, src.failed)
		}
		perUnit := map[string]int{}
		for _, r := range h.sent {
			perUnit[r.unit]++
		}
		if perUnit["a.txt"] != 9 || perUnit["b.txt"] != 3 || perUnit["c.txt"] != 9 || h.Held() != 0 {
			t.Errorf("HoldRows %d: sent %v, %d held; want a 9, b 3 (lines 1-3), c 9 and none held", tc.holdRows, perUnit, h.Held())
		}
		plainUnits := map[string]int{}
		for _, r := range plain.sent {
			plainUnits[r.unit]++
		}
		if plainUnits["a.txt"] != 9 || plainUnits["c.txt"] != 9 || plain.Held() != 0 || len(plain.kept) != 0 {
			t.Errorf("HoldRows %d: the plain holder sent %v and keeps %d; want a 9, c 9 and nothing kept", tc.holdRows, plainUnits, len(plain.kept))
		}
		if st.FailedUnits != 1 || st.Out != 21 {
			t.Errorf("HoldRows %d: stats: %d failed units, %d out; want 1 and 21 (a, b lines 1-3, c)", tc.holdRows, st.FailedUnits, st.Out)
		}
	}
}

// Both at once: another sink refuses a batch of c.txt while the held
// insert before it carries b.txt's value the store refuses. The held
// batches go batch by batch (b fails), then c's refused batch, whose
// records the holder took, is let go and c fails: a whole, b and c up
// to their refused batches.
func TestRunFailsBothFilesWhenAFailedBatchFollowsARefusedFlush(t *testing.T) {
	// 1000: one flush at the end; 6: flushes of two batches run in the
	// background, and the refused one is in flight while the next batches
	// are written.
	for _, tc := range []struct{ holdRows int }{{1000}, {6}} {
		src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
		h := &batchHold{refused: "b.txt/5"}
		other := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error {
			if b.Items[0].unit == "c.txt" && b.Items[0].line == 4 {
				return errors.New("copy navs: numeric field overflow")
			}
			return nil
		}}
		p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{Fanout[urec]{other, h}},
			Retry: fastRetry, HoldRows: tc.holdRows, HoldFor: time.Hour}
		st, err := p.Run(context.Background())
		if !errors.Is(err, ErrUnitFailed) {
			t.Fatalf("HoldRows %d: err = %v, want units failed", tc.holdRows, err)
		}
		if got, want := strings.Join(src.commits, " "), "a.txt:3 a.txt:6 a.txt:9 b.txt:3 c.txt:3"; got != want {
			t.Errorf("HoldRows %d: commits %s, want %s", tc.holdRows, got, want)
		}
		if len(src.failed) != 2 || src.failed["b.txt"] == nil || src.failed["c.txt"] == nil {
			t.Errorf("HoldRows %d: failed units %v, want b.txt and c.txt", tc.holdRows, src.failed)
		}
		perUnit := map[string]int{}
		for _, r := range h.sent {
			perUnit[r.unit]++
		}
		if perUnit["a.txt"] != 9 || perUnit["b.txt"] != 3 || perUnit["c.txt"] != 3 || h.Held() != 0 {
			t.Errorf("HoldRows %d: sent %v, %d held; want a 9, b 3, c 3 and none held", tc.holdRows, perUnit, h.Held())
		}
		if st.FailedUnits != 2 {
			t.Errorf("HoldRows %d: %d failed units, want 2", tc.holdRows, st.FailedUnits)
		}
	}
}

// The store refuses batches of two files at the re-send: that is the store
// refusing everything (ClickHouse read-only), not two bad files. The run
// fails and commits nothing more, and no file is failed and set aside, so
// the next run loads them all again. (Before: b and c failed one by one.)
func TestRunFailsTheRunWhenTheStoreRefusesBatchesOfTwoFiles(t *testing.T) {
	// 1000: every batch was held in the refused flush, so none commits;
	// 6: the flushes before the refused one (b.txt lines 4-9, in flight
	// while c.txt's are written) committed theirs.
	for _, tc := range []struct {
		holdRows int
		commits  string
	}{{1000, ""}, {6, "a.txt:3 a.txt:6 a.txt:9 b.txt:3"}} {
		src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
		h := &batchHold{refused: "b.txt/5", also: "c.txt/2"}
		other := &unitSink{got: map[string]int{}, fail: func(Batch[urec]) error { return nil }}
		p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{Fanout[urec]{other, h}},
			Retry: fastRetry, HoldRows: tc.holdRows, HoldFor: time.Hour}
		_, err := p.Run(context.Background())
		if err == nil || errors.Is(err, ErrUnitFailed) || !strings.Contains(err.Error(), "several units") {
			t.Fatalf("HoldRows %d: err = %v, want the run failed for refusals of several units", tc.holdRows, err)
		}
		if len(src.failed) != 0 {
			t.Errorf("HoldRows %d: failed units %v, want none (the next run loads them again)", tc.holdRows, src.failed)
		}
		if got := strings.Join(src.commits, " "); got != tc.commits {
			t.Errorf("HoldRows %d: commits %q, want %q", tc.holdRows, got, tc.commits)
		}
	}
}

// A batch one sink refuses, whose records the holder took, is the first
// after a flush (nothing else held), and the store would refuse those
// records too: they are let go before the flush, so only the batch's file
// fails and the next file loads. (Before: the flush of its records alone
// was refused and the run failed.)
func TestRunDropsAFailingBatchsRecordsWhenNothingElseIsHeld(t *testing.T) {
	src := &unitSource{units: []string{"a.txt", "b.txt"}, lines: 9, n: 3, failed: map[string]error{}}
	h := &batchHold{refused: "a.txt/5"}
	other := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error {
		if b.Items[0].unit == "a.txt" && b.Items[0].line == 4 {
			return errors.New("copy navs: numeric field overflow")
		}
		return nil
	}}
	// HoldRows 3: every batch flushes as it comes, so a.txt 4-6 finds
	// nothing held but its own records.
	p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{Fanout[urec]{h, other}},
		Retry: fastRetry, HoldRows: 3, HoldFor: time.Hour}
	_, err := p.Run(context.Background())
	if !errors.Is(err, ErrUnitFailed) || !strings.Contains(err.Error(), "numeric field overflow") {
		t.Fatalf("err = %v, want a.txt failed with the other sink's refusal", err)
	}
	if len(src.failed) != 1 || src.failed["a.txt"] == nil {
		t.Errorf("failed units %v, want a.txt only", src.failed)
	}
	if got, want := strings.Join(src.commits, " "), "a.txt:3 b.txt:3 b.txt:6 b.txt:9"; got != want {
		t.Errorf("commits %s, want %s", got, want)
	}
	perUnit := map[string]int{}
	for _, r := range h.sent {
		perUnit[r.unit]++
	}
	if perUnit["a.txt"] != 3 || perUnit["b.txt"] != 9 || h.Held() != 0 {
		t.Errorf("sent %v, %d held; want a 3, b 9 and none held", perUnit, h.Held())
	}
}

// halfSink holds records the way a Holder did before Cut: Held and Flush.
type halfSink struct{ memSink }

func (*halfSink) Held() int                   { return 1 }
func (*halfSink) Flush(context.Context) error { return nil }

// A sink with Held and Flush but no Cut (a Holder written before Cut) is
// refused before anything is read, in a Fanout too, instead of holding
// records nobody flushes.
func TestRunRefusesAHolderWithoutCut(t *testing.T) {
	for _, sinks := range [][]Sink[string]{{&halfSink{}}, {Fanout[string]{&memSink{}, &halfSink{}}}} {
		src := &sliceSource{recs: records(3, nil), n: 3}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: sinks, Retry: fastRetry, HoldRows: 7}
		_, err := p.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no Cut") || src.reads.Load() != 0 {
			t.Errorf("%T: err = %v, %d reads; want the sink refused before any read", sinks[0], err, src.reads.Load())
		}
	}
}

// unorderedSource is a sliceSource of independent batches (several
// writers), whose Commit checks that the holder sent the batch's records.
type unorderedSource struct {
	sliceSource
	h     *holdSink
	early []int // batches committed before the holder sent them
}

func (*unorderedSource) Unordered() {}

func (s *unorderedSource) Commit(ctx context.Context, cp Checkpoint) error {
	last, _ := strconv.Atoi(string(cp.Pos))
	s.h.mu.Lock()
	sent := slices.Contains(s.h.sent, "v"+strconv.Itoa(last))
	s.h.mu.Unlock()
	if !sent {
		s.mu.Lock()
		s.early = append(s.early, last)
		s.mu.Unlock()
	}
	return s.sliceSource.Commit(ctx, cp)
}

// gateSink holds batch 1's write until batch 2 has been written.
type gateSink struct{ second chan struct{} }

func (g gateSink) Write(ctx context.Context, b Batch[string]) error {
	if b.Items[0] == "v1" {
		<-g.second
	} else {
		close(g.second)
	}
	return nil
}

// Two writers, no HoldRows: each flushes the holder after its batch. The
// second writer's flush cuts the first writer's records too; the first
// writer must not take "nothing held" for "sent" and commit while that
// flush is still running (review r37b N2).
func TestWritersCommitOnlyAfterTheFlushThatCarriesTheirRecords(t *testing.T) {
	h := &holdSink{started: make(chan struct{}), release: make(chan struct{})}
	src := &unorderedSource{sliceSource: sliceSource{recs: records(6, nil), n: 3}, h: h}
	p := &Pipeline[rec, string]{Name: "w", Source: src, Stage: testStage,
		Sinks: []Sink[string]{h, gateSink{second: make(chan struct{})}}, Writers: 2, Retry: fastRetry}
	go func() {
		<-h.started
		// Give a writer that does not wait for the flush the time to
		// commit under it.
		time.Sleep(200 * time.Millisecond)
		close(h.release)
	}()
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(src.early) > 0 || len(src.commits) != 2 {
		t.Fatalf("batches %v committed before the holder sent them; commits %v", src.early, src.commits)
	}
}

// finishHold is a holdSink that is a Finisher: Finish records what was
// sent, held and committed when it came, and fails with err (once).
type finishHold struct {
	holdSink
	src                    *sliceSource
	finishes               int
	sentAt, heldAt, commAt int
	err                    error
}

func (h *finishHold) Finish(ctx context.Context) error {
	held := h.Held()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finishes++
	h.sentAt, h.heldAt = len(h.sent), held
	h.src.mu.Lock()
	h.commAt = len(h.src.commits)
	h.src.mu.Unlock()
	err := h.err
	h.err = nil
	return err
}

// Run finishes a Finisher (inside a Fanout too) once every batch is
// flushed and committed, retries a Finish that failed for now and fails
// the run with one that keeps failing; a run that failed before never
// finishes it.
func TestRunFinishesFinishersAfterTheLastCommit(t *testing.T) {
	refused := errors.New("store refused the last send")
	for _, tc := range []struct {
		name       string
		err        error
		failBatch  bool
		wantErr    error
		wantFinish int
	}{
		{name: "ok", wantFinish: 1},
		{name: "retried", err: Transient(errors.New("connection reset")), wantFinish: 2},
		{name: "refused", err: refused, wantErr: refused, wantFinish: 1},
		{name: "run failed", failBatch: true, wantErr: errBatch, wantFinish: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &sliceSource{recs: records(30, nil), n: 3}
			h := &finishHold{src: src, err: tc.err}
			sinks := []Sink[string]{Fanout[string]{h}}
			if tc.failBatch {
				sinks = append(sinks, &memSink{fail: func(call int) error {
					if call == 5 {
						return errBatch
					}
					return nil
				}})
			}
			p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: sinks,
				Retry: fastRetry, HoldRows: 7, HoldFor: time.Hour}
			_, err := p.Run(context.Background())
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("run: %v, want %v", err, tc.wantErr)
			}
			if h.finishes != tc.wantFinish {
				t.Fatalf("finished %d times, want %d", h.finishes, tc.wantFinish)
			}
			if tc.wantFinish > 0 && (h.sentAt != 30 || h.heldAt != 0 || h.commAt != 10) {
				t.Fatalf("finished with %d records sent, %d held, %d batches committed; want 30, 0, 10", h.sentAt, h.heldAt, h.commAt)
			}
		})
	}
}

// errBatch is a sink's permanent refusal of a batch.
var errBatch = errors.New("sink refused the batch")

// finishUnits is a heldUnits that is a Finisher refusing with err.
type finishUnits struct {
	heldUnits
	finishes, sentAt int
	err              error
}

func (f *finishUnits) Finish(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finishes++
	f.sentAt = len(f.sent)
	return f.err
}

// A run with a failed unit still finishes (the other units' records), and
// fails with both errors.
func TestRunFinishesAfterAUnitFailed(t *testing.T) {
	refused := errors.New("store refused the last send")
	src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
	h := &finishUnits{err: refused}
	refuse := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error {
		if b.Items[0].unit == "b.txt" && b.Items[0].line == 4 {
			return errors.New("copy navs: numeric field overflow")
		}
		return nil
	}}
	p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{h, refuse}, Retry: fastRetry,
		HoldRows: 1000, HoldFor: time.Hour}
	_, err := p.Run(context.Background())
	if !errors.Is(err, ErrUnitFailed) || !errors.Is(err, refused) {
		t.Fatalf("run: %v, want the unit failed and the finish refused", err)
	}
	// a 9, b 1-6 (sent before b failed), c 9
	if h.finishes != 1 || h.sentAt != 24 {
		t.Fatalf("finished %d times with %d records sent, want once with 24", h.finishes, h.sentAt)
	}
}
