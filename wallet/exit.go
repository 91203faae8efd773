package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
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
	// StaleExits lists exits not closed, started before startedBefore,
	// whose wallet is closing, oldest first, at most limit.
	StaleExits(ctx context.Context, startedBefore time.Time, limit int) ([]ExitRow, error)
}

// ExitRow is a wallet's exit as recorded when it started.
type ExitRow struct {
	WalletID  string
	RequestID string
	Day       fund.Date // the exit's valuation and last billed day
	StartedAt time.Time // the exit's own clock (Resume's and Cancel's age)
	Closed    bool
}

// DefaultExitStaleAfter is how long an exit may stay closing before it is
// taken for stopped (Resume finishes it, Cancel may undo it): its three
// steps take seconds.
const DefaultExitStaleAfter = 30 * time.Minute

// ErrExitInProgress: the wallet is closing for an exit, whose own steps
// bill it; a quarterly run keeps it as skipped and retries it later.
var ErrExitInProgress = errors.New("exit in progress: the wallet is closing")

// ErrExitRunning refuses to cancel an exit younger than the stale age: it
// may still be running.
var ErrExitRunning = errors.New("the exit may still be running")

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
	// StartExit records the exit (started at: Resume's clock) and marks
	// the wallet closing.
	StartExit(ctx context.Context, walletID, requestID string, day fund.Date, at time.Time) error
	// ReopenWallet undoes StartExit of requestID if the wallet is still
	// closing for it (reopened false: it is not).
	ReopenWallet(ctx context.Context, walletID, requestID string) (reopened bool, err error)
	// BilledPeriods lists the wallet's invoices' periods starting on or
	// before to, by start.
	BilledPeriods(ctx context.Context, walletID string, to fund.Date) ([]Period, error)
	// DueInvoicesOf lists the wallet's unpaid invoices, oldest first, locked.
	DueInvoicesOf(ctx context.Context, walletID string) ([]FeeInvoice, error)
	FeeRedemptionsSettled(ctx context.Context, invoiceID string) (n int, settled bool, err error)
	SetInvoiceCharged(ctx context.Context, id string) error
	// CloseWallet marks the wallet closed (its exit row of requestID
	// too: none, an error) and its auto-invest terms disabled.
	CloseWallet(ctx context.Context, walletID, requestID string) error
}

// Exits take investors out of managed investing.
type Exits struct {
	Fees  *Fees
	Store ExitStore
	// CrystalliseMonth is the quarterly billing's (QuarterBilling): a
	// period the exit bills that ends that month's quarter end
	// crystallises as the schedule would have.
	CrystalliseMonth time.Month
	// StaleAfter: an exit closing longer is taken for stopped; a younger
	// one is never cancelled (0: DefaultExitStaleAfter).
	StaleAfter time.Duration
	// crash, for tests: called after step 1 ("started") and step 2
	// ("billed"); an error stops the exit there.
	crash func(step string) error
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
//     every due invoice paid from the cash oldest first, all or none (one
//     charged from units whose redemptions are not all swept is in
//     flight), the rest withdrawn to the sealed bank account
//     (ExitWithdrawalID; parked if a restriction blocks payouts), the
//     wallet closed with its auto-invest terms disabled.
//
// Refused after step 1 for any reason a retry of its own cannot cure (the
// cash short of the fees: ErrExitFeeUnpaid; something in flight; a
// billing or payout error), the exit is undone here, in one place: the
// wallet is open again (its exit row gone, an exit_reopened audit row
// with the reason); invoices billed stay due. Stopped by a crash, a
// cancelled context or a transient database error, the wallet stays
// closing: the same request finishes it on any later day (its day is the
// recorded one), and Resume does so for exits left closing too long.
func (x *Exits) Exit(ctx context.Context, walletID, requestID string, now time.Time) (Exited, error) {
	out, ours, err := x.exit(ctx, walletID, requestID, now)
	if err == nil {
		return out, nil
	}
	err = fmt.Errorf("exit wallet %s: %w", walletID, err)
	if !ours || ctx.Err() != nil || pipelines.IsTransient(err) {
		return out, err // not this exit's wallet to reopen, or a retry may finish it
	}
	reopened, rerr := x.reopen(ctx, walletID, requestID, err.Error(), nil)
	switch {
	case rerr != nil:
		return out, errors.Join(err, fmt.Errorf("reopen wallet %s: %w", walletID, rerr))
	case reopened:
		return out, fmt.Errorf("%w (the wallet is open again; invoices billed stay due)", err)
	}
	return out, err
}

// exit runs the exit's three steps; ours says the wallet was closing for
// this request (its refusal is this exit's to undo).
func (x *Exits) exit(ctx context.Context, walletID, requestID string, now time.Time) (out Exited, ours bool, _ error) {
	day := fund.DateOf(now.In(fund.IST()))
	out = Exited{WalletID: walletID, RequestID: requestID, Day: day, Status: "exited", Invoices: []FeeInvoice{}}
	if requestID == "" {
		return out, false, errors.New("exit: request id is empty")
	}
	var periods []exitPeriod
	closed, started := false, false
	err := x.Store.InExitTx(ctx, func(tx ExitTx) error {
		periods, started = nil, false
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
			ours = true  // a retry: closing for this request before this call
			day = xr.Day // the exit's own day, whatever today is
		default:
			if what, err := x.inFlight(ctx, tx, walletID); err != nil || what != "" {
				return errors.Join(err, inFlightErr(what))
			}
			if what, err := tx.ExitBlockers(ctx, walletID); err != nil || what != "" {
				return errors.Join(err, blockedErr(what))
			}
			if err := tx.StartExit(ctx, walletID, requestID, day, now); err != nil {
				return fmt.Errorf("start exit: %w", err)
			}
			started = true
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
		return out, ours, err
	}
	ours = ours || started
	if closed {
		out.Status = "already_exited"
		return out, false, nil
	}
	if x.crash != nil {
		if err := x.crash("started"); err != nil {
			return out, ours, err
		}
	}
	billed := map[string]bool{}
	for _, p := range periods {
		// Only while the wallet is closing for this request (checked
		// under its lock): a cancel meanwhile bills nothing on it.
		inv, _, err := x.Fees.bill(ctx, walletID, p.from, p.to, p.crystallise, requestID)
		if errors.Is(err, ErrNoFeeTerms) {
			continue
		}
		if err != nil {
			return out, ours, err
		}
		billed[inv.ID] = true
		out.Invoices = append(out.Invoices, inv)
	}
	if x.crash != nil {
		if err := x.crash("billed"); err != nil {
			return out, ours, err
		}
	}
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		out.Withdrawn, closed = nil, false
		w := &work{}
		wal, _, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		switch wal.Status {
		case "closing":
			// Else, with another exit started after this one's cancel, this
			// step would pay out and close under its record (review M1).
			if err := closingFor(ctx, tx, wal, requestID); err != nil {
				return err
			}
		case "closed": // finished meanwhile by the same request (a resume)
			xr, found, err := tx.ExitOf(ctx, walletID)
			if err == nil && found && xr.RequestID == requestID && xr.Closed {
				closed = true
				return nil
			}
			return errors.Join(err, fmt.Errorf("%w: the wallet was closed by another exit", ErrClosed))
		default:
			return fmt.Errorf("the wallet is %s, not closing: its exit was cancelled", wal.Status)
		}
		if what, err := x.inFlight(ctx, tx, walletID); err != nil || what != "" {
			return errors.Join(err, inFlightErr(what))
		}
		dues, err := tx.DueInvoicesOf(ctx, walletID)
		if err != nil {
			return err
		}
		total := fund.Amount{}
		for _, inv := range dues {
			if inv.ChargeFrom == ChargeFromUnits {
				// Its redemptions' payouts pay it (ChargeDue): paid from the
				// cash only once they are all in the wallet, or none exist.
				if n, settled, err := tx.FeeRedemptionsSettled(ctx, inv.ID); err != nil || (n > 0 && !settled) {
					return errors.Join(err, inFlightErr(fmt.Sprintf("invoice %s is being paid by redeeming units", inv.ID)))
				}
			}
			total = total.Add(inv.Total)
		}
		// All or none: a refusal charges nothing (the transaction rolls
		// back; Exit reopens the wallet), so no invoice is paid without its
		// fee.charged event and audit row.
		if wal.Balance.Cmp(total) < 0 {
			return fmt.Errorf("%w: %s due on %d invoice(s), %s in the wallet", ErrExitFeeUnpaid, total, len(dues), wal.Balance)
		}
		for _, inv := range dues {
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
		if err := tx.CloseWallet(ctx, walletID, requestID); err != nil {
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
	if err != nil {
		return out, ours, err
	}
	if closed {
		out.Status = "already_exited"
	}
	return out, false, nil
}

// reopen undoes this request's exit (the wallet open again, its exit row
// gone) with an exit_reopened audit row; reopened false: the wallet was
// not closing for this request (closed, cancelled, another exit).
// guard (nil: none), under the wallet's lock, may refuse it.
func (x *Exits) reopen(ctx context.Context, walletID, requestID, reason string, guard func(ExitRow) error) (reopened bool, err error) {
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		reopened = false
		if _, ok, err := tx.LockWallet(ctx, walletID); err != nil || !ok {
			return err
		}
		if guard != nil {
			xr, found, err := tx.ExitOf(ctx, walletID)
			if err != nil {
				return err
			}
			if found && !xr.Closed && xr.RequestID == requestID {
				if err := guard(xr); err != nil {
					return err
				}
			}
		}
		if reopened, err = tx.ReopenWallet(ctx, walletID, requestID); err != nil || !reopened {
			return err
		}
		w := &work{}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: walletID, Action: "exit_reopened",
			Payload: map[string]string{"request_id": requestID, "reason": reason}})
		return x.Fees.Wallet.flush(ctx, tx, w)
	})
	return reopened, err
}

// ErrNoExit: the wallet is not closing for that request.
var ErrNoExit = errors.New("no exit of that request is under way")

// Cancel undoes an exit left closing (an operator's decision, e.g. after
// a crash, instead of finishing it with the same request): the wallet is
// open again, its invoices billed stay due. A finished exit is refused
// (ErrClosed), as is a request not closing the wallet (ErrNoExit), and an
// exit started less than StaleAfter before now (ErrExitRunning: it may
// still be running; now is on the clock the exit recorded its start by).
func (x *Exits) Cancel(ctx context.Context, walletID, requestID, by string, now time.Time) error {
	stale := x.StaleAfter
	if stale <= 0 {
		stale = DefaultExitStaleAfter
	}
	reopened, err := x.reopen(ctx, walletID, requestID, "cancelled by "+by, func(xr ExitRow) error {
		if age := now.Sub(xr.StartedAt); age < stale {
			return fmt.Errorf("%w: started %s, %s ago, less than %s", ErrExitRunning, xr.StartedAt.Format(time.RFC3339), age.Round(time.Second), stale)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancel exit %s of wallet %s: %w", requestID, walletID, err)
	}
	if reopened {
		return nil
	}
	var status string
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil || !ok {
			return errors.Join(err, boolErrf(ok, "%w", ErrNoWallet))
		}
		xr, found, err := tx.ExitOf(ctx, walletID)
		if err == nil && wal.Status == "closed" && found && xr.RequestID == requestID {
			status = "closed"
		}
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("cancel exit %s of wallet %s: %w", requestID, walletID, err)
	case status == "closed":
		return fmt.Errorf("cancel exit %s of wallet %s: %w: the exit finished", requestID, walletID, ErrClosed)
	}
	return fmt.Errorf("cancel exit %s of wallet %s: %w", requestID, walletID, ErrNoExit)
}

// closing says whether the wallet's exit of requestID is still under way.
func (x *Exits) closing(ctx context.Context, walletID, requestID string) (still bool, err error) {
	err = x.Store.InExitTx(ctx, func(tx ExitTx) error {
		xr, found, err := tx.ExitOf(ctx, walletID)
		still = found && !xr.Closed && xr.RequestID == requestID
		return err
	})
	return still, err
}

// ResumeStats counts a Resume.
type ResumeStats struct {
	Finished int `json:"exits_finished"`
	Reopened int `json:"exits_reopened"`
	Left     int `json:"exits_left_closing"` // a transient error: the next run tries again
}

// Resume finishes the exits left closing since before now − staleAfter (a
// crash between their steps, a transient error): each is run again with
// its own request (Exit: on its recorded day), so it either closes or, if
// refused, opens the wallet again. Younger exits may still be running
// and are left alone. An exit's own error is logged, not returned.
func (x *Exits) Resume(ctx context.Context, now time.Time, staleAfter time.Duration, limit int) (ResumeStats, error) {
	var st ResumeStats
	rows, err := x.Store.StaleExits(ctx, now.Add(-staleAfter), limit)
	if err != nil {
		return st, fmt.Errorf("exits left closing: %w", err)
	}
	for _, r := range rows {
		_, err := x.Exit(ctx, r.WalletID, r.RequestID, now)
		switch {
		case err == nil:
			st.Finished++
			continue
		case ctx.Err() != nil:
			return st, err
		}
		still, serr := x.closing(ctx, r.WalletID, r.RequestID)
		if serr != nil {
			return st, fmt.Errorf("exit of wallet %s: %w", r.WalletID, serr)
		}
		if still {
			st.Left++
			slog.WarnContext(ctx, "exit left closing: tried again by the next run", "wallet", r.WalletID, "request", r.RequestID, "err", err)
		} else {
			st.Reopened++
			slog.WarnContext(ctx, "exit refused on resume: the wallet is open again", "wallet", r.WalletID, "request", r.RequestID, "err", err)
		}
	}
	return st, nil
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

// exitGuard, under the wallets' locks, leaves closing wallets out of a
// bill (skipped: ErrExitInProgress), their exits bill them; with exitReq
// (an exit's own bill) a wallet not closing for that request is an error.
func exitGuard(ctx context.Context, tx FeeTx, wals []Wallet, exitReq string, skip func(string, error)) ([]Wallet, error) {
	kept := wals[:0:0]
	for _, wal := range wals {
		if exitReq == "" {
			if wal.Status == "closing" {
				skip(wal.ID, fmt.Errorf("wallet %s: %w", wal.ID, ErrExitInProgress))
				continue
			}
			kept = append(kept, wal)
			continue
		}
		if err := closingFor(ctx, tx, wal, exitReq); err != nil {
			return nil, err
		}
		kept = append(kept, wal)
	}
	return kept, nil
}

// closingFor, under the wallet's lock, is nil when the wallet is closing
// for exit requestID, not for an exit started after it was cancelled: the
// one check the exit's bill and its closing step both make.
func closingFor(ctx context.Context, tx interface {
	ExitOf(ctx context.Context, walletID string) (ExitRow, bool, error)
}, wal Wallet, requestID string) error {
	xr, found, err := tx.ExitOf(ctx, wal.ID)
	if err != nil {
		return err
	}
	if wal.Status != "closing" || !found || xr.Closed || xr.RequestID != requestID {
		return fmt.Errorf("the wallet %s is %s, not closing for exit %s: its exit was cancelled", wal.ID, wal.Status, requestID)
	}
	return nil
}
