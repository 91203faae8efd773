// Package pool is the investment pool as a service beside the wallet (issue
// 22): a pool has its own unit register and a daily NAV; a contribution
// from a member's wallet buys pool units at the next pool NAV, a withdrawal
// redeems them to the wallet, and a distribution is split pro rata to the
// units on the record date (fund/managed, the largest remainder to the
// paisa) and paid to each wallet or reinvested. Every rupee and unit is
// posted in the wallet journal (migration 046 names the accounts); each
// step is one Postgres transaction with its postings, audit rows and
// outbox events, in the lock order on Service. pool/pgstore is the Store.
package pool

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// Topics of the events pools write to the outbox.
const (
	TopicNAV         = "pool.nav"
	TopicPriced      = "pool.priced"
	TopicDistributed = "pool.distributed"
)

// Accounts of the wallet journal a pool posts to (see migration 046).
func AccountCash(pool string) string            { return "pool:" + pool }
func AccountPending(pool string) string         { return "pool_pending:" + pool }
func AccountUnits(pool, walletID string) string { return "pool_units:" + pool + ":" + walletID }
func AccountRedeeming(pool string) string       { return "pool_redeeming:" + pool }
func AccountIssued(pool string) string          { return "pool_issued:" + pool }

// Asset is the asset a pool's units are posted in.
func Asset(pool string) string { return "POOL:" + pool }

// Wallet journal kinds of pool entries.
const (
	KindContribution = "pool_contribution"
	KindWithdrawal   = "pool_withdrawal"
	KindPriced       = "pool_priced"
	KindDistribution = "pool_distribution"
)

var (
	ErrNoPool           = errors.New("no such pool")
	ErrNotMember        = errors.New("the wallet holds no units in the pool")
	ErrInsufficientUnit = errors.New("withdrawal exceeds the member's pool units")
	ErrRecordDate       = errors.New("the record date is not the pool's latest NAV date")
	ErrCashShort        = errors.New("the pool's cash is short")
	ErrNAVMissing       = errors.New("a scheme the pool holds has no NAV that day")
	// ErrNoValueAfter refuses a distribution on a NAV row computed before
	// migration 056 (no value after the day's requests): distribute on
	// the next NAV date instead.
	ErrNoValueAfter = errors.New("the record date's NAV row has no value after its requests (computed before migration 056)")
	// ErrUnitsMoved refuses a distribution when the pool's units are not
	// those its record date's NAV left: only that day's requests move them.
	ErrUnitsMoved = errors.New("the pool's units moved since its record date's NAV")
	ErrSkippedDay = errors.New("requests wait for an earlier NAV date")
	ErrConflict   = errors.New("request id already used differently")
	// ErrHeld refuses a pool withdrawal while the investor has a restriction
	// that blocks redemptions (a fraud or AML case, the KYC gate), as the
	// ledger holds a redemption. The investor sees only "under review" and
	// may ask again once it is lifted; the units stay in the pool.
	ErrHeld = errors.New("pool withdrawal held: the account is under review")
)

// Pool is a pool as stored (its row is its lock).
type Pool struct {
	ID, Name, Cutoff, Folio string
	Model                   string // the model its cash is invested in ("": it stays cash)
	Launch                  fund.NAV
	Cash                    fund.Amount
	Units                   fund.Units
	LastNAV                 fund.Date // zero: never priced
	// FeeAccrued is the AUM fee accrued and not billed yet (fees.go): a
	// liability the NAV deducts, paid from Cash when billed.
	FeeAccrued fund.Amount
}

// Request is a contribution (Amount asked) or a withdrawal (Units asked),
// priced at the NAV of NAVDate.
type Request struct {
	ID, Pool, Wallet, Kind string
	Amount                 fund.Amount
	Units                  fund.Units
	Received               time.Time
	NAVDate                fund.Date
	Status, Reason         string
	NAV                    fund.NAV
}

// DayNAV is a pool's NAV of a day and what it was computed from.
type DayNAV struct {
	Pool     string      `json:"pool_id"`
	Date     fund.Date   `json:"-"`
	NAV      fund.NAV    `json:"nav"`
	Holdings fund.Amount `json:"holdings"`
	// Investing is the pool's money in purchase orders not allotted yet,
	// at cost: it has left the cash and is not in the holdings.
	Investing fund.Amount `json:"investing"`
	Cash      fund.Amount `json:"cash"`
	Units     fund.Units  `json:"units"`
	Launch    bool        `json:"launch"`
	// ValueAfter and UnitsAfter are the pool after the day's requests and
	// batch: Holdings + Investing + the cash then, and the units then
	// (migration 056; nil on a row computed before it). A distribution
	// on this record date is priced from them.
	ValueAfter *fund.Amount `json:"value_after,omitempty"`
	UnitsAfter *fund.Units  `json:"units_after,omitempty"`
	// FeeAccrued is the fee (with its GST) the pool owes through the day
	// (fees.go): the NAV is (Holdings + Investing − FeeAccrued + Cash) ÷
	// Units. ValueAfter is net of it and of the days after the day's fee
	// (to the next business day), accrued on the value after the requests.
	FeeAccrued fund.Amount `json:"fee_accrued"`
	// Accrual is the day's fee accrual (nil: the pool has no fee terms).
	Accrual *Accrual `json:"fee_accrual,omitempty"`
}

// Holder is a member's units on the record date (its own plus those a
// withdrawal not priced yet gave up: they are still in the pool).
type Holder struct {
	Wallet   string
	Units    fund.Units
	Reinvest bool
}

// ShareRow is one member's part of a distribution, as stored.
type ShareRow struct {
	Wallet     string      `json:"wallet_id"`
	Units      fund.Units  `json:"units"`
	Amount     fund.Amount `json:"amount"`
	Reinvested *fund.Units `json:"reinvested_units,omitempty"`
}

// Distribution is the pool.distributed event and its stored row.
type Distribution struct {
	EventID    string      `json:"event_id"`
	Pool       string      `json:"pool_id"`
	RecordDate string      `json:"record_date"`
	Amount     fund.Amount `json:"amount"`
	NAV        fund.NAV    `json:"ex_nav"`
	Shares     []ShareRow  `json:"shares"`
}

// MemberView is a member's stake as its investor sees it.
type MemberView struct {
	Pool     string       `json:"pool_id"`
	Name     string       `json:"name"`
	Units    fund.Units   `json:"units"`
	Pending  fund.Units   `json:"units_pending_withdrawal"`
	NAV      *fund.NAV    `json:"nav,omitempty"`
	NAVDate  string       `json:"nav_date,omitempty"`
	Value    *fund.Amount `json:"value,omitempty"`
	Reinvest bool         `json:"reinvest"`
	// The pool's fees (fees.go), the pool's own figures, not the
	// member's share: the fee accrued and not billed (the NAV is net of
	// it) and the total of its invoices paid so far and of the
	// performance fees members paid on exit (fee and GST). Set by
	// MemberViews only.
	FeeAccrued  *fund.Amount `json:"pool_fee_accrued,omitempty"`
	FeesCharged *fund.Amount `json:"pool_fees_charged,omitempty"`
}

// Store is the pools' state (pool/pgstore).
type Store interface {
	InTx(ctx context.Context, fn func(Tx) error) error
	// PoolIDs lists the pools, by id.
	PoolIDs(ctx context.Context) ([]string, error)
	// MemberViews lists a wallet's pools with the latest NAV.
	MemberViews(ctx context.Context, walletID string) ([]MemberView, error)
	// MemberViewsAt lists a wallet's pools as they stood at the end of day
	// (IST): its units and units pending withdrawal then, and the pool's
	// NAV of day or the latest before it. Pools it had no units in then
	// are left out.
	MemberViewsAt(ctx context.Context, walletID string, day fund.Date) ([]MemberView, error)
	// Wallet reads a wallet (for the API's object-level check).
	Wallet(ctx context.Context, id string) (wallet.Wallet, bool, error)
	// Facts are the pools' NAVs and flows dated from..to (NAV dates, the
	// requests' NAV dates, the distributions' record dates).
	Facts(ctx context.Context, from, to fund.Date) ([]Fact, error)
	// FeePools lists the pools with fee terms in effect by to, by id.
	FeePools(ctx context.Context, to fund.Date) ([]string, error)
	// FeeInvoices lists a pool's invoices, oldest period first.
	FeeInvoices(ctx context.Context, pool string) ([]wallet.FeeInvoice, error)
}

// Tx is one transaction of the Store.
type Tx interface {
	CreatePool(ctx context.Context, p Pool) (created bool, err error)
	// FolioUser names another user of the folio (another pool, a
	// wallet's auto-invest), the folio's owner lock held to the end of the
	// transaction (wallet/pgstore's terms check takes it too).
	FolioUser(ctx context.Context, folio, poolID string) (user string, used bool, err error)
	LockPool(ctx context.Context, id string) (Pool, bool, error)
	// UpdatePool writes the pool's cash, units, last NAV date and fee accrued.
	UpdatePool(ctx context.Context, p Pool) error
	LockWallet(ctx context.Context, id string) (wallet.Wallet, bool, error)
	BlockingRestriction(ctx context.Context, investorID string) (string, bool, error)
	// Post writes a wallet journal entry (wallet/pgstore's Post).
	Post(ctx context.Context, e wallet.Entry, delta fund.Amount) (int64, bool, error)
	// Member reads a member row locked (found false: none).
	Member(ctx context.Context, pool, walletID string) (Holder, bool, error)
	// PutMember moves a member's units by delta (creating the row).
	PutMember(ctx context.Context, pool, walletID string, delta fund.Units) error
	SetReinvest(ctx context.Context, pool, walletID string, reinvest bool) error
	Request(ctx context.Context, id string) (Request, bool, error)
	InsertRequest(ctx context.Context, r Request) error
	// Pending lists a pool's pending requests with nav_date ≤ through, by
	// wallet then id.
	Pending(ctx context.Context, pool string, through fund.Date) ([]Request, error)
	// Settle marks a request priced or refused, with its NAV and result.
	Settle(ctx context.Context, r Request) error
	// Holdings reads the pool folio's ledger holdings at the day's NAVs
	// (missing: the schemes with no NAV that day), the folio locked as the
	// ledger locks it, so the holdings and Investing agree.
	Holdings(ctx context.Context, folio string, day fund.Date) (hs []managed.PoolHolding, missing []string, err error)
	NAV(ctx context.Context, pool string, day fund.Date) (DayNAV, bool, error)
	InsertNAV(ctx context.Context, n DayNAV) error
	// Holders lists the members with units, by wallet id.
	Holders(ctx context.Context, pool string) ([]Holder, error)
	Distribution(ctx context.Context, pool string, day fund.Date) (Distribution, bool, error)
	InsertDistribution(ctx context.Context, d Distribution) error
	// FolioInvestor is the investor a folio belongs to.
	FolioInvestor(ctx context.Context, folio string) (string, bool, error)
	// ModelAt is the model's latest version effective on day.
	ModelAt(ctx context.Context, id string, day fund.Date) (managed.Model, bool, error)
	// Investing is the pool's money in purchase legs not refunded whose
	// orders are not allotted, at cost.
	Investing(ctx context.Context, pool string) (fund.Amount, error)
	InsertInvestRun(ctx context.Context, r InvestRun) error
	// InvestRun reads a run, locked.
	InvestRun(ctx context.Context, pool string, day fund.Date) (InvestRun, bool, error)
	// DebitedRuns lists a pool's runs not placed yet, oldest first.
	DebitedRuns(ctx context.Context, pool string) ([]fund.Date, error)
	// FinishInvestRun marks the run placed and the refused legs refunded.
	FinishInvestRun(ctx context.Context, pool string, day fund.Date, refunded []string) error
	// EndedLegs lists the pool's legs of placed runs, not refunded, whose
	// orders the ledger ended (cancelled, rejected), oldest first.
	EndedLegs(ctx context.Context, pool string) ([]string, error)
	// EndedLeg reads such a leg locked (found false: not one any more).
	EndedLeg(ctx context.Context, orderID string) (EndedLeg, bool, error)
	// SweptLeg marks the leg refunded and resolves the ledger's refund due
	// for its payment (break and alert).
	SweptLeg(ctx context.Context, orderID string) error
	WriteOutbox(ctx context.Context, events []ledger.Event) error
	AppendAudit(ctx context.Context, rows []ledger.AuditEntry) error
	FeeTx
}

// Service runs the pools.
//
// Lock order (the wallet's, extended): the pool row; then the pool
// folio's ledger lock (ComputeNAV's Holdings, as the ledger takes it, so
// an allotment cannot move an order between the holdings and Investing
// while the NAV reads them); then the wallet rows in wallet id order;
// then member rows; last, the outbox and audit rows. Every step takes the
// pool row first, so one pool's steps serialise. Create takes only the
// folio's owner lock (an advisory lock wallet terms take too, nothing
// else): it checks no one else buys into the folio.
type Service struct {
	Store    Store
	Calendar *fund.Calendar
	Audit    bool
	Now      func() time.Time
	// Ledger places and pays the purchases of a pool with a model (its
	// gateway's wallet_cash account pays them); nil: no pool invests.
	Ledger  *ledger.Service
	MaxSkew time.Duration // the order intake's allowed clock skew (placed_at is our clock)
	// crash, for tests: called at each stage of investing; an error stops
	// there as a crash would.
	crash func(stage, poolID string) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// work collects a transaction's outbox and audit rows, written last:
// the wallet's Effects, as pool steps extend the wallet's lock order.
type work = wallet.Effects

func (s *Service) inTx(ctx context.Context, fn func(Tx, *work) error) error {
	return s.Store.InTx(ctx, func(tx Tx) error {
		w := &work{}
		if err := fn(tx, w); err != nil {
			return err
		}
		return w.Flush(ctx, tx, s.Audit)
	})
}

func validID(what, id string) error {
	if id == "" || strings.ContainsAny(id, " \t\n:") {
		return fmt.Errorf("%s %q is empty or has spaces or colons", what, id)
	}
	return nil
}

// Create opens a pool (an existing id is left as it is). Its folio must
// be no other pool's nor any wallet's auto-invest folio (ErrFolioInUse).
func (s *Service) Create(ctx context.Context, p Pool) error {
	if err := validID("pool id", p.ID); err != nil {
		return err
	}
	if p.Launch.Decimal().Sign() <= 0 {
		return fmt.Errorf("pool %s: launch NAV %s is not positive", p.ID, p.Launch)
	}
	if p.Cutoff == "" {
		p.Cutoff = "15:00"
	}
	if _, err := time.Parse("15:04", p.Cutoff); err != nil {
		return fmt.Errorf("pool %s: cut-off %q is not hh:mm", p.ID, p.Cutoff)
	}
	return s.inTx(ctx, func(tx Tx, w *work) error {
		if p.Folio != "" {
			// The NAV values the whole folio: a folio another pool or a
			// wallet's auto-invest buys into would count their units too.
			user, used, err := tx.FolioUser(ctx, p.Folio, p.ID)
			if err != nil {
				return err
			}
			if used {
				return fmt.Errorf("pool %s: %w: %s is %s", p.ID, wallet.ErrFolioInUse, p.Folio, user)
			}
		}
		created, err := tx.CreatePool(ctx, p)
		if err == nil && created {
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "created",
				Payload: map[string]string{"name": p.Name, "launch_nav": p.Launch.String(), "cutoff": p.Cutoff, "folio": p.Folio, "model": p.Model}})
		}
		return err
	})
}

// SetReinvest says whether a member's distributions buy pool units.
func (s *Service) SetReinvest(ctx context.Context, poolID, walletID string, reinvest bool) error {
	return s.inTx(ctx, func(tx Tx, w *work) error {
		if _, ok, err := tx.LockPool(ctx, poolID); err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		if _, ok, err := tx.LockWallet(ctx, walletID); err != nil || !ok {
			return errors.Join(err, boolErr(ok, wallet.ErrNoWallet))
		}
		if err := tx.PutMember(ctx, poolID, walletID, fund.Units{}); err != nil {
			return err
		}
		return tx.SetReinvest(ctx, poolID, walletID, reinvest)
	})
}

func boolErr(ok bool, err error) error {
	if ok {
		return nil
	}
	return err
}

// navDate is the NAV date of a request received now: the pool's cut-off
// rule (managed.PoolNAVDate), and never a day already priced (a request
// after the day's NAV waits for the next business day's: forward pricing).
func (s *Service) navDate(p Pool, received time.Time) (fund.Date, error) {
	d, err := managed.PoolNAVDate(received, p.Cutoff, s.Calendar)
	if err != nil {
		return d, err
	}
	if !p.LastNAV.IsZero() && !d.After(p.LastNAV) {
		return s.Calendar.NextBusinessDay(p.LastNAV)
	}
	return d, nil
}

// sameRequest returns a request already made under the id, or an error
// when the id was used for something else.
func sameRequest(prev Request, want Request) (Request, error) {
	if prev.Pool != want.Pool || prev.Wallet != want.Wallet || prev.Kind != want.Kind ||
		!prev.Amount.Equal(want.Amount) || !prev.Units.Equal(want.Units) {
		return Request{}, fmt.Errorf("%w: %s was a %s of %s/%s units in pool %s by wallet %s", ErrConflict,
			prev.ID, prev.Kind, prev.Amount, prev.Units, prev.Pool, prev.Wallet)
	}
	return prev, nil
}

// begin starts a request's transaction in the lock order: the pool row,
// then the wallet row. done: the request id was used before (r is set to
// that request, or err says it was used differently).
func (s *Service) begin(ctx context.Context, tx Tx, r *Request) (p Pool, wal wallet.Wallet, done bool, err error) {
	p, ok, err := tx.LockPool(ctx, r.Pool)
	if err != nil || !ok {
		return p, wal, false, errors.Join(err, boolErr(ok, ErrNoPool))
	}
	if prev, found, err := tx.Request(ctx, r.ID); err != nil || found {
		if err == nil {
			*r, err = sameRequest(prev, *r)
		}
		return p, wal, true, err
	}
	wal, ok, err = tx.LockWallet(ctx, r.Wallet)
	if err != nil || !ok {
		return p, wal, false, errors.Join(err, boolErr(ok, wallet.ErrNoWallet))
	}
	return p, wal, false, nil
}

// Contribute takes amount from a member's wallet into the pool's pending
// account, once per request id; the NAV job prices it at its NAV date.
func (s *Service) Contribute(ctx context.Context, poolID, walletID, requestID string, amount fund.Amount) (Request, error) {
	r := Request{ID: requestID, Pool: poolID, Wallet: walletID, Kind: "contribution", Amount: amount, Status: "pending"}
	if amount.Sign() <= 0 {
		return r, fmt.Errorf("contribute: amount %s is not positive", amount)
	}
	if requestID == "" {
		return r, errors.New("contribute: request id is empty")
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		p, wal, done, err := s.begin(ctx, tx, &r)
		if err != nil || done {
			return err
		}
		if wal.Status != "open" {
			return wallet.ErrClosed
		}
		if wal.Balance.Cmp(amount) < 0 {
			return fmt.Errorf("%w: %s > %s", wallet.ErrInsufficient, amount, wal.Balance)
		}
		r.Received = s.now()
		if r.NAVDate, err = s.navDate(p, r.Received); err != nil {
			return err
		}
		if err := tx.InsertRequest(ctx, r); err != nil {
			return err
		}
		e := wallet.Entry{WalletID: walletID, Kind: KindContribution, Ref: requestID, Amount: amount, Postings: []fund.Posting{
			{Account: wallet.AccountWallet(walletID), Asset: fund.AssetINR, Amount: amount.Decimal()},
			{Account: AccountPending(poolID), Asset: fund.AssetINR, Amount: amount.Decimal().Neg()},
		}}
		if _, inserted, err := tx.Post(ctx, e, amount.Neg()); err != nil || !inserted {
			return errors.Join(err, boolErr(inserted, fmt.Errorf("contribution %s posted before", requestID)))
		}
		if err := tx.PutMember(ctx, poolID, walletID, fund.Units{}); err != nil {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "contribution",
			Payload: map[string]string{"request_id": requestID, "wallet_id": walletID, "amount": amount.String(), "nav_date": r.NAVDate.String()}})
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("contribute %s to pool %s from wallet %s: %w", amount, poolID, walletID, err)
	}
	return r, nil
}

// Withdraw gives up a member's units (to the pool's redeeming account),
// once per request id; the NAV job pays them to the wallet at its NAV
// date. A restriction that blocks redemptions refuses it (ErrHeld).
func (s *Service) Withdraw(ctx context.Context, poolID, walletID, requestID string, units fund.Units) (Request, error) {
	r := Request{ID: requestID, Pool: poolID, Wallet: walletID, Kind: "withdrawal", Units: units, Status: "pending"}
	if units.Sign() <= 0 || units.Decimal().Exponent() < -managed.PoolUnitsScale {
		return r, fmt.Errorf("withdraw: units %s are not positive with at most 3 decimals", units)
	}
	if requestID == "" {
		return r, errors.New("withdraw: request id is empty")
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		p, wal, done, err := s.begin(ctx, tx, &r)
		if err != nil || done {
			return err
		}
		if src, held, err := tx.BlockingRestriction(ctx, wal.InvestorID); err != nil || held {
			return errors.Join(err, boolErr(!held, fmt.Errorf("%w (%s)", ErrHeld, src)))
		}
		m, ok, err := tx.Member(ctx, poolID, walletID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNotMember))
		}
		if m.Units.Cmp(units) < 0 {
			return fmt.Errorf("%w: %s > %s", ErrInsufficientUnit, units, m.Units)
		}
		r.Received = s.now()
		if r.NAVDate, err = s.navDate(p, r.Received); err != nil {
			return err
		}
		if err := tx.InsertRequest(ctx, r); err != nil {
			return err
		}
		e := wallet.Entry{WalletID: walletID, Kind: KindWithdrawal, Ref: requestID, Postings: []fund.Posting{
			{Account: AccountUnits(poolID, walletID), Asset: Asset(poolID), Amount: units.Decimal()},
			{Account: AccountRedeeming(poolID), Asset: Asset(poolID), Amount: units.Decimal().Neg()},
		}}
		if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
			return errors.Join(err, boolErr(inserted, fmt.Errorf("withdrawal %s posted before", requestID)))
		}
		if err := tx.PutMember(ctx, poolID, walletID, units.Neg()); err != nil {
			return err
		}
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "withdrawal",
			Payload: map[string]string{"request_id": requestID, "wallet_id": walletID, "units": units.String(), "nav_date": r.NAVDate.String()}})
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("withdraw %s units of pool %s to wallet %s: %w", units, poolID, walletID, err)
	}
	return r, nil
}

// Priced is the pool.priced event: a request priced or refused.
type Priced struct {
	EventID string      `json:"event_id"`
	Pool    string      `json:"pool_id"`
	Request string      `json:"request_id"`
	Wallet  string      `json:"wallet_id"`
	Kind    string      `json:"kind"`
	NAVDate string      `json:"nav_date"`
	NAV     fund.NAV    `json:"nav"`
	Amount  fund.Amount `json:"amount"`
	Units   fund.Units  `json:"units"`
	Status  string      `json:"status"`
	Reason  string      `json:"reason,omitempty"`
}

// NAVResult is what ComputeNAV did.
type NAVResult struct {
	DayNAV
	Fresh                bool // computed now (false: computed before, nothing done)
	Contributions        int
	Withdrawals, Refused int
}

// ComputeNAV computes a pool's NAV of day and prices the day's requests
// at it, in one transaction: exactly once per (pool, day) (the NAV row is
// the key: a second run returns it and changes nothing). The NAV is
// (holdings at the day's scheme NAVs + cash − the fee accrued through the
// day, fees.go) ÷ units before the day's requests, or the launch NAV
// while the pool has no units. Contributions
// are priced first (their cash can pay the day's withdrawals); a
// withdrawal the pool's cash cannot pay is refused and its units go back.
func (s *Service) ComputeNAV(ctx context.Context, poolID string, day fund.Date) (NAVResult, error) {
	var res NAVResult
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		res = NAVResult{}
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		if n, found, err := tx.NAV(ctx, poolID, day); err != nil || found {
			res.DayNAV = n
			return err
		}
		if !p.LastNAV.IsZero() && !day.After(p.LastNAV) {
			return fmt.Errorf("pool NAV of %s: the pool is priced through %s", day, p.LastNAV)
		}
		if ok, err := s.Calendar.IsBusinessDay(day); err != nil || !ok {
			return errors.Join(err, boolErr(ok, fmt.Errorf("pool NAV of %s: not a business day", day)))
		}
		n := DayNAV{Pool: poolID, Date: day, Cash: p.Cash, Units: p.Units, Launch: p.Units.Sign() == 0}
		if n.Holdings, n.Investing, err = s.assets(ctx, tx, p, day); err != nil {
			return err
		}
		// The fee through the day accrues on the pool's value before the
		// day's requests; the NAV deducts all the fee owed (fees.go). The
		// days after it (to the next business day) accrue below, on the
		// value after the requests.
		acc, err := s.accrue(ctx, tx, &p, day, n.Holdings.Add(n.Investing).Add(n.Cash))
		if err != nil {
			return err
		}
		n.FeeAccrued = p.FeeAccrued
		if n.NAV, err = managed.PoolDayNAV(n.Holdings.Add(n.Investing).Sub(n.FeeAccrued), n.Cash, n.Units, p.Launch); err != nil {
			return err
		}
		reqs, err := tx.Pending(ctx, poolID, day)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if r.NAVDate.Before(day) {
				return fmt.Errorf("%w: %s for %s", ErrSkippedDay, r.ID, r.NAVDate)
			}
		}
		// Lock the wallets in id order (Pending lists them so).
		seen := map[string]bool{}
		for _, r := range reqs {
			if !seen[r.Wallet] {
				seen[r.Wallet] = true
				if _, _, err := tx.LockWallet(ctx, r.Wallet); err != nil {
					return err
				}
			}
		}
		sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].Kind == "contribution" && reqs[j].Kind != "contribution" })
		for i := range reqs {
			if err := s.price(ctx, tx, w, &p, &reqs[i], n.NAV, &res); err != nil {
				return fmt.Errorf("price %s: %w", reqs[i].ID, err)
			}
		}
		// The pool after the day's requests: what they paid in and out at
		// this NAV moved the cash; the batch below only moves cash into
		// purchases at cost, so this is also the value after it.
		va, ua := n.Holdings.Add(n.Investing).Add(p.Cash).Sub(n.FeeAccrued), p.Units
		if acc != nil {
			if n.Accrual, err = s.finishAccrual(ctx, tx, &p, acc, va); err != nil {
				return err
			}
			// Net of the days ahead's fee too (review L1): it is owed by
			// the members after the requests, and deducted by the next NAV.
			va = n.Holdings.Add(n.Investing).Add(p.Cash).Sub(p.FeeAccrued)
		}
		n.ValueAfter, n.UnitsAfter = &va, &ua
		if err := tx.InsertNAV(ctx, n); err != nil {
			return err
		}
		if err := s.investBatch(ctx, tx, w, &p, day, reqs); err != nil {
			return fmt.Errorf("invest the day's contributions: %w", err)
		}
		p.LastNAV = day
		if err := tx.UpdatePool(ctx, p); err != nil {
			return err
		}
		res.DayNAV, res.Fresh = n, true
		ev := struct {
			EventID string `json:"event_id"`
			Date    string `json:"nav_date"`
			DayNAV
		}{TopicNAV + ":" + poolID + ":" + day.String(), day.String(), n}
		w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicNAV, Key: poolID, Payload: ev})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "nav", Payload: ev})
		return nil
	})
	if err != nil {
		return NAVResult{}, fmt.Errorf("pool %s NAV of %s: %w", poolID, day, err)
	}
	return res, nil
}

// assets reads the pool's holdings at day's scheme NAVs and its money in
// purchases not allotted (at cost) and fee sales allotted and not swept
// into the cash, in that order: Holdings takes the
// folio's ledger lock first, so the two agree (an order is in exactly
// one). The caller holds the pool row, so no refund or sweep moves money
// into the cash meanwhile. A scheme held with no NAV that day: ErrNAVMissing.
func (s *Service) assets(ctx context.Context, tx Tx, p Pool, day fund.Date) (holdings, investing fund.Amount, err error) {
	if p.Folio != "" {
		hs, missing, err := tx.Holdings(ctx, p.Folio, day)
		if err != nil {
			return holdings, investing, err
		}
		if len(missing) > 0 {
			return holdings, investing, fmt.Errorf("%w: %s on %s", ErrNAVMissing, strings.Join(missing, ", "), day)
		}
		holdings = managed.PoolValue(hs)
	}
	if investing, err = tx.Investing(ctx, p.ID); err != nil {
		return holdings, investing, err
	}
	// A fee sale's payout allotted and not in the cash yet (feesale.go):
	// it has left the holdings and is the pool's, on its way to the cash.
	sold, err := tx.FeeSalesNotSwept(ctx, p.ID)
	return holdings, investing.Add(sold), err
}

// price settles one request at nav, moving p's cash and units.
// r is left as settled.
func (s *Service) price(ctx context.Context, tx Tx, w *work, p *Pool, r *Request, nav fund.NAV, res *NAVResult) error {
	r.NAV = nav
	var e wallet.Entry
	var delta fund.Amount
	var memberDelta fund.Units
	switch r.Kind {
	case "contribution":
		u, err := managed.ContributionUnits(r.Amount, nav)
		if err != nil {
			// Too small to buy 0.001 unit: the money goes back.
			r.Status, r.Reason = "refused", err.Error()
			e = wallet.Entry{WalletID: r.Wallet, Kind: KindPriced, Ref: r.ID, Amount: r.Amount, Postings: []fund.Posting{
				{Account: AccountPending(p.ID), Asset: fund.AssetINR, Amount: r.Amount.Decimal()},
				{Account: wallet.AccountWallet(r.Wallet), Asset: fund.AssetINR, Amount: r.Amount.Decimal().Neg()},
			}}
			delta = r.Amount
			res.Refused++
			break
		}
		r.Status, r.Units, memberDelta = "priced", u, u
		e = wallet.Entry{WalletID: r.Wallet, Kind: KindPriced, Ref: r.ID, Amount: r.Amount, Postings: []fund.Posting{
			{Account: AccountPending(p.ID), Asset: fund.AssetINR, Amount: r.Amount.Decimal()},
			{Account: AccountCash(p.ID), Asset: fund.AssetINR, Amount: r.Amount.Decimal().Neg()},
			{Account: AccountIssued(p.ID), Asset: Asset(p.ID), Amount: u.Decimal()},
			{Account: AccountUnits(p.ID, r.Wallet), Asset: Asset(p.ID), Amount: u.Decimal().Neg()},
		}}
		p.Cash, p.Units = p.Cash.Add(r.Amount), p.Units.Add(u)
		res.Contributions++
	case "withdrawal":
		amt, err := managed.WithdrawalAmount(r.Units, nav)
		if err != nil {
			return err
		}
		if p.Units.Sub(r.Units).Sign() == 0 && p.FeeAccrued.Sign() > 0 {
			// The last member out would leave a fee liability with no
			// member to bear it (review H2): refused, units back (fees.go
			// ErrFeeOwed says how to close the pool).
			r.Status, r.Reason = "refused", fmt.Sprintf("%s: %s owed (fee + GST)", ErrFeeOwed, p.FeeAccrued)
			e = wallet.Entry{WalletID: r.Wallet, Kind: KindPriced, Ref: r.ID, Postings: []fund.Posting{
				{Account: AccountRedeeming(p.ID), Asset: Asset(p.ID), Amount: r.Units.Decimal()},
				{Account: AccountUnits(p.ID, r.Wallet), Asset: Asset(p.ID), Amount: r.Units.Decimal().Neg()},
			}}
			memberDelta = r.Units
			res.Refused++
			break
		}
		// The performance fee on the units' gain above the mark, paid
		// from the proceeds (exitfee.go).
		ef, err := s.exitFee(ctx, tx, *p, *r, nav, amt)
		if err != nil {
			return fmt.Errorf("withdrawal %s: performance fee on exit: %w", r.ID, err)
		}
		var refuse string
		switch {
		case amt.Cmp(p.Cash) > 0:
			refuse = fmt.Sprintf("%s: %s needed, %s held", ErrCashShort, amt, p.Cash)
		case ef != nil && ef.Total.Cmp(amt) > 0: // only a rate near 100 %
			refuse = fmt.Sprintf("the performance fee on exit with GST, %s, is more than the %s the units are worth", ef.Total, amt)
		}
		if refuse != "" {
			// The pool cannot pay it from cash: the units go back to the
			// member, with the reason (the pool sells holdings, then the
			// member asks again).
			r.Status, r.Reason = "refused", refuse
			e = wallet.Entry{WalletID: r.Wallet, Kind: KindPriced, Ref: r.ID, Postings: []fund.Posting{
				{Account: AccountRedeeming(p.ID), Asset: Asset(p.ID), Amount: r.Units.Decimal()},
				{Account: AccountUnits(p.ID, r.Wallet), Asset: Asset(p.ID), Amount: r.Units.Decimal().Neg()},
			}}
			memberDelta = r.Units
			res.Refused++
			break
		}
		net, fee, gst := amt, fund.Amount{}, fund.Amount{} // net: what the wallet gets
		if ef != nil {
			net, fee, gst = amt.Sub(ef.Total), ef.Fee, ef.GST
		}
		r.Status, r.Amount, delta = "priced", amt, net
		e = wallet.Entry{WalletID: r.Wallet, Kind: KindPriced, Ref: r.ID, Amount: net, Postings: []fund.Posting{
			{Account: AccountRedeeming(p.ID), Asset: Asset(p.ID), Amount: r.Units.Decimal()},
			{Account: AccountIssued(p.ID), Asset: Asset(p.ID), Amount: r.Units.Decimal().Neg()},
		}}
		if amt.Sign() > 0 {
			e.Postings = append(e.Postings, fund.Posting{Account: AccountCash(p.ID), Asset: fund.AssetINR, Amount: amt.Decimal()})
		}
		for _, c := range []fund.Posting{{Account: wallet.AccountWallet(r.Wallet), Amount: net.Decimal().Neg()},
			{Account: wallet.AccountFeeIncome, Amount: fee.Decimal().Neg()}, {Account: wallet.AccountGST, Amount: gst.Decimal().Neg()}} {
			if !c.Amount.IsZero() {
				c.Asset = fund.AssetINR
				e.Postings = append(e.Postings, c)
			}
		}
		p.Cash, p.Units = p.Cash.Sub(amt), p.Units.Sub(r.Units)
		if ef != nil {
			if err := s.chargeExitFee(ctx, tx, w, *p, *ef); err != nil {
				return err
			}
		}
		res.Withdrawals++
	default:
		return fmt.Errorf("unknown request kind %q", r.Kind)
	}
	if _, inserted, err := tx.Post(ctx, e, delta); err != nil || !inserted {
		return errors.Join(err, boolErr(inserted, fmt.Errorf("%s priced before", r.ID)))
	}
	if !memberDelta.IsZero() {
		if err := tx.PutMember(ctx, p.ID, r.Wallet, memberDelta); err != nil {
			return err
		}
	}
	if err := tx.Settle(ctx, *r); err != nil {
		return err
	}
	ev := Priced{EventID: TopicPriced + ":" + r.ID, Pool: p.ID, Request: r.ID, Wallet: r.Wallet, Kind: r.Kind, NAVDate: r.NAVDate.String(),
		NAV: nav, Amount: r.Amount, Units: r.Units, Status: r.Status, Reason: r.Reason}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicPriced, Key: p.ID, Payload: ev})
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "priced", Payload: ev})
	return nil
}

// Distribute splits amount over the pool's members pro rata to their units
// on the record date (the pool's latest NAV date; a member's units
// include those a withdrawal not yet priced gave up), by the largest
// remainder to the paisa with ties to the first holder in wallet id order
// (managed.DistributePool, the code of `fundflow check distribute`). Each
// share is paid from the pool's cash to the member's wallet, or, for a
// member who reinvests, buys pool units at the ex-distribution NAV (units
// down to 3 decimals; the cash stays in the pool): (value − amount) ÷
// units, the value and units the record date's NAV row kept after that
// day's requests and batch (holdings at the record date's NAVs, money in
// purchases at cost, cash; a row from before migration 056 has none:
// refused, ErrNoValueAfter). Exactly once per
// (pool, record date): the same call again returns the first result; a
// different amount is refused. Zero units in the pool: refused
// (managed.ErrZeroUnits); more than the pool's cash: refused.
func (s *Service) Distribute(ctx context.Context, poolID string, record fund.Date, amount fund.Amount) (Distribution, error) {
	var out Distribution
	if amount.Sign() <= 0 {
		return out, fmt.Errorf("distribute: amount %s is not positive", amount)
	}
	err := s.inTx(ctx, func(tx Tx, w *work) error {
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		if prev, found, err := tx.Distribution(ctx, poolID, record); err != nil || found {
			if err == nil && !prev.Amount.Equal(amount) {
				err = fmt.Errorf("%w: the distribution of %s on %s was %s", ErrConflict, poolID, record, prev.Amount)
			}
			out = prev
			return err
		}
		if p.LastNAV.IsZero() || p.LastNAV != record {
			return fmt.Errorf("%w (%s, latest %s)", ErrRecordDate, record, p.LastNAV)
		}
		holders, err := tx.Holders(ctx, poolID)
		if err != nil {
			return err
		}
		mh := make([]managed.Holder, len(holders))
		for i, h := range holders {
			mh[i] = managed.Holder{ID: h.Wallet, Units: h.Units, Reinvest: h.Reinvest}
		}
		if p.Units.Sign() == 0 {
			return fmt.Errorf("pool distribution: %w", managed.ErrZeroUnits)
		}
		if amount.Cmp(p.Cash) > 0 {
			return fmt.Errorf("%w: distributing %s, holding %s", ErrCashShort, amount, p.Cash)
		}
		// The pool's value on the record date, as its NAV row left it
		// after the day's requests and batch. Not the holdings read now:
		// a purchase allotted since (at the next day's scheme NAV) would
		// be valued at the record date's NAV instead of its cost, and a
		// scheme bought since may have no NAV that day. Allotments,
		// refunds and sweeps after the NAV only move money between
		// holdings, purchases and cash; withdrawals and contributions
		// move it only in ComputeNAV (in the row); a distribution is
		// once per record date; a later NAV makes this one not the
		// latest (ErrRecordDate). So the row is the record date's value.
		n, found, err := tx.NAV(ctx, poolID, record)
		if err != nil {
			return err
		}
		if !found || n.ValueAfter == nil || n.UnitsAfter == nil {
			return fmt.Errorf("%w (%s)", ErrNoValueAfter, record)
		}
		if !n.UnitsAfter.Equal(p.Units) {
			return fmt.Errorf("%w: %s at the NAV, %s now", ErrUnitsMoved, *n.UnitsAfter, p.Units)
		}
		value := *n.ValueAfter
		// A fee bill since the NAV paid its GST and performance fee from
		// the cash the row counts (its AUM fee was deducted already).
		charged, err := tx.ChargedAfterNAV(ctx, poolID, record)
		if err != nil {
			return err
		}
		value = value.Sub(charged)
		exNAV, err := managed.ExDistributionNAV(value, amount, p.Units)
		if err != nil {
			return fmt.Errorf("ex-distribution NAV: %w", err)
		}
		shares, err := managed.DistributePool(amount, mh, exNAV)
		if err != nil {
			return err
		}
		for _, h := range holders { // wallet id order: the lock order
			if _, _, err := tx.LockWallet(ctx, h.Wallet); err != nil {
				return err
			}
		}
		out = Distribution{EventID: TopicDistributed + ":" + poolID + ":" + record.String(), Pool: poolID, RecordDate: record.String(), Amount: amount, NAV: exNAV}
		for i, sh := range shares {
			row := ShareRow{Wallet: sh.ID, Units: holders[i].Units, Amount: sh.Amount}
			if sh.Amount.Sign() > 0 {
				ref := poolID + ":" + record.String() + ":" + sh.ID
				e := wallet.Entry{WalletID: sh.ID, Kind: KindDistribution, Ref: ref, Amount: sh.Amount}
				var delta fund.Amount
				if sh.Units != nil && sh.Units.Sign() > 0 {
					u := *sh.Units
					row.Reinvested = &u
					e.Postings = []fund.Posting{
						{Account: AccountIssued(poolID), Asset: Asset(poolID), Amount: u.Decimal()},
						{Account: AccountUnits(poolID, sh.ID), Asset: Asset(poolID), Amount: u.Decimal().Neg()},
					}
					if err := tx.PutMember(ctx, poolID, sh.ID, u); err != nil {
						return err
					}
					p.Units = p.Units.Add(u)
				} else {
					// Paid out (or a reinvested share too small to buy 0.001 unit).
					e.Postings = []fund.Posting{
						{Account: AccountCash(poolID), Asset: fund.AssetINR, Amount: sh.Amount.Decimal()},
						{Account: wallet.AccountWallet(sh.ID), Asset: fund.AssetINR, Amount: sh.Amount.Decimal().Neg()},
					}
					delta = sh.Amount
					p.Cash = p.Cash.Sub(sh.Amount)
				}
				if _, inserted, err := tx.Post(ctx, e, delta); err != nil || !inserted {
					return errors.Join(err, boolErr(inserted, fmt.Errorf("distribution share %s posted before", ref)))
				}
			}
			out.Shares = append(out.Shares, row)
		}
		if err := tx.InsertDistribution(ctx, out); err != nil {
			return err
		}
		if err := tx.UpdatePool(ctx, p); err != nil {
			return err
		}
		w.Events = append(w.Events, ledger.Event{ID: out.EventID, Topic: TopicDistributed, Key: poolID, Payload: out})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "distributed", Payload: out})
		return nil
	})
	if err != nil {
		return Distribution{}, fmt.Errorf("distribute %s from pool %s on %s: %w", amount, poolID, record, err)
	}
	return out, nil
}

// Fact is one pool_facts row for analysts (ClickHouse, pool/chstore).
// A nav row's Amount is the money in the pool's purchases not allotted
// yet, at cost (pool_navs.investing). A pool with fees owed has a
// fee_accrued row the same day (review L2): its Amount is the fee and GST
// owed through the day that the NAV deducted (pool_navs.fee_accrued), so
// NAV = (Holdings + Amount(nav) + Cash − Amount(fee_accrued)) / Units.
// (The ClickHouse this runs on, 18.16, has no ADD COLUMN IF NOT EXISTS
// for an idempotent migration, so the liability is a row of its own kind
// rather than a new column; the nav row's amount was unused before.)
type Fact struct {
	Day                     fund.Date
	Pool, Kind, Wallet, Ref string
	Status                  string
	NAV                     fund.NAV
	Units                   fund.Units
	Amount, Holdings, Cash  fund.Amount
}

// Members lists a wallet's pools as its investor sees them.
func (s *Service) Members(ctx context.Context, walletID string) ([]MemberView, error) {
	return s.Store.MemberViews(ctx, walletID)
}

// MembersAt lists a wallet's pools as they stood at the end of day: a
// statement's closing position.
func (s *Service) MembersAt(ctx context.Context, walletID string, day fund.Date) ([]MemberView, error) {
	return s.Store.MemberViewsAt(ctx, walletID, day)
}
