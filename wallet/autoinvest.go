package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
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
	// Deposits reads credited deposits, in the order of ids (one not
	// credited is left out).
	Deposits(ctx context.Context, ids []string) ([]Deposit, error)
	Terms(ctx context.Context, walletID string) (t Terms, found bool, err error)
	// TermsOf reads wallets' terms (a wallet without is left out).
	TermsOf(ctx context.Context, walletIDs []string) (map[string]Terms, error)
	// ModelAt is the model's latest version effective on day.
	ModelAt(ctx context.Context, id string, day fund.Date) (m managed.Model, found bool, err error)
	// Runs reads the deposits' runs there are, locked for update.
	Runs(ctx context.Context, paymentIDs []string) (map[string]Run, error)
	// Reversed is the set of deposits taken back out of their wallet (a
	// gateway refund); read under the wallets' locks, as reverseOne posts.
	Reversed(ctx context.Context, paymentIDs []string) (map[string]bool, error)
	InsertRun(ctx context.Context, r Run) error
	// BreakInvest records why a deposit's auto-invest failed on its own
	// (an open autoinvest_failed break leaves it out of PendingInvest).
	BreakInvest(ctx context.Context, paymentID, detail string) error
	SetRunsPlaced(ctx context.Context, paymentIDs []string) error
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
	// Group is how many deposits share a group's transactions (0:
	// DefaultGroup); Invest's limit caps it too.
	Group int
	Log   *slog.Logger // nil: slog.Default()
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
	Broken       int // deposits that failed on their own: an autoinvest_failed break each
}

func (r *InvestResult) add(o InvestResult) {
	r.Runs += o.Runs
	r.Orders += o.Orders
	r.Invested = r.Invested.Add(o.Invested)
	r.Broken += o.Broken
}

// DefaultGroup is how many deposits a group carries when Group is 0.
const DefaultGroup = 500

func (a *AutoInvest) group() int {
	if a.Group > 0 {
		return a.Group
	}
	return DefaultGroup
}

func (a *AutoInvest) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// stopped is an error of the crash hook: it stops the run as it is, never
// isolated.
type stopped struct{ err error }

func (e *stopped) Error() string { return e.err.Error() }
func (e *stopped) Unwrap() error { return e.err }

// Invest runs auto-invest for up to limit deposits, in groups of Group:
// a group's debits are one transaction, its orders one PlaceOrders, their
// payments one ReceiveMany, and its finish one transaction, so a deposit
// costs a few statements instead of seven commits. The keys of exactly
// once are the single deposit's (run and debit keyed by the payment, order
// and payment ids derived from it, requests fixed in the run before
// anything is placed): a group stopped anywhere is finished by the next
// call, deposit by deposit as they come. A group that fails for a reason
// a retry cannot fix is tried again one deposit at a time (as
// pipelines.Isolating does); a deposit that still fails alone gets an
// autoinvest_failed break and the others are invested.
func (a *AutoInvest) Invest(ctx context.Context, limit int) (InvestResult, error) {
	var res InvestResult
	ids, err := a.Store.PendingInvest(ctx, limit)
	if err != nil {
		return res, fmt.Errorf("auto-invest: pending: %w", err)
	}
	for g := a.group(); len(ids) > 0; {
		n := min(g, len(ids))
		if err := a.isolate(ctx, ids[:n], &res); err != nil {
			return res, err
		}
		ids = ids[n:]
	}
	return res, nil
}

// isolable says whether a failed group is worth trying a deposit at a
// time: not a transient error (the whole group again is the retry), not a
// cancelled context, not the crash hook.
func isolable(ctx context.Context, err error) bool {
	var st *stopped
	return ctx.Err() == nil && !pipelines.IsTransient(err) && !errors.As(err, &st)
}

// isolate invests a group; if it fails for good, each of its deposits
// alone, and a deposit failing alone is broken (its break row written).
func (a *AutoInvest) isolate(ctx context.Context, ids []string, res *InvestResult) error {
	var sub InvestResult
	err := a.investGroup(ctx, ids, &sub)
	if err == nil {
		res.add(sub)
		return nil
	}
	if !isolable(ctx, err) {
		return err
	}
	if len(ids) == 1 {
		if err := a.breakDeposit(ctx, ids[0], err); err != nil {
			return err
		}
		res.Broken++
		return nil
	}
	a.log().Warn("auto-invest group failed; trying its deposits one at a time", "deposits", len(ids), "err", err)
	for _, id := range ids {
		if err := a.isolate(ctx, []string{id}, res); err != nil {
			return err
		}
	}
	return nil
}

// breakDeposit records why a deposit's auto-invest failed on its own.
func (a *AutoInvest) breakDeposit(ctx context.Context, paymentID string, cause error) error {
	detail := fund.SafeText(cause.Error())
	a.log().Error("auto-invest of a deposit failed on its own; break recorded", "payment_id", paymentID, "reason", BreakInvestFailed, "err", cause)
	err := a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		if err := tx.BreakInvest(ctx, paymentID, detail); err != nil {
			return err
		}
		w := &work{Audits: []ledger.AuditEntry{{Entity: "payment", ID: paymentID, Action: "break",
			Payload: map[string]string{"reason": BreakInvestFailed, "detail": detail}}}}
		return a.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return fmt.Errorf("auto-invest deposit %s: break: %w", paymentID, err)
	}
	return nil
}

// investGroup debits the group's deposits, places and pays their orders,
// and finishes their runs.
func (a *AutoInvest) investGroup(ctx context.Context, ids []string, res *InvestResult) error {
	runs, err := a.debit(ctx, ids)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return nil
	}
	if a.crash != nil {
		for _, r := range runs {
			if err := a.crash("debited", r.PaymentID); err != nil {
				return &stopped{err}
			}
		}
	}
	bs := make([]PayBatch, len(runs))
	for i, r := range runs {
		bs[i] = PayBatch{Requests: r.Requests, Legs: r.Split.Legs, Payer: map[string]string{"wallet_id": r.WalletID}}
	}
	orders, paid, err := PlaceAndPayMany(ctx, a.Ledger, a.Wallet.now(), a.MaxSkew, bs)
	if err != nil {
		return fmt.Errorf("auto-invest %s (%d deposits): %w", runs[0].PaymentID, len(runs), err)
	}
	if a.crash != nil {
		for _, r := range runs {
			if err := a.crash("paid", r.PaymentID); err != nil {
				return &stopped{err}
			}
		}
	}
	if err := a.finish(ctx, runs, orders); err != nil {
		return err
	}
	for i, r := range runs {
		res.Runs++
		res.Orders += paid[i]
		res.Invested = res.Invested.Add(r.Invested)
	}
	return nil
}

func rejected(o OrderPlaced) bool { return o.Outcome == ledger.OutcomeRejected }

func requestID(paymentID, scheme string) string { return "AI-" + paymentID + "-" + scheme }

// refundEntry brings an auto-invest purchase's amount back to its wallet:
// the reverse of the run's debit for that leg, unique on the order id.
func refundEntry(walletID, gateway, orderID string, amt fund.Amount) Entry {
	return Entry{WalletID: walletID, Kind: "refund", Ref: orderID, Amount: amt, Postings: []fund.Posting{
		{Account: AccountCash(gateway), Asset: fund.AssetINR, Amount: amt.Decimal()},
		{Account: AccountWallet(walletID), Asset: fund.AssetINR, Amount: amt.Decimal().Neg()},
	}}
}

// debit is a group's first transaction: for each deposit the split, the
// wallet debit for the legs, the fixed order requests. It returns the
// runs left to place: new ones and those a stop left debited (a run
// already placed is left alone). Lock order: the group's wallet rows in
// id order, then the runs (a run's row is new or only touched under its
// wallet's lock), then step 7.
func (a *AutoInvest) debit(ctx context.Context, ids []string) ([]Run, error) {
	var runs []Run
	err := a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		runs = runs[:0]
		w := &work{}
		deps, err := tx.Deposits(ctx, ids)
		if err != nil {
			return fmt.Errorf("deposits: %w", err)
		}
		walletIDs := make([]string, len(deps))
		for i, d := range deps {
			walletIDs[i] = d.WalletID
		}
		wals, err := lockWallets(ctx, tx, walletIDs)
		if err != nil {
			return err
		}
		// Then the runs there are (their rows only touched under their
		// wallet's lock) and the wallets' terms.
		have, err := tx.Runs(ctx, ids)
		if err != nil {
			return fmt.Errorf("runs: %w", err)
		}
		terms, err := tx.TermsOf(ctx, walletIDs)
		if err != nil {
			return fmt.Errorf("terms: %w", err)
		}
		reversed, err := tx.Reversed(ctx, ids)
		if err != nil {
			return fmt.Errorf("reversals: %w", err)
		}
		models, modelRead := map[string]managed.Model{}, map[string]bool{}
		var debits []Entry
		var deltas []fund.Amount
		var fresh []Run
		for _, d := range deps {
			wal, ok := wals[d.WalletID]
			if !ok {
				continue
			}
			r, ok := have[d.PaymentID]
			if !ok {
				t, ok := terms[d.WalletID]
				// A closing wallet's deposits are not invested: its exit pays
				// the cash out (a refused exit opens it again).
				// A deposit refunded before its run (say while its break was
				// open) is not invested: its money went back to the payer.
				if !ok || !t.Enabled || wal.Status != "open" || reversed[d.PaymentID] {
					continue
				}
				day := fund.DateOf(d.At.In(fund.IST()))
				if key := t.ModelID + "@" + day.String(); !modelRead[key] {
					m, found, err := tx.ModelAt(ctx, t.ModelID, day)
					if err != nil {
						return fmt.Errorf("model %s: %w", t.ModelID, err)
					}
					if found {
						models[key] = m
					}
					modelRead[key] = true
				}
				var e *Entry
				if r, e, err = a.debitOne(w, d, t, &wal, models); err != nil {
					return fmt.Errorf("auto-invest deposit %s: %w", d.PaymentID, err)
				}
				if e != nil {
					debits, deltas = append(debits, *e), append(deltas, e.Amount.Neg())
				}
				fresh = append(fresh, r)
			}
			wals[d.WalletID] = wal // its balance after this debit, for the next deposit of the wallet
			if r.Status == "debited" {
				runs = append(runs, r)
			}
		}
		if len(debits) > 0 {
			_, inserted, err := tx.PostMany(ctx, debits, deltas)
			if err != nil {
				return fmt.Errorf("debit %d wallets: %w", len(debits), err)
			}
			if i := slices.Index(inserted, false); i >= 0 {
				return fmt.Errorf("wallet %s was debited for deposit %s without a run", debits[i].WalletID, debits[i].Ref)
			}
		}
		for _, r := range fresh {
			if err := tx.InsertRun(ctx, r); err != nil {
				return fmt.Errorf("run %s: %w", r.PaymentID, err)
			}
		}
		return a.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return nil, fmt.Errorf("auto-invest: debit %d deposits from %s: %w", len(ids), ids[0], err)
	}
	return runs, nil
}

// debitOne splits a deposit for a new run, its wallet locked (wal: as
// the group's earlier debits left it, moved by this one). It returns the
// run and its wallet debit (nil: nothing invested), for debit to write.
func (a *AutoInvest) debitOne(w *work, d Deposit, terms Terms, wal *Wallet, models map[string]managed.Model) (Run, *Entry, error) {
	paymentID := d.PaymentID
	day := fund.DateOf(d.At.In(fund.IST()))
	m, ok := models[terms.ModelID+"@"+day.String()]
	if !ok {
		return Run{}, nil, fmt.Errorf("model %s has no version effective on %s", terms.ModelID, day)
	}
	split, err := managed.SplitDeposit(d.Amount, m)
	if err != nil {
		return Run{}, nil, err
	}
	run := Run{PaymentID: paymentID, WalletID: d.WalletID, ModelID: m.ID, ModelVersion: m.Version, Split: split, Status: "debited"}
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
	var e *Entry
	if run.Invested.IsZero() {
		run.Status = "placed"
		a.announce(w, run, *wal, nil)
	} else {
		e = &Entry{WalletID: wal.ID, Kind: "invest", Ref: paymentID, Amount: run.Invested, Postings: []fund.Posting{
			{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: run.Invested.Decimal()},
			{Account: AccountCash(d.Gateway), Asset: fund.AssetINR, Amount: run.Invested.Decimal().Neg()},
		}}
		wal.Balance = wal.Balance.Sub(run.Invested)
	}
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "autoinvest", ID: paymentID, Action: "debited",
		Payload: map[string]any{"wallet_id": wal.ID, "model": m.ID, "version": m.Version, "split": run.Split}})
	return run, e, nil
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

// finish is a group's last transaction, after its runs' orders are placed
// and paid: a refused request's amount back to the wallet, the run placed,
// its event. A run placed already (by a run before a stop) is left alone.
func (a *AutoInvest) finish(ctx context.Context, runs []Run, orders [][]OrderPlaced) error {
	err := a.Store.InAutoTx(ctx, func(tx AutoTx) error {
		w := &work{}
		walletIDs := make([]string, len(runs))
		for i, r := range runs {
			walletIDs[i] = r.WalletID
		}
		wals, err := lockWallets(ctx, tx, walletIDs)
		if err != nil {
			return err
		}
		ids := make([]string, len(runs))
		for i, r := range runs {
			ids[i] = r.PaymentID
		}
		cur, err := tx.Runs(ctx, ids)
		if err != nil {
			return fmt.Errorf("runs: %w", err)
		}
		// The gateway of the money to give back, for the runs with a
		// refused order.
		var refunds []string
		for i, r := range runs {
			if c, ok := cur[r.PaymentID]; ok && c.Status != "placed" && slices.ContainsFunc(orders[i], rejected) {
				refunds = append(refunds, r.PaymentID)
			}
		}
		gateway := map[string]string{}
		if len(refunds) > 0 {
			deps, err := tx.Deposits(ctx, refunds)
			if err != nil {
				return fmt.Errorf("deposits: %w", err)
			}
			for _, d := range deps {
				gateway[d.PaymentID] = d.Gateway
			}
		}
		var placed []string
		for i, r := range runs {
			wal := wals[r.WalletID]
			if c, ok := cur[r.PaymentID]; !ok || c.Status == "placed" {
				continue
			}
			for _, o := range orders[i] {
				if !rejected(o) {
					continue
				}
				if _, _, err := tx.Post(ctx, refundEntry(wal.ID, gateway[r.PaymentID], o.OrderID, o.Amount), o.Amount); err != nil {
					return err
				}
			}
			placed = append(placed, r.PaymentID)
			a.announce(w, r, wal, orders[i])
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "autoinvest", ID: r.PaymentID, Action: "placed", Payload: orders[i]})
		}
		if len(placed) > 0 {
			if err := tx.SetRunsPlaced(ctx, placed); err != nil {
				return err
			}
		}
		return a.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return fmt.Errorf("auto-invest %s (%d deposits): finish: %w", runs[0].PaymentID, len(runs), err)
	}
	return nil
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
		if _, err := l.Receive(ctx, payEvent(p.ID, leg.Amount, now, payer)); err != nil {
			return nil, 0, fmt.Errorf("pay %s: %w", p.ID, err)
		}
		paid++
	}
	return orders, paid, nil
}

// PayBatch is one run's fixed requests, their legs (one a request, in
// order) and the payer's keys, for PlaceAndPayMany.
type PayBatch struct {
	Requests []string
	Legs     []managed.Leg
	Payer    map[string]string
}

// PlaceAndPayMany is PlaceAndPay for several runs at once: every request
// in one PlaceOrders transaction, then every accepted order's payment in
// one ReceiveMany transaction (the webhook path's group commit). Both are
// idempotent in the ledger as in PlaceAndPay, so a group stopped anywhere
// is placed again with the same requests, together or one by one. It
// returns each run's orders and how many of them were paid.
func PlaceAndPayMany(ctx context.Context, l *ledger.Service, now time.Time, maxSkew time.Duration, bs []PayBatch) ([][]OrderPlaced, []int, error) {
	var ins []fund.OrderIntake
	var legs []managed.Leg
	var of []int // the run of each request
	for i, b := range bs {
		for j, body := range b.Requests {
			in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "autoinvest", At: now, MaxSkew: maxSkew})
			if !ok {
				return nil, nil, fmt.Errorf("request %s: %v", body, err)
			}
			ins, legs, of = append(ins, in), append(legs, b.Legs[j]), append(of, i)
		}
	}
	orders, paid := make([][]OrderPlaced, len(bs)), make([]int, len(bs))
	if len(ins) == 0 {
		return orders, paid, nil
	}
	placed, err := l.PlaceOrders(ctx, ins)
	if err != nil {
		return nil, nil, fmt.Errorf("place %d orders: %w", len(ins), err)
	}
	var evs []ledger.InboxEvent
	var evRun []int
	for k, p := range placed {
		o := OrderPlaced{OrderID: p.ID, Scheme: legs[k].Scheme, Amount: legs[k].Amount, Outcome: ledger.OutcomeAccepted}
		// A request refused (now, or the first time: a duplicate of it
		// has no legs either) is not paid; its amount goes back.
		if len(p.Legs) == 0 {
			o.Outcome, o.Reason = ledger.OutcomeRejected, p.Reason
		} else {
			evs, evRun = append(evs, payEvent(p.ID, legs[k].Amount, now, bs[of[k]].Payer)), append(evRun, of[k])
		}
		orders[of[k]] = append(orders[of[k]], o)
	}
	if len(evs) > 0 {
		if _, err := l.ReceiveMany(ctx, evs); err != nil {
			return nil, nil, fmt.Errorf("pay %d orders: %w", len(evs), err)
		}
	}
	for _, i := range evRun {
		paid[i]++
	}
	return orders, paid, nil
}

// payEvent is the captured "wallet" payment of an accepted order, as
// received on the ledger's webhook path (the payer's keys in its body).
func payEvent(orderID string, amount fund.Amount, now time.Time, payer map[string]string) ledger.InboxEvent {
	evID := "autoinvest:" + orderID
	pe := &fund.PaymentEvent{Gateway: "wallet", EventID: evID, EventType: "payment.captured", EventAt: now, PaymentID: "wpay_" + orderID,
		NotesOrderID: orderID, Amount: amount, Currency: "INR", Method: "wallet", Status: fund.PaymentCaptured, TimeSource: fund.TimeReceived}
	fields := map[string]string{"payment_id": pe.PaymentID, "order_id": orderID, "amount": amount.String()}
	for k, v := range payer {
		fields[k] = v
	}
	body, _ := json.Marshal(fields)
	return ledger.InboxEvent{Source: "wallet", EventID: evID, EventType: pe.EventType, Body: body, Payment: pe}
}
