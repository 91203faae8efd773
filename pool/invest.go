package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// TopicInvested is the event of a pool's batch whose orders are placed and
// paid (or refused, the money back in the pool's cash).
const TopicInvested = "pool.invested"

// Wallet journal kinds of a pool's own investing (no member wallet).
const (
	KindInvest       = "pool_invest"
	KindInvestRefund = "pool_invest_refund"
)

// InvestRun is a pool's contribution batch of a NAV date, invested.
type InvestRun struct {
	Pool         string
	Date         fund.Date
	ModelID      string
	ModelVersion int
	Batch        fund.Amount // the contributions priced at that NAV
	Invested     fund.Amount // the legs' sum
	Split        managed.Split
	Requests     []string // the order requests' bodies, fixed
	Status       string   // debited, placed
}

// Invested is the pool.invested event.
type Invested struct {
	EventID   string               `json:"event_id"`
	Pool      string               `json:"pool_id"`
	NAVDate   string               `json:"nav_date"`
	Model     string               `json:"model"`
	Version   int                  `json:"model_version"`
	Batch     fund.Amount          `json:"batch"`
	Invested  fund.Amount          `json:"invested"`
	Leftover  fund.Amount          `json:"leftover"`
	Leftovers []managed.Leftover   `json:"leftovers,omitempty"`
	Orders    []wallet.OrderPlaced `json:"orders"`
}

func investOrderID(pool string, day fund.Date, scheme string) string {
	return "PI-" + pool + "-" + day.String() + "-" + scheme
}

func investRef(pool string, day fund.Date) string { return pool + ":" + day.String() }

// investBatch is a pool's batch, inside ComputeNAV's transaction: the
// contributions priced at this NAV are split over the pool's model as a
// wallet's deposit is (managed.SplitDeposit: minimums, multiples,
// leftovers with their reasons) and the legs' sum leaves the pool's cash.
// The run, keyed by (pool, day) like the NAV row, fixes the order
// requests, so the batch is invested exactly once; PlaceInvestments
// places them after the commit. A batch larger than the cash left after
// the day's withdrawals invests only that cash.
func (s *Service) investBatch(ctx context.Context, tx Tx, w *work, p *Pool, day fund.Date, settled []Request) error {
	if p.Model == "" || p.Folio == "" {
		return nil
	}
	if s.Ledger == nil {
		// Never price a day without investing its batch: the batch would
		// never be invested.
		return fmt.Errorf("pool %s invests in model %s but the service has no ledger", p.ID, p.Model)
	}
	var batch fund.Amount
	for _, r := range settled {
		if r.Kind == "contribution" && r.Status == "priced" {
			batch = batch.Add(r.Amount)
		}
	}
	if batch.Cmp(p.Cash) > 0 {
		batch = p.Cash
	}
	if batch.Sign() <= 0 {
		return nil
	}
	m, ok, err := tx.ModelAt(ctx, p.Model, day)
	if err != nil || !ok {
		return errors.Join(err, boolErr(ok, fmt.Errorf("model %s has no version effective on %s", p.Model, day)))
	}
	investor, ok, err := tx.FolioInvestor(ctx, p.Folio)
	if err != nil || !ok {
		return errors.Join(err, boolErr(ok, fmt.Errorf("pool folio %s does not exist", p.Folio)))
	}
	split, err := managed.SplitDeposit(batch, m)
	if err != nil {
		return err
	}
	run := InvestRun{Pool: p.ID, Date: day, ModelID: m.ID, ModelVersion: m.Version, Batch: batch, Split: split, Status: "debited"}
	for _, l := range split.Legs {
		run.Invested = run.Invested.Add(l.Amount)
	}
	run.Requests = wallet.PurchaseRequests(split.Legs, func(scheme string) string { return investOrderID(p.ID, day, scheme) },
		investor, p.Folio, s.now())
	if run.Invested.IsZero() {
		run.Status = "placed" // all of it below the minimums: it stays cash
	} else {
		gw := wallet.AccountCash(s.Ledger.GatewayName())
		e := wallet.Entry{Kind: KindInvest, Ref: investRef(p.ID, day), Amount: run.Invested, Postings: []fund.Posting{
			{Account: AccountCash(p.ID), Asset: fund.AssetINR, Amount: run.Invested.Decimal()},
			{Account: gw, Asset: fund.AssetINR, Amount: run.Invested.Decimal().Neg()},
		}}
		if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
			return errors.Join(err, boolErr(inserted, fmt.Errorf("pool %s's batch of %s was debited without a run", p.ID, day)))
		}
		p.Cash = p.Cash.Sub(run.Invested)
	}
	if err := tx.InsertInvestRun(ctx, run); err != nil {
		return err
	}
	if run.Status == "placed" {
		s.announceInvested(w, run, nil)
	}
	w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: p.ID, Action: "invest_debited",
		Payload: map[string]any{"nav_date": day.String(), "model": m.ID, "version": m.Version, "batch": batch.String(), "split": split}})
	return nil
}

func (s *Service) announceInvested(w *work, r InvestRun, orders []wallet.OrderPlaced) {
	ev := Invested{EventID: TopicInvested + ":" + r.Pool + ":" + r.Date.String(), Pool: r.Pool, NAVDate: r.Date.String(), Model: r.ModelID,
		Version: r.ModelVersion, Batch: r.Batch, Invested: r.Invested, Leftover: r.Split.Leftover, Leftovers: r.Split.Leftovers, Orders: orders}
	if ev.Orders == nil {
		ev.Orders = []wallet.OrderPlaced{}
	}
	w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicInvested, Key: r.Pool, Payload: ev})
}

// PlaceInvestments places the pool's runs not placed yet (the batch just
// priced, or one a crash left), oldest first: the fixed requests placed
// and paid through the ledger (wallet.PlaceAndPay, idempotent there), then
// in one transaction a refused order's amount back to the pool's cash and
// the run placed. It returns the orders paid.
func (s *Service) PlaceInvestments(ctx context.Context, poolID string) (int, error) {
	if s.Ledger == nil {
		return 0, nil
	}
	var days []fund.Date
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) { days, err = tx.DebitedRuns(ctx, poolID); return err }); err != nil {
		return 0, fmt.Errorf("pool %s investments: %w", poolID, err)
	}
	paid := 0
	for _, day := range days {
		n, err := s.placeRun(ctx, poolID, day)
		if err != nil {
			return paid, fmt.Errorf("pool %s investment of %s: %w", poolID, day, err)
		}
		paid += n
	}
	return paid, nil
}

func (s *Service) placeRun(ctx context.Context, poolID string, day fund.Date) (int, error) {
	var run InvestRun
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) {
		var ok bool
		run, ok, err = tx.InvestRun(ctx, poolID, day)
		return errors.Join(err, boolErr(ok, errors.New("no such run")))
	}); err != nil {
		return 0, err
	}
	if run.Status != "debited" {
		return 0, nil
	}
	if s.crash != nil {
		if err := s.crash("debited", poolID); err != nil {
			return 0, err
		}
	}
	orders, paid, err := wallet.PlaceAndPay(ctx, s.Ledger, s.now(), s.MaxSkew, run.Requests, run.Split.Legs, map[string]string{"pool_id": poolID})
	if err != nil {
		return 0, err
	}
	if s.crash != nil {
		if err := s.crash("paid", poolID); err != nil {
			return 0, err
		}
	}
	err = s.inTx(ctx, func(tx Tx, w *work) error {
		p, ok, err := tx.LockPool(ctx, poolID)
		if err != nil || !ok {
			return errors.Join(err, boolErr(ok, ErrNoPool))
		}
		cur, _, err := tx.InvestRun(ctx, poolID, day)
		if err != nil || cur.Status != "debited" {
			return err
		}
		var refunded []string
		gw := wallet.AccountCash(s.Ledger.GatewayName())
		for _, o := range orders {
			if o.Outcome != ledger.OutcomeRejected {
				continue
			}
			if err := returnLeg(ctx, tx, &p, gw, o.OrderID, o.Amount); err != nil {
				return err
			}
			refunded = append(refunded, o.OrderID)
		}
		if err := tx.FinishInvestRun(ctx, poolID, day, refunded); err != nil {
			return err
		}
		if err := tx.UpdatePool(ctx, p); err != nil {
			return err
		}
		s.announceInvested(w, cur, orders)
		w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "invest_placed", Payload: orders})
		return nil
	})
	return paid, err
}

// returnLeg puts a purchase leg's amount back into the pool's cash (Dr
// wallet_cash:<gateway> / Cr pool:<p>, the pool_invest debit's reverse):
// the money never reached the ledger's gateway account. The entry is
// unique on the order id, so a leg comes back once, refused at placement
// or ended by the ledger later, never both.
func returnLeg(ctx context.Context, tx Tx, p *Pool, gw, orderID string, amt fund.Amount) error {
	e := wallet.Entry{Kind: KindInvestRefund, Ref: orderID, Amount: amt, Postings: []fund.Posting{
		{Account: gw, Asset: fund.AssetINR, Amount: amt.Decimal()},
		{Account: AccountCash(p.ID), Asset: fund.AssetINR, Amount: amt.Decimal().Neg()},
	}}
	if _, inserted, err := tx.Post(ctx, e, fund.Amount{}); err != nil || !inserted {
		return errors.Join(err, boolErr(inserted, fmt.Errorf("refund of %s posted before", orderID)))
	}
	p.Cash = p.Cash.Add(amt)
	return nil
}
