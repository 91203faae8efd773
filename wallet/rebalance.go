package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/shopspring/decimal"
)

// Topics of a rebalance's events.
const (
	TopicRebalanceProposed = "rebalance.proposed"
	TopicRebalanceExecuted = "rebalance.executed"
)

// ErrNoTerms: the wallet has no enabled auto-invest terms (no model, no
// folio) to rebalance.
var ErrNoTerms = errors.New("wallet has no enabled auto-invest terms")

// ErrRebalanceInFlight: the folio has units or money still moving (another
// rebalance run proposed, or an order waiting for its NAV or its other
// leg), so its holdings are not what a new run would switch: measured now
// it would switch the same money twice. The next check, after the ledger
// has ended those orders, rebalances.
var ErrRebalanceInFlight = errors.New("a rebalance or order of the folio is still in flight")

// RebalanceRun is one rebalance of a wallet's folio.
type RebalanceRun struct {
	ID, WalletID, Folio, ModelID string
	ModelVersion                 int
	TaxAware                     bool
	Plan                         managed.Plan
	Requests                     []string // switch requests' JSON bodies, in the plan's switch order
	Status                       string   // proposed, placed, nothing_to_do (RunNothingToDo)
}

// RunNothingToDo is the status of a forced run whose plan needed no
// switch: it records the model version the portfolio is at.
const RunNothingToDo = "nothing_to_do"

// RebalanceStore is what rebalancing needs of the store.
type RebalanceStore interface {
	InRebalanceTx(ctx context.Context, fn func(RebalanceTx) error) error
	// OpenRebalances lists runs still 'proposed' (a crash between fixing
	// and placing), oldest first.
	OpenRebalances(ctx context.Context, limit int) ([]string, error)
	// PayoutsToSweep lists rebalance switches whose switch-in ended
	// without an allotment and whose payout is not in the wallet yet.
	PayoutsToSweep(ctx context.Context, limit int) ([]string, error)
}

// RebalanceTx is one transaction of rebalancing.
type RebalanceTx interface {
	AutoTx
	// ReadWallet reads a wallet without locking it (the drift read: found
	// false: none).
	ReadWallet(ctx context.Context, id string) (w Wallet, found bool, err error)
	// Holdings reads a folio's holdings with their open lots (oldest
	// first), latest NAVs, exit-load slabs and tax types.
	Holdings(ctx context.Context, folio string) ([]managed.Holding, error)
	// RebalanceRun reads a run, locked for update.
	RebalanceRun(ctx context.Context, id string) (r RebalanceRun, found bool, err error)
	InsertRebalanceRun(ctx context.Context, r RebalanceRun) error
	SetRebalancePlaced(ctx context.Context, id string) error
	// LastModel reads the model a wallet's portfolio was last brought to:
	// its latest rebalance run's, or before any, its first auto-invest
	// run's (found false: neither).
	LastModel(ctx context.Context, walletID string) (modelID string, version int, found bool, err error)
	// InFlight says what of the wallet's folio is still moving: a rebalance
	// run other than exceptRun still proposed, or an order of the folio
	// waiting for its NAV or its other leg ("" : nothing).
	InFlight(ctx context.Context, walletID, folio, exceptRun string) (string, error)
	// SwitchPayout reads what the ledger paid out for a rebalance
	// switch's failed switch-in (found false: no payout).
	SwitchPayout(ctx context.Context, switchID string) (walletID, folio string, amount fund.Amount, found bool, err error)
}

// RebalanceOptions are a rebalance's choices.
type RebalanceOptions struct {
	ThresholdPP decimal.Decimal // drift threshold, percentage points
	Force       bool            // a model change: rebalance within the threshold too
	TaxAware    bool            // see managed.PlanOptions.TaxAware
}

// Rebalancer measures a wallet's folio against its model and, over the
// threshold, switches it back (fund/managed.PlanRebalance): each switch an
// ordinary switch request through ledger.PlaceOrders, so the redemption
// side takes lots FIFO with their exit loads and the purchase side gets
// the NAV rules and stamp duty. Every rupee has a home: a switch moves its
// switch-out's payout into its switch-in, a switch-in that fails has that
// money paid out by the ledger and Sweep brings it back to the wallet, and
// loads and duty go to their own accounts.
type Rebalancer struct {
	Wallet  *Service
	Store   RebalanceStore
	Ledger  *ledger.Service
	MaxSkew time.Duration
	// Calendar counts the business days of a NAV's freshness (drift.go);
	// nil: the ledger's.
	Calendar *fund.Calendar
	// crash, for tests: called after the run is fixed ("proposed") and
	// after its switches are placed ("placed").
	crash func(stage, runID string) error
}

// Proposal is a dry run: the plan and the switch requests it would place.
type Proposal struct {
	WalletID string       `json:"wallet_id"`
	Folio    string       `json:"folio"`
	Model    string       `json:"model"`
	Version  int          `json:"model_version"`
	Plan     managed.Plan `json:"plan"`
	Requests []string     `json:"requests"`
}

// portfolio is what a rebalance and its drift are measured from: the
// wallet (locked), its terms, today's model version and the folio's
// holdings.
type portfolio struct {
	wal   Wallet
	terms Terms
	model managed.Model
	hs    []managed.Holding
	now   time.Time
	day   fund.Date
}

// read reads the wallet's terms, model and holdings (no writes), with
// lock the wallet locked for update (a plan that will be placed), without
// it not (a drift read must not queue behind, nor hold up, a deposit, a
// withdrawal or a billing chunk of the same wallet).
func (r *Rebalancer) read(ctx context.Context, tx RebalanceTx, walletID string, lock bool) (portfolio, error) {
	var pf portfolio
	var ok bool
	var err error
	readWallet := tx.ReadWallet
	if lock {
		readWallet = tx.LockWallet
	}
	if pf.wal, ok, err = readWallet(ctx, walletID); err != nil {
		return pf, err
	}
	if !ok {
		return pf, ErrNoWallet
	}
	if lock && pf.wal.Status != "open" {
		return pf, fmt.Errorf("wallet %s is %s: %w", walletID, pf.wal.Status, ErrClosed) // exiting: nothing moves
	}
	if pf.terms, ok, err = tx.Terms(ctx, walletID); err != nil {
		return pf, err
	}
	if !ok || !pf.terms.Enabled {
		return pf, ErrNoTerms
	}
	pf.now = r.Wallet.now()
	pf.day = fund.DateOf(pf.now.In(fund.IST()))
	if pf.model, ok, err = tx.ModelAt(ctx, pf.terms.ModelID, pf.day); err != nil {
		return pf, err
	}
	if !ok {
		return pf, fmt.Errorf("model %s has no version effective on %s", pf.terms.ModelID, pf.day)
	}
	if pf.hs, err = tx.Holdings(ctx, pf.terms.Folio); err != nil {
		return pf, fmt.Errorf("holdings of %s: %w", pf.terms.Folio, err)
	}
	return pf, nil
}

// plan reads the wallet's terms, model and holdings and plans (no writes).
// A holding whose NAV is older than the previous business day is refused
// (ErrStaleNAV), as the scheduled check skips it: its weights are not
// today's, and a switch would be sized on an old NAV.
func (r *Rebalancer) plan(ctx context.Context, tx RebalanceTx, walletID, runID string, o RebalanceOptions) (Proposal, Wallet, error) {
	var p Proposal
	pf, err := r.read(ctx, tx, walletID, true)
	if err != nil {
		return p, pf.wal, err
	}
	stale, err := StaleNAVs(pf.hs, pf.now, r.calendar())
	if err != nil {
		return p, pf.wal, fmt.Errorf("rebalance %s: %w", walletID, err)
	}
	if err := staleNAVErr(stale); err != nil {
		return p, pf.wal, fmt.Errorf("rebalance %s: %w", walletID, err)
	}
	wal, terms, m, now := pf.wal, pf.terms, pf.model, pf.now
	plan, err := managed.PlanRebalance(m, pf.hs, managed.PlanOptions{ThresholdPP: o.ThresholdPP, Force: o.Force, TaxAware: o.TaxAware, On: pf.day})
	if err != nil {
		return p, wal, fmt.Errorf("rebalance %s: %w", walletID, err)
	}
	p = Proposal{WalletID: walletID, Folio: terms.Folio, Model: m.ID, Version: m.Version, Plan: plan, Requests: []string{}}
	placedAt := now.UTC().Format(time.RFC3339Nano)
	for i, s := range plan.Switches {
		b, _ := json.Marshal(map[string]string{"order_id": SwitchID(runID, i), "type": "switch", "investor_id": wal.InvestorID, "folio": terms.Folio,
			"scheme_code": s.From, "to_scheme_code": s.To, "amount": s.Amount.String(), "placed_at": placedAt})
		p.Requests = append(p.Requests, string(b))
	}
	return p, wal, nil
}

// SwitchID is a rebalance run's i-th switch request id.
func SwitchID(runID string, i int) string { return fmt.Sprintf("%s-S%d", runID, i+1) }

// RunID is the default rebalance run id: one a wallet a day.
func RunID(walletID string, day fund.Date) string {
	return fmt.Sprintf("RB-%s-%04d%02d%02d", walletID, day.Year, day.Month, day.Day)
}

// Propose is the dry run: what Execute would place now, writing nothing.
func (r *Rebalancer) Propose(ctx context.Context, walletID string, o RebalanceOptions) (Proposal, error) {
	var p Proposal
	runID := RunID(walletID, fund.DateOf(r.Wallet.now().In(fund.IST())))
	err := r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
		var err error
		p, _, err = r.plan(ctx, tx, walletID, runID, o)
		return err
	})
	return p, err
}

// Executed is the rebalance.executed event (and Execute's result).
type Executed struct {
	EventID  string        `json:"event_id"`
	RunID    string        `json:"run_id"`
	WalletID string        `json:"wallet_id"`
	Folio    string        `json:"folio"`
	Orders   []OrderPlaced `json:"orders"`
}

// Execute rebalances a wallet's folio once per runID ("" : RunID of today):
// the plan and its switch requests are fixed in the run in one transaction
// (rebalance.proposed), then placed through the ledger (idempotent by
// request id), then the run is marked placed (rebalance.executed). A run
// already fixed is finished as it was fixed, whatever the drift is now;
// within the threshold no run is written and found is false, except for a
// forced run (a model change), recorded as RunNothingToDo with no orders
// (with the default id, under the model version's: CheckRunID).
func (r *Rebalancer) Execute(ctx context.Context, walletID, runID string, o RebalanceOptions) (res Executed, found bool, err error) {
	dayID := runID == ""
	if dayID {
		runID = RunID(walletID, fund.DateOf(r.Wallet.now().In(fund.IST())))
	}
	var run RebalanceRun
	err = r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
		w := &work{}
		if cur, ok, err := tx.RebalanceRun(ctx, runID); err != nil || ok {
			if ok && cur.WalletID != walletID {
				return fmt.Errorf("run %s is wallet %s's, not %s's", runID, cur.WalletID, walletID)
			}
			run, found = cur, ok
			return err
		}
		p, wal, err := r.plan(ctx, tx, walletID, runID, o)
		if err != nil || (len(p.Plan.Switches) == 0 && !o.Force) {
			return err
		}
		// under the wallet's lock (plan took it): a manual run and the
		// scheduled check cannot both plan on the same holdings
		if what, err := tx.InFlight(ctx, walletID, p.Folio, runID); err != nil || what != "" {
			if err == nil {
				err = fmt.Errorf("rebalance %s: %w: %s", walletID, ErrRebalanceInFlight, what)
			}
			return err
		}
		run = RebalanceRun{ID: runID, WalletID: walletID, Folio: p.Folio, ModelID: p.Model, ModelVersion: p.Version, TaxAware: o.TaxAware,
			Plan: p.Plan, Requests: p.Requests, Status: "proposed"}
		found = true
		if len(p.Plan.Switches) == 0 {
			// A model change that needs no switch (tax-aware: within half
			// the threshold) is still recorded, so the portfolio counts as
			// brought to this version (LastModel) and is not due again.
			if dayID {
				// Not under the day's id, or a later run today (not forced,
				// a drift over the threshold) would find it and do nothing
				// (r34 L3): under the model version's, as the scheduled
				// check records a model change.
				run.ID = CheckRunID(walletID, TriggerModel, p.Model, p.Version, fund.Date{})
				if cur, ok, err := tx.RebalanceRun(ctx, run.ID); err != nil || ok {
					run = cur
					return err
				}
			}
			run.Status = RunNothingToDo
			if err := tx.InsertRebalanceRun(ctx, run); err != nil {
				return fmt.Errorf("run %s: %w", run.ID, err)
			}
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "rebalance", ID: run.ID, Action: RunNothingToDo,
				Payload: map[string]any{"run_id": run.ID, "wallet_id": walletID, "folio": p.Folio, "model": p.Model, "model_version": p.Version, "plan": p.Plan}})
			return r.Wallet.flush(ctx, tx, w)
		}
		if err := tx.InsertRebalanceRun(ctx, run); err != nil {
			return fmt.Errorf("run %s: %w", runID, err)
		}
		ev := map[string]any{"event_id": TopicRebalanceProposed + ":" + runID, "run_id": runID, "wallet_id": walletID, "investor_id": wal.InvestorID,
			"folio": p.Folio, "model": p.Model, "model_version": p.Version, "plan": p.Plan}
		w.Events = append(w.Events, ledger.Event{ID: TopicRebalanceProposed + ":" + runID, Topic: TopicRebalanceProposed, Key: walletID, Payload: ev})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "rebalance", ID: runID, Action: "proposed", Payload: ev})
		return r.Wallet.flush(ctx, tx, w)
	})
	if err != nil || !found {
		return res, found, err
	}
	if run.Status != "proposed" { // placed, or nothing to do: no orders
		return Executed{RunID: run.ID, WalletID: run.WalletID, Folio: run.Folio, Orders: []OrderPlaced{}}, true, nil
	}
	if r.crash != nil {
		if err := r.crash("proposed", runID); err != nil {
			return res, true, err
		}
	}
	res, err = r.place(ctx, run)
	return res, true, err
}

// Resume finishes runs a crash left 'proposed'.
func (r *Rebalancer) Resume(ctx context.Context, limit int) (int, error) {
	ids, err := r.Store.OpenRebalances(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("open rebalances: %w", err)
	}
	n := 0
	for _, id := range ids {
		var run RebalanceRun
		var ok bool
		if err := r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
			run, ok, err = tx.RebalanceRun(ctx, id)
			return err
		}); err != nil {
			return n, err
		}
		if !ok || run.Status != "proposed" {
			continue
		}
		if _, err := r.place(ctx, run); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// place places a fixed run's switch requests and marks it placed.
func (r *Rebalancer) place(ctx context.Context, run RebalanceRun) (Executed, error) {
	now := r.Wallet.now()
	ins := make([]fund.OrderIntake, 0, len(run.Requests))
	for _, body := range run.Requests {
		in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "rebalance", At: now, MaxSkew: r.MaxSkew})
		if !ok {
			return Executed{}, fmt.Errorf("rebalance %s: request %s: %v", run.ID, body, err)
		}
		ins = append(ins, in)
	}
	placed, err := r.Ledger.PlaceOrders(ctx, ins)
	if err != nil {
		return Executed{}, fmt.Errorf("rebalance %s: place switches: %w", run.ID, err)
	}
	ex := Executed{EventID: TopicRebalanceExecuted + ":" + run.ID, RunID: run.ID, WalletID: run.WalletID, Folio: run.Folio, Orders: make([]OrderPlaced, len(placed))}
	for i, p := range placed {
		s := run.Plan.Switches[i]
		ex.Orders[i] = OrderPlaced{OrderID: p.ID, Scheme: s.From + ">" + s.To, Amount: s.Amount, Outcome: ledger.OutcomeAccepted}
		if len(p.Legs) == 0 {
			// Refused as placed: no leg, so no money moved.
			ex.Orders[i].Outcome, ex.Orders[i].Reason = ledger.OutcomeRejected, p.Reason
		}
	}
	if r.crash != nil {
		if err := r.crash("placed", run.ID); err != nil {
			return Executed{}, err
		}
	}
	err = r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
		w := &work{}
		if _, _, err := tx.LockWallet(ctx, run.WalletID); err != nil {
			return err
		}
		cur, ok, err := tx.RebalanceRun(ctx, run.ID)
		if err != nil || !ok || cur.Status == "placed" {
			return err
		}
		if err := tx.SetRebalancePlaced(ctx, run.ID); err != nil {
			return err
		}
		w.Events = append(w.Events, ledger.Event{ID: ex.EventID, Topic: TopicRebalanceExecuted, Key: run.WalletID, Payload: ex})
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "rebalance", ID: run.ID, Action: "executed", Payload: ex})
		return r.Wallet.flush(ctx, tx, w)
	})
	if err != nil {
		return Executed{}, fmt.Errorf("rebalance %s: finish: %w", run.ID, err)
	}
	return ex, nil
}

// AccountLedgerPayout is the wallet journal's claim on the ledger's
// payout:<folio> for money a failed rebalance switch-in paid out and the
// wallet took back.
func AccountLedgerPayout(folio string) string { return "ledger_payout:" + folio }

// Sweep credits the wallet with what the ledger paid out for each
// rebalance switch whose switch-in failed (once per switch: the entry is
// unique on it), so no rupee of a rebalance ends outside the wallet or its
// holdings.
func (r *Rebalancer) Sweep(ctx context.Context, limit int) (int, error) {
	ids, err := r.Store.PayoutsToSweep(ctx, limit)
	if err != nil {
		return 0, fmt.Errorf("switch payouts: %w", err)
	}
	return SweepEach(ctx, ids, "sweep switch", func(ctx context.Context, id string) (bool, error) {
		swept := false
		err := r.Store.InRebalanceTx(ctx, func(tx RebalanceTx) error {
			w := &work{}
			walletID, folio, amt, ok, err := tx.SwitchPayout(ctx, id)
			if err != nil || !ok {
				return err
			}
			wal, ok, err := tx.LockWallet(ctx, walletID)
			if err != nil || !ok {
				return err
			}
			e := Entry{WalletID: wal.ID, Kind: "switch_payout", Ref: id, Amount: amt, Postings: []fund.Posting{
				{Account: AccountLedgerPayout(folio), Asset: fund.AssetINR, Amount: amt.Decimal()},
				{Account: AccountWallet(wal.ID), Asset: fund.AssetINR, Amount: amt.Decimal().Neg()},
			}}
			_, inserted, err := tx.Post(ctx, e, amt)
			if err != nil || !inserted {
				return err
			}
			if err := r.Wallet.PassOnClosed(ctx, tx, w, wal, "switch_payout", id, amt); err != nil {
				return err
			}
			swept = true
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "switch_payout",
				Payload: map[string]string{"switch_id": id, "folio": folio, "amount": amt.String()}})
			return r.Wallet.flush(ctx, tx, w)
		})
		return swept, err
	})
}

// SweepEach is the sweep mechanism shared by everything that brings money
// the ledger ended outside its owner back home (a rebalance's switch
// payouts, a pool's purchases the ledger cancelled after payment): each
// id in its own transaction (sweepOne), so one id's failure keeps the
// ones swept before it, and a run stopped anywhere is finished by the
// next. sweepOne must be idempotent on the id (its entry unique on it)
// and say whether it moved money now. It returns how many it moved.
func SweepEach(ctx context.Context, ids []string, what string, sweepOne func(ctx context.Context, id string) (bool, error)) (int, error) {
	n := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		swept, err := sweepOne(ctx, id)
		if err != nil {
			return n, fmt.Errorf("%s %s: %w", what, id, err)
		}
		if swept {
			n++
		}
	}
	return n, nil
}
