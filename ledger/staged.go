package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// staged is the Tx a set-based allocate batch runs the allotment code on
// (the same txn code the per-leg path runs on the store's Tx, so the two
// cannot decide differently). It answers the allotment's reads from facts
// read for the whole batch up front, with the batch's own changes applied
// (holdings, lots, leg statuses, clearing accounts), reading through to the
// store, one statement, only what the batch did not foresee (a switch-in's
// NAV); it keeps every write and writes them at the end with set
// statements (flush).
type staged struct {
	unstaged
	db    Tx
	facts Facts // what was read so far (Now: the transaction's time)

	asked struct {
		navs     map[NAVKey]bool
		schemes  map[string]bool
		holdings map[HoldingKey]bool
	}
	legs     map[string]*Leg
	holdings map[HoldingKey]*stagedHolding
	holdOrd  []HoldingKey // holdings changed, in the order first changed
	lots     map[HoldingKey]*stagedLots
	lotByID  map[int64]*stagedLot
	newLots  []*stagedLot
	clearing map[string]decimal.Decimal // the stored balance of a clearing account, read once

	txs       []TxWrite
	txByOrder map[string]int
	uses      []ConsumptionWrite
	status    map[string]*StatusChange
	statusOrd []string
	breaks    []BreakWrite
	broken    map[[2]string]bool
	alerts    []AlertWrite
	alertAt   map[[2]string]int
	events    []Event
	audits    []AuditEntry
}

type stagedHolding struct {
	units, invested decimal.Decimal
	exists, changed bool
	lastTx          int64
}

type stagedLots struct {
	loaded bool // every open lot of the holding is in lots (read, or bought in this batch)
	lots   []*stagedLot
}

type stagedLot struct {
	StoredLot
	txID          int64
	folio, scheme string
	nav           decimal.Decimal
	bought, dirty bool // bought in this batch; changed in this batch
}

// storeError marks an error of the store (as opposed to one leg's input):
// it fails the batch, and a transient one retries it whole.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func storeErr(err error) error {
	if err == nil {
		return nil
	}
	return &storeError{err}
}

func isStoreError(err error) bool {
	var se *storeError
	return errors.As(err, &se)
}

var errNoLeg = errors.New("no such order leg")

func newStaged(db Tx) *staged {
	s := &staged{db: db, legs: map[string]*Leg{}, holdings: map[HoldingKey]*stagedHolding{}, lots: map[HoldingKey]*stagedLots{},
		lotByID: map[int64]*stagedLot{}, clearing: map[string]decimal.Decimal{}, txByOrder: map[string]int{},
		status: map[string]*StatusChange{}, broken: map[[2]string]bool{}, alertAt: map[[2]string]int{}}
	s.asked.navs, s.asked.schemes, s.asked.holdings = map[NAVKey]bool{}, map[string]bool{}, map[HoldingKey]bool{}
	s.facts = Facts{NAVs: map[NAVKey]decimal.Decimal{}, Scales: map[string]int32{}, Categories: map[string]string{},
		Slabs: map[string][]fund.LoadSlab{}}
	return s
}

// addLegs adds legs read under lock.
func (s *staged) addLegs(ls []Leg) {
	for i := range ls {
		if _, ok := s.legs[ls[i].ID]; !ok {
			l := ls[i]
			s.legs[l.ID] = &l
		}
	}
}

// read reads the facts of q not read yet, in one round trip, and merges
// them (nothing already known or changed in this batch is replaced).
func (s *staged) read(ctx context.Context, q FactsQuery) error {
	var need FactsQuery
	for _, k := range q.NAVs {
		if !s.asked.navs[k] {
			need.NAVs = append(need.NAVs, k)
			s.asked.navs[k] = true
		}
	}
	for _, sc := range q.Schemes {
		if !s.asked.schemes[sc] {
			need.Schemes = append(need.Schemes, sc)
			s.asked.schemes[sc] = true
		}
	}
	for _, k := range q.Holdings {
		if !s.asked.holdings[k] {
			need.Holdings = append(need.Holdings, k)
			s.asked.holdings[k] = true
		}
	}
	for _, k := range q.Lots {
		if ls := s.lots[k]; ls == nil || !ls.loaded {
			need.Lots = append(need.Lots, k)
		}
	}
	need.TxIDs, need.LotIDs = q.TxIDs, q.LotIDs
	if len(need.NAVs)+len(need.Schemes)+len(need.Holdings)+len(need.Lots)+need.TxIDs+need.LotIDs == 0 && !s.facts.Now.IsZero() {
		return nil
	}
	f, err := s.db.AllotFacts(ctx, need)
	if err != nil {
		return storeErr(fmt.Errorf("read: %w", err))
	}
	if s.facts.Now.IsZero() {
		s.facts.Now = f.Now
	}
	for k, v := range f.NAVs {
		s.facts.NAVs[k] = v
	}
	for k, v := range f.Scales {
		s.facts.Scales[k] = v
	}
	for k, v := range f.Categories {
		s.facts.Categories[k] = v
	}
	for k, v := range f.Slabs {
		s.facts.Slabs[k] = v
	}
	for _, k := range need.Holdings {
		if _, ok := s.holdings[k]; ok {
			continue
		}
		h := &stagedHolding{}
		if st, ok := f.Holdings[k]; ok {
			h.units, h.invested, h.exists = st.Units, st.Invested, true
		}
		s.holdings[k] = h
	}
	for _, k := range need.Lots {
		ls := s.lotsOf(k)
		for _, l := range f.Lots[k] {
			if _, ok := s.lotByID[l.ID]; !ok {
				sl := &stagedLot{StoredLot: l, folio: k.Folio, scheme: k.Scheme}
				ls.lots = append(ls.lots, sl)
				s.lotByID[l.ID] = sl
			}
		}
		ls.loaded = true
	}
	s.facts.TxIDs = append(s.facts.TxIDs, f.TxIDs...)
	s.facts.LotIDs = append(s.facts.LotIDs, f.LotIDs...)
	return nil
}

func (s *staged) lotsOf(k HoldingKey) *stagedLots {
	ls := s.lots[k]
	if ls == nil {
		ls = &stagedLots{}
		s.lots[k] = ls
	}
	return ls
}

func (s *staged) holding(ctx context.Context, k HoldingKey) (*stagedHolding, error) {
	if err := s.read(ctx, FactsQuery{Holdings: []HoldingKey{k}}); err != nil {
		return nil, err
	}
	return s.holdings[k], nil
}

// Leg reads a leg (read through, locked, if the batch did not).
func (s *staged) Leg(ctx context.Context, id string) (Leg, error) {
	if l, ok := s.legs[id]; ok {
		return *l, nil
	}
	ls, err := s.db.LockLegs(ctx, []string{id})
	if err != nil {
		return Leg{}, storeErr(err)
	}
	s.addLegs(ls)
	if l, ok := s.legs[id]; ok {
		return *l, nil
	}
	return Leg{}, errNoLeg
}

// SetStatus changes the leg as read and keeps its last state to write.
func (s *staged) SetStatus(_ context.Context, c StatusChange) error {
	l, ok := s.legs[c.ID]
	if !ok {
		return fmt.Errorf("order %s: status of a leg not read", c.ID)
	}
	l.Status, l.Reason = c.Status, c.Reason
	if c.TxID != 0 {
		tx := c.TxID
		l.TxID = &tx
	}
	if d := c.NAV; d != nil {
		date := d.Date
		l.NAVDate, l.FundsAt, l.PaymentID, l.Amount = &date, d.FundsAt, d.PaymentID, nil
		if d.Amount != nil {
			a, err := fund.AmountFromDecimal(*d.Amount, fund.NoRounding)
			if err != nil {
				return err
			}
			l.Amount = &a
		}
	}
	prev := s.status[c.ID]
	if prev == nil {
		cc := c
		s.status[c.ID] = &cc
		s.statusOrd = append(s.statusOrd, c.ID)
		return nil
	}
	prev.Status, prev.Reason = c.Status, c.Reason
	if c.TxID != 0 {
		prev.TxID = c.TxID
	}
	if c.NAV != nil {
		prev.NAV = c.NAV
	}
	return nil
}

// Category is the scheme's category.
func (s *staged) Category(ctx context.Context, scheme string) (string, bool, error) {
	if err := s.read(ctx, FactsQuery{Schemes: []string{scheme}}); err != nil {
		return "", false, err
	}
	c, ok := s.facts.Categories[scheme]
	return c, ok, nil
}

// AllotState is the NAV, the units scale and the holding as the batch left
// it.
func (s *staged) AllotState(ctx context.Context, scheme string, navDate fund.Date, folio string) (AllotState, error) {
	k := HoldingKey{folio, scheme}
	if err := s.read(ctx, FactsQuery{NAVs: []NAVKey{{scheme, navDate}}, Schemes: []string{scheme}, Holdings: []HoldingKey{k}}); err != nil {
		return AllotState{}, err
	}
	st := AllotState{Scale: s.facts.Scales[scheme]}
	if n, ok := s.facts.NAVs[NAVKey{scheme, navDate}]; ok {
		st.NAV = &n
	}
	if h := s.holdings[k]; h.exists {
		u := h.units
		st.Held = &u
	}
	return st, nil
}

// OpenLots are the holding's lots with units left, as the batch left them,
// oldest first (by NAV date, then id).
func (s *staged) OpenLots(ctx context.Context, folio, scheme string, scale int32) ([]fund.Lot, error) {
	k := HoldingKey{folio, scheme}
	if err := s.read(ctx, FactsQuery{Lots: []HoldingKey{k}}); err != nil {
		return nil, err
	}
	var open []*stagedLot
	for _, l := range s.lots[k].lots {
		if l.Remaining.Sign() > 0 {
			open = append(open, l)
		}
	}
	sort.Slice(open, func(i, j int) bool {
		if open[i].NAVDate != open[j].NAVDate {
			return open[i].NAVDate.Before(open[j].NAVDate)
		}
		return open[i].ID < open[j].ID
	})
	out := make([]fund.Lot, len(open))
	for i, l := range open {
		rem, err := fund.UnitsFromDecimal(l.Remaining, scale, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", l.ID, err)
		}
		bought, err := fund.UnitsFromDecimal(l.Units, scale, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", l.ID, err)
		}
		paid, err := fund.AmountFromDecimal(l.Paid, fund.NoRounding)
		if err != nil {
			return nil, fmt.Errorf("lot %d: %w", l.ID, err)
		}
		out[i] = fund.Lot{ID: l.ID, NAVDate: l.NAVDate, Units: bought, Paid: paid, Remaining: rem}
	}
	return out, nil
}

// LoadSlabs are the scheme's exit-load slabs.
func (s *staged) LoadSlabs(ctx context.Context, scheme string) ([]fund.LoadSlab, error) {
	if err := s.read(ctx, FactsQuery{Schemes: []string{scheme}}); err != nil {
		return nil, err
	}
	return s.facts.Slabs[scheme], nil
}

func (s *staged) nextTxID(ctx context.Context) (int64, error) {
	if len(s.facts.TxIDs) == 0 {
		if err := s.read(ctx, FactsQuery{TxIDs: 16}); err != nil {
			return 0, err
		}
	}
	id := s.facts.TxIDs[0]
	s.facts.TxIDs = s.facts.TxIDs[1:]
	return id, nil
}

func (s *staged) nextLotID(ctx context.Context) (int64, error) {
	if len(s.facts.LotIDs) == 0 {
		if err := s.read(ctx, FactsQuery{LotIDs: 16}); err != nil {
			return 0, err
		}
	}
	id := s.facts.LotIDs[0]
	s.facts.LotIDs = s.facts.LotIDs[1:]
	return id, nil
}

// PostTransaction keeps a ledger transaction and its postings.
func (s *staged) PostTransaction(ctx context.Context, orderID, kind string, a fund.Allocation) (Posted, error) {
	id, err := s.nextTxID(ctx)
	if err != nil {
		return Posted{}, err
	}
	if _, dup := s.txByOrder[orderID]; dup {
		return Posted{}, fmt.Errorf("order %s: a second ledger transaction", orderID)
	}
	s.txByOrder[orderID] = len(s.txs)
	s.txs = append(s.txs, TxWrite{ID: id, OrderID: orderID, Kind: kind, A: a})
	return Posted{TxID: id, PostedAt: s.facts.Now}, nil
}

// PostAllotment keeps an allotment: its transaction, the lot bought or the
// lots consumed, and the holding (units, and invested: the purchase's
// amount added, or after a redemption the cost of the open lots).
func (s *staged) PostAllotment(ctx context.Context, orderID string, a fund.Allocation) (Posted, error) {
	k := HoldingKey{a.Folio, a.Scheme}
	h, err := s.holding(ctx, k)
	if err != nil {
		return Posted{}, err
	}
	if a.NewLot == nil {
		// Every open lot is known before the holding's cost is summed.
		if err := s.read(ctx, FactsQuery{Lots: []HoldingKey{k}}); err != nil {
			return Posted{}, err
		}
	}
	p, err := s.PostTransaction(ctx, orderID, a.Kind.String(), a)
	if err != nil {
		return p, err
	}
	if a.NewLot != nil {
		id, err := s.nextLotID(ctx)
		if err != nil {
			return p, err
		}
		u := a.NewLot.Units.Decimal()
		l := &stagedLot{StoredLot: StoredLot{ID: id, NAVDate: a.NAVDate, Units: u, Remaining: u, Paid: a.Amount.Decimal(), Cost: a.NewLot.Paid.Decimal()},
			txID: p.TxID, folio: a.Folio, scheme: a.Scheme, nav: a.NAV.Decimal(), bought: true}
		ls := s.lotsOf(k)
		ls.lots = append(ls.lots, l)
		s.lotByID[id] = l
		s.newLots = append(s.newLots, l)
		h.units, h.invested = h.units.Add(a.Units.Decimal()), h.invested.Add(a.Amount.Decimal())
	} else {
		for _, u := range a.Used {
			l := s.lotByID[u.LotID]
			if l == nil || l.folio != a.Folio || l.scheme != a.Scheme {
				return p, fmt.Errorf("allot %s: lot %d is not an open lot of %s/%s", orderID, u.LotID, a.Folio, a.Scheme)
			}
			l.Remaining, l.Cost, l.dirty = l.Remaining.Sub(u.Units.Decimal()), u.CostLeft.Decimal(), true
			s.uses = append(s.uses, ConsumptionWrite{TxID: p.TxID, LotUse: u})
		}
		h.units = h.units.Sub(a.Units.Decimal())
		h.invested = decimal.Zero
		for _, l := range s.lots[k].lots {
			if l.Remaining.Sign() > 0 {
				h.invested = h.invested.Add(l.Cost)
			}
		}
	}
	if !h.changed {
		s.holdOrd = append(s.holdOrd, k)
	}
	h.exists, h.changed, h.lastTx = true, true, p.TxID
	return p, nil
}

// ClearingBalance is the account's stored INR balance plus this batch's
// postings to it.
func (s *staged) ClearingBalance(ctx context.Context, account string) (decimal.Decimal, error) {
	bal, ok := s.clearing[account]
	if !ok {
		var err error
		if bal, err = s.db.ClearingBalance(ctx, account); err != nil {
			return bal, storeErr(err)
		}
		s.clearing[account] = bal
	}
	for _, t := range s.txs {
		for _, p := range t.A.Postings {
			if p.Account == account && p.Asset == fund.AssetINR {
				bal = bal.Add(p.Amount)
			}
		}
	}
	return bal, nil
}

// TxPrice is the scheme, NAV date and NAV of a leg's ledger transaction.
func (s *staged) TxPrice(ctx context.Context, orderID string) (string, fund.Date, decimal.Decimal, error) {
	if i, ok := s.txByOrder[orderID]; ok {
		a := s.txs[i].A
		return a.Scheme, a.NAVDate, a.NAV.Decimal(), nil
	}
	sc, d, n, err := s.db.TxPrice(ctx, orderID)
	return sc, d, n, storeErr(err)
}

// RaiseAlert keeps an alert (the last detail of a kind and subject wins, as
// the upsert does).
func (s *staged) RaiseAlert(_ context.Context, kind, subject, detail string) error {
	k := [2]string{kind, subject}
	if i, ok := s.alertAt[k]; ok {
		s.alerts[i].Detail = detail
		return nil
	}
	s.alertAt[k] = len(s.alerts)
	s.alerts = append(s.alerts, AlertWrite{kind, subject, detail})
	return nil
}

// BreakPayment keeps a payment break (the first of a payment and reason
// wins, as ON CONFLICT DO NOTHING does).
func (s *staged) BreakPayment(_ context.Context, paymentID, orderID, reason, detail string) error {
	k := [2]string{paymentID, reason}
	if !s.broken[k] {
		s.broken[k] = true
		s.breaks = append(s.breaks, BreakWrite{paymentID, orderID, reason, detail})
	}
	return nil
}

// WriteOutbox keeps events; AppendAudit keeps audit rows: both are written
// last, by flush.
func (s *staged) WriteOutbox(_ context.Context, events []Event) error {
	s.events = append(s.events, events...)
	return nil
}

func (s *staged) AppendAudit(_ context.Context, rows []AuditEntry) error {
	s.audits = append(s.audits, rows...)
	return nil
}

// flush writes what the batch did: the ledger's rows in one round trip of
// set statements, then the outbox rows, then the audit rows (one step of
// the chain's head: step 7 of the lock order, last).
func (s *staged) flush(ctx context.Context) error {
	var w AllotWrites
	w.Txs = s.txs
	for _, l := range s.newLots {
		w.NewLots = append(w.NewLots, l.write())
	}
	for _, l := range s.lotByID {
		if l.dirty && !l.bought {
			w.Lots = append(w.Lots, l.write())
		}
	}
	sort.Slice(w.Lots, func(i, j int) bool { return w.Lots[i].ID < w.Lots[j].ID })
	w.Consumptions = s.uses
	for _, k := range s.holdOrd {
		h := s.holdings[k]
		w.Holdings = append(w.Holdings, HoldingWrite{HoldingKey: k, Units: h.units, Invested: h.invested, LastTxID: h.lastTx})
	}
	for _, id := range s.statusOrd {
		w.Statuses = append(w.Statuses, *s.status[id])
	}
	w.Breaks, w.Alerts = s.breaks, s.alerts
	if !w.Empty() {
		if err := s.db.WriteAllotments(ctx, w); err != nil {
			return storeErr(fmt.Errorf("write: %w", err))
		}
	}
	if len(s.events) > 0 {
		if err := s.db.WriteOutbox(ctx, s.events); err != nil {
			return storeErr(fmt.Errorf("outbox: %w", err))
		}
	}
	if len(s.audits) > 0 {
		if err := s.db.AppendAudit(ctx, s.audits); err != nil {
			return storeErr(fmt.Errorf("audit: %w", err))
		}
	}
	return nil
}

func (l *stagedLot) write() LotWrite {
	return LotWrite{ID: l.ID, TxID: l.txID, Folio: l.folio, Scheme: l.scheme, NAVDate: l.NAVDate, NAV: l.nav,
		Units: l.Units, Remaining: l.Remaining, Cost: l.Cost}
}

// unstaged is the rest of Tx: what the allotment code never calls. A call
// is a programming error, returned as one (never run against the store
// behind the batch's back, whose reads would miss the batch's changes).
type unstaged struct{}

var errUnstaged = errors.New("ledger: not part of a set-based allotment batch")

func (unstaged) LockMatchKeys(context.Context, []string) error          { return errUnstaged }
func (unstaged) LockFolios(context.Context, []string) ([]string, error) { return nil, errUnstaged }
func (unstaged) InsertInbox(context.Context, InboxEvent) (bool, error)  { return false, errUnstaged }
func (unstaged) SetInboxStatus(context.Context, string, string, string, string) error {
	return errUnstaged
}
func (unstaged) InsertInboxMany(context.Context, []InboxEvent) (map[string]bool, error) {
	return nil, errUnstaged
}
func (unstaged) FindOrders(context.Context, []fund.PaymentEvent) (map[string]LegRef, error) {
	return nil, errUnstaged
}
func (unstaged) FindOrder(context.Context, fund.PaymentEvent) (LegRef, error) {
	return LegRef{}, errUnstaged
}
func (unstaged) FolioOf(context.Context, string) (string, error)       { return "", errUnstaged }
func (unstaged) LegStates(context.Context, string) ([]LegState, error) { return nil, errUnstaged }
func (unstaged) AdvancePayments(context.Context, []Advance) ([]PaymentAdvance, error) {
	return nil, errUnstaged
}
func (unstaged) AdvancePayment(context.Context, fund.PaymentEvent, string, string) (PaymentAdvance, error) {
	return PaymentAdvance{}, errUnstaged
}
func (unstaged) WaitingPayments(context.Context, string, string) ([]WaitingPayment, error) {
	return nil, errUnstaged
}
func (unstaged) MatchPayment(context.Context, string, string) error { return errUnstaged }
func (unstaged) FoliosOfRequests(context.Context, []string) ([]string, error) {
	return nil, errUnstaged
}
func (unstaged) EnsureFolios(context.Context, []string, []string) error { return errUnstaged }
func (unstaged) FolioOwner(context.Context, string) (string, error)     { return "", errUnstaged }
func (unstaged) InsertRequest(context.Context, StoredRequest) (bool, error) {
	return false, errUnstaged
}
func (unstaged) Request(context.Context, string) (StoredRequest, error) {
	return StoredRequest{}, errUnstaged
}
func (unstaged) AcceptedRequestKind(context.Context, string) (string, bool, error) {
	return "", false, errUnstaged
}
func (unstaged) RefuseRequest(context.Context, string, string, string) error { return errUnstaged }
func (unstaged) InsertLeg(context.Context, NewLeg) error                     { return errUnstaged }
func (unstaged) LockLegs(context.Context, []string) ([]Leg, error)           { return nil, errUnstaged }
func (unstaged) AllotFacts(context.Context, FactsQuery) (Facts, error)       { return Facts{}, errUnstaged }
func (unstaged) WriteAllotments(context.Context, AllotWrites) error          { return errUnstaged }

var _ Tx = (*staged)(nil)

// InsertHold writes through: a hold depends on nothing the batch stages,
// and the allotment places one only when it meets a leg an investor
// restriction blocks (rare), so it costs no round trip in the common case.
func (s *staged) InsertHold(ctx context.Context, h HoldRequest, investorID string) (Hold, bool, error) {
	got, created, err := s.db.InsertHold(ctx, h, investorID)
	if err != nil {
		return got, created, storeErr(err)
	}
	if l, ok := s.legs[h.OrderID]; ok && l.OnHold == "" {
		l.OnHold = h.Source
	}
	return got, created, nil
}

// CloseOpenHolds writes through, like InsertHold: only a leg that has a
// hold and ends in the batch (a switch-in rejected with its switch-out)
// calls it.
func (s *staged) CloseOpenHolds(ctx context.Context, orderID, by, note string) ([]Hold, error) {
	hs, err := s.db.CloseOpenHolds(ctx, orderID, by, note)
	if err != nil {
		return nil, storeErr(err)
	}
	if l, ok := s.legs[orderID]; ok {
		l.OnHold = ""
	}
	return hs, nil
}

func (unstaged) HoldOrder(context.Context, int64) (string, error) { return "", errUnstaged }
func (unstaged) CloseHold(context.Context, int64, string, string, string) (Hold, error) {
	return Hold{}, errUnstaged
}
func (unstaged) OpenHoldSource(context.Context, string) (string, error) { return "", errUnstaged }
func (unstaged) OpenHoldsOf(context.Context, string, string) ([]Hold, error) {
	return nil, errUnstaged
}
func (unstaged) UpsertRestriction(context.Context, Restriction) error { return errUnstaged }
func (unstaged) RenameOpenHolds(context.Context, string, string, string, string) error {
	return errUnstaged
}
func (unstaged) DeleteRestriction(context.Context, string, string) (bool, error) {
	return false, errUnstaged
}
func (unstaged) FoliosOfInvestor(context.Context, string) ([]string, error) { return nil, errUnstaged }
func (unstaged) OpenLegsOf(context.Context, string) ([]Leg, error)          { return nil, errUnstaged }
func (unstaged) FoliosOfInvestors(context.Context, []string) ([]string, error) {
	return nil, errUnstaged
}
func (unstaged) OpenLegsOfFolios(context.Context, []string) ([]Leg, error) { return nil, errUnstaged }
func (unstaged) UpsertRestrictions(context.Context, []Restriction) error   { return errUnstaged }
func (unstaged) RenameOpenHoldsMany(context.Context, []Restriction) error  { return errUnstaged }
func (unstaged) DeleteRestrictions(context.Context, []string, string) ([]string, error) {
	return nil, errUnstaged
}
func (unstaged) OpenHoldsOfMany(context.Context, []string, string) ([]Hold, error) {
	return nil, errUnstaged
}
