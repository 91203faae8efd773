package pipelines

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// txSink writes a batch all or nothing, like a Postgres transaction: a
// record whose value holds "poison" fails the whole batch for good; a
// "flaky" write fails transiently the first time.
type txSink struct {
	mu     sync.Mutex
	got    []string
	flaked bool
}

func (s *txSink) Write(ctx context.Context, b Batch[rec]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Items {
		if strings.Contains(r.val, "poison") {
			return errors.New("numeric field overflow (SQLSTATE 22003)")
		}
		if r.val == "flaky" && !s.flaked {
			s.flaked = true
			return Transient(errors.New("connection reset"))
		}
	}
	for _, r := range b.Items {
		s.got = append(s.got, r.val)
	}
	return nil
}

// A batch with poison in the middle: the good records are written, each
// poison record is quarantined with its position and the error, a
// transient failure is still retried, the run goes on and every checkpoint
// is committed.
func TestIsolatingQuarantinesPoisonAndWritesTheRest(t *testing.T) {
	var recs []rec
	for i := 1; i <= 23; i++ {
		v := "ok"
		switch {
		case i%7 == 3: // lines 3, 10, 17
			v = "poison\x00"
		case i == 12:
			v = "flaky"
		}
		recs = append(recs, rec{line: i, val: v})
	}
	src := &sliceSource{recs: recs, n: 5}
	sink := &txSink{}
	q := &memQuarantine{}
	p := &Pipeline[rec, rec]{
		Name:   "t",
		Source: src,
		Sinks:  []Sink[rec]{Isolating[rec]{Sink: sink, Quarantine: q, Pipeline: "t", Reason: "not_storable"}},
		Retry:  fastRetry,
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 20 {
		t.Errorf("%d records written, want the 20 good ones", len(sink.got))
	}
	var lines []int
	for _, r := range q.got {
		lines = append(lines, r.Pos.Line)
		if r.Reason != "not_storable" || !strings.Contains(r.Detail, "22003") || string(r.Raw) != "poison\x00" {
			t.Errorf("quarantined %+v", r)
		}
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 10 || lines[2] != 17 {
		t.Errorf("quarantined lines %v, want [3 10 17]", lines)
	}
	if got := len(src.commits); int64(got) != st.Batches || got != 5 {
		t.Errorf("%d commits for %d batches, want 5", got, st.Batches)
	}
}

// A transient failure of the whole batch is not isolated: it goes back to
// the engine's retry, and nothing is quarantined.
func TestIsolatingLeavesTransientErrorsToTheRetry(t *testing.T) {
	sink := &txSink{}
	q := &memQuarantine{}
	s := Isolating[rec]{Sink: sink, Quarantine: q, Pipeline: "t", Reason: "not_storable"}
	err := s.Write(context.Background(), Batch[rec]{Items: []rec{{1, "ok"}, {2, "flaky"}}})
	if !IsTransient(err) || len(q.got) != 0 || len(sink.got) != 0 {
		t.Errorf("err %v, quarantined %d, written %d; want a transient error and nothing done", err, len(q.got), len(sink.got))
	}
}
