package pipelines

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// doubler is a group-commit store: a batch of numbers in one "transaction"
// (all or nothing), each answered with twice its value; a negative number
// cannot be written, so a batch holding one fails whole.
type doubler struct {
	mu      sync.Mutex
	batches []int // size of each batch Many wrote
	written map[int]int
	gate    chan struct{} // when set, Many waits for it
	down    atomic.Bool   // every write fails transiently
}

func (d *doubler) many(ctx context.Context, xs []int) ([]int, error) {
	if d.gate != nil {
		<-d.gate
	}
	if d.down.Load() {
		return nil, Transient(errors.New("connection refused"))
	}
	out := make([]int, len(xs))
	for i, x := range xs {
		if x < 0 {
			return nil, fmt.Errorf("value %d out of range", x)
		}
		out[i] = 2 * x
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.batches = append(d.batches, len(xs))
	if d.written == nil {
		d.written = map[int]int{}
	}
	for _, x := range xs {
		d.written[x]++
	}
	return out, nil
}

func (d *doubler) one(ctx context.Context, x int) (int, error) {
	out, err := d.many(ctx, []int{x})
	if err != nil {
		return 0, err
	}
	return out[0], nil
}

// runIntake runs an intake pipeline over d until the test ends.
func runIntake(t *testing.T, d *doubler, max, writers int, reg *prometheus.Registry) *Intake[int, int] {
	t.Helper()
	in := NewIntake[int, int]("numbers", max, time.Millisecond)
	p := &Pipeline[*Call[int, int], *Call[int, int]]{
		Name:    "numbers",
		Source:  in,
		Sinks:   []Sink[*Call[int, int]]{CallSink[int, int]{Label: "doubler", Many: d.many, One: d.one}},
		Retry:   Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond},
		Writers: writers,
		Buffer:  -1, // as serve runs its intakes: no batch waits formed
	}
	if reg != nil {
		p.Metrics = NewMetrics(reg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Run(ctx); done <- err }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
	return in
}

// Many callers at once: each is answered with its own record's result, in
// batches of at most max, every record written once, and the engine's
// metrics count them under the pipeline's name.
func TestIntakeAnswersEachCallerAfterItsBatch(t *testing.T) {
	d := &doubler{}
	reg := prometheus.NewRegistry()
	in := runIntake(t, d, 8, 3, reg)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := in.Submit(context.Background(), i)
			switch {
			case err != nil:
				errs[i] = err
			case c.Err != nil || c.Out != 2*i:
				errs[i] = fmt.Errorf("answered %d (%v), want %d", c.Out, c.Err, 2*i)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	total := 0
	for _, b := range d.batches {
		if b > 8 {
			t.Errorf("a batch of %d, max 8", b)
		}
		total += b
	}
	if total != n || len(d.written) != n {
		t.Errorf("%d records written (%d distinct), want %d once each", total, len(d.written), n)
	}
	if got := counter(t, reg, "fundflow_stage_records_in_total", "numbers", "doubler"); got != n {
		t.Errorf("fundflow_stage_records_in_total{stage=doubler} = %v, want %d", got, n)
	}
}

// counter is the value of the counter name{pipeline, stage} in reg.
func counter(t *testing.T, reg *prometheus.Registry, name, pipeline, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if mf.GetName() == name && l["pipeline"] == pipeline && l["stage"] == stage {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{pipeline=%q,stage=%q}", name, pipeline, stage)
	return 0
}

// A caller is not answered before the sink has written its batch.
func TestIntakeAnswersOnlyAfterTheSinkWrote(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	in := runIntake(t, d, 4, 1, nil)
	answered := make(chan *Call[int, int], 1)
	go func() {
		c, err := in.Submit(context.Background(), 21)
		if err != nil {
			t.Error(err)
		}
		answered <- c
	}()
	select {
	case <-answered:
		t.Fatal("answered while the sink had not written")
	case <-time.After(50 * time.Millisecond):
	}
	close(d.gate)
	if c := <-answered; c.Out != 42 || c.Err != nil {
		t.Errorf("answered %d, %v; want 42", c.Out, c.Err)
	}
	if d.written[21] != 1 {
		t.Errorf("21 written %d times", d.written[21])
	}
}

// One record the store refuses fails alone: its caller gets the error, the
// others in its batch are written and answered.
func TestIntakeBadRecordFailsAlone(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	in := runIntake(t, d, 16, 1, nil)
	xs := []int{1, 2, -3, 4, 5}
	calls := make([]*Call[int, int], len(xs))
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := in.Submit(context.Background(), x)
			if err != nil {
				t.Error(err)
			}
			calls[i] = c
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them gather into one batch (any split is correct too)
	close(d.gate)
	wg.Wait()
	for i, c := range calls {
		switch {
		case c == nil:
		case xs[i] < 0 && (c.Err == nil || IsTransient(c.Err)):
			t.Errorf("%d: err %v, want a permanent error", xs[i], c.Err)
		case xs[i] >= 0 && (c.Err != nil || c.Out != 2*xs[i]):
			t.Errorf("%d: answered %d, %v", xs[i], c.Out, c.Err)
		}
	}
	if d.written[-3] != 0 || d.written[5] != 1 {
		t.Errorf("written %v", d.written)
	}
}

// A store that stays down: after the retry budget the batch's callers get
// a transient error (send again), the run does not stop, and the next
// call after the store is back is written.
func TestIntakeTransientFailureIsHandedBack(t *testing.T) {
	d := &doubler{}
	d.down.Store(true)
	in := runIntake(t, d, 4, 2, nil)
	c, err := in.Submit(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !IsTransient(c.Err) || !errors.Is(c.Err, ErrGaveUp) {
		t.Fatalf("store down: answered %v, want a transient error after the retries", c.Err)
	}
	d.down.Store(false)
	c, err = in.Submit(context.Background(), 8)
	if err != nil || c.Err != nil || c.Out != 16 {
		t.Fatalf("store back: %v %+v", err, c)
	}
}

// A caller that gives up is answered "send again" (transient); after the
// run ends, callers are refused at once, transient too.
func TestIntakeCallerGivesUpAndClosed(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	in := NewIntake[int, int]("numbers", 4, time.Millisecond)
	p := &Pipeline[*Call[int, int], *Call[int, int]]{Name: "numbers", Source: in,
		Sinks: []Sink[*Call[int, int]]{CallSink[int, int]{Label: "doubler", Many: d.many, One: d.one}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Run(ctx); done <- err }()

	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer ccancel()
	if _, err := in.Submit(cctx, 1); !IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller gave up: %v, want transient deadline", err)
	}
	close(d.gate)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("run: %v", err)
	}
	if _, err := in.Submit(context.Background(), 2); !IsTransient(err) || !errors.Is(err, ErrIntakeClosed) {
		t.Errorf("after the run: %v, want transient ErrIntakeClosed", err)
	}
}

// Several writers need a source whose batches are independent.
func TestWritersNeedAnUnorderedSource(t *testing.T) {
	p := &Pipeline[rec, rec]{Name: "ordered", Source: &sliceSource{n: 1}, Writers: 2,
		Sinks: []Sink[rec]{SinkFunc[rec](func(context.Context, Batch[rec]) error { return nil })}}
	if _, err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "in order") {
		t.Fatalf("run: %v, want a refusal", err)
	}
}

// A batch the run stops while writing is answered "send again"
// (transient), never as a failure of the record.
func TestIntakeStoppedRunAnswersTransient(t *testing.T) {
	writing := make(chan struct{})
	waitForCancel := func(ctx context.Context, xs []int) ([]int, error) {
		close(writing)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	in := NewIntake[int, int]("numbers", 4, time.Millisecond)
	p := &Pipeline[*Call[int, int], *Call[int, int]]{Name: "numbers", Source: in,
		Sinks: []Sink[*Call[int, int]]{CallSink[int, int]{Label: "slow", Many: waitForCancel}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Run(ctx); done <- err }()
	answered := make(chan error, 1)
	go func() {
		c, err := in.Submit(context.Background(), 1)
		if err == nil {
			err = c.Err
		}
		answered <- err
	}()
	<-writing
	cancel()
	if err := <-answered; !IsTransient(err) || !errors.Is(err, ErrIntakeClosed) {
		t.Errorf("run stopped while writing: %v, want transient ErrIntakeClosed", err)
	}
	<-done
}
