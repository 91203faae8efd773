package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// How fee terms say an invoice is paid.
const (
	ChargeFromWallet = "wallet"
	ChargeFromUnits  = "units"
)

// ErrNoFeeTerms: the wallet has no fee terms in effect for the period.
var ErrNoFeeTerms = errors.New("wallet has no fee terms for the period")

// ErrBackdatedTerms refuses fee terms from a day an invoice already
// covers: that day was billed at the terms then in effect.
var ErrBackdatedTerms = errors.New("fee terms dated in the billed past")

// FeeTerms are a wallet's fee terms from a date.
type FeeTerms struct {
	WalletID   string          `json:"wallet_id"`
	From       fund.Date       `json:"valid_from"`
	AUMRatePct decimal.Decimal `json:"aum_rate_pct"`
	PerfPct    decimal.Decimal `json:"perf_pct"`
	HurdlePct  decimal.Decimal `json:"hurdle_pct"`
	ChargeFrom string          `json:"charge_from"` // wallet (its cash) or units (redeemed FIFO: feeunits.go)
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
	// ChargeFrom is the terms' at the period's end: units invoices are paid
	// from the wallet only with their redemptions' payouts (feeunits.go).
	ChargeFrom string `json:"charge_from,omitempty"`
	// PoolID is set on a pool's invoice (pool/fees.go; no wallet, no
	// investor): the same lines, CSV and PDF. A pool's performance fee on
	// a member's exit (pool/exitfee.go) has the member's WalletID too and
	// no accrual.
	PoolID string `json:"pool_id,omitempty"`
	// Note is a line of description printed before the amounts (an exit
	// fee's withdrawal).
	Note string `json:"note,omitempty"`
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
	FeeUnitsStore
}

// FeeTx is one transaction of fee billing.
type FeeTx interface {
	Tx
	FeeTerms(ctx context.Context, walletID string) ([]FeeTerms, error)
	PutFeeTerms(ctx context.Context, t FeeTerms) error
	// LastValuation reads the date of the wallet's latest valuation dated
	// day or before (ok false: none).
	LastValuation(ctx context.Context, walletID string, day fund.Date) (fund.Date, bool, error)
	// HWMAsOf reads the date of the wallet's last crystallisation (found
	// false: never).
	HWMAsOf(ctx context.Context, walletID string) (fund.Date, bool, error)
	// FirstValuation reads the date of the wallet's first valuation (ok
	// false: never valued).
	FirstValuation(ctx context.Context, walletID string) (fund.Date, bool, error)
	// ValueWallet writes one wallet's valuation of day (ExitTx's).
	ValueWallet(ctx context.Context, walletID string, day fund.Date) error
	// ExitOf reads the wallet's exit (an exit's bill checks it is its own).
	ExitOf(ctx context.Context, walletID string) (x ExitRow, found bool, err error)
	// BillInputs reads, for wallets locked by the caller, what billing
	// from..to needs, in one round trip: an invoice whose period overlaps
	// from..to (locked; the one of from..to itself if it exists), the terms in effect by to, the valuations from the last
	// on or before from through to and, when perf, the net flows and the
	// high-water mark (locked). Every id has an entry.
	BillInputs(ctx context.Context, ids []string, from, to fund.Date, perf bool) (map[string]*BillInput, error)
	// WriteBills writes a chunk's invoices, high-water marks and payments
	// (entries, postings and balances) in bulk; an entry that exists
	// already is an error (the caller checked under the wallets' locks).
	WriteBills(ctx context.Context, b Bills) error
	// InvoiceFor reads the wallet's invoice of the period starting from,
	// locked (found false: none).
	InvoiceFor(ctx context.Context, walletID string, from fund.Date) (FeeInvoice, bool, error)
	Invoice(ctx context.Context, id string) (FeeInvoice, bool, error)
	// BilledPeriods lists the periods of the wallet's invoices that start
	// on or before to, by start.
	BilledPeriods(ctx context.Context, walletID string, to fund.Date) ([]Period, error)
	SetInvoiceCharged(ctx context.Context, id string) error
	FeeUnitsTx
}

// BillInput is what billing one wallet's period reads.
type BillInput struct {
	// Invoice is the period's invoice already made or, if none, one whose
	// period overlaps it (nil: no day of the period is billed).
	Invoice    *FeeInvoice
	Terms      []FeeTerms // by date, in effect by the period's end
	Valuations []managed.AUM
	// NetFlows is Σ deposits − withdrawals (parked ones too, a cancelled
	// one back in) − reversals the wallet had posted when its last
	// valuation (the one the performance fee is measured at) was written:
	// a flow after it (the next morning's billing run, an exit later that
	// day) is not in that value, so not counted. A valuation written before
	// these were kept: every flow posted up to the billing run.
	NetFlows           fund.Amount
	HWMGain, StartGain fund.Amount
}

// HWMUpdate is a wallet's high-water mark after a crystallisation.
type HWMUpdate struct {
	WalletID           string
	HWMGain, StartGain fund.Amount
	AsOf               fund.Date
}

// Bills is what a chunk of billing writes.
type Bills struct {
	Invoices []FeeInvoice // new; status charged when Payments pays it
	HWMs     []HWMUpdate
	Payments []Entry // kind fee, ref the invoice id; the wallet's balance falls by Amount
}

// Fees values wallets daily and bills their fees per period: the AUM fee
// (fund/managed.AccrueAUMFeeRuns over the period's daily valuations, each
// rate for its own days) and, when the bill crystallises, the performance
// fee over the high-water mark (fund/managed.CrystallisePerfFee, with
// values net of the wallet's deposits and withdrawals), with GST, on one
// invoice per wallet and period, paid from the wallet's cash. Billing is
// set-based: a chunk of wallets is one transaction (the wallets locked in
// id order, their inputs read in one round trip, the bills computed in Go,
// then the invoices, high-water marks, payments with their postings, the
// fee.charged events and audit written in bulk), so a crash leaves a chunk
// all or nothing, and the invoice unique on (wallet, period) bills each
// wallet once.
type Fees struct {
	Wallet *Service
	Store  FeeStore
	// Ledger places the redemptions of invoices charged from units (nil:
	// those wait); MaxSkew bounds their placed_at (our own clock).
	Ledger  *ledger.Service
	MaxSkew time.Duration
	// crash, for tests: called after a chunk commits, with its last
	// invoice billed.
	crash func(invoiceID string) error
}

// SetTerms stores a wallet's fee terms from a date.
func (f *Fees) SetTerms(ctx context.Context, t FeeTerms) error {
	if t.ChargeFrom == "" {
		t.ChargeFrom = "wallet"
	}
	if t.ChargeFrom != ChargeFromWallet && t.ChargeFrom != ChargeFromUnits {
		return fmt.Errorf("fee terms: charge_from %q: want wallet or units", t.ChargeFrom)
	}
	if err := managed.CheckFeeTerms(t.From, t.AUMRatePct, t.PerfPct, t.HurdlePct); err != nil {
		return fmt.Errorf("fee terms: %w", err)
	}
	return f.Store.InFeeTx(ctx, func(tx FeeTx) error {
		// Under the wallet's lock, as billing: terms from a billed day
		// would be silently ignored for it (review r35-wallet L1), and a
		// start before the first valuation would fail every later run.
		wal, ok, err := tx.LockWallet(ctx, t.WalletID)
		if err != nil || !ok {
			return errors.Join(err, boolErrf(ok, "fee terms: %w", ErrNoWallet))
		}
		// A closing wallet's exit computed its periods already, and a closed
		// one is billed no more: terms would never apply (review r36 L1).
		switch wal.Status {
		case "closing":
			return fmt.Errorf("fee terms for %s: %w", t.WalletID, ErrExitInProgress)
		case "closed":
			return fmt.Errorf("fee terms for %s: %w", t.WalletID, ErrClosed)
		}
		billed, err := tx.BilledPeriods(ctx, t.WalletID, fund.NewDate(9999, 12, 31))
		if err != nil {
			return err
		}
		var last fund.Date
		for _, p := range billed {
			if p.To.After(last) {
				last = p.To
			}
		}
		if len(billed) > 0 && !t.From.After(last) {
			return fmt.Errorf("fee terms for %s from %s: %w: invoices cover it to %s; the first date allowed is %s",
				t.WalletID, t.From, ErrBackdatedTerms, last, last.AddDays(1))
		}
		var next fund.Date // the first day no invoice covers (zero: none billed)
		if len(billed) > 0 {
			next = last.AddDays(1)
		}
		if err := checkPerfChange(ctx, tx, t, next); err != nil {
			return err
		}
		if err := f.valuedFrom(ctx, tx, t); err != nil {
			return err
		}
		if err := tx.PutFeeTerms(ctx, t); err != nil {
			return err
		}
		w := &work{Audits: []ledger.AuditEntry{{Entity: "wallet", ID: t.WalletID, Action: "fee_terms", Payload: t}}}
		return f.Wallet.flush(ctx, tx, w)
	})
}

// valuedFrom makes sure billing from t.From finds a valuation on or before
// its first day (review r36 L1: otherwise every run skips the wallet and
// every exit is refused, for ever). Terms dated before the wallet's first
// valuation are refused: its value then is not known. Terms from today on
// a wallet never valued (its first terms set after the day's 10:00
// valuation) write today's valuation in the same transaction. A wallet
// never valued may still take terms from a past day (a new wallet, as the
// demo): `fees value --day` backfills that day.
func (f *Fees) valuedFrom(ctx context.Context, tx FeeTx, t FeeTerms) error {
	if _, ok, err := tx.LastValuation(ctx, t.WalletID, t.From); err != nil || ok {
		return err
	}
	first, ok, err := tx.FirstValuation(ctx, t.WalletID)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("fee terms for %s from %s: %w: the wallet's first valuation is of %s, so its value on %s is not known; the first date allowed is %s",
			t.WalletID, t.From, ErrBackdatedTerms, first, t.From, first)
	}
	if today := fund.DateOf(f.Wallet.now().In(fund.IST())); t.From == today {
		return tx.ValueWallet(ctx, t.WalletID, today)
	}
	return nil
}

// ErrPerfChangeNotCrystallised refuses a change of the performance % or
// hurdle while a gain at the old terms is not crystallised (the pool's
// error: one rule).
var ErrPerfChangeNotCrystallised = managed.ErrPerfChangeNotCrystallised

// checkPerfChange refuses terms that change the performance % or hurdle
// in effect the day before, by the pool's rule (managed.CheckPerfChange,
// review r36 M2): the crystallisation charges the whole gain since the
// mark at the terms in effect at its end, so a change on 1 Mar from 10 %
// to 30 % charged the year's gain at 30 %. Allowed once the wallet is
// crystallised through the day before (managed fees bill --crystallise
// --to that day), or with no valuation under the old terms.
func checkPerfChange(ctx context.Context, tx FeeTx, t FeeTerms, unbilled fund.Date) error {
	ts, err := tx.FeeTerms(ctx, t.WalletID)
	if err != nil {
		return err
	}
	dated := make([]managed.DatedPerfTerms, len(ts))
	for i, o := range ts {
		dated[i] = managed.DatedPerfTerms{From: o.From, PerfTerms: managed.PerfTerms{Percent: o.PerfPct, HurdlePercent: o.HurdlePct}}
	}
	r, err := managed.CheckPerfChange(managed.PerfChange{Terms: dated,
		Next: managed.DatedPerfTerms{From: t.From, PerfTerms: managed.PerfTerms{Percent: t.PerfPct, HurdlePercent: t.HurdlePct}},
		Valued: func(day fund.Date) (fund.Date, bool, error) {
			return tx.LastValuation(ctx, t.WalletID, day)
		},
		Crystallised: func() (fund.Date, bool, error) {
			return tx.HWMAsOf(ctx, t.WalletID)
		}})
	if err != nil || r == nil {
		return err
	}
	if unbilled.IsZero() {
		unbilled = ts[0].From
	}
	if unbilled.After(r.Through) {
		// The day before the change is invoiced already without a
		// crystallisation (a scheduled quarter outside crystallise_month):
		// no bill can crystallise through it now (review r36-3 W1). The
		// earliest change is the day after a one-day crystallising bill.
		return fmt.Errorf("fee terms for %s from %s: %w: wallet %s's %s; invoices cover it to %s without crystallising, so the earliest change is from %s (managed fees bill --wallet %s --from %s --to %s --crystallise, then the terms from %s)",
			t.WalletID, t.From, ErrPerfChangeNotCrystallised, t.WalletID, r, unbilled.AddDays(-1), unbilled.AddDays(1), t.WalletID, unbilled, unbilled, unbilled.AddDays(1))
	}
	return fmt.Errorf("fee terms for %s from %s: %w: wallet %s's %s (managed fees bill --wallet %s --from %s --to %s --crystallise)",
		t.WalletID, t.From, ErrPerfChangeNotCrystallised, t.WalletID, r, t.WalletID, unbilled, r.Through)
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
	AlreadyBilled        int         // wallets a run before billed for the same period
	Total                fund.Amount // invoiced (fees and GST) by this run
	// Skipped are wallets left unbilled with the reason (no valuation to
	// carry, no terms, billed for another period end): the run goes on,
	// and bills them when run again after the cause is fixed.
	Skipped []BillSkip `json:",omitempty"`
}

// BillSkip is a wallet a run could not bill.
type BillSkip struct {
	WalletID string
	Reason   string
	err      error
}

// BillAll bills every wallet with fee terms for from..to, batch wallets a
// transaction.
func (f *Fees) BillAll(ctx context.Context, from, to fund.Date, crystallise bool, batch int) (BillResult, error) {
	var res BillResult
	if to.Before(from) {
		return res, fmt.Errorf("bill: period %s..%s ends before it starts", from, to)
	}
	if batch <= 0 {
		batch = 5000
	}
	after := ""
	for {
		ids, err := f.Store.FeeWallets(ctx, to, after, batch)
		if err != nil {
			return res, fmt.Errorf("fee wallets: %w", err)
		}
		if len(ids) > 0 {
			c, err := f.billChunk(ctx, ids, from, to, crystallise, "")
			if err != nil {
				return res, err
			}
			for _, inv := range c.created {
				res.Billed++
				res.Total = res.Total.Add(inv.Total)
				if inv.Status == "charged" {
					res.Charged++
				} else {
					res.Due++
				}
			}
			res.AlreadyBilled += len(c.existing)
			for _, sk := range c.skipped {
				slog.WarnContext(ctx, "fee billing skipped a wallet", "wallet", sk.WalletID, "from", from, "to", to, "reason", sk.Reason)
			}
			res.Skipped = append(res.Skipped, c.skipped...)
		}
		if len(ids) < batch {
			return res, nil
		}
		after = ids[len(ids)-1]
	}
}

// Bill bills one wallet's period once: the same period again returns the
// invoice it made (created false) and charges nothing twice. It is
// BillAll's chunk of one.
func (f *Fees) Bill(ctx context.Context, walletID string, from, to fund.Date, crystallise bool) (inv FeeInvoice, created bool, err error) {
	return f.bill(ctx, walletID, from, to, crystallise, "")
}

// bill is Bill; exitReq: the exit billing a closing wallet (billChunk).
func (f *Fees) bill(ctx context.Context, walletID string, from, to fund.Date, crystallise bool, exitReq string) (inv FeeInvoice, created bool, err error) {
	if to.Before(from) {
		return inv, false, fmt.Errorf("bill %s: period %s..%s ends before it starts", walletID, from, to)
	}
	c, err := f.billChunk(ctx, []string{walletID}, from, to, crystallise, exitReq)
	switch {
	case err != nil:
		return FeeInvoice{}, false, err
	case len(c.skipped) > 0:
		return FeeInvoice{}, false, fmt.Errorf("bill %s %s..%s: %w", walletID, from, to, c.skipped[0].err)
	case len(c.created) > 0:
		inv = c.created[0]
		inv.Accrual = inv.Accrual.Expanded()
		return inv, true, nil
	case len(c.existing) > 0:
		return c.existing[0], false, nil
	}
	return FeeInvoice{}, false, fmt.Errorf("bill %s: %w", walletID, ErrNoWallet)
}

type chunkResult struct {
	created, existing []FeeInvoice
	skipped           []BillSkip
}

// billChunk bills wallets' period in one transaction. A closing wallet is
// its exit's to bill: skipped (ErrExitInProgress) unless exitReq is the
// request it is closing for; with exitReq, a wallet not closing for it
// (the exit cancelled meanwhile) fails the whole chunk, billing nothing.
func (f *Fees) billChunk(ctx context.Context, ids []string, from, to fund.Date, crystallise bool, exitReq string) (res chunkResult, err error) {
	err = f.Store.InFeeTx(ctx, func(tx FeeTx) error {
		res = chunkResult{}
		skip := func(id string, err error) {
			res.skipped = append(res.skipped, BillSkip{WalletID: id, Reason: err.Error(), err: err})
		}
		wals, err := tx.LockWallets(ctx, ids)
		if err != nil {
			return fmt.Errorf("lock wallets: %w", err)
		}
		found := make(map[string]bool, len(wals))
		for _, wal := range wals {
			found[wal.ID] = true
		}
		for _, id := range ids {
			if !found[id] {
				skip(id, ErrNoWallet)
			}
		}
		if wals, err = exitGuard(ctx, tx, wals, exitReq, skip); err != nil {
			return err
		}
		locked := make([]string, len(wals))
		for i, wal := range wals {
			locked[i] = wal.ID
		}
		ins, err := tx.BillInputs(ctx, locked, from, to, crystallise)
		if err != nil {
			return fmt.Errorf("billing inputs: %w", err)
		}
		w := &work{}
		var bills Bills
		for _, wal := range wals {
			in := ins[wal.ID]
			if in.Invoice != nil {
				// A day is billed once: a period overlapping an invoice
				// that is not its own is refused (the quarterly billing
				// bills what no invoice covers: QuarterBilling.billRest).
				if in.Invoice.From != from || in.Invoice.To != to {
					skip(wal.ID, fmt.Errorf("wallet %s was billed %s..%s, which overlaps %s..%s", wal.ID, in.Invoice.From, in.Invoice.To, from, to))
					continue
				}
				res.existing = append(res.existing, *in.Invoice)
				continue
			}
			inv, hwm, err := computeBill(wal, in, from, to, crystallise)
			if err != nil {
				skip(wal.ID, err)
				continue
			}
			if hwm != nil {
				bills.HWMs = append(bills.HWMs, *hwm)
			}
			audit := map[string]string{"wallet_id": wal.ID, "fee": inv.Fee.String(), "gst": inv.GST.String(), "total": inv.Total.String()}
			if inv.ChargeFrom != ChargeFromUnits && wal.Balance.Cmp(inv.Total) >= 0 {
				// Paid in the same transaction: one audit row says both (a
				// million wallets' audit chain is half the run's time).
				if e := f.charge(w, wal, &inv, false); e != nil {
					bills.Payments = append(bills.Payments, *e)
				}
				audit["status"], audit["balance"] = inv.Status, wal.Balance.Sub(inv.Total).String()
			}
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "fee_invoice", ID: inv.ID, Action: "billed", Payload: audit})
			bills.Invoices = append(bills.Invoices, inv)
			res.created = append(res.created, inv)
		}
		if err := tx.WriteBills(ctx, bills); err != nil {
			return fmt.Errorf("write %d invoices: %w", len(bills.Invoices), err)
		}
		return f.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return chunkResult{}, fmt.Errorf("bill %d wallets from %s %s..%s: %w", len(ids), ids[0], from, to, err)
	}
	if n := len(res.created); n > 0 && f.crash != nil {
		if err := f.crash(res.created[n-1].ID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// computeBill is one wallet's invoice of from..to (and its high-water mark
// after a crystallisation), from its inputs: no I/O.
func computeBill(wal Wallet, in *BillInput, from, to fund.Date, crystallise bool) (FeeInvoice, *HWMUpdate, error) {
	var rates []managed.Rate
	var last *FeeTerms
	for i, t := range in.Terms {
		if t.From.After(to) {
			break
		}
		rates = append(rates, managed.Rate{From: t.From, Percent: t.AUMRatePct})
		last = &in.Terms[i]
	}
	if last == nil {
		return FeeInvoice{}, nil, ErrNoFeeTerms
	}
	table, err := managed.NewRateTable(rates...)
	if err != nil {
		return FeeInvoice{}, nil, err
	}
	acc, err := managed.AccrueAUMFeeRuns(from, to, in.Valuations, table)
	if err != nil {
		return FeeInvoice{}, nil, fmt.Errorf("wallet %s: %w", wal.ID, err)
	}
	inv := FeeInvoice{ID: InvoiceID(wal.ID, from, to), WalletID: wal.ID, InvestorID: wal.InvestorID, From: from, To: to,
		AUMFee: acc.Fee, Accrual: acc, Status: "due", ChargeFrom: last.ChargeFrom}
	var hwm *HWMUpdate
	if crystallise && last.PerfPct.Sign() > 0 {
		cum := in.NetFlows
		end := in.Valuations[len(in.Valuations)-1].Value // the last valuation on or before to
		c, err := managed.CrystallisePerfFee(managed.PerfTerms{Percent: last.PerfPct, HurdlePercent: last.HurdlePct},
			nonNeg(in.HWMGain.Add(cum)), managed.Period{Start: nonNeg(in.StartGain.Add(cum)), End: end})
		if err != nil {
			return FeeInvoice{}, nil, fmt.Errorf("wallet %s: %w", wal.ID, err)
		}
		inv.Perf, inv.PerfFee = &c, c.Invoice.Fee
		// Net of flows, so deposits and withdrawals never move it; it
		// never falls (max in CrystallisePerfFee, and the table's trigger).
		newHWM := c.HWMAfter.Sub(cum)
		if newHWM.Cmp(in.HWMGain) < 0 {
			newHWM = in.HWMGain
		}
		hwm = &HWMUpdate{WalletID: wal.ID, HWMGain: newHWM, AsOf: to}
	}
	bill := managed.NewInvoice(inv.AUMFee.Add(inv.PerfFee))
	inv.Fee, inv.GST, inv.Total = bill.Fee, bill.GST, bill.Total
	if hwm != nil { // the hurdle's base: the gain left after this fee
		hwm.StartGain = in.Valuations[len(in.Valuations)-1].Value.Sub(inv.Total).Sub(in.NetFlows)
	}
	return inv, hwm, nil
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

// charge marks a due invoice paid from the wallet (whose cash covers it,
// checked by the caller under the wallet's lock), with its fee.charged
// event and, with audit, the wallet's audit row, and returns the payment
// to post (nil for a zero invoice).
func (f *Fees) charge(w *work, wal Wallet, inv *FeeInvoice, audit bool) *Entry {
	inv.Status = "charged"
	ev := FeeCharged{EventID: TopicFeeCharged + ":" + inv.ID, InvoiceID: inv.ID, WalletID: wal.ID, InvestorID: wal.InvestorID, From: inv.From, To: inv.To,
		Fee: inv.Fee, GST: inv.GST, Total: inv.Total, Balance: wal.Balance.Sub(inv.Total), At: f.Wallet.now().UTC().Format(time.RFC3339Nano)}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicFeeCharged, Key: wal.ID, Payload: ev})
	if audit {
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "fee_charged", Payload: ev})
	}
	if inv.Total.Sign() == 0 {
		return nil
	}
	ps := []fund.Posting{{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: inv.Total.Decimal()}}
	for _, p := range []fund.Posting{{Account: AccountFeeIncome, Asset: fund.AssetINR, Amount: inv.Fee.Decimal().Neg()}, {Account: AccountGST, Asset: fund.AssetINR, Amount: inv.GST.Decimal().Neg()}} {
		if !p.Amount.IsZero() {
			ps = append(ps, p)
		}
	}
	return &Entry{WalletID: wal.ID, Kind: "fee", Ref: inv.ID, Amount: inv.Total, Postings: ps}
}

// ChargeDue pays the invoices left due when their wallets' cash covers
// them now.
func (f *Fees) ChargeDue(ctx context.Context, limit int) (int, error) {
	ids, err := f.Store.DueInvoices(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("due invoices: %w", err)
	}
	return f.eachInTx(ctx, ids, "charge", func(tx FeeTx, w *work, id string) (bool, error) {
		inv, ok, err := tx.Invoice(ctx, id)
		if err != nil || !ok {
			return false, err
		}
		wal, ok, err := tx.LockWallet(ctx, inv.WalletID)
		if err != nil || !ok {
			return false, err
		}
		if inv, ok, err = tx.InvoiceFor(ctx, inv.WalletID, inv.From); err != nil || !ok || inv.Status != "due" || wal.Balance.Cmp(inv.Total) < 0 {
			return false, err
		}
		if inv.ChargeFrom == ChargeFromUnits { // only once its redemptions' payouts are in the wallet
			if n, settled, err := tx.FeeRedemptionsSettled(ctx, inv.ID); err != nil || n == 0 || !settled {
				return false, err
			}
		}
		if e := f.charge(w, wal, &inv, true); e != nil {
			if _, inserted, err := tx.Post(ctx, *e, inv.Total.Neg()); err != nil || !inserted {
				if err == nil {
					err = fmt.Errorf("invoice %s was paid without being marked charged", inv.ID)
				}
				return false, err
			}
		}
		return true, tx.SetInvoiceCharged(ctx, inv.ID)
	})
}

// eachInTx runs fn for each id in its own transaction, with its outbox and
// audit rows written last, and counts the ids fn did something for.
func (f *Fees) eachInTx(ctx context.Context, ids []string, what string, fn func(tx FeeTx, w *work, id string) (bool, error)) (int, error) {
	n := 0
	for _, id := range ids {
		var did bool
		err := f.Store.InFeeTx(ctx, func(tx FeeTx) error {
			w := &work{}
			var err error
			if did, err = fn(tx, w, id); err != nil {
				return err
			}
			return f.Wallet.flush(ctx, tx, w)
		})
		if err != nil {
			return n, fmt.Errorf("%s %s: %w", what, id, err)
		}
		if did {
			n++
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
