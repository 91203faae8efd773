package gen_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
)

func backtest(t *testing.T, s *gen.Stream) *fraud.Backtest {
	t.Helper()
	b := fraud.NewBacktest(fraud.Shipped(), s.Messages[0].At.AddDate(0, 0, -1), s.Messages[len(s.Messages)-1].At.AddDate(0, 0, 1))
	for i, m := range s.Messages {
		ev, err := fraud.Decode(m.Topic, m.Value, "gen:"+m.Topic)
		if errors.Is(err, fraud.ErrIgnored) {
			continue
		}
		if err != nil {
			t.Fatalf("message %d (%s) does not decode: %v", i, m.Topic, err)
		}
		b.Add(ev)
	}
	return b
}

// The shipped rules find every planted pattern and nothing else; on the
// clean stream they raise nothing.
func TestShippedRulesFindExactlyThePlanted(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s, err := gen.Generate(gen.Options{Seed: seed, Investors: 300, Days: 60, Plant: 3})
		if err != nil {
			t.Fatal(err)
		}
		// 3 plants x 6 patterns = 18 alerts
		if len(s.Truth) != 18 {
			t.Fatalf("truth has %d alerts, want 18", len(s.Truth))
		}
		var want []string
		truth := map[string]string{}
		for _, tr := range s.Truth {
			want = append(want, tr.AlertID)
			truth[tr.AlertID] = tr.RuleID
		}
		slices.Sort(want)
		b := backtest(t, s)
		if got := b.AlertIDs(); !slices.Equal(got, want) {
			t.Errorf("seed %d: alerts %v\nwant %v", seed, got, want)
		}
		for _, sc := range b.Scores(truth) {
			if sc.FalsePos != 0 || sc.FalseNeg != 0 {
				t.Errorf("seed %d: %+v", seed, sc)
			}
		}
		clean, err := gen.Generate(gen.Options{Seed: seed, Investors: 300, Days: 60, Clean: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(clean.Truth) != 0 {
			t.Fatalf("clean stream has truth")
		}
		if ids := backtest(t, clean).AlertIDs(); len(ids) != 0 {
			t.Errorf("seed %d: clean stream raised %v", seed, ids)
		}
	}
}

// The generator is deterministic: a seed is a stream.
func TestGenerateIsDeterministic(t *testing.T) {
	a, _ := gen.Generate(gen.Options{Seed: 7, Investors: 20, Days: 20})
	b, _ := gen.Generate(gen.Options{Seed: 7, Investors: 20, Days: 20})
	if len(a.Messages) != len(b.Messages) {
		t.Fatal("lengths differ")
	}
	for i := range a.Messages {
		if string(a.Messages[i].Value) != string(b.Messages[i].Value) {
			t.Fatalf("message %d differs", i)
		}
	}
}

// A copy of an event at a new position (a producer's retry, the outbox
// relay sending again after a crash) changes nothing: the live
// evaluation skips only positions it has applied, so the rules must know
// the copy by its id. Every 10th event is sent again right after it and
// every 7th three events later (no skipping by id here, unlike the
// backtest): the shipped rules raise exactly the truth. Before, a copied
// purchase doubled a round trip's purchases (missed) and a copied failed
// payment or redemption fired a counting rule one event early.
func TestCopiesChangeNothing(t *testing.T) {
	s, err := gen.Generate(gen.Options{Seed: 5, Investors: 2000, Days: 30, Plant: 20})
	if err != nil {
		t.Fatal(err)
	}
	var evs []fraud.Event
	for _, m := range s.Messages {
		ev, err := fraud.Decode(m.Topic, m.Value, "gen:"+m.Topic)
		if errors.Is(err, fraud.ErrIgnored) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	var sent []fraud.Event
	copies := 0
	for i, ev := range evs {
		sent = append(sent, ev)
		if i%10 == 0 {
			sent, copies = append(sent, ev), copies+1
		}
		if i >= 3 && i%7 == 0 {
			sent, copies = append(sent, evs[i-3]), copies+1
		}
	}
	rs := fraud.Shipped()
	states := map[string]fraud.State{}
	var got []string
	for _, ev := range sent {
		changed, fs := rs.EvalAll(states, ev)
		for k, v := range changed {
			states[k] = v
		}
		for _, f := range fs {
			got = append(got, f.AlertID())
		}
	}
	var want []string
	for _, tr := range s.Truth {
		want = append(want, tr.AlertID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(want) != 120 || copies < len(evs)/6 {
		t.Errorf("with %d copies: alerts %v\nwant %v (20 plants x 6)", copies, got, want)
	}
}
