package fraud

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// EventKind is what happened.
type EventKind string

const (
	// EventOrder: an order leg was placed (purchase, redemption, switch_in,
	// switch_out), from the outbox's orders.status.
	EventOrder EventKind = "order"
	// EventPayment: a payment was captured or failed.
	EventPayment EventKind = "payment"
	// EventProfile: investors.changed.
	EventProfile EventKind = "profile"
)

// Event is one input to the rules, already typed at the boundary.
type Event struct {
	ID         string // unique and stable across replays (outbox event id, investors.changed event_id)
	Lineage    string // where it came from: topic/partition/offset, outbox id
	Kind       EventKind
	InvestorID string
	FolioNo    string
	At         time.Time
	// orders and payments
	OrderID   string
	OrderKind string      // purchase, redemption, switch_in, switch_out
	Amount    fund.Amount // the order's (a redemption's estimated) value, or the payment's amount
	// Holdings is a redemption's folio (scope folio) or investor (scope
	// investor) holdings value just before it; zero when unknown.
	Holdings      fund.Amount
	PaymentFailed bool
	// profile changes
	Fields       []string
	Fingerprints map[string]string // field -> keyed fingerprint of the new value
}

// IsRedemption: a redemption or a switch out (money leaving the scheme).
func (e Event) IsRedemption() bool {
	return e.Kind == EventOrder && (e.OrderKind == "redemption" || e.OrderKind == "switch_out")
}

// IsPurchase: a purchase (a switch in is money already with us).
func (e Event) IsPurchase() bool { return e.Kind == EventOrder && e.OrderKind == "purchase" }

// Ref is one piece of evidence: an event and where it came from.
type Ref struct {
	EventID string `json:"event_id"`
	Lineage string `json:"lineage"`
}

// Firing is a rule's decision to alert (and maybe hold).
type Firing struct {
	RuleID   string
	Kind     Kind
	Action   Action
	Key      string // the scope key whose window fired
	Event    Ref    // the triggering event
	OrderID  string // the leg to hold (action hold)
	Investor string
	At       time.Time
	Evidence []Ref // every event that made the window fire, oldest first, the trigger last
}

// AlertID is the alert's id: the rule plus the triggering event's id, so a
// replay of the event finds the alert it raised before.
func (f Firing) AlertID() string { return AlertID(f.RuleID, f.Event.EventID) }

// AlertID is rule + ":" + event id.
func AlertID(ruleID, eventID string) string { return ruleID + ":" + eventID }

// Key is the scope key of ev under r ("" when the rule does not look at
// this event): the investor, the folio, or "bank:<fingerprint>".
func (r Rule) Key(ev Event) string {
	if !r.wants(ev) {
		return ""
	}
	switch r.Scope {
	case ScopeInvestor:
		return ev.InvestorID
	case ScopeFolio:
		return ev.FolioNo
	default:
		field := scopeField[r.Scope]
		if fp := ev.Fingerprints[field]; fp != "" && slices.Contains(ev.Fields, field) {
			return string(r.Scope) + ":" + fp
		}
	}
	return ""
}

var scopeField = map[Scope]string{ScopeBank: "bank_account", ScopeMobile: "mobile", ScopeEmail: "email"}

// wants: the event can change this rule's window or fire it.
func (r Rule) wants(ev Event) bool {
	switch r.Kind {
	case KindRedemptionVelocity:
		return ev.IsRedemption()
	case KindAccountTakeover:
		return ev.IsRedemption() || (ev.Kind == EventProfile && r.watches(ev.Fields))
	case KindSharedContact:
		return ev.Kind == EventProfile
	case KindRoundTrip:
		return ev.IsRedemption() || ev.IsPurchase()
	case KindFailedPayments:
		return ev.Kind == EventPayment && ev.PaymentFailed
	case KindStructuring:
		return ev.IsPurchase()
	}
	return false
}

func (r Rule) watches(fields []string) bool {
	for _, f := range fields {
		if slices.Contains(r.Fields, f) {
			return true
		}
	}
	return false
}

var hundred = decimal.NewFromInt(100)

// atLeastPct: part >= pct % of whole, in exact decimals (part*100 >= pct*whole).
func atLeastPct(part, whole fund.Amount, pct decimal.Decimal) bool {
	return part.Decimal().Mul(hundred).GreaterThanOrEqual(pct.Mul(whole.Decimal()))
}

// MaxSkew is how far apart in event time the evaluation's topics and
// partitions may be read and the rules that pair events across them
// (account_takeover: a change with a redemption; shared_contact:
// investors of different partitions) still find every pair. On a backlog
// each topic's consumer runs at its own pace, days apart: a window that
// dropped what lay a window behind its newest event would lose the day-2
// redemption once the day-20 one was read, before the slower topic's
// day-0 bank change arrived. Those two rules keep entries Window+MaxSkew
// behind their newest and test the window on each pair; the others read
// one investor's events, in order on one partition, and keep Window.
const MaxSkew = 30 * 24 * time.Hour

// crossPartition: the rule pairs events that come from different topics
// or partitions, in no set order between them.
func (r Rule) crossPartition() bool {
	return r.Kind == KindAccountTakeover || r.Kind == KindSharedContact
}

// Eval applies ev to the window st of key r.Key(ev) and says whether the
// rule fires. It is pure: st is not changed; the returned state is what
// to keep. Entries older than the window (before the newest event's time
// less Window, and less MaxSkew for the cross-partition rules) are
// dropped first; an event the window holds already (a copy) changes
// nothing. A counting rule spends its window's entries when it fires, so
// the next alert needs a whole new set of events. At most one
// firing per event except account_takeover's late change, which fires on
// every big redemption it precedes that had not fired.
func (r Rule) Eval(st State, ev Event) (State, []Firing) {
	key := r.Key(ev)
	if key == "" {
		return st, nil
	}
	if r.Kind == KindSharedContact {
		return r.evalShared(st, ev, key)
	}
	newest := ev.At
	if n := st.Newest(); n.After(newest) {
		newest = n
	}
	from := newest.Add(-r.Window)
	if r.crossPartition() {
		// the pair may still be on its way from a slower topic or
		// partition: keep MaxSkew more (the rule checks its window itself)
		from = from.Add(-MaxSkew)
	}
	kept := make([]Entry, 0, st.Len()+1) // room for this event's entry
	for i := range st.Len() {
		if e := st.Entry(i); !e.At.Before(from) {
			kept = append(kept, e)
		}
	}
	// A copy of an event the window holds (a producer's retry, the outbox
	// relay sending again after a crash: a new offset, the same event id)
	// changes nothing, as the backtest skips an id it has seen.
	if slices.ContainsFunc(kept, func(e Entry) bool { return e.EventID == ev.ID }) {
		return NewState(kept), nil
	}
	me := Entry{Ref: Ref{EventID: ev.ID, Lineage: ev.Lineage}, At: ev.At, Paise: ev.Amount.Paise()}
	fire := func(trigger Entry, orderID string, evidence []Entry) []Firing {
		f := Firing{RuleID: r.ID, Kind: r.Kind, Action: r.Action, Key: key, Event: trigger.Ref,
			Investor: ev.InvestorID, At: trigger.At}
		if r.Action == ActionHold {
			f.OrderID = orderID
		}
		for _, e := range evidence {
			f.Evidence = append(f.Evidence, e.Ref)
		}
		return []Firing{f}
	}
	// A counting rule's firing spends its entries: they stay (marked
	// Fired, so a copy of one is still known) but count for no other alert.
	live := func() []Entry {
		var l []Entry
		for _, e := range kept {
			if !e.Fired {
				l = append(l, e)
			}
		}
		return l
	}
	spend := func() State {
		for i := range kept {
			kept[i].Fired = true
		}
		return NewState(kept)
	}
	switch r.Kind {
	case KindRedemptionVelocity, KindFailedPayments:
		kept = append(kept, me)
		if liveCount(kept) > r.MaxCount {
			l := live() // before spend marks them
			return spend(), fire(me, ev.OrderID, l)
		}
	case KindStructuring:
		lo := r.Amount.Sub(r.Band)
		if ev.Amount.Cmp(lo) < 0 || ev.Amount.Cmp(r.Amount) >= 0 {
			return NewState(kept), nil
		}
		kept = append(kept, me)
		if liveCount(kept) >= r.MinCount {
			l := live() // before spend marks them
			return spend(), fire(me, ev.OrderID, l)
		}
	case KindAccountTakeover:
		return r.evalTakeover(kept, me, ev, fire)
	case KindRoundTrip:
		if ev.IsPurchase() {
			kept = append(kept, me)
			break
		}
		var bought fund.Amount
		l := live()
		for _, e := range l {
			bought = bought.Add(e.Amount())
		}
		if bought.Sign() > 0 && atLeastPct(ev.Amount, bought, r.MinPct) &&
			(ev.Holdings.Sign() <= 0 || atLeastPct(bought, ev.Holdings, r.MinPct)) {
			// the purchases are spent: they cannot make a second round
			// trip; the redemption is kept, spent, so a copy is known
			me.Fired = true
			kept = append(kept, me)
			return spend(), fire(me, ev.OrderID, append(l, me))
		}
	}
	return NewState(kept), nil
}

// byTime orders shared_contact's entries: by time, then event id (a
// copy is never kept, so no two entries tie).
func byTime(a, b Entry) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}

// evalShared is Eval of shared_contact. Its entries are kept in time
// order (byTime), so an event is inserted in place instead of the window
// being sorted on every event: the window keeps Window+MaxSkew of
// sharers. The investors of different partitions arrive in no set order:
// in time order, an investor with at least max_investors others in the
// window before its change is an alert on that change, whenever it
// arrives, once. Every entry that qualified was fired when it did, so an
// insertion at p can make only the entries from p on that lie within a
// window after it newly qualify (one more sharer before them); those
// before p count the same sharers as before.
func (r Rule) evalShared(st State, ev Event, key string) (State, []Firing) {
	es := st.Entries()
	if !slices.IsSortedFunc(es, byTime) {
		// a window written before session 33 (a refresh moved its entry
		// to the end; the next event sorted it)
		slices.SortStableFunc(es, byTime)
	}
	newest := ev.At
	if n := len(es); n > 0 && es[n-1].At.After(newest) {
		newest = es[n-1].At
	}
	// the pair may still be on its way from a slower partition: keep
	// MaxSkew more than the window (the sweep checks the window itself)
	from := newest.Add(-r.Window - MaxSkew)
	es = es[sort.Search(len(es), func(i int) bool { return !es[i].At.Before(from) }):]
	// a copy of an event the window holds changes nothing
	if slices.ContainsFunc(es, func(e Entry) bool { return e.EventID == ev.ID }) {
		return NewState(es), nil
	}
	me := Entry{Ref: Ref{EventID: ev.ID, Lineage: ev.Lineage}, At: ev.At, Paise: ev.Amount.Paise(), Investor: ev.InvestorID}
	if known := slices.IndexFunc(es, func(e Entry) bool { return e.Investor == ev.InvestorID }); known >= 0 {
		// the same investor again: refresh, never a new sharer (its time
		// and event stay, so its place does too)
		old := es[known]
		me.At, me.Ref, me.Fired = old.At, old.Ref, old.Fired
		es[known] = me // es is Entries' own copy
		return NewState(es), nil
	}
	p, _ := slices.BinarySearchFunc(es, me, byTime)
	kept := make([]Entry, 0, len(es)+1)
	kept = append(append(append(kept, es[:p]...), me), es[p:]...)
	var out []Firing
	until := me.At.Add(r.Window) // the last time whose window holds me
	for i := p; i < len(kept) && !kept[i].At.After(until); i++ {
		if kept[i].Fired || i < r.MaxInvestors {
			continue
		}
		// the first entry within the window before kept[i]
		at := kept[i].At.Add(-r.Window)
		lo := sort.Search(i, func(j int) bool { return !kept[j].At.Before(at) })
		if i-lo < r.MaxInvestors {
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

// liveCount is how many of es are not spent (live without its slice).
func liveCount(es []Entry) int {
	n := 0
	for i := range es {
		if !es[i].Fired {
			n++
		}
	}
	return n
}

// evalTakeover: a big redemption (at least min_pct % of the holdings;
// unknown holdings count as all) within Window after a watched change
// fires, whichever of the two arrives first.
func (r Rule) evalTakeover(kept []Entry, me Entry, ev Event, fire func(Entry, string, []Entry) []Firing) (State, []Firing) {
	changesBefore := func(at time.Time) []Entry {
		var cs []Entry
		for _, e := range kept {
			if !e.Redemption && !e.At.After(at) && !e.At.Before(at.Add(-r.Window)) {
				cs = append(cs, e)
			}
		}
		return cs
	}
	if ev.Kind == EventProfile {
		kept = append(kept, me)
		var out []Firing
		for i, e := range kept {
			if e.Redemption && !e.Fired && !e.At.Before(me.At) && !e.At.After(me.At.Add(r.Window)) {
				kept[i].Fired = true
				out = append(out, fire(e, e.OrderID, append(changesBefore(e.At), e))...)
			}
		}
		return NewState(kept), out
	}
	if ev.Holdings.Sign() > 0 && !atLeastPct(ev.Amount, ev.Holdings, r.MinPct) {
		return NewState(kept), nil
	}
	me.Redemption, me.OrderID = true, ev.OrderID
	cs := changesBefore(me.At)
	me.Fired = len(cs) > 0
	kept = append(kept, me)
	if !me.Fired {
		return NewState(kept), nil
	}
	return NewState(kept), fire(me, ev.OrderID, append(cs, me))
}

// EvalAll runs every rule of rs over ev with the windows in states (keyed
// by StateKey) and returns the new states of the windows it touched and
// the firings, in rule order. Pure: the streaming job and the backtest
// both use it with their own state stores.
func (rs *RuleSet) EvalAll(states map[string]State, ev Event) (map[string]State, []Firing) {
	changed := map[string]State{}
	var out []Firing
	for _, r := range rs.Rules {
		k := r.Key(ev)
		if k == "" {
			continue
		}
		sk := StateKey(r.ID, k)
		st, fs := r.Eval(states[sk], ev)
		changed[sk] = st
		out = append(out, fs...)
	}
	return changed, out
}

// StateKey names one rule's window for one scope key.
func StateKey(ruleID, key string) string { return ruleID + "|" + key }
