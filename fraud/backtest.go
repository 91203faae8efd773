package fraud

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// DayCounts is one rule's alerts and holds on one day.
type DayCounts struct {
	Alerts, Holds int
}

// Backtest is what a rule set would have raised over a history, without
// acting.
type Backtest struct {
	Rules   *RuleSet
	From    time.Time // inclusive; zero: from the first event
	To      time.Time // exclusive; zero: through the last
	Firings []Firing
	PerDay  map[string]map[string]*DayCounts // rule -> YYYY-MM-DD (UTC) -> counts
	Events  int
	states  map[string]State
	seen    map[string]bool
}

// NewBacktest starts a backtest of rs over [from, to).
func NewBacktest(rs *RuleSet, from, to time.Time) *Backtest {
	return &Backtest{Rules: rs, From: from, To: to, PerDay: map[string]map[string]*DayCounts{}, states: map[string]State{}, seen: map[string]bool{}}
}

// Add evaluates one event, in stream order, with the same EvalAll the
// streaming job runs; an event seen before (a redelivery) is skipped as
// the job skips it.
func (b *Backtest) Add(ev Event) {
	if (!b.From.IsZero() && ev.At.Before(b.From)) || (!b.To.IsZero() && !ev.At.Before(b.To)) || b.seen[ev.ID] {
		return
	}
	b.seen[ev.ID] = true
	b.Events++
	changed, fs := b.Rules.EvalAll(b.states, ev)
	for k, v := range changed {
		b.states[k] = v
	}
	for _, f := range fs {
		b.Firings = append(b.Firings, f)
		day := f.At.UTC().Format("2006-01-02")
		if b.PerDay[f.RuleID] == nil {
			b.PerDay[f.RuleID] = map[string]*DayCounts{}
		}
		c := b.PerDay[f.RuleID][day]
		if c == nil {
			c = &DayCounts{}
			b.PerDay[f.RuleID][day] = c
		}
		c.Alerts++
		if f.Action == ActionHold && f.OrderID != "" {
			c.Holds++
		}
	}
}

// AlertIDs are the ids of every alert, sorted.
func (b *Backtest) AlertIDs() []string {
	var ids []string
	for _, f := range b.Firings {
		ids = append(ids, f.AlertID())
	}
	slices.Sort(ids)
	return ids
}

// Score is one rule's alerts against a labelled truth.
type Score struct {
	RuleID                      string
	TruePos, FalsePos, FalseNeg int
}

// Precision is TP/(TP+FP); 1 when the rule raised nothing.
func (s Score) Precision() float64 {
	if s.TruePos+s.FalsePos == 0 {
		return 1
	}
	return float64(s.TruePos) / float64(s.TruePos+s.FalsePos)
}

// Recall is TP/(TP+FN); 1 when the truth has nothing for the rule.
func (s Score) Recall() float64 {
	if s.TruePos+s.FalseNeg == 0 {
		return 1
	}
	return float64(s.TruePos) / float64(s.TruePos+s.FalseNeg)
}

// Scores compares the alerts with truth (alert id -> rule id), per rule of
// the set, in its order.
func (b *Backtest) Scores(truth map[string]string) []Score {
	raised := map[string]bool{}
	by := map[string]*Score{}
	var out []*Score
	for _, r := range b.Rules.Rules {
		s := &Score{RuleID: r.ID}
		by[r.ID] = s
		out = append(out, s)
	}
	for _, f := range b.Firings {
		id := f.AlertID()
		raised[id] = true
		if s := by[f.RuleID]; s != nil {
			if _, ok := truth[id]; ok {
				s.TruePos++
			} else {
				s.FalsePos++
			}
		}
	}
	for id, rule := range truth {
		if s := by[rule]; s != nil && !raised[id] {
			s.FalseNeg++
		}
	}
	res := make([]Score, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res
}

// WriteTable prints the per-rule per-day table, and with a truth the
// precision and recall per rule.
func (b *Backtest) WriteTable(w io.Writer, truth map[string]string) {
	fmt.Fprintf(w, "%-22s %-10s %6s %6s\n", "rule", "day", "alerts", "holds")
	for _, r := range b.Rules.Rules {
		days := b.PerDay[r.ID]
		var ds []string
		for d := range days {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		for _, d := range ds {
			fmt.Fprintf(w, "%-22s %-10s %6d %6d\n", r.ID, d, days[d].Alerts, days[d].Holds)
		}
	}
	fmt.Fprintf(w, "%d events, %d alerts\n", b.Events, len(b.Firings))
	if truth == nil {
		return
	}
	fmt.Fprintf(w, "\n%-22s %5s %5s %5s %9s %6s\n", "rule", "tp", "fp", "fn", "precision", "recall")
	for _, s := range b.Scores(truth) {
		fmt.Fprintf(w, "%-22s %5d %5d %5d %9.3f %6.3f\n", s.RuleID, s.TruePos, s.FalsePos, s.FalseNeg, s.Precision(), s.Recall())
	}
}
