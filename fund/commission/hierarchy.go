package commission

import (
	"errors"
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
	"github.com/shopspring/decimal"
)

// PartyKind is what a party of the hierarchy is.
type PartyKind int

const (
	ARNHolder    PartyKind = iota + 1 // a distributor with an AMFI registration number
	SubBroker                         // a sub-distributor paid through an ARN holder
	EUINEmployee                      // an employee (EUIN) of an ARN holder
)

// String returns "arn", "sub" or "euin".
func (k PartyKind) String() string {
	switch k {
	case ARNHolder:
		return "arn"
	case SubBroker:
		return "sub"
	case EUINEmployee:
		return "euin"
	}
	return fmt.Sprintf("PartyKind(%d)", int(k))
}

// Party is a payee: an ARN holder, a sub-broker or an EUIN, valid (its
// registration in force) from ValidFrom to ValidTo inclusive (ValidTo zero:
// open-ended).
type Party struct {
	ID            string
	Kind          PartyKind
	Name          string
	ValidFrom     fund.Date
	ValidTo       fund.Date
	GSTRegistered bool
	IntraState    bool // GST as CGST + SGST (same state as the platform) instead of IGST
}

// ValidOn reports whether the party's registration is in force on day.
func (p Party) ValidOn(day fund.Date) bool {
	return !day.Before(p.ValidFrom) && (p.ValidTo.IsZero() || !day.After(p.ValidTo))
}

// Share is one edge of a share tree: Payee receives Pct % of what Parent
// receives. Parent == Payee is what the parent keeps.
type Share struct {
	Parent string
	Payee  string
	Pct    decimal.Decimal
}

// Tree is the share tree of one root ARN in force from From (until the next
// tree of the same root).
type Tree struct {
	Root   string
	From   fund.Date
	Shares []Share
}

// ErrShares is wrapped by every refusal of a share tree.
var ErrShares = errors.New("share tree refused")

// payeeShares flattens the tree into each payee's share of the root's
// commission, in % (exact: products of the edges). It refuses a parent whose
// shares do not sum to 100 % exactly, a negative share, a cycle and a node
// not reachable from the root.
func (t Tree) payeeShares() (map[string]decimal.Decimal, error) {
	kids := map[string][]Share{}
	sum := map[string]decimal.Decimal{}
	for _, s := range t.Shares {
		if s.Parent == "" || s.Payee == "" {
			return nil, fmt.Errorf("%w: %s from %s: an edge without parent or payee", ErrShares, t.Root, t.From)
		}
		if s.Pct.Sign() <= 0 || s.Pct.Cmp(hundred) > 0 {
			return nil, fmt.Errorf("%w: %s from %s: %s→%s %s %% outside (0, 100]", ErrShares, t.Root, t.From, s.Parent, s.Payee, s.Pct)
		}
		kids[s.Parent] = append(kids[s.Parent], s)
		sum[s.Parent] = sum[s.Parent].Add(s.Pct)
	}
	for p, v := range sum {
		if !v.Equal(hundred) {
			return nil, fmt.Errorf("%w: %s from %s: the shares under %s sum to %s %%, not 100 %%", ErrShares, t.Root, t.From, p, v)
		}
	}
	out := map[string]decimal.Decimal{}
	seen := map[string]bool{}
	var walk func(node string, pct decimal.Decimal, path map[string]bool) error
	walk = func(node string, pct decimal.Decimal, path map[string]bool) error {
		seen[node] = true
		ks, ok := kids[node]
		if !ok { // a leaf keeps all it receives
			out[node] = out[node].Add(pct)
			return nil
		}
		if path[node] {
			return fmt.Errorf("%w: %s from %s: %s is its own ancestor", ErrShares, t.Root, t.From, node)
		}
		path[node] = true
		defer delete(path, node)
		for _, k := range ks {
			p := pct.Mul(k.Pct).Shift(-2)
			if k.Payee == node { // what the node keeps
				out[node] = out[node].Add(p)
				continue
			}
			if err := walk(k.Payee, p, path); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t.Root, hundred, map[string]bool{}); err != nil {
		return nil, err
	}
	for p := range kids {
		if !seen[p] {
			return nil, fmt.Errorf("%w: %s from %s: %s is not under the root", ErrShares, t.Root, t.From, p)
		}
	}
	return out, nil
}

// Hierarchy is the validated, effective-dated distributor hierarchy: the
// parties and, per root ARN, its share trees by date.
type Hierarchy struct {
	parties map[string]Party
	trees   map[string][]flatTree // ascending From
}

type flatTree struct {
	from   fund.Date
	shares []PayeeShare
}

// PayeeShare is a payee's share of a root ARN's commission, in %.
type PayeeShare struct {
	Payee string
	Pct   decimal.Decimal
}

// NewHierarchy validates parties and trees; a tree whose shares do not sum to
// 100 % (at any node), that names an unknown party, or two trees of one root
// on one date are refused (the whole load: the caller keeps the previous
// hierarchy).
func NewHierarchy(parties []Party, trees []Tree) (*Hierarchy, error) {
	h := &Hierarchy{parties: map[string]Party{}, trees: map[string][]flatTree{}}
	for _, p := range parties {
		if p.ID == "" || p.ValidFrom.IsZero() {
			return nil, fmt.Errorf("party %q: id and valid-from are required", p.ID)
		}
		if !p.ValidTo.IsZero() && p.ValidTo.Before(p.ValidFrom) {
			return nil, fmt.Errorf("party %s: valid to %s before valid from %s", p.ID, p.ValidTo, p.ValidFrom)
		}
		if _, dup := h.parties[p.ID]; dup {
			return nil, fmt.Errorf("party %s listed twice", p.ID)
		}
		h.parties[p.ID] = p
	}
	for _, t := range trees {
		if r, ok := h.parties[t.Root]; !ok || r.Kind != ARNHolder {
			return nil, fmt.Errorf("%w: root %s is not a known ARN holder", ErrShares, t.Root)
		}
		flat, err := t.payeeShares()
		if err != nil {
			return nil, err
		}
		ft := flatTree{from: t.From}
		for id, pct := range flat {
			if _, ok := h.parties[id]; !ok {
				return nil, fmt.Errorf("%w: %s from %s: payee %s is not a known party", ErrShares, t.Root, t.From, id)
			}
			ft.shares = append(ft.shares, PayeeShare{id, pct})
		}
		sort.Slice(ft.shares, func(i, j int) bool { return ft.shares[i].Payee < ft.shares[j].Payee })
		h.trees[t.Root] = append(h.trees[t.Root], ft)
	}
	for root, ts := range h.trees {
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].from.Before(ts[j].from) })
		for i := 1; i < len(ts); i++ {
			if ts[i].from == ts[i-1].from {
				return nil, fmt.Errorf("%w: %s: two trees from %s", ErrShares, root, ts[i].from)
			}
		}
	}
	return h, nil
}

// Party returns the party id.
func (h *Hierarchy) Party(id string) (Party, bool) {
	p, ok := h.parties[id]
	return p, ok
}

// HeldPrefix marks the pseudo-payee of a held share: "held:<id>".
const HeldPrefix = "held:"

// ErrNoValidARN is wrapped when the transaction's ARN is unknown or not in
// force on the day: its commission is held, never paid to another ARN.
var ErrNoValidARN = errors.New("no valid ARN")

// Split returns who is paid the commission arn earns on day, and each one's
// share in % (summing to exactly 100). A root with no tree in force keeps it
// all. A payee whose registration is not in force that day is replaced by the
// pseudo-payee "held:<id>" (held with a reason, not paid to someone else). An
// ARN unknown or not valid on day is an error wrapping ErrNoValidARN.
func (h *Hierarchy) Split(arn string, day fund.Date) ([]PayeeShare, error) {
	p, ok := h.parties[arn]
	if !ok || p.Kind != ARNHolder {
		return nil, fmt.Errorf("ARN %q on %s: %w (not registered)", arn, day, ErrNoValidARN)
	}
	if !p.ValidOn(day) {
		return nil, fmt.Errorf("ARN %s on %s: %w (registration in force %s to %s)", arn, day, ErrNoValidARN, p.ValidFrom, openEnd(p.ValidTo))
	}
	ts := h.trees[arn]
	i := sort.Search(len(ts), func(i int) bool { return ts[i].from.After(day) }) - 1
	if i < 0 {
		return []PayeeShare{{arn, hundred}}, nil
	}
	out := make([]PayeeShare, 0, len(ts[i].shares))
	for _, s := range ts[i].shares {
		if !h.parties[s.Payee].ValidOn(day) {
			s.Payee = HeldPrefix + s.Payee
		}
		out = append(out, s)
	}
	return out, nil
}

func openEnd(d fund.Date) string {
	if d.IsZero() {
		return "open"
	}
	return d.String()
}

// ParsePartyKind accepts "arn", "sub" or "euin" (String's codes).
func ParsePartyKind(s string) (PartyKind, error) {
	for _, k := range []PartyKind{ARNHolder, SubBroker, EUINEmployee} {
		if s == k.String() {
			return k, nil
		}
	}
	return 0, fmt.Errorf("party kind %q: want arn, sub or euin", s)
}
