package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/shopspring/decimal"
)

// TopicFeeCharged is the event of an invoice paid from a wallet.
const TopicFeeCharged = "fee.charged"

// Accounts a fee is paid into (the wallet journal's).
const (
	AccountFeeIncome = "fee_income:managed"
	AccountGST       = "tax:gst"
)

// ErrNoFeeTerms: the wallet has no fee terms in effect for the period.
var ErrNoFeeTerms = errors.New("wallet has no fee terms for the period")

// FeeTerms are a wallet's fee terms from a date.
type FeeTerms struct {
	WalletID   string          `json:"wallet_id"`
	From       fund.Date       `json:"valid_from"`
	AUMRatePct decimal.Decimal `json:"aum_rate_pct"`
	PerfPct    decimal.Decimal `json:"perf_pct"`
	HurdlePct  decimal.Decimal `json:"hurdle_pct"`
	ChargeFrom string          `json:"charge_from"` // wallet
}

// FeeInvoice is one period's invoice.
type FeeInvoice struct {
	ID         string                   `json:"invoice_id"`
	WalletID   string                   `json:"wallet_id"`
	InvestorID string                   `json:"investor_id"`
	From       fund.Date                `json:"period_from"`
	To         fund.Date                `json:"period_to"`
	AUMFee     fund.Amount              `json:"aum_fee"`
	PerfFee    fund.Amount              `json:"perf_fee"`
	Fee        fund.Amount              `json:"fee"`
	GST        fund.Amount              `json:"gst"`
	Total      fund.Amount              `json:"total"`
	Accrual    managed.Accrual          `json:"accrual"`
	Perf       *managed.Crystallisation `json:"performance,omitempty"`
	Status     string                   `json:"status"` // due, charged
}

// InvoiceID is the invoice id of a wallet's period.
func InvoiceID(walletID string, from, to fund.Date) string {
	return fmt.Sprintf("FEE-%s-%s-%s", walletID, from, to)
}

// FeeStore is what fee billing needs of the store.
type FeeStore interface {
	InFeeTx(ctx context.Context, fn func(FeeTx) error) error
	// Value writes day's valuation of every wallet with fee terms in
	// effect on day, once (a day valued again is left as it is), in one
	// statement; it returns the rows written.
	Value(ctx context.Context, day fund.Date) (int64, error)
	// FeeWallets lists wallets with fee terms in effect by to, after the
	// id after, at most limit, by id.
	FeeWallets(ctx context.Context, to fund.Date, after string, limit int) ([]string, error)
	// DueInvoices lists invoices not paid yet, oldest first.
	DueInvoices(ctx context.Context, limit int) ([]string, error)
}

// FeeTx is one transaction of fee billing.
type FeeTx interface {
	Tx
	FeeTerms(ctx context.Context, walletID string) ([]FeeTerms, error)
	PutFeeTerms(ctx context.Context, t FeeTerms) error
	// Valuations are the wallet's valuations from the last on or before
	// from through to.
	Valuations(ctx context.Context, walletID string, from, to fund.Date) ([]managed.AUM, error)
	// NetFlows is Σ deposits − withdrawals − reversals the wallet posted
	// up to the billing run (bills run after their period: a flow between
	// the period's end and the run counts, in the investor's favour).
	NetFlows(ctx context.Context, walletID string, through fund.Date) (fund.Amount, error)
	HWM(ctx context.Context, walletID string) (hwmGain, startGain fund.Amount, found bool, err error)
	PutHWM(ctx context.Context, walletID string, hwmGain, startGain fund.Amount, asOf fund.Date) error
	// InvoiceFor reads the wallet's invoice of the period starting from,
	// locked (found false: none).
	InvoiceFor(ctx context.Context, walletID string, from fund.Date) (FeeInvoice, bool, error)
	Invoice(ctx context.Context, id string) (FeeInvoice, bool, error)
	InsertInvoice(ctx context.Context, inv FeeInvoice) error
	SetInvoiceCharged(ctx context.Context, id string) error
}

// Fees values wallets daily and bills their fees per period: the AUM fee
// (fund/managed.AccrueAUMFee over the period's daily valuations, each rate
// for its own days) and, when the bill crystallises, the performance fee
// over the high-water mark (fund/managed.CrystallisePerfFee, with values
// net of the wallet's deposits and withdrawals), with GST, on one invoice
// per wallet and period, paid from the wallet's cash. Each bill is one
// transaction: the invoice, the high-water mark, and, when the cash
// covers it, the payment, its postings, the fee.charged event and audit.
type Fees struct {
	Wallet *Service
	Store  FeeStore
	// crash, for tests: called after an invoice is billed.
	crash func(invoiceID string) error
}

// SetTerms stores a wallet's fee terms from a date.
func (f *Fees) SetTerms(ctx context.Context, t FeeTerms) error {
	if t.ChargeFrom == "" {
		t.ChargeFrom = "wallet"
	}
	if t.ChargeFrom != "wallet" {
		return fmt.Errorf("fee terms: charge_from %q: only wallet is supported", t.ChargeFrom)
	}
	if _, err := managed.NewRateTable(managed.Rate{From: t.From, Percent: t.AUMRatePct}); err != nil {
		return fmt.Errorf("fee terms: %w", err)
	}
	if _, err := managed.CrystallisePerfFee(managed.PerfTerms{Percent: t.PerfPct, HurdlePercent: t.HurdlePct}, fund.Amount{}, managed.Period{}); err != nil {
		return fmt.Errorf("fee terms: %w", err)
	}
	return f.Store.InFeeTx(ctx, func(tx FeeTx) error { return tx.PutFeeTerms(ctx, t) })
}

// Value writes day's valuations (the daily accrual's AUM).
func (f *Fees) Value(ctx context.Context, day fund.Date) (int64, error) {
	n, err := f.Store.Value(ctx, day)
	if err != nil {
		return n, fmt.Errorf("value wallets on %s: %w", day, err)
	}
	return n, nil
}

// BillResult counts a billing run.
type BillResult struct {
	Billed, Charged, Due int
	Total                fund.Amount // invoiced (fees and GST) by this run
}

// BillAll bills every wallet with fee terms for from..to.
func (f *Fees) BillAll(ctx context.Context, from, to fund.Date, crystallise bool, batch int) (BillResult, error) {
	var res BillResult
	if batch <= 0 {
		batch = 500
	}
	after := ""
	for {
		ids, err := f.Store.FeeWallets(ctx, to, after, batch)
		if err != nil {
			return res, fmt.Errorf("fee wallets: %w", err)
		}
		for _, id := range ids {
			inv, created, err := f.Bill(ctx, id, from, to, crystallise)
			if err != nil {
				return res, err
			}
			if created {
				res.Billed++
				res.Total = res.Total.Add(inv.Total)
				if inv.Status == "charged" {
					res.Charged++
				} else {
					res.Due++
				}
			}
		}
		if len(ids) < batch {
			return res, nil
		}
		after = ids[len(ids)-1]
	}
}

// Bill bills one wallet's period once: the same period again returns the
// invoice it made (created false) and charges nothing twice.
func (f *Fees) Bill(ctx context.Context, walletID string, from, to fund.Date, crystallise bool) (inv FeeInvoice, created bool, err error) {
	if to.Before(from) {
		return inv, false, fmt.Errorf("bill %s: period %s..%s ends before it starts", walletID, from, to)
	}
	err = f.Store.InFeeTx(ctx, func(tx FeeTx) error {
		created = false
		w := &work{}
		wal, ok, err := tx.LockWallet(ctx, walletID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoWallet
		}
		if cur, ok, err := tx.InvoiceFor(ctx, walletID, from); err != nil || ok {
			if err == nil && cur.To != to {
				err = fmt.Errorf("wallet %s was billed %s..%s, not ..%s", walletID, cur.From, cur.To, to)
			}
			inv = cur
			return err
		}
		terms, err := tx.FeeTerms(ctx, walletID)
		if err != nil {
			return err
		}
		var rates []managed.Rate
		var last *FeeTerms
		for i, t := range terms {
			if t.From.After(to) {
				break
			}
			rates = append(rates, managed.Rate{From: t.From, Percent: t.AUMRatePct})
			last = &terms[i]
		}
		if last == nil {
			return ErrNoFeeTerms
		}
		table, err := managed.NewRateTable(rates...)
		if err != nil {
			return err
		}
		vals, err := tx.Valuations(ctx, walletID, from, to)
		if err != nil {
			return err
		}
		acc, err := managed.AccrueAUMFee(from, to, vals, table)
		if err != nil {
			return fmt.Errorf("wallet %s: %w", walletID, err)
		}
		inv = FeeInvoice{ID: InvoiceID(walletID, from, to), WalletID: walletID, InvestorID: wal.InvestorID, From: from, To: to,
			AUMFee: acc.Fee, Accrual: acc, Status: "due"}
		var hwmGain, startGain, cum, end fund.Amount
		if crystallise && last.PerfPct.Sign() > 0 {
			if cum, err = tx.NetFlows(ctx, walletID, to); err != nil {
				return err
			}
			if hwmGain, startGain, _, err = tx.HWM(ctx, walletID); err != nil {
				return err
			}
			end = vals[len(vals)-1].Value // the last valuation on or before to
			c, err := managed.CrystallisePerfFee(managed.PerfTerms{Percent: last.PerfPct, HurdlePercent: last.HurdlePct},
				nonNeg(hwmGain.Add(cum)), managed.Period{Start: nonNeg(startGain.Add(cum)), End: end})
			if err != nil {
				return fmt.Errorf("wallet %s: %w", walletID, err)
			}
			inv.Perf, inv.PerfFee = &c, c.Invoice.Fee
		}
		in := managed.NewInvoice(inv.AUMFee.Add(inv.PerfFee))
		inv.Fee, inv.GST, inv.Total = in.Fee, in.GST, in.Total
		if err := tx.InsertInvoice(ctx, inv); err != nil {
			return fmt.Errorf("invoice %s: %w", inv.ID, err)
		}
		created = true
		if inv.Perf != nil {
			// Net of flows, so deposits and withdrawals never move it; it
			// never falls (max in CrystallisePerfFee, and the table's
			// trigger).
			newHWM := inv.Perf.HWMAfter.Sub(cum)
			if newHWM.Cmp(hwmGain) < 0 {
				newHWM = hwmGain
			}
			if err := tx.PutHWM(ctx, walletID, newHWM, end.Sub(inv.Total).Sub(cum), to); err != nil {
				return fmt.Errorf("high-water mark: %w", err)
			}
		}
		w.audits = append(w.audits, ledger.AuditEntry{Entity: "fee_invoice", ID: inv.ID, Action: "billed",
			Payload: map[string]string{"wallet_id": walletID, "fee": inv.Fee.String(), "gst": inv.GST.String(), "total": inv.Total.String()}})
		if err := f.charge(ctx, tx, w, wal, &inv); err != nil {
			return err
		}
		return f.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return FeeInvoice{}, false, fmt.Errorf("bill %s %s..%s: %w", walletID, from, to, err)
	}
	if created && f.crash != nil {
		if err := f.crash(inv.ID); err != nil {
			return inv, created, err
		}
	}
	return inv, created, nil
}

func nonNeg(a fund.Amount) fund.Amount {
	if a.IsNegative() {
		return fund.Amount{}
	}
	return a
}

// FeeCharged is the fee.charged event.
type FeeCharged struct {
	EventID    string      `json:"event_id"`
	InvoiceID  string      `json:"invoice_id"`
	WalletID   string      `json:"wallet_id"`
	InvestorID string      `json:"investor_id"`
	From       fund.Date   `json:"period_from"`
	To         fund.Date   `json:"period_to"`
	Fee        fund.Amount `json:"fee"`
	GST        fund.Amount `json:"gst"`
	Total      fund.Amount `json:"total"`
	Balance    fund.Amount `json:"balance"`
	At         string      `json:"at"`
}

// charge pays a due invoice from the wallet's cash (locked by the caller)
// when it covers the total; else the invoice stays due for ChargeDue.
func (f *Fees) charge(ctx context.Context, tx FeeTx, w *work, wal Wallet, inv *FeeInvoice) error {
	if inv.Status != "due" || wal.Balance.Cmp(inv.Total) < 0 {
		return nil
	}
	if inv.Total.Sign() > 0 {
		ps := []fund.Posting{{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: inv.Total.Decimal()}}
		for _, p := range []fund.Posting{{Account: AccountFeeIncome, Asset: fund.AssetINR, Amount: inv.Fee.Decimal().Neg()}, {Account: AccountGST, Asset: fund.AssetINR, Amount: inv.GST.Decimal().Neg()}} {
			if !p.Amount.IsZero() {
				ps = append(ps, p)
			}
		}
		if _, inserted, err := tx.Post(ctx, Entry{WalletID: wal.ID, Kind: "fee", Ref: inv.ID, Amount: inv.Total, Postings: ps}, inv.Total.Neg()); err != nil || !inserted {
			if err == nil {
				err = fmt.Errorf("invoice %s was paid without being marked charged", inv.ID)
			}
			return err
		}
	}
	if err := tx.SetInvoiceCharged(ctx, inv.ID); err != nil {
		return err
	}
	inv.Status = "charged"
	ev := FeeCharged{EventID: TopicFeeCharged + ":" + inv.ID, InvoiceID: inv.ID, WalletID: wal.ID, InvestorID: wal.InvestorID, From: inv.From, To: inv.To,
		Fee: inv.Fee, GST: inv.GST, Total: inv.Total, Balance: wal.Balance.Sub(inv.Total), At: f.Wallet.now().UTC().Format(time.RFC3339Nano)}
	w.events = append(w.events, ledger.Event{ID: ev.EventID, Topic: TopicFeeCharged, Key: wal.ID, Payload: ev})
	w.audits = append(w.audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "fee_charged", Payload: ev})
	return nil
}

// ChargeDue pays the invoices left due when their wallets' cash covers
// them now.
func (f *Fees) ChargeDue(ctx context.Context, limit int) (int, error) {
	ids, err := f.Store.DueInvoices(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("due invoices: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := f.Store.InFeeTx(ctx, func(tx FeeTx) error {
			w := &work{}
			inv, ok, err := tx.Invoice(ctx, id)
			if err != nil || !ok {
				return err
			}
			wal, ok, err := tx.LockWallet(ctx, inv.WalletID)
			if err != nil || !ok {
				return err
			}
			if inv, ok, err = tx.InvoiceFor(ctx, inv.WalletID, inv.From); err != nil || !ok || inv.Status != "due" {
				return err
			}
			if err := f.charge(ctx, tx, w, wal, &inv); err != nil {
				return err
			}
			if inv.Status == "charged" {
				n++
			}
			return f.Wallet.flush(ctx, tx, w)
		})
		if err != nil {
			return n, fmt.Errorf("charge %s: %w", id, err)
		}
	}
	return n, nil
}

// Invoice reads an invoice.
func (f *Fees) Invoice(ctx context.Context, id string) (inv FeeInvoice, found bool, err error) {
	err = f.Store.InFeeTx(ctx, func(tx FeeTx) error {
		inv, found, err = tx.Invoice(ctx, id)
		return err
	})
	return inv, found, err
}
