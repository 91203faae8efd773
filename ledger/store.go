package ledger

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Store is the ledger's state: what the Service needs of it, defined here
// and implemented with SQL by ledger/pgstore. Each Tx method is one round
// trip to the database (a few are one batch), so the decisions made here cost
// no more statements than the SQL they replace.
type Store interface {
	// InTx runs fn in one transaction: committed if fn returns nil, rolled
	// back otherwise. Errors a retry can cure are pipelines.Transient.
	InTx(ctx context.Context, fn func(Tx) error) error

	// UnmatchedCaptured lists captured payments still unmatched whose order
	// exists now (at most limit), in folio order.
	UnmatchedCaptured(ctx context.Context, limit int) ([]LegRef, error)
	// PendingWithNAV lists pending_nav legs whose NAV has landed, after
	// (afterFolio, afterID) in (folio, id) order, at most limit.
	PendingWithNAV(ctx context.Context, afterFolio, afterID string, limit int) ([]LegRef, error)
	// CountPendingNAV counts the legs waiting for their NAV.
	CountPendingNAV(ctx context.Context) (int, error)
	// Mandate reads a mandate (found false: none).
	Mandate(ctx context.Context, id string) (m Mandate, found bool, err error)
	// Holds lists holds, newest first; Restrictions an investor's.
	Holds(ctx context.Context, f HoldFilter) ([]Hold, error)
	Restrictions(ctx context.Context, investorID string) ([]Restriction, error)
}

// LegRef names an order leg, its folio and (for a purchase) its payment
// reference.
type LegRef struct {
	ID, Folio, PaymentRef string
}

// Tx is one transaction of the Store. Lock methods take the locks in the
// order they are given (the Service sorts them: see Service).
type Tx interface {
	// Locks (steps 2 and 3 of the lock order).
	LockMatchKeys(ctx context.Context, keys []string) error
	LockFolios(ctx context.Context, folios []string) (locked []string, err error)

	// Inbox (step 1).
	InsertInbox(ctx context.Context, ev InboxEvent) (inserted bool, err error)
	// InsertInboxMany inserts events in the order given; it returns the
	// keys (InboxKey) of those that were new.
	InsertInboxMany(ctx context.Context, evs []InboxEvent) (inserted map[string]bool, err error)
	SetInboxStatus(ctx context.Context, source, eventID, status, reason string) error

	// Order legs.
	FindOrder(ctx context.Context, p fund.PaymentEvent) (LegRef, error) // zero LegRef: none
	// FindOrders is FindOrder for several payments in one round trip, by
	// payment id (a payment with no order is absent).
	FindOrders(ctx context.Context, ps []fund.PaymentEvent) (map[string]LegRef, error)
	Leg(ctx context.Context, id string) (Leg, error) // locked for update
	FolioOf(ctx context.Context, legID string) (string, error)
	SetStatus(ctx context.Context, c StatusChange) error
	LegStates(ctx context.Context, requestID string) ([]LegState, error)
	Category(ctx context.Context, scheme string) (category string, found bool, err error)

	// Payments.
	AdvancePayment(ctx context.Context, p fund.PaymentEvent, orderID, eventID string) (PaymentAdvance, error)
	// AdvancePayments is AdvancePayment for several payments (each once)
	// in one round trip, answers in the order asked.
	AdvancePayments(ctx context.Context, as []Advance) ([]PaymentAdvance, error)
	BreakPayment(ctx context.Context, paymentID, orderID, reason, detail string) error
	WaitingPayments(ctx context.Context, legID, paymentRef string) ([]WaitingPayment, error)
	MatchPayment(ctx context.Context, paymentID, legID string) error

	// Mandates (under the token's match key: see applyMandate).
	//
	// MandateForUpdate reads a mandate locked for update (found false:
	// none).
	MandateForUpdate(ctx context.Context, id string) (m Mandate, found bool, err error)
	// PutMandate writes a mandate's row: inserted, or its gateway-given
	// columns replaced. An empty customer, investor, method, bank or
	// account keeps what the row has; an investor id the investors table
	// does not know is left NULL.
	PutMandate(ctx context.Context, w MandateWrite) error
	// LinkMandate tells a mandate its gateway customer and investor (from
	// a payment made with it): each is filled in only where the row has
	// none; a mandate not seen yet is created (status created). An
	// unknown investor id is left NULL.
	LinkMandate(ctx context.Context, id, gateway, method, customerID, investorID string) error

	// Allotment.
	AllotState(ctx context.Context, scheme string, navDate fund.Date, folio string) (AllotState, error)
	OpenLots(ctx context.Context, folio, scheme string, scale int32) ([]fund.Lot, error)
	LoadSlabs(ctx context.Context, scheme string) ([]fund.LoadSlab, error)
	// PostAllotment writes an allotment's ledger transaction, postings, lot
	// (created or consumed) and holding; PostTransaction only the ledger
	// transaction and its postings (kind: a TxKind code or
	// fund.KindSwitchPayout).
	PostAllotment(ctx context.Context, orderID string, a fund.Allocation) (Posted, error)
	PostTransaction(ctx context.Context, orderID, kind string, a fund.Allocation) (Posted, error)
	ClearingBalance(ctx context.Context, account string) (decimal.Decimal, error)
	// TxPrice returns the scheme, NAV date and NAV of order leg orderID's
	// ledger transaction.
	TxPrice(ctx context.Context, orderID string) (scheme string, navDate fund.Date, nav decimal.Decimal, err error)
	RaiseAlert(ctx context.Context, kind, subject, detail string) error

	// The set-based allocate pass (AllotPending): each one statement, or
	// one batch of set statements in one round trip.
	//
	// LockLegs reads legs locked for update (step 4 of the lock order; the
	// caller holds their folios' locks); ids not found are left out.
	LockLegs(ctx context.Context, ids []string) ([]Leg, error)
	// AllotFacts reads what the allotments of a batch need, and reserves
	// ledger transaction and lot ids, in one round trip.
	AllotFacts(ctx context.Context, q FactsQuery) (Facts, error)
	// WriteAllotments writes a batch's allotments, rejections and their
	// money's settlement with set statements in one round trip (outbox and
	// audit rows go through WriteOutbox and AppendAudit, last).
	WriteAllotments(ctx context.Context, w AllotWrites) error

	// Order requests.
	FoliosOfRequests(ctx context.Context, requestIDs []string) ([]string, error)
	// EnsureFolios creates the investors and folios named (folios[i] is
	// investors[i]'s), in folio order, leaving existing ones as they are.
	EnsureFolios(ctx context.Context, folios, investors []string) error
	FolioOwner(ctx context.Context, folio string) (string, error)
	InsertRequest(ctx context.Context, r StoredRequest) (inserted bool, err error)
	Request(ctx context.Context, id string) (StoredRequest, error)
	// AcceptedRequestKind is the kind of accepted request id (found false:
	// none).
	AcceptedRequestKind(ctx context.Context, id string) (kind string, found bool, err error)
	RefuseRequest(ctx context.Context, id, reason, detail string) error
	InsertLeg(ctx context.Context, l NewLeg) error

	// Holds (ledger/holds.go). Hold rows are touched only under their
	// leg's folio lock, like the leg.
	//
	// InsertHold inserts an open hold (created false: the open hold of the
	// same leg and source, as it is).
	InsertHold(ctx context.Context, h HoldRequest, investorID string) (Hold, bool, error)
	// HoldOrder is the leg of hold id (read without a lock; ErrNoHold).
	HoldOrder(ctx context.Context, id int64) (string, error)
	// CloseHold closes an open hold (ErrHoldClosed, ErrNoHold).
	CloseHold(ctx context.Context, id int64, by, resolution, note string) (Hold, error)
	// CloseOpenHolds releases every open hold of a leg (it ended).
	CloseOpenHolds(ctx context.Context, orderID, by, note string) ([]Hold, error)
	// OpenHoldSource is the source of an open hold of a leg ("" none).
	OpenHoldSource(ctx context.Context, orderID string) (string, error)
	OpenHoldsOf(ctx context.Context, investorID, source string) ([]Hold, error)
	UpsertRestriction(ctx context.Context, r Restriction) error
	// RenameOpenHolds sets the reason and detail of an investor's open
	// holds of source.
	RenameOpenHolds(ctx context.Context, investorID, source, reason, detail string) error
	DeleteRestriction(ctx context.Context, investorID, source string) (found bool, err error)
	FoliosOfInvestor(ctx context.Context, investorID string) ([]string, error)
	// OpenLegsOf reads an investor's legs that are not final, locked for
	// update, in id order.
	OpenLegsOf(ctx context.Context, investorID string) ([]Leg, error)
	// Many investors at once (SetRestrictions, LiftRestrictions): the
	// investors' folios in folio order; the open legs of folios, locked,
	// in id order; restrictions written; each restriction's investor's
	// open holds of its source renamed; the investors' restrictions of
	// source deleted (returning whose existed); their open holds of source,
	// in id order.
	FoliosOfInvestors(ctx context.Context, investorIDs []string) ([]string, error)
	OpenLegsOfFolios(ctx context.Context, folios []string) ([]Leg, error)
	UpsertRestrictions(ctx context.Context, rs []Restriction) error
	RenameOpenHoldsMany(ctx context.Context, rs []Restriction) error
	DeleteRestrictions(ctx context.Context, investorIDs []string, source string) (found []string, err error)
	OpenHoldsOfMany(ctx context.Context, investorIDs []string, source string) ([]Hold, error)

	// At the end of every transaction: outbox events, then audit rows
	// (step 7 of the lock order).
	WriteOutbox(ctx context.Context, events []Event) error
	AppendAudit(ctx context.Context, rows []AuditEntry) error
}

// Leg is an order leg as stored.
type Leg struct {
	fund.OrderLeg
	Status    fund.OrderStatus
	Reason    string
	NAVDate   *time.Time
	FundsAt   *time.Time
	PaymentID *string
	TxID      *int64
	// OnHold is the source of an open hold of the leg ("" none); Blocked
	// the investor restriction that blocks its kind (nil none), turned
	// into a hold when the allotment meets it.
	OnHold  string
	Blocked *Restriction
}

// StatusChange moves leg ID to Status. NAV, when set, is a NAV-date decision
// written with it; TxID, when not 0, the ledger transaction that allotted it.
type StatusChange struct {
	ID     string
	Status fund.OrderStatus
	Reason string
	NAV    *NAVDecision
	TxID   int64
}

// NAVDecision is a leg's applicable NAV date and what it was decided from.
type NAVDecision struct {
	Date         time.Time
	Rule, Reason string
	FundsAt      *time.Time
	PaymentID    *string
	Amount       *decimal.Decimal // a switch-in's amount, set from its switch-out
}

// Advance is one AdvancePayment call's arguments.
type Advance struct {
	Payment          fund.PaymentEvent
	OrderID, EventID string
}

// PaymentAdvance is what AdvancePayment found and did: the payment's status
// rank before (-1: new) and whether it moved forward.
type PaymentAdvance struct {
	PrevRank int
	Advanced bool
}

// WaitingPayment is an unmatched payment that names an order being placed.
type WaitingPayment struct {
	ID, Status, Method, Currency, GatewayOrderID, NotesOrderID, EventID string
	Amount                                                              fund.Amount
	At                                                                  time.Time
}

// AllotState is what an allotment reads besides the lots: the NAV (nil: not
// there yet), the scheme's units scale and the folio's holding (nil: none).
type AllotState struct {
	NAV   *decimal.Decimal
	Scale int32
	Held  *decimal.Decimal
}

// Posted is a ledger transaction as written.
type Posted struct {
	TxID     int64
	PostedAt time.Time
}

// StoredRequest is an order request as stored under its id.
type StoredRequest struct {
	ID, Kind, Body, Fingerprint, Source, Status, Reason, Detail string
	TargetID                                                    string // cancels only
}

// NewLeg is an order leg as placed.
type NewLeg struct {
	fund.OrderLeg
	Status         fund.OrderStatus
	ReceivedAt     time.Time // zero: unknown
	ClientPlacedAt time.Time
	TimeSource     string
}

// Event is one outbox row.
type Event struct {
	ID, Topic, Key string
	Payload        any
}

// AuditEntry is one audit_log row the ledger appends.
type AuditEntry struct {
	Entity, ID, Action string
	Payload            any
}

// InboxKey is the key of a webhook event in the inbox.
func InboxKey(source, eventID string) string { return source + "\x00" + eventID }

// HoldingKey names a folio's holding in a scheme.
type HoldingKey struct{ Folio, Scheme string }

// NAVKey names a scheme's NAV of a date.
type NAVKey struct {
	Scheme string
	Date   fund.Date
}

// FactsQuery is what AllotFacts reads: NAVs, schemes (units scale,
// category, exit-load slabs), holdings, the open lots of holdings, and how
// many ids to reserve.
type FactsQuery struct {
	NAVs          []NAVKey
	Schemes       []string
	Holdings      []HoldingKey
	Lots          []HoldingKey
	TxIDs, LotIDs int
}

// Facts is what AllotFacts read. A key asked for and absent from a map is
// not in the database (no NAV, no holding, not in the scheme master).
type Facts struct {
	Now        time.Time // the transaction's time: what now() gives its rows
	NAVs       map[NAVKey]decimal.Decimal
	Scales     map[string]int32 // every scheme asked for (3 unless scheme_terms says otherwise)
	Categories map[string]string
	Slabs      map[string][]fund.LoadSlab
	Holdings   map[HoldingKey]HoldingState
	Lots       map[HoldingKey][]StoredLot // open lots, every holding asked for (possibly none)
	TxIDs      []int64                    // reserved, ascending
	LotIDs     []int64
}

// HoldingState is a holding as stored.
type HoldingState struct{ Units, Invested decimal.Decimal }

// StoredLot is an open lot as stored: the amount paid is its ledger
// transaction's, Cost what is left of it (fund.LotCost).
type StoredLot struct {
	ID                           int64
	NAVDate                      fund.Date
	Units, Remaining, Paid, Cost decimal.Decimal
}

// AllotWrites is what a set-based batch writes, in the order of the
// foreign keys: ledger transactions (with their postings), new lots (as
// they stand at the end of the batch), updated lots, consumptions,
// holdings, leg statuses, payment breaks, alerts.
type AllotWrites struct {
	Txs          []TxWrite
	NewLots      []LotWrite
	Lots         []LotWrite // existing lots: only ID, Remaining and Cost are written
	Consumptions []ConsumptionWrite
	Holdings     []HoldingWrite
	Statuses     []StatusChange // one per leg: its last status, with the NAV decision and ledger transaction it got on the way
	Breaks       []BreakWrite
	Alerts       []AlertWrite
}

// Empty reports whether there is nothing to write.
func (w AllotWrites) Empty() bool {
	return len(w.Txs)+len(w.NewLots)+len(w.Lots)+len(w.Consumptions)+len(w.Holdings)+len(w.Statuses)+len(w.Breaks)+len(w.Alerts) == 0
}

// TxWrite is a ledger transaction with its id reserved: kind is a TxKind
// code or fund.KindSwitchPayout; A's facts and postings are written.
type TxWrite struct {
	ID            int64
	OrderID, Kind string
	A             fund.Allocation
}

// LotWrite is a lot's row.
type LotWrite struct {
	ID, TxID               int64
	Folio, Scheme          string
	NAVDate                fund.Date
	NAV                    decimal.Decimal
	Units, Remaining, Cost decimal.Decimal
}

// ConsumptionWrite is the part of a lot a redemption consumed.
type ConsumptionWrite struct {
	TxID int64
	fund.LotUse
}

// HoldingWrite is a holding as it stands at the end of the batch.
type HoldingWrite struct {
	HoldingKey
	Units, Invested decimal.Decimal
	LastTxID        int64
}

// BreakWrite is a payment break (the first of a payment and reason wins).
type BreakWrite struct{ PaymentID, OrderID, Reason, Detail string }

// AlertWrite opens an alert (or updates the open one's detail).
type AlertWrite struct{ Kind, Subject, Detail string }
