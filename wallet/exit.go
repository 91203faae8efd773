package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
)

// ErrExitInFlight: the wallet's folio has an order or rebalance still
// moving; its money would come back to a closed wallet. Exit after it ends.
var ErrExitInFlight = errors.New("an order or rebalance of the wallet's folio is still in flight")

// ErrExitFeeUnpaid: the wallet's cash does not cover the fees billed at
// the exit, so nothing is paid out and the wallet stays open.
var ErrExitFeeUnpaid = errors.New("the wallet's cash does not cover the fees due at exit")

// ExitStore is what an exit needs of the store.
type ExitStore interface {
	InExitTx(ctx context.Context, fn func(ExitTx) error) error
}

// ExitRow is a wallet's exit as recorded when it started.
type ExitRow struct {
	RequestID string
	Day       fund.Date // the exit's valuation and last billed day
	Closed    bool
}

// ExitTx is one transaction of an exit.
type ExitTx interface {
	Tx
	Terms(ctx context.Context, walletID string) (t Terms, found bool, err error)
	FeeTerms(ctx context.Context, walletID string) ([]FeeTerms, error)
	// InFlight: as RebalanceTx's.
	InFlight(ctx context.Context, walletID, folio, exceptRun string) (string, error)
	// PendingArrivals says what money of the wallet is still on its way
	// back to it (an ended purchase, a switch or fee redemption payout
	// not swept yet; "" none).
	PendingArrivals(ctx context.Context, walletID string) (string, error)
	// ExitBlockers says what keeps the wallet from leaving (pool units or
	// requests, a SIP plan paying into it; "" none).
	ExitBlockers(ctx context.Context, walletID string) (string, error)
	// ValueWallet writes one wallet's valuation of day (cash + its
	// auto-invest folio at day's NAVs, as FeeStore.Value), replacing one
	// written earlier that day.
	ValueWallet(ctx context.Context, walletID string, day fund.Date) error
	ExitOf(ctx context.Context, walletID string) (x ExitRow, found bool, err error)
	// StartExit records the exit and marks the wallet closing.
	StartExit(ctx context.Context, walletID, requestID string, day fund.Date) error
	// ReopenWallet undoes StartExit.
	ReopenWallet(ctx context.Context, walletID string) error
	// BilledPeriods lists the wallet's invoices' periods starting on or
	// before to, by start.
	BilledPeriods(ctx context.Context, walletID string, to fund.Date) ([]Period, error)
	// DueInvoicesOf lists the wallet's unpaid invoices, oldest first, locked.
	DueInvoicesOf(ctx context.Context, walletID string) ([]FeeInvoice, error)
	FeeRedemptionsSettled(ctx context.Context, invoiceID string) (n int, settled bool, err error)
	SetInvoiceCharged(ctx context.Context, id string) error
	// CloseWallet marks the wallet closed (its exit row too) and its
	// auto-invest terms disabled.
	CloseWallet(ctx context.Context, walletID string) error
}

// Exits take investors out of managed investing.
type Exits struct {
	Fees  *Fees
	Store ExitStore
	// CrystalliseMonth is the quarterly billing's (QuarterBilling): a
	// period the exit bills that ends that month's quarter end
	// crystallises as the schedule would have.
	CrystalliseMonth time.Month
}

// ErrExitBlocked: the wallet holds pool units or a pool request, or a SIP
// plan still pays into it; leave the pool, cancel the plan, then exit.
var ErrExitBlocked = errors.New("the wallet is still in a pool or paid into by a SIP plan")

// ExitWithdrawalID is the exit's payout's withdrawal request id: its own
// namespace, so an investor's earlier withdrawal id cannot collide.
func ExitWithdrawalID(requestID string) string { return "exit:" + requestID }

// Exited is an exit's result.
type Exited struct {
	WalletID  string       `json:"wallet_id"`
	RequestID string       `json:"request_id"`
	Day       fund.Date    `json:"day"`
	Status    string       `json:"status"` // exited, already_exited
	Invoices  []FeeInvoice `json:"invoices"`
	Withdrawn *Withdrawn   `json:"withdrawal,omitempty"` // nil: no cash left to pay out
}

// Exit is an investor leaving managed investing, once per requestID.
//
//  1. Under the wallet's lock: refused while an order of the folio is in
//     flight or money is on its way back (ErrExitInFlight), or while the
//     wallet is in a pool or paid into by a SIP plan (ErrExitBlocked).
//     Otherwise the wallet becomes 'closing' (deposits become
//     wallet_closed breaks; auto-invest, rebalance, pool contributions and
//     withdrawals refuse it), the exit's request and day are recorded, and
//     the day's valuation is written afresh (it includes every flow the
//     bill counts).
//  2. Every period not billed yet, from the end of the last invoice (or
//     the terms' first day) to the exit day, one per quarter, is billed;
//     the last crystallises the performance fee.
//  3. One transaction under the wallet's lock: the in-flight checks again,
//     every due invoice paid from the cash oldest first (one charged from
//     units whose redemptions are not all swept is in flight), the rest
//     withdrawn to the sealed bank account (ExitWithdrawalID; parked if a
//     restriction blocks payouts), the wallet closed with its auto-invest
//     terms disabled.
//
// Cash short of the fees: ErrExitFeeUnpaid, nothing paid out, the wallet
// open again (the invoices stay due). A run stopped anywhere is finished
// by the same request on any later day (its day is the recorded one).
func (x *Exits) Exit(ctx context.Context, walletID, requestID string, now time.Time) (Exited, error) {
	day := fund.DateOf(now.In(fund.IST()))
	out := Exited{WalletID: walletID, RequestID: requestID, Day: day, Status: "exited", Invoices: []FeeInvoice{}}
	if requestID == "" {
		return out, errors.New("exit: request id is empty")
	}
	fail := func(err error) (Exited, error) { return out, fmt.Errorf("exit wallet %s: %w", walletID, err) }
	var periods []exitPeriod
	closed := false
	err := x.Store.InExitTx(ctx, func(tx ExitTx) error {
		periods = nil
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoWallet
		}
		xr, found, err := tx.ExitOf(ctx, walletID)
		if err != nil {
			return err
		}
		switch {
		case wal.Status == "closed":
			if found {
				if xr.RequestID != requestID {
					return ErrClosed
				}
				closed, out.Day = true, xr.Day
				return nil
			}
			// Closed before exits were recorded: its withdrawal says it was this one.
			if _, _, found, err := tx.Entry(ctx, "withdrawal", requestID); err != nil || found || wal.Balance.Sign() == 0 {
				closed = err == nil
				return err
			}
			return ErrClosed
		case wal.Status == "closing":
			if !found || xr.RequestID != requestID {
				return fmt.Errorf("%w: another exit (%s) is under way", ErrClosed, xr.RequestID)
			}
			day = xr.Day // a retry: the exit's own day, whatever today is
		default:
			if what, err := x.inFlight(ctx, tx, walletID); err != nil || what != "" {
				return errors.Join(err, inFlightErr(what))
			}
			if what, err := tx.ExitBlockers(ctx, walletID); err != nil || what != "" {
				return errors.Join(err, blockedErr(what))
			}
			if err := tx.StartExit(ctx, walletID, requestID, day); err != nil {
				return fmt.Errorf("start exit: %w", err)
			}
		}
		out.Day = day
		if periods, err = x.periods(ctx, tx, walletID, day); err != nil || len(periods) == 0 {
			return err
		}
		// Written afresh under the lock, the wallet closing: no flow can
		// come between this valuation and the bill that counts flows.
		return tx.ValueWallet(ctx, walletID, day)
	})
	if err != nil {
		return fail(err)
	}
	if closed {
		out.Status = "already_exited"
		return out, nil
	}
	billed := map[string]bool{}
	for _, p := range periods {
		inv, _, err := x.Fees.Bill(ctx, walletID, p.from, p.to, p.crystallise)
		if errors.Is(err, ErrNoFeeTerms) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		billed[inv.ID] = true
		out.Invoices = append(out.Invoices, inv)
	}
	var unpaid error
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		unpaid = nil
		out.Withdrawn = nil
		w := &work{}
		wal, _, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if wal.Status != "closing" {
			return fmt.Errorf("the wallet is %s, not closing", wal.Status)
		}
		if what, err := x.inFlight(ctx, tx, walletID); err != nil || what != "" {
			return errors.Join(err, inFlightErr(what))
		}
		dues, err := tx.DueInvoicesOf(ctx, walletID)
		if err != nil {
			return err
		}
		for _, inv := range dues {
			if inv.ChargeFrom == ChargeFromUnits {
				// Its redemptions' payouts pay it (ChargeDue): paid from the
				// cash only once they are all in the wallet, or none exist.
				if n, settled, err := tx.FeeRedemptionsSettled(ctx, inv.ID); err != nil || (n > 0 && !settled) {
					return errors.Join(err, inFlightErr(fmt.Sprintf("invoice %s is being paid by redeeming units", inv.ID)))
				}
			}
			if wal.Balance.Cmp(inv.Total) < 0 {
				unpaid = fmt.Errorf("%w: %s due on %s, %s in the wallet", ErrExitFeeUnpaid, inv.Total, inv.ID, wal.Balance)
				return tx.ReopenWallet(ctx, walletID) // nothing of this transaction is kept but that
			}
			if e := x.Fees.charge(w, wal, &inv, true); e != nil {
				if _, inserted, err := tx.Post(ctx, *e, inv.Total.Neg()); err != nil || !inserted {
					return errors.Join(err, boolErrf(inserted, "invoice %s was paid without being marked charged", inv.ID))
				}
			}
			if err := tx.SetInvoiceCharged(ctx, inv.ID); err != nil {
				return err
			}
			wal.Balance = wal.Balance.Sub(inv.Total)
			inv.Accrual = inv.Accrual.Expanded()
			if billed[inv.ID] {
				for i := range out.Invoices {
					if out.Invoices[i].ID == inv.ID {
						out.Invoices[i] = inv
					}
				}
			} else {
				out.Invoices = append(out.Invoices, inv)
			}
		}
		paidOut := fund.Amount{}
		if wal.Balance.Sign() > 0 {
			wd, err := x.Fees.Wallet.payOut(ctx, tx, w, wal, ExitWithdrawalID(requestID), wal.Balance)
			if err != nil {
				return fmt.Errorf("pay out: %w", err)
			}
			out.Withdrawn, paidOut = &wd, wal.Balance
		}
		if err := tx.CloseWallet(ctx, walletID); err != nil {
			return err
		}
		ids := make([]string, len(out.Invoices))
		for i, inv := range out.Invoices {
			ids[i] = inv.ID
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: walletID, Action: "exited",
			Payload: map[string]any{"request_id": requestID, "day": day.String(), "invoices": ids, "paid_out": paidOut.String()}})
		return x.Fees.Wallet.flush(ctx, tx, w)
	})
	if err == nil {
		err = unpaid
	}
	if err != nil {
		return fail(err)
	}
	return out, nil
}

type exitPeriod struct {
	from, to    fund.Date
	crystallise bool
}

// periods are what the exit bills: every day from the terms' first day to
// day that no invoice covers, cut at quarter ends, oldest first.
// The last crystallises the performance fee, as does a quarter end the
// schedule crystallises at.
func (x *Exits) periods(ctx context.Context, tx ExitTx, walletID string, day fund.Date) ([]exitPeriod, error) {
	terms, err := tx.FeeTerms(ctx, walletID)
	if err != nil || len(terms) == 0 || terms[0].From.After(day) {
		return nil, err // no fee terms: nothing to bill
	}
	billed, err := tx.BilledPeriods(ctx, walletID, day)
	if err != nil {
		return nil, err
	}
	var ps []exitPeriod // every day no invoice covers, not only those after the last
	for _, g := range Unbilled(terms[0].From, day, billed) {
		_, qTo := QuarterOf(g.From)
		ps = append(ps, exitPeriod{g.From, g.To, g.To == day || (g.To == qTo && qTo.Month == x.CrystalliseMonth)})
	}
	return ps, nil
}

// inFlight says what of the wallet is still moving ("" nothing).
func (x *Exits) inFlight(ctx context.Context, tx ExitTx, walletID string) (string, error) {
	if t, ok, err := tx.Terms(ctx, walletID); err != nil {
		return "", err
	} else if ok && t.Folio != "" {
		if what, err := tx.InFlight(ctx, walletID, t.Folio, ""); err != nil || what != "" {
			return what, err
		}
	}
	return tx.PendingArrivals(ctx, walletID)
}

func inFlightErr(what string) error {
	if what == "" {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrExitInFlight, what)
}

func blockedErr(what string) error {
	if what == "" {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrExitBlocked, what)
}

func boolErrf(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
