// Package wallet is the managed-investing wallet as a service beside the
// ledger (issue 22): a deposit is a captured payment whose notes.order_id
// is "wallet:<id>", credited exactly once in double entry; a withdrawal
// never takes a balance below zero. Each change is one Postgres
// transaction with its postings, audit rows and outbox event, in the lock
// order below. wallet/pgstore implements the Store with SQL.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
)

// NotesPrefix marks a payment as a wallet deposit: notes.order_id is
// NotesPrefix + the wallet id (no order has such an id, so the ledger's
// webhook path stores the payment unmatched, and this service matches it).
const NotesPrefix = "wallet:"

// Topics of the events the wallet writes to the outbox.
const (
	TopicDeposited = "wallet.deposited"
	TopicWithdrawn = "wallet.withdrawn"
	// A withdrawal parked by a restriction, and one cancelled (its money
	// back in the wallet); a parked one released is wallet.withdrawn.
	TopicWithdrawalParked    = "wallet.withdrawal.parked"
	TopicWithdrawalCancelled = "wallet.withdrawal.cancelled"
)

// Break reasons for a deposit that cannot be credited (payment_breaks).
const (
	BreakWalletUnknown = "wallet_unknown"
	BreakWalletClosed  = "wallet_closed"
	BreakCurrency      = "wallet_currency"
	// The gateway refunded a deposit the wallet no longer holds (invested
	// or withdrawn): a person recovers it.
	BreakRefundAfterSpend = "wallet_refund_after_spend"
	// A deposit whose credit failed on its own, its group's others
	// credited (the error in the detail).
	BreakCreditFailed = "wallet_credit_failed"
	// A deposit whose auto-invest failed on its own (a model with no
	// version for its day, an order the ledger cannot take), its group's
	// others invested. The money stays in the wallet (or, debited, in the
	// run); the deposit is tried again once a person resolves the break.
	BreakInvestFailed = "autoinvest_failed"
)

// AccountWallet is what the platform owes the investor (INR; a credit
// balance). AccountCash is the money received from a gateway and held for
// wallets until it is invested: the order ledger credits gateway:<gateway>
// when a purchase puts money to work, as for a purchase paid directly, so
// the wallet journal keeps its own cash account and releases it then.
// AccountPayout is a withdrawal payable to the sealed bank account.
func AccountWallet(id string) string    { return "wallet:" + id }
func AccountCash(gateway string) string { return "wallet_cash:" + gateway }
func AccountPayout(id string) string    { return "payout:wallet:" + id }

// AccountWithdrawalHeld holds a parked withdrawal's money: out of the
// wallet's balance, not yet payable to the bank.
func AccountWithdrawalHeld(id string) string { return "withdrawal_held:wallet:" + id }

// ErrInsufficient refuses a withdrawal above the balance.
var ErrInsufficient = errors.New("withdrawal exceeds the wallet balance")

// ErrNoWallet is returned for a wallet that does not exist.
var ErrNoWallet = errors.New("no such wallet")

// ErrFolioInUse refuses a folio to a pool or a wallet's auto-invest when
// a pool or an auto-invest already buys into it: a pool values its whole
// folio in its NAV, so a folio it shares would count another's units.
var ErrFolioInUse = errors.New("the folio is already a pool's or a wallet's auto-invest folio")

// ErrClosed refuses a withdrawal from a closed (or closing) wallet, and
// the cancelling of a closed wallet's parked payout.
var ErrClosed = errors.New("wallet is closed")

// ErrNotPending refuses to cancel a withdrawal that is not parked (paid
// already).
var ErrNotPending = errors.New("withdrawal is not pending")

// ErrNoWithdrawal is returned for a withdrawal request the wallet never
// made (unknown, or another wallet's).
var ErrNoWithdrawal = errors.New("no such withdrawal")

// Withdrawal statuses: paid (to the bank), pending (parked while a
// restriction blocks redemptions), cancelled (the money back in the
// wallet).
const (
	WithdrawalPaid      = "paid"
	WithdrawalPending   = "pending"
	WithdrawalCancelled = "cancelled"
)

// Withdrawal is a withdrawal request as stored.
type Withdrawal struct {
	RequestID, WalletID, Status, HoldSource string
	Amount                                  fund.Amount
}

// Wallet is a wallet as stored.
type Wallet struct {
	ID, InvestorID, Status string
	Balance                fund.Amount
}

// Payment is a captured payment waiting to be credited to a wallet.
type Payment struct {
	ID, Gateway, NotesOrderID, Currency, EventID string
	Amount                                       fund.Amount
	RealisedAt                                   time.Time
}

// Entry is one wallet transaction: kind "deposit" (ref: the payment id) or
// "withdrawal" (ref: the request id), its amount and its postings.
type Entry struct {
	WalletID, Kind, Ref string
	Amount              fund.Amount
	Postings            []fund.Posting
}

// Store is the wallet's state (wallet/pgstore).
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	// PendingDeposits lists captured, unmatched payments naming a wallet,
	// at most limit, oldest first.
	PendingDeposits(ctx context.Context, limit int) ([]string, error)
	// RefundedDeposits lists credited deposits whose payment the gateway
	// refunded, not reversed nor broken yet, at most limit.
	RefundedDeposits(ctx context.Context, limit int) ([]string, error)
	Wallet(ctx context.Context, id string) (w Wallet, found bool, err error)
	// WalletView reads a wallet with its auto-invest terms.
	WalletView(ctx context.Context, id string) (v View, found bool, err error)
	// ReleasableWithdrawals lists parked withdrawals whose investor has no
	// restriction blocking redemptions any more, oldest first.
	ReleasableWithdrawals(ctx context.Context, limit int) ([]string, error)
}

// View is a wallet as its investor sees it (GET /v1/wallets/{id}).
type View struct {
	ID         string      `json:"wallet_id"`
	InvestorID string      `json:"investor_id"`
	Status     string      `json:"status"`
	Balance    fund.Amount `json:"balance"`
	Model      string      `json:"model,omitempty"` // auto-invest's model ("" none)
	Folio      string      `json:"folio,omitempty"` // auto-invest's folio
}

// Tx is one transaction of the Store.
type Tx interface {
	// LockMatchKeys takes the ledger's match-key locks (step 2 of the
	// ledger's lock order): the webhook applying the same payment takes them.
	LockMatchKeys(ctx context.Context, keys []string) error
	// PendingPayment reads a payment (locked for update when lock is set)
	// if it is still a captured, unmatched wallet deposit (found false
	// otherwise).
	PendingPayment(ctx context.Context, id string, lock bool) (p Payment, found bool, err error)
	// RefundedPayment reads a refunded payment credited to a wallet
	// (locked when lock is set; found false: not refunded, or reversed or
	// broken already).
	RefundedPayment(ctx context.Context, id string, lock bool) (p Payment, walletID string, found bool, err error)
	// Entry finds the entry of a kind and ref (found false: none).
	Entry(ctx context.Context, kind, ref string) (e Entry, txID int64, found bool, err error)
	// LockWallet reads a wallet locked for update (found false: none).
	LockWallet(ctx context.Context, id string) (w Wallet, found bool, err error)
	// LockWallets reads the wallets locked for update in id order (the
	// lock order of a transaction that takes several: a fee chunk, an
	// auto-invest or credit group), the missing ones left out.
	LockWallets(ctx context.Context, ids []string) ([]Wallet, error)
	CreateWallet(ctx context.Context, id, investorID string) (created bool, err error)
	// Post writes an entry and its postings and moves the wallet's balance
	// by delta; inserted false: an entry of that kind and ref exists (the
	// balance is left alone). It returns the entry's id.
	Post(ctx context.Context, e Entry, delta fund.Amount) (txID int64, inserted bool, err error)
	// PostMany is Post for several entries at once (a group's), each with
	// its delta; the balances move by the sum of their wallet's deltas.
	PostMany(ctx context.Context, es []Entry, deltas []fund.Amount) (txIDs []int64, inserted []bool, err error)
	// InsertWithdrawal records a withdrawal request and its status.
	InsertWithdrawal(ctx context.Context, w Withdrawal) error
	// Withdrawal reads a request, locked for update (found false: none).
	Withdrawal(ctx context.Context, requestID string) (w Withdrawal, found bool, err error)
	SetWithdrawalStatus(ctx context.Context, requestID, status string) error
	// BlockingRestriction is the source of a restriction of the investor
	// that blocks redemptions (found false: none).
	BlockingRestriction(ctx context.Context, investorID string) (source string, found bool, err error)
	// MatchDeposit marks a payment matched (credited to a wallet).
	MatchDeposit(ctx context.Context, paymentID string) error
	// MatchDeposits marks payments matched (a credit group's).
	MatchDeposits(ctx context.Context, paymentIDs []string) error
	// BreakPayment records why a payment cannot be credited (payment_breaks)
	// and marks it break.
	BreakPayment(ctx context.Context, paymentID, reason, detail string) error
	// RaiseAlert opens an alert (kind, subject) once; ResolveAlert
	// resolves the open one.
	RaiseAlert(ctx context.Context, kind, subject, detail string) error
	ResolveAlert(ctx context.Context, kind, subject string) error
	// ResolveInvestBreak resolves the deposit's open autoinvest_failed
	// break, its detail appended with why (resolved false: none open).
	ResolveInvestBreak(ctx context.Context, paymentID, why string) (resolved bool, err error)
	WriteOutbox(ctx context.Context, events []ledger.Event) error
	AppendAudit(ctx context.Context, rows []ledger.AuditEntry) error
}

// lockWallets is Tx.LockWallets by id.
func lockWallets(ctx context.Context, tx Tx, ids []string) (map[string]Wallet, error) {
	ws, err := tx.LockWallets(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("lock %d wallets: %w", len(ids), err)
	}
	out := make(map[string]Wallet, len(ws))
	for _, w := range ws {
		out[w.ID] = w
	}
	return out, nil
}

// Service credits deposits and pays withdrawals.
//
// Lock order (the ledger's, on ledger.Service, extended): 2. the match key
// of the deposit's payment; 5. the payment row; then the wallet row; 7.
// last, the outbox and audit rows. A withdrawal takes only the wallet row
// and step 7.
type Service struct {
	Store Store
	Audit bool
	Now   func() time.Time
	// CreditGroup is how many deposits CreditDeposits credits in one
	// transaction (0: DefaultCreditGroup).
	CreditGroup int
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Deposited is the wallet.deposited event.
type Deposited struct {
	EventID    string      `json:"event_id"`
	WalletID   string      `json:"wallet_id"`
	InvestorID string      `json:"investor_id"`
	PaymentID  string      `json:"payment_id"`
	Amount     fund.Amount `json:"amount"`
	Balance    fund.Amount `json:"balance"`
	TxID       int64       `json:"wallet_tx_id"`
	At         string      `json:"at"`
}

// Withdrawn is the wallet.withdrawn event.
type Withdrawn struct {
	EventID    string      `json:"event_id"`
	WalletID   string      `json:"wallet_id"`
	InvestorID string      `json:"investor_id"`
	RequestID  string      `json:"request_id"`
	Amount     fund.Amount `json:"amount"`
	Balance    fund.Amount `json:"balance"`
	TxID       int64       `json:"wallet_tx_id"`
	At         string      `json:"at"`
	// Status: paid, pending (parked: HeldBy names the restriction's
	// source; the investor sees only "under review"), cancelled.
	Status string `json:"status"`
	HeldBy string `json:"-"`
}

// Effects collects a transaction's outbox events and audit rows; Flush
// writes them last (step 7 of the lock order). The pool service collects
// its transactions' the same way.
type Effects struct {
	Events []ledger.Event
	Audits []ledger.AuditEntry
}

// EffectsWriter is the part of a store transaction Flush writes through.
type EffectsWriter interface {
	WriteOutbox(ctx context.Context, events []ledger.Event) error
	AppendAudit(ctx context.Context, rows []ledger.AuditEntry) error
}

// Flush writes the events, then the audit rows when audit is on.
func (e *Effects) Flush(ctx context.Context, tx EffectsWriter, audit bool) error {
	if len(e.Events) > 0 {
		if err := tx.WriteOutbox(ctx, e.Events); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if audit && len(e.Audits) > 0 {
		return tx.AppendAudit(ctx, e.Audits)
	}
	return nil
}

type work = Effects

func (s *Service) inTx(ctx context.Context, fn func(Tx, *work) error) error {
	return s.Store.InTx(ctx, func(tx Tx) error {
		w := &work{}
		if err := fn(tx, w); err != nil {
			return err
		}
		return s.flush(ctx, tx, w)
	})
}

// flush writes a transaction's outbox and audit rows, last (step 7).
func (s *Service) flush(ctx context.Context, tx Tx, w *work) error {
	return w.Flush(ctx, tx, s.Audit)
}

// Open creates a wallet for an investor (an existing id is left as it is).
func (s *Service) Open(ctx context.Context, id, investorID string) error {
	if id == "" || strings.ContainsAny(id, " \t\n") {
		return fmt.Errorf("open wallet: id %q is empty or has spaces", id)
	}
	return s.inTx(ctx, func(tx Tx, w *work) error {
		created, err := tx.CreateWallet(ctx, id, investorID)
		if err != nil {
			return fmt.Errorf("open wallet %s: %w", id, err)
		}
		if created {
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: id, Action: "opened", Payload: map[string]string{"investor_id": investorID}})
		}
		return nil
	})
}

// CreditResult counts what CreditDeposits did.
type CreditResult struct {
	Credited, Broken int
	Amount           fund.Amount // credited
	Reversed         int         // deposits the gateway refunded, taken back out of their wallet
}

// DefaultCreditGroup is how many deposits a credit group carries when
// CreditGroup is 0.
const DefaultCreditGroup = 500

// CreditDeposits credits the captured payments waiting for a wallet, in
// groups of CreditGroup, a group in one transaction: exactly once (the
// entry is unique on the payment id, and a payment already matched or
// broken is skipped), or a break row with the reason for an unknown or
// closed wallet. A group that fails for a reason a retry cannot fix is
// credited again one deposit at a time (as pipelines.Isolating does); a
// deposit that fails alone gets a wallet_credit_failed break. Run it after
// the webhooks (a job, or right after Receive): a payment waiting is never
// lost, only not credited yet.
func (s *Service) CreditDeposits(ctx context.Context, limit int) (CreditResult, error) {
	var res CreditResult
	ids, err := s.Store.PendingDeposits(ctx, limit)
	if err != nil {
		return res, fmt.Errorf("pending deposits: %w", err)
	}
	g := s.CreditGroup
	if g <= 0 {
		g = DefaultCreditGroup
	}
	for len(ids) > 0 {
		n := min(g, len(ids))
		if err := s.creditIsolated(ctx, ids[:n], &res); err != nil {
			return res, err
		}
		ids = ids[n:]
	}
	refunded, err := s.Store.RefundedDeposits(ctx, limit)
	if err != nil {
		return res, fmt.Errorf("refunded deposits: %w", err)
	}
	for _, id := range refunded {
		outcome, err := s.reverseOne(ctx, id)
		if err != nil {
			return res, err
		}
		switch outcome {
		case "reversed":
			res.Reversed++
		case "break":
			res.Broken++
		}
	}
	return res, nil
}

// reverseOne takes a deposit the gateway refunded back out of its wallet
// (the money went back to the payer), or, when the wallet no longer holds
// it, records a break for a person: never a negative balance.
func (s *Service) reverseOne(ctx context.Context, paymentID string) (outcome string, err error) {
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		outcome = ""
		p, _, found, err := tx.RefundedPayment(ctx, paymentID, false)
		if err != nil || !found {
			return err
		}
		if err := tx.LockMatchKeys(ctx, []string{"match:" + p.NotesOrderID}); err != nil {
			return fmt.Errorf("lock match key: %w", err)
		}
		p, walletID, found, err := tx.RefundedPayment(ctx, paymentID, true)
		if err != nil || !found {
			return err
		}
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil || !ok {
			return err
		}
		if wal.Balance.Cmp(p.Amount) < 0 {
			outcome = "break"
			detail := fmt.Sprintf("payment %s (%s) was refunded by the gateway after wallet %s spent it (balance %s)", p.ID, p.Amount, wal.ID, wal.Balance)
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "payment", ID: p.ID, Action: "break",
				Payload: map[string]string{"wallet_id": wal.ID, "reason": BreakRefundAfterSpend, "detail": detail}})
			return tx.BreakPayment(ctx, p.ID, BreakRefundAfterSpend, detail)
		}
		e := Entry{WalletID: wal.ID, Kind: "reversal", Ref: p.ID, Amount: p.Amount, Postings: []fund.Posting{
			{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: p.Amount.Decimal()},
			{Account: AccountCash(p.Gateway), Asset: fund.AssetINR, Amount: p.Amount.Decimal().Neg()},
		}}
		if _, inserted, err := tx.Post(ctx, e, p.Amount.Neg()); err != nil || !inserted {
			return err
		}
		outcome = "reversed"
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "reversed",
			Payload: map[string]string{"payment_id": p.ID, "amount": p.Amount.String()}})
		// Its auto-invest, broken, has nothing left to invest: the break
		// no longer waits for a person (nor holds the wallet's exit).
		const why = "the gateway refunded the deposit and it was reversed out of the wallet: nothing to invest"
		if resolved, err := tx.ResolveInvestBreak(ctx, p.ID, why); err != nil || !resolved {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "payment", ID: p.ID, Action: "break_resolved",
			Payload: map[string]string{"wallet_id": wal.ID, "reason": BreakInvestFailed, "resolution": why}})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reverse refunded deposit %s: %w", paymentID, err)
	}
	return outcome, nil
}

// creditIsolated credits a group; if it fails for good, each of its
// deposits alone, and one failing alone is broken.
func (s *Service) creditIsolated(ctx context.Context, ids []string, res *CreditResult) error {
	sub, err := s.creditGroup(ctx, ids)
	if err == nil {
		res.Credited += sub.Credited
		res.Broken += sub.Broken
		res.Amount = res.Amount.Add(sub.Amount)
		return nil
	}
	if ctx.Err() != nil || pipelines.IsTransient(err) {
		return err
	}
	if len(ids) == 1 {
		detail := fund.SafeText(err.Error())
		slog.Error("wallet deposit cannot be credited; break recorded", "payment_id", ids[0], "reason", BreakCreditFailed, "err", err)
		if err := s.inTx(ctx, func(tx Tx, w *work) error {
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "payment", ID: ids[0], Action: "break",
				Payload: map[string]string{"reason": BreakCreditFailed, "detail": detail}})
			return tx.BreakPayment(ctx, ids[0], BreakCreditFailed, detail)
		}); err != nil {
			return fmt.Errorf("credit deposit %s: break: %w", ids[0], err)
		}
		res.Broken++
		return nil
	}
	slog.Warn("wallet credit group failed; crediting its deposits one at a time", "deposits", len(ids), "err", err)
	for _, id := range ids {
		if err := s.creditIsolated(ctx, []string{id}, res); err != nil {
			return err
		}
	}
	return nil
}

// creditGroup credits a group of deposits in one transaction. Lock order
// (see Service): the group's match keys, sorted; its payment rows; its
// wallet rows in id order; step 7.
func (s *Service) creditGroup(ctx context.Context, ids []string) (res CreditResult, err error) {
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		res = CreditResult{}
		// Peek for the match keys without a lock, then lock in order and
		// read again: the webhook holds the same key while it applies.
		keys := make([]string, 0, len(ids))
		for _, id := range ids {
			p, found, err := tx.PendingPayment(ctx, id, false)
			if err != nil {
				return fmt.Errorf("payment %s: %w", id, err)
			}
			if found {
				keys = append(keys, "match:"+p.NotesOrderID)
			}
		}
		if len(keys) == 0 {
			return nil
		}
		slices.Sort(keys)
		if err := tx.LockMatchKeys(ctx, slices.Compact(keys)); err != nil {
			return fmt.Errorf("lock match keys: %w", err)
		}
		pays := make([]Payment, 0, len(ids))
		walletIDs := make([]string, 0, len(ids))
		for _, id := range ids {
			p, found, err := tx.PendingPayment(ctx, id, true)
			if err != nil {
				return fmt.Errorf("payment %s: %w", id, err)
			}
			if found {
				pays, walletIDs = append(pays, p), append(walletIDs, strings.TrimPrefix(p.NotesOrderID, NotesPrefix))
			}
		}
		wals, err := lockWallets(ctx, tx, walletIDs)
		if err != nil {
			return err
		}
		// Breaks first; the credits then in one PostMany, in order.
		var es []Entry
		var deltas []fund.Amount
		var credit []Payment
		var matched []string
		for i, p := range pays {
			wal, ok := wals[walletIDs[i]]
			if reason, detail := creditBreak(p, walletIDs[i], wal, ok); reason != "" {
				w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "payment", ID: p.ID, Action: "break",
					Payload: map[string]string{"wallet_id": walletIDs[i], "reason": reason, "detail": detail}})
				if err := tx.BreakPayment(ctx, p.ID, reason, detail); err != nil {
					return fmt.Errorf("break payment %s: %w", p.ID, err)
				}
				res.Broken++
				continue
			}
			es = append(es, Entry{WalletID: wal.ID, Kind: "deposit", Ref: p.ID, Amount: p.Amount, Postings: []fund.Posting{
				{Account: AccountCash(p.Gateway), Asset: fund.AssetINR, Amount: p.Amount.Decimal()},
				{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: p.Amount.Decimal().Neg()},
			}})
			deltas, credit, matched = append(deltas, p.Amount), append(credit, p), append(matched, p.ID)
		}
		if len(es) == 0 {
			return nil
		}
		txIDs, inserted, err := tx.PostMany(ctx, es, deltas)
		if err != nil {
			return fmt.Errorf("credit %d payments: %w", len(es), err)
		}
		if err := tx.MatchDeposits(ctx, matched); err != nil {
			return fmt.Errorf("match %d payments: %w", len(matched), err)
		}
		at := s.now().UTC().Format(time.RFC3339Nano)
		for i, p := range credit {
			if !inserted[i] {
				continue // credited before (the payment row said otherwise): nothing twice
			}
			wal := wals[es[i].WalletID]
			wal.Balance = wal.Balance.Add(p.Amount)
			wals[wal.ID] = wal // the next deposit of the wallet's balance starts here
			res.Credited++
			res.Amount = res.Amount.Add(p.Amount)
			ev := Deposited{EventID: TopicDeposited + ":" + p.ID, WalletID: wal.ID, InvestorID: wal.InvestorID, PaymentID: p.ID,
				Amount: p.Amount, Balance: wal.Balance, TxID: txIDs[i], At: at}
			w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicDeposited, Key: wal.ID, Payload: ev})
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "deposited", Payload: ev})
		}
		return nil
	})
	if err != nil {
		return CreditResult{}, fmt.Errorf("credit %d deposits from %s: %w", len(ids), ids[0], err)
	}
	return res, nil
}

// creditBreak is why a payment cannot be credited to the wallet it names
// (wal, found): an unknown or closed wallet, a currency not INR; "" none.
func creditBreak(p Payment, walletID string, wal Wallet, found bool) (reason, detail string) {
	switch {
	case !found:
		return BreakWalletUnknown, fmt.Sprintf("payment %s names wallet %q, which does not exist", p.ID, walletID)
	case wal.Status != "open":
		return BreakWalletClosed, fmt.Sprintf("payment %s names wallet %s, which is %s", p.ID, walletID, wal.Status)
	case p.Currency != "INR":
		return BreakCurrency, fmt.Sprintf("payment %s is in %s, wallets hold INR", p.ID, p.Currency)
	}
	return "", ""
}

// Withdraw takes amount out of a wallet towards its investor's sealed bank
// account (payout:wallet:<id>), once per requestID: the same request again
// returns its state now (paid, pending, cancelled) and changes nothing. A
// withdrawal above the balance is refused (ErrInsufficient), as is one
// from a closed or unknown wallet. While a ledger restriction blocks the
// investor's redemptions (a fraud or AML case, the KYC gate) the
// withdrawal is parked: its money leaves the balance into
// withdrawal_held:wallet:<id> (so it cannot be spent twice), status
// pending, until ReleaseWithdrawals pays it once the restriction lifts or
// CancelWithdrawal puts it back.
func (s *Service) Withdraw(ctx context.Context, walletID, requestID string, amount fund.Amount) (Withdrawn, error) {
	var out Withdrawn
	if amount.Sign() <= 0 {
		return out, fmt.Errorf("withdraw: amount %s is not positive", amount)
	}
	if requestID == "" {
		return out, errors.New("withdraw: request id is empty")
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoWallet
		}
		// The same request again: its state now, whatever the balance is.
		if prev, txID, found, err := tx.Entry(ctx, "withdrawal", requestID); err != nil || found {
			if err == nil && (prev.WalletID != wal.ID || !prev.Amount.Equal(amount)) {
				return fmt.Errorf("request %s was a withdrawal of %s from wallet %s", requestID, prev.Amount, prev.WalletID)
			}
			if err != nil {
				return err
			}
			out = Withdrawn{EventID: TopicWithdrawn + ":" + requestID, WalletID: wal.ID, InvestorID: wal.InvestorID, RequestID: requestID,
				Amount: amount, Balance: wal.Balance, TxID: txID, Status: WithdrawalPaid}
			wd, ok, err := tx.Withdrawal(ctx, requestID)
			if ok { // none: paid before parking existed
				out.Status, out.HeldBy = wd.Status, wd.HoldSource
			}
			return err
		}
		// Checked under the wallet's lock, so two withdrawals cannot both
		// pass; the column's CHECK (balance >= 0) backs it up.
		if wal.Status != "open" {
			return ErrClosed
		}
		if wal.Balance.Cmp(amount) < 0 {
			return fmt.Errorf("%w: %s > %s", ErrInsufficient, amount, wal.Balance)
		}
		out, err = s.payOut(ctx, tx, w, wal, requestID, amount)
		return err
	})
	if err != nil {
		return Withdrawn{}, fmt.Errorf("withdraw %s from wallet %s: %w", amount, walletID, err)
	}
	return out, nil
}

// payOut takes amount out of the wallet (locked by the caller, its
// balance checked) to the sealed bank account under requestID, or parks
// it while a restriction blocks the investor's redemptions.
func (s *Service) payOut(ctx context.Context, tx Tx, w *work, wal Wallet, requestID string, amount fund.Amount) (out Withdrawn, err error) {
	// A restriction that blocks redemptions parks withdrawals.
	src, held, err := tx.BlockingRestriction(ctx, wal.InvestorID)
	if err != nil {
		return out, err
	}
	to, status, topic := AccountPayout(wal.ID), WithdrawalPaid, TopicWithdrawn
	if held {
		to, status, topic = AccountWithdrawalHeld(wal.ID), WithdrawalPending, TopicWithdrawalParked
	}
	e := Entry{WalletID: wal.ID, Kind: "withdrawal", Ref: requestID, Amount: amount, Postings: []fund.Posting{
		{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: amount.Decimal()},
		{Account: to, Asset: fund.AssetINR, Amount: amount.Decimal().Neg()},
	}}
	txID, inserted, err := tx.Post(ctx, e, amount.Neg())
	if err != nil {
		return out, err
	}
	if !inserted {
		return out, fmt.Errorf("withdrawal %s: written concurrently", requestID) // unreachable under the wallet's lock
	}
	if err := tx.InsertWithdrawal(ctx, Withdrawal{RequestID: requestID, WalletID: wal.ID, Amount: amount, Status: status, HoldSource: src}); err != nil {
		return out, fmt.Errorf("withdrawal %s: %w", requestID, err)
	}
	out = Withdrawn{EventID: topic + ":" + requestID, WalletID: wal.ID, InvestorID: wal.InvestorID, RequestID: requestID,
		Amount: amount, Balance: wal.Balance.Sub(amount), TxID: txID, At: s.now().UTC().Format(time.RFC3339Nano), Status: status, HeldBy: src}
	w.Events = append(w.Events, ledger.Event{ID: out.EventID, Topic: topic, Key: wal.ID, Payload: out})
	action := "withdrawn"
	if held {
		action = "withdrawal_parked"
	}
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: action, Payload: out})
	if held && wal.Status != "open" {
		// The exit's payout, or money passed on from a closed wallet: it
		// can never be cancelled back, so ops are told what releases it.
		if err := tx.RaiseAlert(ctx, AlertClosedPayoutParked, requestID, closedPayoutParked(wal.ID, requestID, src, amount)); err != nil {
			return out, fmt.Errorf("alert: %w", err)
		}
	}
	return out, nil
}

// AlertClosedPayoutParked is the alert (subject: the withdrawal request)
// of a closing or closed wallet's payout parked by a restriction; it is
// resolved when the payout is released.
const AlertClosedPayoutParked = "wallet_closed_payout_parked"

// closedPayoutParked says what releases a closed wallet's parked payout.
func closedPayoutParked(walletID, requestID, src string, amount fund.Amount) string {
	return fmt.Sprintf("payout %s of %s from wallet %s (closed by its exit) is parked by a %s restriction and cannot be cancelled back into the wallet. "+
		"The managed run pays it to the investor's default bank account once the restriction lifts: for a bank restriction (no, or an invalid, account), "+
		"once the investor's new default account is verified; for fraud, aml or kyc, once the review lifts it", requestID, amount, walletID, src)
}

// ClosedPayoutHelp says what to do with a closed wallet's parked payout
// (CancelWithdrawal's ErrClosed), for the CLI and the API.
const ClosedPayoutHelp = "a closed wallet's parked payout cannot be cancelled back into the wallet: it is paid to the investor's default bank account " +
	"once the restriction that parked it lifts (a bank restriction: once a new default account is verified); see alert " + AlertClosedPayoutParked

// PassOnClosed pays money that arrived at a closed wallet (credited by
// the caller in the same transaction: a purchase the ledger ended, a
// switch or fee redemption payout) straight on to the sealed bank account
// as a payout-only withdrawal "closed:<kind>:<ref>" (parked while a
// restriction blocks the investor's redemptions), so nothing stays in a
// wallet no one can withdraw from. A wallet still open or closing keeps
// it: a closing wallet's exit pays out its whole balance when it closes.
// wal is the wallet as locked before the credit.
func (s *Service) PassOnClosed(ctx context.Context, tx Tx, w *work, wal Wallet, kind, ref string, amount fund.Amount) error {
	if wal.Status != "closed" || amount.Sign() <= 0 {
		return nil
	}
	wal.Balance = wal.Balance.Add(amount)
	_, err := s.payOut(ctx, tx, w, wal, "closed:"+kind+":"+ref, amount)
	return err
}

// ReleaseWithdrawals pays the parked withdrawals whose investor's
// restriction has lifted, each in its own transaction and once (the
// release entry is unique on the request): held → payout:wallet:<id>, the
// balance unchanged (it left at parking), wallet.withdrawn.
func (s *Service) ReleaseWithdrawals(ctx context.Context, limit int) (int, error) {
	ids, err := s.Store.ReleasableWithdrawals(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("releasable withdrawals: %w", err)
	}
	n := 0
	for _, id := range ids {
		released, err := s.decideParked(ctx, "", id, WithdrawalPaid)
		if err != nil {
			return n, err
		}
		if released.Status == WithdrawalPaid {
			n++
		}
	}
	return n, nil
}

// CancelWithdrawal cancels a parked withdrawal of walletID: its money goes
// back into the wallet (held → wallet:<id>), once. One cancelled already
// returns as it is (a replay); one paid is refused with ErrNotPending; a
// request the wallet never made with ErrNoWithdrawal.
func (s *Service) CancelWithdrawal(ctx context.Context, walletID, requestID string) (Withdrawn, error) {
	out, err := s.decideParked(ctx, walletID, requestID, WithdrawalCancelled)
	if err == nil && out.Status != WithdrawalCancelled {
		err = fmt.Errorf("cancel withdrawal %s: %w (%s)", requestID, ErrNotPending, out.Status)
	}
	return out, err
}

// decideParked moves a pending withdrawal to paid (when no restriction
// blocks it any more) or cancelled, under the wallet's lock then the
// request's; a request decided already is returned as it is. A walletID
// other than "" must be the request's wallet.
func (s *Service) decideParked(ctx context.Context, walletID, requestID, to string) (out Withdrawn, err error) {
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		out = Withdrawn{}
		e, _, found, err := tx.Entry(ctx, "withdrawal", requestID)
		if err != nil {
			return err
		}
		if !found || (walletID != "" && e.WalletID != walletID) {
			return ErrNoWithdrawal
		}
		wal, ok, err := tx.LockWallet(ctx, e.WalletID)
		if err != nil || !ok {
			return err
		}
		wd, ok, err := tx.Withdrawal(ctx, requestID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotPending // paid at once before parking existed
		}
		out = Withdrawn{WalletID: wal.ID, InvestorID: wal.InvestorID, RequestID: requestID, Amount: wd.Amount, Balance: wal.Balance, Status: wd.Status, HeldBy: wd.HoldSource}
		if wd.Status != WithdrawalPending {
			return nil
		}
		if to == WithdrawalCancelled && wal.Status == "closed" {
			// Its money would come back to a wallet no one can withdraw
			// from: a closed wallet's payout is released, never cancelled.
			return ErrClosed
		}
		kind, topic, action, acct, delta := "withdrawal_release", TopicWithdrawn, "withdrawn", AccountPayout(wal.ID), fund.Amount{}
		if to == WithdrawalCancelled {
			kind, topic, action, acct, delta = "withdrawal_cancel", TopicWithdrawalCancelled, "withdrawal_cancelled", AccountWallet(wal.ID), wd.Amount
		} else if src, held, err := tx.BlockingRestriction(ctx, wal.InvestorID); err != nil || held {
			out.HeldBy = src
			return err // still restricted: stays parked
		}
		txID, inserted, err := tx.Post(ctx, Entry{WalletID: wal.ID, Kind: kind, Ref: requestID, Amount: wd.Amount, Postings: []fund.Posting{
			{Account: AccountWithdrawalHeld(wal.ID), Asset: fund.AssetINR, Amount: wd.Amount.Decimal()},
			{Account: acct, Asset: fund.AssetINR, Amount: wd.Amount.Decimal().Neg()},
		}}, delta)
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("withdrawal %s: %s posted but the request is pending", requestID, kind)
		}
		if err := tx.SetWithdrawalStatus(ctx, requestID, to); err != nil {
			return err
		}
		if err := tx.ResolveAlert(ctx, AlertClosedPayoutParked, requestID); err != nil {
			return err
		}
		out.Status, out.TxID, out.Balance, out.HeldBy = to, txID, wal.Balance.Add(delta), ""
		out.EventID, out.At = topic+":"+requestID, s.now().UTC().Format(time.RFC3339Nano)
		w.Events = append(w.Events, ledger.Event{ID: out.EventID, Topic: topic, Key: wal.ID, Payload: out})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: action, Payload: out})
		return nil
	})
	if err != nil {
		return Withdrawn{}, fmt.Errorf("withdrawal %s: %w", requestID, err)
	}
	return out, nil
}

// View reads a wallet as its investor sees it.
func (s *Service) View(ctx context.Context, id string) (View, bool, error) {
	return s.Store.WalletView(ctx, id)
}

// Balance is a wallet's balance.
func (s *Service) Balance(ctx context.Context, id string) (fund.Amount, error) {
	w, ok, err := s.Store.Wallet(ctx, id)
	if err != nil {
		return fund.Amount{}, err
	}
	if !ok {
		return fund.Amount{}, ErrNoWallet
	}
	return w.Balance, nil
}
