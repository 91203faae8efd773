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

// ExitTx is one transaction of an exit.
type ExitTx interface {
	Tx
	Terms(ctx context.Context, walletID string) (t Terms, found bool, err error)
	FeeTerms(ctx context.Context, walletID string) ([]FeeTerms, error)
	// InFlight: as RebalanceTx's.
	InFlight(ctx context.Context, walletID, folio, exceptRun string) (string, error)
	// ValueWallet writes one wallet's valuation of day (cash + its
	// auto-invest folio at day's NAVs, as FeeStore.Value), once.
	ValueWallet(ctx context.Context, walletID string, day fund.Date) error
	InvoiceFor(ctx context.Context, walletID string, from fund.Date) (FeeInvoice, bool, error)
	SetInvoiceCharged(ctx context.Context, id string) error
	// CloseWallet marks the wallet closed and its auto-invest terms
	// disabled.
	CloseWallet(ctx context.Context, walletID string) error
}

// Exits take investors out of managed investing.
type Exits struct {
	Fees  *Fees
	Store ExitStore
	// CrystalliseMonth is the quarterly billing's (QuarterBilling): the
	// quarter before the exit's, if it was not billed yet, is billed as
	// the schedule would have.
	CrystalliseMonth time.Month
}

// Exited is an exit's result.
type Exited struct {
	WalletID  string       `json:"wallet_id"`
	RequestID string       `json:"request_id"`
	Day       fund.Date    `json:"day"`
	Status    string       `json:"status"` // exited, already_exited
	Invoices  []FeeInvoice `json:"invoices"`
	Withdrawn *Withdrawn   `json:"withdrawal,omitempty"` // nil: no cash left to pay out
}

// Exit is an investor leaving managed investing, once per requestID: the
// fees up to the exit day are billed with the performance fee
// crystallised (an invoice from the quarter's start, or the terms' first
// day, to the exit day; the quarter before, if the schedule has not
// billed it yet, first), then paid from the wallet's cash, then the rest
// of the cash is withdrawn to the sealed bank account (Withdraw, under
// requestID: parked if a restriction blocks payouts) and the wallet is
// closed with its auto-invest terms disabled. The folio's units stay the
// investor's, no longer managed: the quarterly billing and the daily
// valuation leave a closed wallet out, so the fee is crystallised once.
// Refused (nothing paid out, the wallet open) while an order of the folio
// is in flight (ErrExitInFlight) or when the cash does not cover the fees
// (ErrExitFeeUnpaid). A run stopped anywhere is finished by the same call.
func (x *Exits) Exit(ctx context.Context, walletID, requestID string, now time.Time) (Exited, error) {
	day := fund.DateOf(now.In(fund.IST()))
	out := Exited{WalletID: walletID, RequestID: requestID, Day: day, Status: "exited", Invoices: []FeeInvoice{}}
	if requestID == "" {
		return out, errors.New("exit: request id is empty")
	}
	fail := func(err error) (Exited, error) { return out, fmt.Errorf("exit wallet %s: %w", walletID, err) }
	var periods [][2]fund.Date // the periods to bill, oldest first
	var crystallise []bool
	closed := false
	err := x.Store.InExitTx(ctx, func(tx ExitTx) error {
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoWallet
		}
		if wal.Status != "open" {
			// The same exit again: its withdrawal says it was this one.
			if _, _, found, err := tx.Entry(ctx, "withdrawal", requestID); err != nil || found || wal.Balance.Sign() == 0 {
				closed = err == nil
				return err
			}
			return ErrClosed
		}
		if t, ok, err := tx.Terms(ctx, walletID); err != nil {
			return err
		} else if ok && t.Folio != "" {
			what, err := tx.InFlight(ctx, walletID, t.Folio, "")
			if err != nil {
				return err
			}
			if what != "" {
				return fmt.Errorf("%w: %s", ErrExitInFlight, what)
			}
		}
		terms, err := tx.FeeTerms(ctx, walletID)
		if err != nil || len(terms) == 0 || terms[0].From.After(day) {
			return err // no fee terms: nothing to bill
		}
		first := terms[0].From
		qFrom, _ := QuarterOf(day)
		pFrom, pTo := QuarterOf(qFrom.AddDays(-1))
		if !first.After(pTo) {
			periods, crystallise = append(periods, [2]fund.Date{laterOf(pFrom, first), pTo}), append(crystallise, pTo.Month == x.CrystalliseMonth)
		}
		from := laterOf(qFrom, first)
		if inv, ok, err := tx.InvoiceFor(ctx, walletID, from); err != nil {
			return err
		} else if ok {
			day = inv.To // a run stopped after billing: its invoice is the exit's
			out.Day = day
		}
		periods, crystallise = append(periods, [2]fund.Date{from, day}), append(crystallise, true)
		return tx.ValueWallet(ctx, walletID, day)
	})
	if err != nil {
		return fail(err)
	}
	if closed {
		out.Status = "already_exited"
		return out, nil
	}
	for i, p := range periods {
		inv, _, err := x.Fees.Bill(ctx, walletID, p[0], p[1], crystallise[i])
		if errors.Is(err, ErrNoFeeTerms) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		out.Invoices = append(out.Invoices, inv)
	}
	// Pay what is due from the cash; the rest is paid out.
	var rest fund.Amount
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		w := &work{}
		wal, _, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		for i, p := range out.Invoices {
			inv, ok, err := tx.InvoiceFor(ctx, walletID, p.From)
			if err != nil || !ok {
				return err
			}
			if inv.Status == "due" {
				if wal.Balance.Cmp(inv.Total) < 0 {
					return fmt.Errorf("%w: %s due, %s in the wallet", ErrExitFeeUnpaid, inv.Total, wal.Balance)
				}
				if e := x.Fees.charge(w, wal, &inv, true); e != nil {
					if _, inserted, err := tx.Post(ctx, *e, inv.Total.Neg()); err != nil || !inserted {
						if err == nil {
							err = fmt.Errorf("invoice %s was paid without being marked charged", inv.ID)
						}
						return err
					}
				}
				if err := tx.SetInvoiceCharged(ctx, inv.ID); err != nil {
					return err
				}
				wal.Balance = wal.Balance.Sub(inv.Total)
			}
			inv.Accrual = inv.Accrual.Expanded()
			out.Invoices[i] = inv
		}
		rest = wal.Balance
		if prev, _, found, err := tx.Entry(ctx, "withdrawal", requestID); err != nil {
			return err
		} else if found {
			rest = prev.Amount // paid out before a stop: the same request
		}
		return x.Fees.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return fail(err)
	}
	if rest.Sign() > 0 {
		wd, err := x.Fees.Wallet.Withdraw(ctx, walletID, requestID, rest)
		if err != nil {
			return fail(err)
		}
		out.Withdrawn = &wd
	}
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		w := &work{}
		wal, _, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if wal.Balance.Sign() != 0 {
			return fmt.Errorf("%s arrived in the wallet during the exit: exit again under another request", wal.Balance)
		}
		if err := tx.CloseWallet(ctx, walletID); err != nil {
			return err
		}
		ids := make([]string, len(out.Invoices))
		for i, inv := range out.Invoices {
			ids[i] = inv.ID
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: walletID, Action: "exited",
			Payload: map[string]any{"request_id": requestID, "day": day.String(), "invoices": ids, "paid_out": rest.String()}})
		return x.Fees.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return fail(err)
	}
	return out, nil
}

func laterOf(a, b fund.Date) fund.Date {
	if a.Before(b) {
		return b
	}
	return a
}
