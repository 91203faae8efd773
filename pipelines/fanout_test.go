package pipelines

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// barrierSink blocks until every sink of its group has started writing the
// batch, so a Fanout that wrote its sinks one after another would never
// finish.
type barrierSink struct {
	group *sync.WaitGroup
	got   []string
}

func (s *barrierSink) Write(ctx context.Context, b Batch[string]) error {
	s.group.Done()
	s.group.Wait()
	s.got = append(s.got, b.Items...)
	return nil
}

func TestFanoutWritesConcurrently(t *testing.T) {
	src := &sliceSource{recs: records(10, nil), n: 10}
	var group sync.WaitGroup
	group.Add(2)
	a, b := &barrierSink{group: &group}, &barrierSink{group: &group}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{Fanout[string]{a, b}}, Retry: fastRetry}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Out != 10 || len(a.got) != 10 || len(b.got) != 10 || len(src.commits) != 1 {
		t.Fatalf("stats %+v, a %d b %d, commits %v", st, len(a.got), len(b.got), src.commits)
	}
}

func TestFanoutErrors(t *testing.T) {
	ok := SinkFunc[string](func(ctx context.Context, b Batch[string]) error { return nil })
	flaky := SinkFunc[string](func(ctx context.Context, b Batch[string]) error { return Transient(errors.New("connection reset")) })
	broken := SinkFunc[string](func(ctx context.Context, b Batch[string]) error { return errors.New("column nav does not exist") })
	for _, tc := range []struct {
		name      string
		f         Fanout[string]
		wantErr   bool
		transient bool
		mentions  []string
	}{
		{"all write", Fanout[string]{ok, ok}, false, false, nil},
		{"one transient", Fanout[string]{ok, flaky}, true, true, []string{"sink1: connection reset"}},
		{"transient and permanent", Fanout[string]{flaky, broken}, true, false, []string{"connection reset", "column nav does not exist"}},
		{"one permanent", Fanout[string]{broken, ok}, true, false, []string{"sink0: column nav"}},
	} {
		err := tc.f.Write(context.Background(), Batch[string]{Items: []string{"x"}})
		if (err != nil) != tc.wantErr || IsTransient(err) != tc.transient {
			t.Errorf("%s: err %v transient %v", tc.name, err, IsTransient(err))
		}
		for _, m := range tc.mentions {
			if err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %v does not mention %q", tc.name, err, m)
			}
		}
	}
	if n := (Fanout[string]{ok, namedSink{}}).Name(); n != "sink0+pg" {
		t.Errorf("name %q", n)
	}
}

type namedSink struct{}

func (namedSink) Write(ctx context.Context, b Batch[string]) error { return nil }
func (namedSink) Name() string                                     { return "pg" }

// A Fanout with a sink that keeps failing fails the run and commits nothing.
func TestFanoutFailureDoesNotCommit(t *testing.T) {
	src := &sliceSource{recs: records(10, nil), n: 5}
	broken := SinkFunc[string](func(ctx context.Context, b Batch[string]) error { return errors.New("disk full") })
	mem := &memSink{}
	p := &Pipeline[rec, string]{Name: "t", Source: src, Stage: testStage, Sinks: []Sink[string]{Fanout[string]{mem, broken}}, Retry: fastRetry}
	if _, err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("run error %v", err)
	}
	if len(src.commits) != 0 {
		t.Fatalf("committed %v", src.commits)
	}
}
