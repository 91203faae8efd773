package pipelines

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// urec is a record of one unit (file) of a unitSource.
type urec struct {
	unit string
	line int
	val  string
}

func (r urec) Origin() (Position, []byte) {
	return Position{File: r.unit, Line: r.line}, []byte(r.val)
}

// unitSource serves files one after another, n records a batch, each file
// its own checkpoint stream, like connectors/feed does.
type unitSource struct {
	units      []string
	lines      int // records per unit
	n          int
	unreadable map[string]int // unit -> the line whose read fails (a UnitError)

	mu      sync.Mutex
	cur     int
	next    int // next line of the current unit, 1-based
	failed  map[string]error
	commits []string // unit:line
}

func (s *unitSource) Read(ctx context.Context) (Batch[urec], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == 0 {
		s.next = 1
	}
	for s.cur < len(s.units) && (s.failed[s.units[s.cur]] != nil || s.next > s.lines) {
		s.cur, s.next = s.cur+1, 1
	}
	if s.cur >= len(s.units) {
		return Batch[urec]{}, ErrEndOfInput
	}
	u := s.units[s.cur]
	var b Batch[urec]
	for ; s.next <= s.lines && len(b.Items) < s.n; s.next++ {
		if s.unreadable[u] == s.next {
			s.failed[u] = errors.New("read error")
			return Batch[urec]{}, &UnitError{Stream: u, Unit: u, Err: errors.New("line 5: read error")}
		}
		b.Items = append(b.Items, urec{unit: u, line: s.next, val: u + "/" + string(rune('0'+s.next%10))})
	}
	b.Through = Checkpoint{Stream: u, Pos: []byte(u + ":" + string(rune('0'+s.next-1)))}
	return b, nil
}

func (s *unitSource) Close() error { return nil }

func (s *unitSource) Commit(ctx context.Context, cp Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits = append(s.commits, string(cp.Pos))
	return nil
}

func (s *unitSource) FailUnit(ctx context.Context, cp Checkpoint, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed[cp.Stream] = err
	return nil
}

type unitSink struct {
	mu   sync.Mutex
	got  map[string]int // unit -> records written
	fail func(b Batch[urec]) error
}

func (k *unitSink) Write(ctx context.Context, b Batch[urec]) error {
	if err := k.fail(b); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range b.Items {
		k.got[r.unit]++
	}
	return nil
}

func passUnit(ctx context.Context, r urec) (urec, error) { return r, nil }

// Good, bad, good: a batch of the middle file fails for good; that file is
// recorded failed and skipped, the files after it load, and the run says
// which file and lines failed.
func TestRunFailsTheUnitNotTheRun(t *testing.T) {
	poison := errors.New(`copy navs: numeric field overflow`)
	cases := []struct {
		name      string
		err       error
		unitFails bool // else the run fails
	}{
		{"permanent", poison, true},
		{"transient beyond the retry budget", Transient(errors.New("connection refused")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}}
			sink := &unitSink{got: map[string]int{}, fail: func(b Batch[urec]) error {
				if b.Items[0].unit == "b.txt" && b.Items[0].line == 4 {
					return tc.err
				}
				return nil
			}}
			p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{sink}, Retry: fastRetry, Buffer: 4}
			st, err := p.Run(context.Background())
			if !tc.unitFails {
				if err == nil || errors.Is(err, ErrUnitFailed) || src.failed["b.txt"] != nil || sink.got["c.txt"] != 0 {
					t.Fatalf("err = %v, failed %v, wrote %v: an outage must fail the run, not the file", err, src.failed, sink.got)
				}
				return
			}
			if !errors.Is(err, ErrUnitFailed) || !errors.Is(err, poison) || !strings.Contains(err.Error(), "b.txt lines 4-6") {
				t.Fatalf("err = %v, want ErrUnitFailed naming b.txt lines 4-6 and the cause", err)
			}
			if !errors.Is(src.failed["b.txt"], poison) || len(src.failed) != 1 {
				t.Fatalf("failed units %v", src.failed)
			}
			// a and c whole; b's first batch (lines 1-3) was written before.
			if sink.got["a.txt"] != 9 || sink.got["c.txt"] != 9 || sink.got["b.txt"] != 3 {
				t.Fatalf("written %v", sink.got)
			}
			want := "a.txt:3 a.txt:6 a.txt:9 b.txt:3 c.txt:3 c.txt:6 c.txt:9"
			if got := strings.Join(src.commits, " "); got != want {
				t.Fatalf("commits %s, want %s", got, want)
			}
			if st.FailedUnits != 1 || st.Out != 21 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// A unit the source cannot read to its end is skipped the same way.
func TestRunGoesOnAfterAnUnreadableUnit(t *testing.T) {
	src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 9, n: 3, failed: map[string]error{}, unreadable: map[string]int{"b.txt": 5}}
	sink := &unitSink{got: map[string]int{}, fail: func(Batch[urec]) error { return nil }}
	p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: passUnit, Sinks: []Sink[urec]{sink}, Retry: fastRetry}
	st, err := p.Run(context.Background())
	if !errors.Is(err, ErrUnitFailed) || !strings.Contains(err.Error(), "b.txt: line 5: read error") {
		t.Fatalf("err = %v", err)
	}
	if sink.got["a.txt"] != 9 || sink.got["c.txt"] != 9 || st.FailedUnits != 1 {
		t.Fatalf("written %v, stats %+v", sink.got, st)
	}
}

// cancelledSink waits for the run's context to end and returns what a
// database driver returns then.
type cancelledSink struct{ entered chan struct{} }

func (k cancelledSink) Write(ctx context.Context, b Batch[string]) error {
	close(k.entered)
	<-ctx.Done()
	return errors.New("postgres: version schemes: " + ctx.Err().Error())
}

// failingSource serves one batch, then fails to read once the sink is busy.
type failingSource struct {
	sliceSource
	entered chan struct{}
}

func (s *failingSource) Read(ctx context.Context) (Batch[rec], error) {
	if s.reads.Load() == 0 {
		return s.sliceSource.Read(ctx)
	}
	<-s.entered
	s.reads.Add(1)
	return Batch[rec]{}, errors.New("bad.txt line 12: the real cause")
}

// When one goroutine fails and the others see the context cancelled, the
// run reports the first real error, not "context canceled".
func TestRunReportsTheFirstRealError(t *testing.T) {
	entered := make(chan struct{})
	src := &failingSource{sliceSource: sliceSource{recs: records(10, nil), n: 10}, entered: entered}
	var finished error
	runs := runLogFunc(func(err error) { finished = err })
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{cancelledSink{entered}}, Retry: fastRetry, Runs: runs}
	_, err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "bad.txt line 12: the real cause") || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	if finished == nil || finished.Error() != err.Error() {
		t.Fatalf("job run recorded %v, want %v", finished, err)
	}
}

type runLogFunc func(error)

func (f runLogFunc) Start(ctx context.Context, pipeline string) (int64, error) { return 1, nil }
func (f runLogFunc) Finish(ctx context.Context, id int64, s Stats, err error) error {
	f(err)
	return nil
}

// A file of nothing but bad rows opens the breaker: that file fails, and
// the next file starts a fresh window and loads.
func TestBreakerFailsTheUnit(t *testing.T) {
	src := &unitSource{units: []string{"a.txt", "b.txt", "c.txt"}, lines: 300, n: 50, failed: map[string]error{}}
	sink := &unitSink{got: map[string]int{}, fail: func(Batch[urec]) error { return nil }}
	stage := func(ctx context.Context, r urec) (urec, error) {
		if r.unit == "b.txt" {
			return r, Reject("bad_value", "bad")
		}
		return r, nil
	}
	q := &memQuarantineU{}
	p := &Pipeline[urec, urec]{Name: "t", Source: src, Stage: stage, Sinks: []Sink[urec]{sink}, Quarantine: q,
		Breaker: NewBreaker(0.4), Retry: fastRetry}
	st, err := p.Run(context.Background())
	if !errors.Is(err, ErrUnitFailed) || !errors.Is(err, ErrBreakerOpen) || !errors.Is(src.failed["b.txt"], ErrBreakerOpen) {
		t.Fatalf("err = %v, failed %v", err, src.failed)
	}
	if sink.got["a.txt"] != 300 || sink.got["c.txt"] != 300 || sink.got["b.txt"] != 0 || st.FailedUnits != 1 {
		t.Fatalf("written %v, stats %+v", sink.got, st)
	}
}

type memQuarantineU struct{ n int }

func (q *memQuarantineU) Put(ctx context.Context, rs []Rejected) error { q.n += len(rs); return nil }
