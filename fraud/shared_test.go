package fraud

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// sharedSortEveryEvent is shared_contact's evaluation as it was until
// session 33 (the window sorted on every event, every entry swept): the
// reference the in-place insertion must match.
func sharedSortEveryEvent(r Rule, st State, ev Event) (State, []Firing) {
	key := r.Key(ev)
	if key == "" {
		return st, nil
	}
	newest := ev.At
	for _, e := range st.Entries() {
		if e.At.After(newest) {
			newest = e.At
		}
	}
	from := newest.Add(-r.Window).Add(-MaxSkew)
	var kept []Entry
	for _, e := range st.Entries() {
		if !e.At.Before(from) {
			kept = append(kept, e)
		}
	}
	if slices.ContainsFunc(kept, func(e Entry) bool { return e.EventID == ev.ID }) {
		return NewState(kept), nil
	}
	me := Entry{Ref: Ref{EventID: ev.ID, Lineage: ev.Lineage}, At: ev.At, Paise: ev.Amount.Paise(), Investor: ev.InvestorID}
	if known := slices.IndexFunc(kept, func(e Entry) bool { return e.Investor == ev.InvestorID }); known >= 0 {
		old := kept[known]
		kept = slices.Delete(kept, known, known+1)
		me.At, me.Ref, me.Fired = old.At, old.Ref, old.Fired
		return NewState(append(kept, me)), nil
	}
	kept = append(kept, me)
	slices.SortStableFunc(kept, func(a, b Entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	var out []Firing
	lo := 0
	for i := range kept {
		for kept[lo].At.Before(kept[i].At.Add(-r.Window)) {
			lo++
		}
		if kept[i].Fired || i-lo < r.MaxInvestors {
			continue
		}
		kept[i].Fired = true
		f := Firing{RuleID: r.ID, Kind: r.Kind, Action: r.Action, Key: key, Event: kept[i].Ref, Investor: kept[i].Investor, At: kept[i].At}
		for _, e := range kept[lo : i+1] {
			f.Evidence = append(f.Evidence, e.Ref)
		}
		out = append(out, f)
	}
	return NewState(kept), out
}

// shared_contact keeps its window in time order and inserts each event in
// place (it used to sort the whole window on every event). Over random
// streams of one bank account (investors coming back, copies, equal
// times, arrival up to MaxSkew out of order, gaps that age entries out)
// it raises exactly the firings of the sort-every-event evaluation, in the
// same order with the same evidence, and keeps the same entries; windows
// stored unsorted by the old code (a refresh moved an entry to the end)
// are read as well.
func TestSharedContactInPlaceEqualsSortEveryEvent(t *testing.T) {
	for seed := range uint64(300) {
		rnd := rand.New(rand.NewPCG(seed, 33))
		r := Rule{ID: "mule", Kind: KindSharedContact, Scope: ScopeBank, Window: time.Duration(1+rnd.IntN(10)) * 24 * time.Hour,
			Action: ActionAlert, MaxInvestors: 1 + rnd.IntN(3)}
		var newSt, oldSt State
		base := t0
		fired := 0
		for i := range 60 + rnd.IntN(60) {
			if rnd.IntN(25) == 0 {
				base = base.Add(time.Duration(rnd.IntN(60)) * 24 * time.Hour) // a gap: entries age out
			}
			id := fmt.Sprintf("e%d", i)
			if i > 0 && rnd.IntN(10) == 0 {
				id = fmt.Sprintf("e%d", rnd.IntN(i)) // a copy (its time may differ: a new read of it)
			}
			at := base.Add(time.Duration(rnd.IntN(40*24)-20*24) * time.Hour) // up to 20 days either side
			if rnd.IntN(5) == 0 {
				at = base // equal times: the event id orders them
			}
			ev := Event{ID: id, Lineage: "lin-" + id, Kind: EventProfile, InvestorID: fmt.Sprintf("I%d", rnd.IntN(12)), At: at,
				Fields: []string{"bank_account"}, Fingerprints: map[string]string{"bank_account": "fpA"}}
			var gotF, wantF []Firing
			newSt, gotF = r.Eval(newSt, ev)
			oldSt, wantF = sharedSortEveryEvent(r, oldSt, ev)
			fired += len(wantF)
			if !slices.EqualFunc(gotF, wantF, sameFiring) {
				t.Fatalf("seed %d event %d (%s at %s): fired %v, want %v", seed, i, id, at, gotF, wantF)
			}
			if !sameEntries(newSt.Entries(), oldSt.Entries()) {
				t.Fatalf("seed %d event %d: window %v, want %v", seed, i, newSt.Entries(), oldSt.Entries())
			}
			if rnd.IntN(7) == 0 {
				newSt = oldSt // a window as the old code stored it
			}
		}
		if seed == 0 && fired == 0 {
			t.Fatal("the first stream fired nothing: the comparison proves little")
		}
	}
}

func sameFiring(a, b Firing) bool {
	return a.RuleID == b.RuleID && a.Key == b.Key && a.Event == b.Event && a.Investor == b.Investor && a.At.Equal(b.At) &&
		slices.Equal(a.Evidence, b.Evidence)
}

// sameEntries: the same entries, in any order (the old code left a
// refreshed entry last).
func sameEntries(a, b []Entry) bool {
	key := func(e Entry) string {
		return fmt.Sprintf("%s|%s|%s|%s|%v|%d", e.EventID, e.Lineage, e.At.Format(time.RFC3339Nano), e.Investor, e.Fired, e.Paise)
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
