package pipelines

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The engine needs nothing of the domain or of any other package of ours:
// its dependencies are the standard library and third-party modules only.
func TestEngineImportsNothingOfOurs(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Main}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	self, err := exec.Command("go", "list", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, main, _ := strings.Cut(l, " ")
		if main == "true" && path != strings.TrimSpace(string(self)) {
			ours = append(ours, path)
		}
	}
	if len(ours) > 0 {
		t.Fatalf("pipelines depends on packages of this module: %v", ours)
	}
}

// plain is a record that does not locate itself, like a domain value of
// package fund: a Locate function says where it came from.
type plain struct{ id, val string }

func locatePlain(p plain) (Position, []byte) { return Position{Event: "ev-" + p.id}, []byte(p.val) }

// oneBatch serves its items as one batch, then ErrEndOfInput.
type oneBatch[T any] struct {
	items        []T
	reads, close int
}

func (s *oneBatch[T]) Read(context.Context) (Batch[T], error) {
	s.reads++
	if s.reads > 1 {
		return Batch[T]{}, ErrEndOfInput
	}
	return Batch[T]{Items: s.items, Through: Checkpoint{Stream: "one"}}, nil
}
func (s *oneBatch[T]) Commit(context.Context, Checkpoint) error { return nil }
func (s *oneBatch[T]) Close() error                             { s.close++; return nil }

// plainSink fails a batch for good when a record's value is "poison".
type plainSink struct{ got []string }

func (s *plainSink) Write(_ context.Context, b Batch[plain]) error {
	for _, p := range b.Items {
		if p.val == "poison" {
			return errors.New("value out of range")
		}
	}
	for _, p := range b.Items {
		s.got = append(s.got, p.id)
	}
	return nil
}

// A record is quarantined at the position its Locate function gives, in
// the transformer and in an Isolating sink alike; a pipeline or sink whose
// records can be located neither way fails before it reads or writes.
func TestRecordsAreLocatedByLocateOrOrigin(t *testing.T) {
	items := []plain{{"1", "ok"}, {"2", "bad"}, {"3", "poison"}, {"4", "ok"}}
	reject := func(_ context.Context, p plain) (plain, error) {
		if p.val == "bad" {
			return p, Reject("bad_value", "record %s", p.id)
		}
		return p, nil
	}
	cases := []struct {
		name        string
		locate      func(plain) (Position, []byte) // the pipeline's and the sink's
		wantErr     string                         // "" = the run succeeds
		wantReads   int
		wantWritten []string
		wantQuar    map[string]string // event id -> raw
	}{
		{name: "located by Locate", locate: locatePlain, wantReads: 2, wantWritten: []string{"1", "4"},
			wantQuar: map[string]string{"ev-2": "bad", "ev-3": "poison"}},
		{name: "neither Located nor Locate", wantErr: "Locate", wantReads: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, sink, q := &oneBatch[plain]{items: items}, &plainSink{}, &memQuarantine{}
			p := &Pipeline[plain, plain]{Name: "t", Source: src, Locate: c.locate, Stage: reject, Quarantine: q, Retry: fastRetry,
				Sinks: []Sink[plain]{Isolating[plain]{Sink: sink, Locate: c.locate, Quarantine: q, Pipeline: "t", Reason: "not_storable"}}}
			_, err := p.Run(context.Background())
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if src.reads != c.wantReads || src.close != 1 {
				t.Errorf("source read %d times and closed %d, want %d and 1", src.reads, src.close, c.wantReads)
			}
			if strings.Join(sink.got, ",") != strings.Join(c.wantWritten, ",") {
				t.Errorf("written %v, want %v", sink.got, c.wantWritten)
			}
			got := map[string]string{}
			for _, r := range q.got {
				got[r.Pos.Event] = string(r.Raw)
			}
			if len(got) != len(c.wantQuar) || len(q.got) != len(c.wantQuar) {
				t.Fatalf("quarantined %+v, want %v", q.got, c.wantQuar)
			}
			for ev, raw := range c.wantQuar {
				if got[ev] != raw {
					t.Errorf("quarantined at %s: %q, want %q", ev, got[ev], raw)
				}
			}
		})
	}
	// An Isolating sink on its own: without a way to locate a record it
	// writes nothing, rather than quarantine records it cannot place.
	sink := &plainSink{}
	err := Isolating[plain]{Sink: sink, Quarantine: &memQuarantine{}}.Write(context.Background(), Batch[plain]{Items: items[:1]})
	if err == nil || len(sink.got) != 0 {
		t.Fatalf("unlocatable isolating sink: err %v, wrote %v", err, sink.got)
	}
}
