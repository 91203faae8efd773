package wallet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
)

// TopicOrdersPlaced is the event of an auto-invest run whose orders are
// placed and paid.
const TopicOrdersPlaced = "autoinvest.orders.placed"

// Terms are a wallet's auto-invest terms.
type Terms struct {
	WalletID, ModelID, Folio string
	Enabled                  bool
}

// Deposit is a credited deposit.
type Deposit struct {
	PaymentID, WalletID, InvestorID, Gateway string
	Amount                                   fund.Amount
	At                                       time.Time // realised
}

// Run is one deposit's auto-invest run.
type Run struct {
	PaymentID, WalletID, ModelID string
	ModelVersion                 int
	Invested, Leftover           fund.Amount
	Split                        managed.Split
	Requests                     []string // order requests' JSON bodies
	Status                       string   // debited, placed
}

// AutoStore is what auto-invest needs of the store besides Store.
type AutoStore interface {
	// PendingInvest lists deposits to invest (credited to a wallet with
	// auto-invest enabled, no run yet) and runs not finished ('debited'),
	// oldest first, at most limit.
	PendingInvest(ctx context.Context, limit int) ([]string, error)
	InAutoTx(ctx context.Context, fn func(AutoTx) error) error
	// EndedPurchases lists auto-invest purchases the ledger ended after
	// the wallet paid them (an open refund-due break), whose money is not
	// back in the wallet, oldest first, at most limit.
	EndedPurchases(ctx context.Context, limit int) ([]string, error)
}

// AutoTx is one transaction of auto-invest.
type AutoTx interface {
	Tx
	Deposit(ctx context.Context, paymentID string) (d Deposit, found bool, err error)
	Terms(ctx context.Context, walletID string) (t Terms, found bool, err error)
	// ModelAt is the model's latest version effective on day.
	ModelAt(ctx context.Context, id string, day fund.Date) (m managed.Model, found bool, err error)
	// Run reads a deposit's run, locked for update.
	Run(ctx context.Context, paymentID string) (r Run, found bool, err error)
	InsertRun(ctx context.Context, r Run) error
	SetRunPlaced(ctx context.Context, paymentID string) error
	PutModel(ctx context.Context, m managed.Model) error
	PutTerms(ctx context.Context, t Terms) error
	// FolioPool is the pool whose folio this is, the folio's owner lock
	// held to the end of the transaction (pool/pgstore's check takes it too).
	FolioPool(ctx context.Context, folio string) (poolID string, used bool, err error)
	// EndedPurchase reads one of EndedPurchases again (still unswept).
	EndedPurchase(ctx context.Context, orderID string) (p EndedPurchase, found bool, err error)
	// ResolveRefundDue closes the ledger's refund-due break and alert of
	// the order's payment: the money went back another way.
	ResolveRefundDue(ctx context.Context, orderID string) error
}

// AutoInvest splits each credited deposit of a wallet with auto-invest
// terms over its model (fund/managed.SplitDeposit) and buys the split as
// ordinary purchase orders through the ledger (PlaceOrders, then a
// captured payment from the wallet for each, received on the ledger's
// webhook path), so the NAV rules, stamp duty, lots and holds apply.
// Exactly once per deposit: the run is keyed by the payment, its wallet
// debit by the payment, its order ids and payment ids derive from it, and
// the request bodies are fixed in the run before anything is placed.
type AutoInvest struct {
	Wallet *Service
	Store  AutoStore
	Ledger *ledger.Service
	// Gateway is the ledger Service's gateway (its purchases credit
	// gateway:<it>): the wallet's held cash is released to it.
	MaxSkew time.Duration // the order intake's allowed clock skew (placed_at is now)
	// crash, for tests: called after the debit ("debited") and after the
	// orders are placed and paid ("paid"); an error stops the run there,
	// as a crash would.
	crash func(stage, paymentID string) error
}

// PutModel stores a model version after validating it (weights must sum to
// 100: refused at load).
func (a *AutoInvest) PutModel(ctx context.Context, m managed.Model) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return a.Store.InAutoTx(ctx, func(tx AutoTx) error { return tx.PutModel(ctx, m) })
}

// SetTerms sets a wallet's auto-invest terms. A folio a pool buys into
// is refused (ErrFolioInUse): the pool's NAV values the whole folio.
func (a *AutoInvest) SetTerms(ctx context.Context, t Terms) error {
	return a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		pool, used, err := tx.FolioPool(ctx, t.Folio)
		if err != nil {
			return err
		}
		if used {
			return fmt.Errorf("%w: %s is pool %s's", ErrFolioInUse, t.Folio, pool)
		}
		return tx.PutTerms(ctx, t)
	})
}

// InvestResult counts what Invest did.
type InvestResult struct {
	Runs, Orders int
	Invested     fund.Amount
}

// Invest runs auto-invest for up to limit deposits.
func (a *AutoInvest) Invest(ctx context.Context, limit int) (InvestResult, error) {
	var res InvestResult
	ids, err := a.Store.PendingInvest(ctx, limit)
	if err != nil {
		return res, fmt.Errorf("auto-invest: pending: %w", err)
	}
	for _, id := range ids {
		r, err := a.debit(ctx, id)
		if err != nil {
			return res, err
		}
		if r.Status != "debited" {
			continue
		}
		if a.crash != nil {
			if err := a.crash("debited", id); err != nil {
				return res, err
			}
		}
		n, err := a.place(ctx, r)
		if err != nil {
			return res, err
		}
		res.Runs++
		res.Orders += n
		res.Invested = res.Invested.Add(r.Invested)
	}
	return res, nil
}

func requestID(paymentID, scheme string) string { return "AI-" + paymentID + "-" + scheme }

// refundEntry brings an auto-invest purchase's amount back to its wallet:
// the reverse of the run's debit for that leg, unique on the order id.
func refundEntry(walletID, gateway, orderID string, amt fund.Amount) Entry {
	return Entry{WalletID: walletID, Kind: "refund", Ref: orderID, Amount: amt, Postings: []fund.Posting{
		{Account: AccountCash(gateway), Asset: fund.AssetINR, Amount: amt.Decimal()},
		{Account: AccountWallet(walletID), Asset: fund.AssetINR, Amount: amt.Decimal().Neg()},
	}}
}

// debit is the run's first transaction: the split, the wallet debit for
// the legs, the fixed order requests. A run already there is returned as
// it is (finished or not).
func (a *AutoInvest) debit(ctx context.Context, paymentID string) (Run, error) {
	var run Run
	err := a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		w := &work{}
		d, ok, err := tx.Deposit(ctx, paymentID)
		if err != nil || !ok {
			return err
		}
		// Lock order: the wallet row, then the run (its row is new or only
		// touched under the wallet's lock), then step 7.
		wal, ok, err := tx.LockWallet(ctx, d.WalletID)
		if err != nil || !ok {
			return err
		}
		if r, ok, err := tx.Run(ctx, paymentID); err != nil || ok {
			run = r
			return err
		}
		if wal.Status != "open" {
			return nil // exiting: its exit pays the cash out (a closing wallet is open again if the exit is refused)
		}
		terms, ok, err := tx.Terms(ctx, d.WalletID)
		if err != nil || !ok || !terms.Enabled {
			return err
		}
		day := fund.DateOf(d.At.In(fund.IST()))
		m, ok, err := tx.ModelAt(ctx, terms.ModelID, day)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("model %s has no version effective on %s", terms.ModelID, day)
		}
		split, err := managed.SplitDeposit(d.Amount, m)
		if err != nil {
			return err
		}
		run = Run{PaymentID: paymentID, WalletID: d.WalletID, ModelID: m.ID, ModelVersion: m.Version, Split: split, Status: "debited"}
		for _, l := range split.Legs {
			run.Invested = run.Invested.Add(l.Amount)
		}
		run.Leftover = split.Leftover
		if wal.Balance.Cmp(run.Invested) < 0 {
			// Withdrawn since it was deposited: nothing is invested.
			run.Split = managed.Split{Leftover: d.Amount, Leftovers: []managed.Leftover{{Amount: d.Amount, Reason: "insufficient_balance"}}}
			run.Invested, run.Leftover = fund.Amount{}, d.Amount
		}
		run.Requests = PurchaseRequests(run.Split.Legs, func(scheme string) string { return requestID(paymentID, scheme) },
			wal.InvestorID, terms.Folio, a.Wallet.now())
		if run.Invested.IsZero() {
			run.Status = "placed"
		} else {
			e := Entry{WalletID: wal.ID, Kind: "invest", Ref: paymentID, Amount: run.Invested, Postings: []fund.Posting{
				{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: run.Invested.Decimal()},
				{Account: AccountCash(d.Gateway), Asset: fund.AssetINR, Amount: run.Invested.Decimal().Neg()},
			}}
			if _, inserted, err := tx.Post(ctx, e, run.Invested.Neg()); err != nil || !inserted {
				if err == nil {
					err = fmt.Errorf("wallet %s was debited for deposit %s without a run", wal.ID, paymentID)
				}
				return err
			}
		}
		if err := tx.InsertRun(ctx, run); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if run.Status == "placed" {
			a.announce(w, run, wal, nil)
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "autoinvest", ID: paymentID, Action: "debited",
			Payload: map[string]any{"wallet_id": wal.ID, "model": m.ID, "version": m.Version, "split": run.Split}})
		return a.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return Run{}, fmt.Errorf("auto-invest deposit %s: %w", paymentID, err)
	}
	return run, nil
}

// OrderPlaced is one order of an autoinvest.orders.placed event.
type OrderPlaced struct {
	OrderID string      `json:"order_id"`
	Scheme  string      `json:"scheme"`
	Amount  fund.Amount `json:"amount"`
	Outcome string      `json:"outcome"` // accepted (paid), or rejected with its reason (the amount back in the wallet)
	Reason  string      `json:"reason,omitempty"`
}

// OrdersPlaced is the autoinvest.orders.placed event.
type OrdersPlaced struct {
	EventID   string             `json:"event_id"`
	PaymentID string             `json:"payment_id"`
	WalletID  string             `json:"wallet_id"`
	Model     string             `json:"model"`
	Version   int                `json:"model_version"`
	Invested  fund.Amount        `json:"invested"`
	Leftover  fund.Amount        `json:"leftover"`
	Leftovers []managed.Leftover `json:"leftovers,omitempty"`
	Orders    []OrderPlaced      `json:"orders"`
}

func (a *AutoInvest) announce(w *work, r Run, wal Wallet, orders []OrderPlaced) {
	ev := OrdersPlaced{EventID: TopicOrdersPlaced + ":" + r.PaymentID, PaymentID: r.PaymentID, WalletID: wal.ID, Model: r.ModelID,
		Version: r.ModelVersion, Invested: r.Invested, Leftover: r.Leftover, Leftovers: r.Split.Leftovers, Orders: orders}
	if ev.Orders == nil {
		ev.Orders = []OrderPlaced{}
	}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicOrdersPlaced, Key: wal.ID, Payload: ev})
}

// place places the run's fixed requests and pays each accepted one from
// the wallet (both idempotent in the ledger: the request id, the inbox
// event id), then finishes the run: a refused request's amount back to
// the wallet, the run placed, the event. It returns the orders paid.
func (a *AutoInvest) place(ctx context.Context, r Run) (int, error) {
	orders, paid, err := PlaceAndPay(ctx, a.Ledger, a.Wallet.now(), a.MaxSkew, r.Requests, r.Split.Legs, map[string]string{"wallet_id": r.WalletID})
	if err != nil {
		return 0, fmt.Errorf("auto-invest %s: %w", r.PaymentID, err)
	}
	if a.crash != nil {
		if err := a.crash("paid", r.PaymentID); err != nil {
			return 0, err
		}
	}
	err = a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		w := &work{}
		wal, _, err := tx.LockWallet(ctx, r.WalletID)
		if err != nil {
			return err
		}
		cur, ok, err := tx.Run(ctx, r.PaymentID)
		if err != nil || !ok || cur.Status == "placed" {
			return err
		}
		d, _, err := tx.Deposit(ctx, r.PaymentID)
		if err != nil {
			return err
		}
		for _, o := range orders {
			if o.Outcome != ledger.OutcomeRejected {
				continue
			}
			if _, _, err := tx.Post(ctx, refundEntry(wal.ID, d.Gateway, o.OrderID, o.Amount), o.Amount); err != nil {
				return err
			}
		}
		if err := tx.SetRunPlaced(ctx, r.PaymentID); err != nil {
			return err
		}
		a.announce(w, r, wal, orders)
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "autoinvest", ID: r.PaymentID, Action: "placed", Payload: orders})
		return a.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return 0, fmt.Errorf("auto-invest %s: finish: %w", r.PaymentID, err)
	}
	return paid, nil
}

// PurchaseRequests are the order requests' JSON bodies buying legs into
// folio for investorID, each under orderID(scheme) (its payment_ref too),
// placed at placedAt. A run fixes them before anything is placed, so a
// run finished after a crash places exactly the same orders.
func PurchaseRequests(legs []managed.Leg, orderID func(scheme string) string, investorID, folio string, placedAt time.Time) []string {
	at := placedAt.UTC().Format(time.RFC3339Nano)
	out := make([]string, 0, len(legs))
	for _, l := range legs {
		id := orderID(l.Scheme)
		b, _ := json.Marshal(map[string]string{"order_id": id, "type": "purchase", "investor_id": investorID, "folio": folio,
			"scheme_code": l.Scheme, "amount": l.Amount.String(), "placed_at": at, "payment_ref": id})
		out = append(out, string(b))
	}
	return out
}

// PlaceAndPay places the fixed requests (one per leg, in order) through
// the ledger and pays each accepted order with a captured "wallet"
// payment received on the ledger's webhook path (payer's keys go in the
// payment's body). Both steps are idempotent in the ledger (the request
// id, the inbox event id), so a run stopped anywhere calls it again with
// the same requests. It returns each order's outcome (a refused order is
// not paid: its amount is the caller's to give back) and how many were
// paid.
func PlaceAndPay(ctx context.Context, l *ledger.Service, now time.Time, maxSkew time.Duration, requests []string, legs []managed.Leg, payer map[string]string) ([]OrderPlaced, int, error) {
	ins := make([]fund.OrderIntake, 0, len(requests))
	for _, body := range requests {
		in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "autoinvest", At: now, MaxSkew: maxSkew})
		if !ok {
			return nil, 0, fmt.Errorf("request %s: %v", body, err)
		}
		ins = append(ins, in)
	}
	placed, err := l.PlaceOrders(ctx, ins)
	if err != nil {
		return nil, 0, fmt.Errorf("place orders: %w", err)
	}
	orders := make([]OrderPlaced, len(placed))
	paid := 0
	for i, p := range placed {
		leg := legs[i]
		orders[i] = OrderPlaced{OrderID: p.ID, Scheme: leg.Scheme, Amount: leg.Amount, Outcome: ledger.OutcomeAccepted}
		// A request refused (now, or the first time: a duplicate of it
		// has no legs either) is not paid; its amount goes back.
		if len(p.Legs) == 0 {
			orders[i].Outcome, orders[i].Reason = ledger.OutcomeRejected, p.Reason
			continue
		}
		evID := "autoinvest:" + p.ID
		pe := &fund.PaymentEvent{Gateway: "wallet", EventID: evID, EventType: "payment.captured", EventAt: now, PaymentID: "wpay_" + p.ID,
			NotesOrderID: p.ID, Amount: leg.Amount, Currency: "INR", Method: "wallet", Status: fund.PaymentCaptured, TimeSource: fund.TimeReceived}
		fields := map[string]string{"payment_id": pe.PaymentID, "order_id": p.ID, "amount": leg.Amount.String()}
		for k, v := range payer {
			fields[k] = v
		}
		body, _ := json.Marshal(fields)
		if _, err := l.Receive(ctx, ledger.InboxEvent{Source: "wallet", EventID: evID, EventType: pe.EventType, Body: body, Payment: pe}); err != nil {
			return nil, 0, fmt.Errorf("pay %s: %w", p.ID, err)
		}
		paid++
	}
	return orders, paid, nil
}
