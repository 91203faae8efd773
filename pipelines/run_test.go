package pipelines

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// rec is a record with a line number; value "bad" is rejected by testStage.
type rec struct {
	line int
	val  string
}

func (r rec) Origin() (Position, []byte) {
	return Position{File: "mem", Line: r.line}, []byte(r.val)
}

// sliceSource serves recs in batches of size n and remembers commits.
type sliceSource struct {
	recs    []rec
	n       int
	next    int
	reads   atomic.Int64
	mu      sync.Mutex
	commits []int // last line of each committed batch
	closes  atomic.Int64
}

func (s *sliceSource) Read(ctx context.Context) (Batch[rec], error) {
	s.reads.Add(1)
	if s.next >= len(s.recs) {
		return Batch[rec]{}, ErrEndOfInput
	}
	end := min(s.next+s.n, len(s.recs))
	b := Batch[rec]{Items: s.recs[s.next:end], Through: Checkpoint{Stream: "mem", Pos: []byte(strconv.Itoa(s.recs[end-1].line))}}
	s.next = end
	return b, nil
}

func (s *sliceSource) Close() error { s.closes.Add(1); return nil }

func (s *sliceSource) Commit(ctx context.Context, cp Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(string(cp.Pos))
	s.commits = append(s.commits, n)
	return nil
}

type memSink struct {
	mu    sync.Mutex
	got   []string
	fail  func(call int) error
	calls int
}

func (m *memSink) Write(ctx context.Context, b Batch[string]) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		if err := m.fail(m.calls); err != nil {
			return err
		}
	}
	m.got = append(m.got, b.Items...)
	return nil
}

// memQuarantine may be Put from the engine and from an Isolating sink at
// once (the engine writes the quarantine alongside the sinks).
type memQuarantine struct {
	mu  sync.Mutex
	got []Rejected
}

func (q *memQuarantine) Put(ctx context.Context, rs []Rejected) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, rs...)
	return nil
}

func testStage(ctx context.Context, r rec) (string, error) {
	if r.val == "bad" {
		return "", Reject("bad_value", "line %d is bad", r.line)
	}
	return r.val, nil
}

func records(n int, bad func(i int) bool) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{line: i + 1, val: "v" + strconv.Itoa(i+1)}
		if bad != nil && bad(i+1) {
			out[i].val = "bad"
		}
	}
	return out
}

var fastRetry = Retry{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}

func TestRunDeliversEveryRecordAndCommitsInOrder(t *testing.T) {
	src := &sliceSource{recs: records(1000, func(i int) bool { return i%100 == 7 }), n: 64}
	sink := &memSink{}
	q := &memQuarantine{}
	reg := prometheus.NewRegistry()
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Quarantine: q, Retry: fastRetry, Metrics: NewMetrics(reg)}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 1000 records, every line ≡ 7 mod 100 is bad: 10 bad.
	if st.In != 1000 || st.Out != 990 || st.Quarantined != 10 || st.Reasons["bad_value"] != 10 {
		t.Fatalf("stats = %+v", st)
	}
	if len(sink.got) != 990 || sink.got[0] != "v1" || sink.got[989] != "v1000" {
		t.Fatalf("sink got %d records, first %q last %q", len(sink.got), sink.got[0], sink.got[len(sink.got)-1])
	}
	if len(q.got) != 10 || q.got[0].Pos.Line != 7 || string(q.got[0].Raw) != "bad" || q.got[0].Reason != "bad_value" {
		t.Fatalf("quarantine = %+v", q.got[:1])
	}
	// ceil(1000/64) = 16 batches, committed in order, the last at line 1000.
	if len(src.commits) != 16 || src.commits[15] != 1000 {
		t.Fatalf("commits = %v", src.commits)
	}
	for i := 1; i < len(src.commits); i++ {
		if src.commits[i] <= src.commits[i-1] {
			t.Fatalf("commits out of order: %v", src.commits)
		}
	}
	if got := testutil.ToFloat64(p.Metrics.quarantined.WithLabelValues("t", "transform", "bad_value")); got != 10 {
		t.Fatalf("quarantined metric = %v", got)
	}
	if got := testutil.ToFloat64(p.Metrics.out.WithLabelValues("t", "transform")); got != 990 {
		t.Fatalf("transform out metric = %v", got)
	}
}

func TestRunRetriesTransientSinkErrors(t *testing.T) {
	src := &sliceSource{recs: records(10, nil), n: 5}
	sink := &memSink{fail: func(call int) error {
		if call == 1 {
			return Transient(errors.New("connection reset"))
		}
		return nil
	}}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Retry: fastRetry}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 10 || len(src.commits) != 2 {
		t.Fatalf("got %d records, commits %v", len(sink.got), src.commits)
	}
}

func TestRunFailsWithoutCommittingWhenSinkFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"permanent", errors.New("constraint violated")},
		{"transient beyond budget", Transient(errors.New("connection refused"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &sliceSource{recs: records(30, nil), n: 10}
			sink := &memSink{fail: func(call int) error {
				if call >= 2 { // the second batch never lands
					return tc.err
				}
				return nil
			}}
			p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Retry: fastRetry}
			_, err := p.Run(context.Background())
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(src.commits) != 1 || src.commits[0] != 10 {
				t.Fatalf("commits = %v, want only the first batch [10]", src.commits)
			}
		})
	}
}

func TestRunSecondSinkFailureDoesNotCommit(t *testing.T) {
	src := &sliceSource{recs: records(10, nil), n: 10}
	first := &memSink{}
	second := &memSink{fail: func(int) error { return errors.New("disk full") }}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{first, second}, Retry: fastRetry}
	if _, err := p.Run(context.Background()); err == nil {
		t.Fatal("want error")
	}
	if len(src.commits) != 0 {
		t.Fatalf("committed %v although the second sink failed", src.commits)
	}
}

func TestBreakerFailsRunOnBadFeed(t *testing.T) {
	// The first 500 records are good, then everything is bad: the breaker
	// (limit 20% of the last 1000) must trip before the end, at the latest
	// when 20% of the window is bad, i.e. around record 625.
	src := &sliceSource{recs: records(5000, func(i int) bool { return i > 500 }), n: 100}
	sink := &memSink{}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink},
		Quarantine: &memQuarantine{}, Breaker: NewBreaker(0.2), Retry: fastRetry}
	_, err := p.Run(context.Background())
	if !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("err = %v, want breaker open", err)
	}
	for _, c := range src.commits {
		if c > 700 {
			t.Fatalf("committed through line %d after the feed turned bad at 501", c)
		}
	}
}

func TestBreakerWindow(t *testing.T) {
	b := &Breaker{MaxRate: 0.5, Window: 10, MinSamples: 4}
	seq := []bool{true, true, true} // 3 samples: below MinSamples, stays closed
	for _, r := range seq {
		if b.Observe(r) {
			t.Fatal("opened before MinSamples")
		}
	}
	if !b.Observe(true) { // 4 of 4 bad
		t.Fatal("should open at 4/4")
	}
	b = &Breaker{MaxRate: 0.5, Window: 4, MinSamples: 4}
	for _, r := range []bool{true, true, false, false, false, false} { // window slides: last 4 all good
		b.Observe(r)
	}
	if b.Rate() != 0 {
		t.Fatalf("rate = %v after the bad ones slid out", b.Rate())
	}
}

// blockingSink blocks every write until released.
type blockingSink struct{ release chan struct{} }

func (s *blockingSink) Write(ctx context.Context, b Batch[string]) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A blocked sink stops the reader once the buffers are full: not before
// (the engine reads ahead to keep the sink busy) and not after (memory
// stays flat). synctest.Wait returns when every goroutine of the run is
// blocked for good, so the count is exact, with no clock involved.
func TestBackpressureBoundsReadAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &sliceSource{recs: records(100000, nil), n: 10}
		sink := &blockingSink{release: make(chan struct{})}
		p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Buffer: 2, Retry: fastRetry}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _, _ = p.Run(ctx); close(done) }()
		synctest.Wait()
		// Held when everything blocks: 1 in the writer (in the sink), 2
		// in the transformed channel, 1 in the transformer (sending), 2 in
		// the read channel, 1 in the reader (sending) = 7 batches read.
		if r := src.reads.Load(); r != 7 {
			t.Errorf("reader made %d reads before a blocked sink stopped it, want 7", r)
		}
		cancel()
		<-done
	})
}

func TestTransientClassification(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("x"), false},
		{Transient(errors.New("x")), true},
		{fmt.Errorf("wrapped: %w", Transient(errors.New("x"))), true},
		{context.Canceled, false},
	}
	for _, c := range cases {
		if got := IsTransient(c.err); got != c.want {
			t.Errorf("IsTransient(%v) = %v", c.err, got)
		}
	}
}

// closingSink counts its Close calls (a sink with a writer of its own).
type closingSink struct {
	memSink
	closes atomic.Int64
}

func (c *closingSink) Close() error { c.closes.Add(1); return nil }

// startFails is a run log that cannot record a run's start.
type startFails struct{}

func (startFails) Start(context.Context, string) (int64, error)      { return 0, errors.New("no run log") }
func (startFails) Finish(context.Context, int64, Stats, error) error { return nil }

// The pipeline owns its source and the sinks that hold a connection: Run
// closes each once when it ends, however it ends, also inside a Fanout or
// an Isolating sink.
func TestRunClosesSourceAndSinksOnce(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		stage   Stage[rec, string]
		fail    func(call int) error // the plain sink's writes
		runs    RunLog
		wantErr error
	}{
		{name: "end of input", stage: testStage},
		{name: "sink fails", stage: testStage, fail: func(int) error { return boom }, wantErr: boom},
		{name: "stage fails", stage: func(context.Context, rec) (string, error) { return "", boom }, wantErr: boom},
		{name: "run start not recorded", stage: testStage, runs: startFails{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &sliceSource{recs: records(50, nil), n: 10}
			plain, inFanout, inIsolating := &closingSink{}, &closingSink{}, &closingSink{}
			plain.fail = c.fail
			p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: c.stage, Retry: fastRetry, Runs: c.runs,
				Sinks: []Sink[string]{plain, Fanout[string]{inFanout, &memSink{}},
					Isolating[string]{Sink: inIsolating, Locate: func(s string) (Position, []byte) { return Position{}, []byte(s) }}}}
			_, err := p.Run(context.Background())
			if c.runs == nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if c.runs != nil && err == nil {
				t.Fatal("a run whose start was not recorded succeeded")
			}
			for name, n := range map[string]int64{"source": src.closes.Load(), "sink": plain.closes.Load(),
				"sink in a fanout": inFanout.closes.Load(), "sink in an isolating sink": inIsolating.closes.Load()} {
				if n != 1 {
					t.Errorf("%s closed %d times, want once", name, n)
				}
			}
		})
	}
}

// recSink keeps the records it was given.
type recSink struct{ got []rec }

func (s *recSink) Write(_ context.Context, b Batch[rec]) error {
	s.got = append(s.got, b.Items...)
	return nil
}

// A pipeline with no stage passes every record on as it is and commits
// every batch; one whose sinks take another type fails before reading.
func TestNoStagePassesRecordsOn(t *testing.T) {
	src := &sliceSource{recs: records(25, nil), n: 10}
	sink := &recSink{}
	st, err := (&Pipeline[rec, rec]{Name: "t", Source: src, Sinks: []Sink[rec]{sink}, Retry: fastRetry}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 25 records in batches of 10: 3 batches, through lines 10, 20, 25.
	if len(sink.got) != 25 || sink.got[0] != src.recs[0] || sink.got[24] != src.recs[24] || st.In != 25 || st.Out != 25 {
		t.Errorf("wrote %d records (first %+v), stats %+v; want all 25 as read", len(sink.got), sink.got, st)
	}
	if fmt.Sprint(src.commits) != "[10 20 25]" {
		t.Errorf("commits %v, want [10 20 25]", src.commits)
	}

	other := &sliceSource{recs: records(25, nil), n: 10}
	_, err = (&Pipeline[rec, string]{Name: "t", Source: other, Sinks: []Sink[string]{&memSink{}}}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no stage") || other.reads.Load() != 0 || other.closes.Load() != 1 {
		t.Errorf("rec pipeline into string sinks without a stage: err %v, %d reads, %d closes; want a failure before reading, closed once", err, other.reads.Load(), other.closes.Load())
	}
}

// A pipeline that is one step of a recorded job reports its stage metrics
// but counts no run of its own: the job's Recorder counts the one run, so
// fundflow_pipeline_runs_total still equals the job's run rows.
func TestStepCountsNoRunOfItsOwn(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	job := Recorder{Metrics: m}
	_, err := job.Run(context.Background(), "job", func(ctx context.Context) (Stats, error) {
		p := &Pipeline[rec, string]{Name: "job", Source: &sliceSource{recs: records(30, nil), n: 10}, Stage: testStage,
			Sinks: []Sink[string]{&memSink{}}, Retry: fastRetry, Metrics: m, Step: true}
		return p.Run(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.runs.WithLabelValues("job", "ok")); got != 1 {
		t.Errorf("fundflow_pipeline_runs_total{job,ok} = %v, want 1 (the job's run only)", got)
	}
	if got := testutil.ToFloat64(m.in.WithLabelValues("job", "transform")); got != 30 {
		t.Errorf("the step's transform saw %v records, want 30", got)
	}
}

// A record the stage finds stored already goes to no sink and no
// quarantine, is counted, never trips the breaker, and its batch's
// checkpoint still commits.
func TestStoredRecordsAreSkippedAndCounted(t *testing.T) {
	var recs []rec
	for i := 1; i <= 100; i++ {
		val := "v" + strconv.Itoa(i)
		if i%2 == 0 {
			val = "stored"
		}
		recs = append(recs, rec{line: i, val: val})
	}
	src := &sliceSource{recs: recs, n: 10}
	sink := &memSink{}
	q := &memQuarantine{}
	stage := func(ctx context.Context, r rec) (string, error) {
		if r.val == "stored" {
			return "", fmt.Errorf("line %d: %w", r.line, ErrStored)
		}
		return r.val, nil
	}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: stage, Sinks: []Sink[string]{sink}, Quarantine: q,
		Breaker: NewBreaker(0.1), Retry: fastRetry}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.In != 100 || st.Out != 50 || st.Skipped != 50 || st.Quarantined != 0 || len(q.got) != 0 {
		t.Fatalf("stats = %+v, quarantined %d", st, len(q.got))
	}
	if len(sink.got) != 50 || sink.got[0] != "v1" || sink.got[49] != "v99" || len(src.commits) != 10 {
		t.Fatalf("sink got %d records (%v), commits %v", len(sink.got), sink.got, src.commits)
	}
}

// overlapSource is a sliceSource whose first Commit waits until the sink
// began writing the second batch.
type overlapSource struct {
	*sliceSource
	second <-chan struct{}
}

func (s *overlapSource) Commit(ctx context.Context, cp Checkpoint) error {
	if string(cp.Pos) == "10" {
		select {
		case <-s.second:
		case <-time.After(time.Minute): // a liveness bound: the writer waits for this commit
			return errors.New("the second batch was not written while the first one's checkpoint committed")
		}
	}
	return s.sliceSource.Commit(ctx, cp)
}

// With one writer, the next batch is written while a checkpoint commits
// (a commit waits for the database's flush; the sinks need not), and the
// checkpoints are still committed in order, each after its batch.
func TestRunWritesTheNextBatchWhileACheckpointCommits(t *testing.T) {
	second := make(chan struct{})
	src := &overlapSource{sliceSource: &sliceSource{recs: records(30, nil), n: 10}, second: second}
	sink := &memSink{fail: func(call int) error {
		if call == 2 {
			close(second)
		}
		return nil
	}}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Retry: Retry{Attempts: 1}}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(src.commits); got != "[10 20 30]" || st.Batches != 3 || st.Out != 30 {
		t.Fatalf("commits %s, %d batches, %d out; want [10 20 30], 3, 30", got, st.Batches, st.Out)
	}
}

// waitingQuarantine holds each Put until the batch's sink write began.
type waitingQuarantine struct {
	memQuarantine
	sinkStarted <-chan struct{}
}

func (q *waitingQuarantine) Put(ctx context.Context, rs []Rejected) error {
	select {
	case <-q.sinkStarted:
	case <-time.After(time.Minute): // a liveness bound: before, the sinks waited for this Put
		return errors.New("the sinks were not written while the quarantine was")
	}
	return q.memQuarantine.Put(ctx, rs)
}

// The quarantine is written alongside the sinks, not before them (its
// commit waits for the database's flush), and the checkpoint still
// follows both: every rejected record is quarantined once, with its line.
func TestRunWritesTheQuarantineAlongsideTheSinks(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	src := &sliceSource{recs: records(20, func(i int) bool { return i%5 == 0 }), n: 10}
	sink := &memSink{fail: func(int) error { once.Do(func() { close(started) }); return nil }}
	q := &waitingQuarantine{sinkStarted: started}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink}, Quarantine: q, Retry: Retry{Attempts: 1}}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range q.got {
		lines = append(lines, r.Pos.Line)
	}
	// Lines 5, 10, 15, 20 are "bad" (every fifth), 16 of 20 go to the sink.
	if got := fmt.Sprint(lines); got != "[5 10 15 20]" || len(sink.got) != 16 || st.Quarantined != 4 || fmt.Sprint(src.commits) != "[10 20]" {
		t.Fatalf("quarantined lines %s, %d written, stats %d quarantined, commits %v; want [5 10 15 20], 16, 4, [10 20]",
			got, len(sink.got), st.Quarantined, src.commits)
	}
}

// A quarantine that cannot be written fails the run before the batch's
// checkpoint, even though the sinks took the batch.
func TestRunCommitsNothingWhenTheQuarantineFails(t *testing.T) {
	src := &sliceSource{recs: records(10, func(i int) bool { return i == 3 }), n: 10}
	sink := &memSink{}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{sink},
		Quarantine: failingQuarantine{}, Retry: Retry{Attempts: 1}}
	if _, err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "quarantine down") {
		t.Fatalf("err = %v, want the quarantine's error", err)
	}
	if len(src.commits) != 0 {
		t.Fatalf("commits %v after a failed quarantine, want none", src.commits)
	}
}

type failingQuarantine struct{}

func (failingQuarantine) Put(context.Context, []Rejected) error { return errors.New("quarantine down") }
