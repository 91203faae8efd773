package pipelines

import (
	"context"
	"testing"
)

// ctxRec is a record that needs context (like a NAV row needs its file's
// header) to be read again.
type ctxRec struct {
	rec
	block string
}

func (r ctxRec) Origin() (Position, []byte) { return r.rec.Origin() }
func (r ctxRec) ReplayContext() []byte      { return []byte(r.block) }

type ctxSource struct{ items []ctxRec }

func (s *ctxSource) Read(ctx context.Context) (Batch[ctxRec], error) {
	if s.items == nil {
		return Batch[ctxRec]{}, ErrEndOfInput
	}
	b := Batch[ctxRec]{Items: s.items, Through: Checkpoint{Stream: "mem", Pos: []byte("end")}}
	s.items = nil
	return b, nil
}
func (s *ctxSource) Commit(ctx context.Context, cp Checkpoint) error { return nil }
func (s *ctxSource) Close() error                                    { return nil }

// A quarantined Contextual record keeps its context; a plain one has none.
func TestQuarantineKeepsReplayContext(t *testing.T) {
	src := &ctxSource{items: []ctxRec{{rec{1, "v1"}, "block A"}, {rec{2, "bad"}, "block B"}, {rec{3, "bad"}, "block C"}}}
	q := &memQuarantine{}
	p := &Pipeline[ctxRec, string]{Name: "t", Source: src, Quarantine: q, Retry: fastRetry,
		Stage: func(ctx context.Context, r ctxRec) (string, error) { return testStage(ctx, r.rec) }}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.got) != 2 || string(q.got[0].Context) != "block B" || string(q.got[1].Context) != "block C" || q.got[1].Pos.Line != 3 {
		t.Fatalf("quarantined %+v", q.got)
	}

	plain := &memQuarantine{}
	p2 := &Pipeline[rec, string]{Name: "t", Source: &sliceSource{recs: records(3, func(i int) bool { return i == 2 }), n: 10},
		Stage: testStage, Quarantine: plain, Retry: fastRetry}
	if _, err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(plain.got) != 1 || plain.got[0].Context != nil {
		t.Fatalf("plain record quarantined with context %+v", plain.got)
	}
}
