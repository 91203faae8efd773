package ledger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// tryAllot allots leg id if it is pending and its NAV is in navs; otherwise
// it leaves the leg as it is. The caller holds the leg's folio lock.
func (t *txn) tryAllot(id string) error {
	r, err := t.leg(id)
	if err != nil {
		return err
	}
	return t.tryAllotLeg(&r)
}

// tryAllotLeg is tryAllot for a leg already read (and locked) in this
// transaction; a NAV-date decision still in memory is written either way.
func (t *txn) tryAllotLeg(rp *legRow) error {
	r := *rp
	id := r.ID
	if !t.locked[r.Folio] {
		return fmt.Errorf("allot %s: folio %s is not locked", id, r.Folio)
	}
	if r.Status != fund.PendingNAV {
		return nil
	}
	if held, err := t.heldAtAllotment(&r); err != nil || held {
		*rp = r
		if err == nil && r.decided {
			err = t.persist(rp, fund.PendingNAV, "", 0)
		}
		return err
	}
	navDate := fund.DateOf(*r.NAVDate)
	st, err := t.db.AllotState(t.ctx, r.SchemeCode, navDate, r.Folio)
	if err != nil {
		return fmt.Errorf("allot %s: read NAV and holding: %w", id, err)
	}
	if st.NAV == nil {
		// Waits for the NAV: allocate runs again when it lands.
		if r.decided {
			return t.persist(rp, fund.PendingNAV, "", 0)
		}
		return nil
	}
	// The platform's one NAV rule (the column keeps what the file said).
	n, err := fund.AppliedNAV(*st.NAV)
	if err != nil {
		return fmt.Errorf("allot %s: NAV of %s on %s: %w", id, r.SchemeCode, navDate, err)
	}
	in := fund.AllotInput{Leg: r.OrderLeg, NAVDate: navDate, NAV: n, UnitsScale: st.Scale, Gateway: t.svc.gateway()}
	if r.PaymentID != nil {
		in.PaymentID = *r.PaymentID
	}
	in.Held = fund.MustUnits("0", st.Scale)
	if st.Held != nil {
		if in.Held, err = fund.UnitsFromDecimal(*st.Held, st.Scale, fund.NoRounding); err != nil {
			return fmt.Errorf("allot %s: holding: %w", id, err)
		}
	}
	if !r.Kind.IssuesUnits() {
		if in.Lots, err = t.db.OpenLots(t.ctx, r.Folio, r.SchemeCode, st.Scale); err != nil {
			return fmt.Errorf("lots of %s/%s: %w", r.Folio, r.SchemeCode, err)
		}
		if in.Slabs, err = t.db.LoadSlabs(t.ctx, r.SchemeCode); err != nil {
			return fmt.Errorf("loads of %s: %w", r.SchemeCode, err)
		}
	}
	a, err := t.svc.rules().Allot(in)
	if err != nil {
		return err
	}
	if a.Reject != "" {
		err = t.rejectLeg(&r, a.Reject, a.RejectDetail)
	} else {
		err = t.writeAllotment(&r, a)
	}
	*rp = r
	return err
}

// rejectLeg rejects a leg at allotment (and the switch-in of a rejected
// switch-out).
func (t *txn) rejectLeg(r *legRow, reason, detail string) error {
	if err := t.setStatus(r, fund.Rejected, reason, nil, 0); err != nil {
		return err
	}
	t.audit("order", r.ID, "rejected_detail", map[string]string{"reason": reason, "detail": detail})
	if r.Kind == fund.SwitchOut {
		in, err := t.leg(fund.SwitchInLeg(r.SwitchID))
		if err != nil {
			return err
		}
		if !in.Status.Final() {
			return t.setStatus(&in, fund.Rejected, "switch_out_rejected", nil, 0)
		}
	}
	return nil
}

// writeAllotment writes one allotment: the ledger transaction and its
// postings, the lot created or consumed, the holding, the leg's status and
// the events, all in the caller's transaction.
func (t *txn) writeAllotment(r *legRow, a fund.Allocation) error {
	if err := fund.CheckPostings(a.Postings); err != nil {
		return fmt.Errorf("post %s: %w", r.ID, err)
	}
	p, err := t.db.PostAllotment(t.ctx, r.ID, a)
	if err != nil {
		return fmt.Errorf("allot %s: %w", r.ID, err)
	}
	if err := t.setStatus(r, fund.Allotted, "", &a.NAVDate, p.TxID); err != nil {
		return err
	}
	t.emitTx(r, a.Kind.String(), a, p)
	t.allotted = append(t.allotted, r.ID)
	if a.Kind == fund.SwitchOut {
		return t.switchIn(a)
	}
	return nil
}

// emitTx emits transactions.completed and the audit row of a ledger
// transaction posted for leg r.
func (t *txn) emitTx(r *legRow, kind string, a fund.Allocation, p Posted) {
	ev := fund.TransactionCompleted{EventID: fund.TopicTransactions + ":" + r.ID, TxID: p.TxID, OrderID: r.ID, RequestID: r.RequestID, SwitchID: a.SwitchID,
		Kind: kind, Folio: a.Folio, InvestorID: r.InvestorID, SchemeCode: a.Scheme, NAVDate: a.NAVDate.String(),
		NAV: a.NAV.String(), Units: a.Units.String(), Amount: a.Amount.String(), StampDuty: a.StampDuty.String(),
		ExitLoad: a.ExitLoad.String(), NetAmount: a.Net.String(), PaymentID: a.PaymentID,
		PlacedAt: r.PlacedAt.UTC().Format(time.RFC3339Nano), PostedAt: p.PostedAt.UTC().Format(time.RFC3339Nano)}
	t.emit(fund.TopicTransactions, ev.EventID, a.Folio, ev)
	t.audit("ledger_tx", fmt.Sprint(p.TxID), "posted", ev)
}

// switchIn releases the purchase leg of a switch once its switch-out is
// allotted: it buys with the switch-out's payout, its funds count from the
// switch request's time stamp.
func (t *txn) switchIn(out fund.Allocation) error {
	in, err := t.leg(fund.SwitchInLeg(out.SwitchID))
	if err != nil {
		return err
	}
	if in.Status != fund.AwaitingLeg {
		return nil
	}
	if out.Net.Sign() <= 0 {
		return t.setStatus(&in, fund.Rejected, "nothing_to_switch", nil, 0)
	}
	amt := out.Net
	in.Amount = &amt // written with the decision
	if err := t.decideNAVDate(&in, in.PlacedAt, ""); err != nil {
		return err
	}
	return t.tryAllotLeg(&in)
}

// AllotResult counts what an allocate pass did.
type AllotResult struct {
	Allotted int `json:"allotted"`         // legs allotted
	Matched  int `json:"matched"`          // payments matched to orders placed after them
	Waiting  int `json:"waiting"`          // legs still waiting for their NAV (those that failed included)
	Failed   int `json:"failed,omitempty"` // legs whose allotment failed on their own data: left pending, an allot_failed alert each
}

// batchRetry retries a batch whose transaction failed on a transient
// error (a deadlock, a restarting database), whole.
var batchRetry = pipelines.Retry{Attempts: 4, Base: 100 * time.Millisecond, Max: 2 * time.Second}

// AllotPending allots every pending leg whose NAV has landed (and first
// matches captured payments still unmatched to orders placed since), in
// transactions of at most batch legs each, set-based (allotSet): each
// batch's folios locked in folio order in one statement, its facts read
// with a few set queries, every allotment decided in Go, its rows written
// with set statements. nav-ingest calls it after a load; `fundflow run
// allocate` runs it on demand. Safe to run concurrently with everything
// else, and again.
func (s *Service) AllotPending(ctx context.Context, batch int) (AllotResult, error) {
	return s.allotPending(ctx, batch, s.allotSet)
}

// allotBatch allots one batch of pending legs in one transaction and says
// how many legs it allotted and how many failed.
type allotBatch func(ctx context.Context, items []LegRef) (allotted, failed int, err error)

func (s *Service) allotPending(ctx context.Context, batch int, allot allotBatch) (AllotResult, error) {
	if batch <= 0 {
		batch = 100
	}
	var res AllotResult
	m, err := s.MatchUnmatched(ctx)
	if err != nil {
		return res, err
	}
	res.Matched = m
	// One reader pages the pending legs in folio order into folio-aligned
	// batches; AllotWorkers transactions allot them at once. Batches with
	// no folio in common lock nothing in common, so the second one's reads,
	// Go work and writes overlap the first one's; the audit chain's head,
	// taken last, is their only shared step.
	g, gctx := errgroup.WithContext(ctx)
	// A worker takes a run of batches and allots them in order: a folio
	// with more legs than a batch spans several, and its legs must be
	// allotted in their order (a redemption after the purchase before it),
	// which two workers racing for the folio's lock would not keep.
	runs := make(chan [][]LegRef)
	var mu sync.Mutex
	for range max(1, s.AllotWorkers) {
		g.Go(func() error {
			for run := range runs {
				for _, items := range run {
					var n, failed int
					err := batchRetry.Do(gctx, "allocate batch", func(ctx context.Context) error {
						var err error
						n, failed, err = allot(ctx, items)
						return err
					})
					if err != nil {
						return fmt.Errorf("allocate: %w", err)
					}
					mu.Lock()
					res.Allotted += n
					res.Failed += failed
					mu.Unlock()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(runs)
		lastFolio, lastID := "", ""
		var run [][]LegRef
		for {
			items, err := s.Store.PendingWithNAV(gctx, lastFolio, lastID, batch)
			if err != nil {
				return err
			}
			if len(items) == 0 && len(run) == 0 {
				return nil
			}
			// A full page of one folio may go on in the next page: the
			// run holds on to it until a page starts with another folio.
			goesOn := false
			if len(items) == batch {
				items = folioAligned(items)
				goesOn = items[0].Folio == items[len(items)-1].Folio
			}
			if len(items) > 0 {
				run = append(run, items)
				lastFolio, lastID = items[len(items)-1].Folio, items[len(items)-1].ID
			}
			if goesOn {
				continue
			}
			select {
			case runs <- run:
				run = nil
			case <-gctx.Done():
				return gctx.Err()
			}
			if len(items) == 0 {
				return nil
			}
		}
	})
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Waiting, err = s.Store.CountPendingNAV(ctx)
	return res, err
}

// folioAligned drops a full page's last folio, whose legs may go on past
// the page, so that the next page starts with all of them: a folio split
// over two batches would make the second wait for the first's commit. A
// page that is one folio only is kept whole (and the batches after it that
// hold the same folio's legs go to the same worker, in order).
func folioAligned(items []LegRef) []LegRef {
	last := items[len(items)-1].Folio
	i := len(items)
	for i > 0 && items[i-1].Folio == last {
		i--
	}
	if i == 0 {
		return items
	}
	return items[:i]
}

// allotLegs is the per-leg batch: each leg allotted with its own
// statements (reads, then writes) in the batch's transaction. The
// set-based pass (allotSet) runs the same code on a staged Tx; this one is
// its reference (the differential test compares the two).
func (s *Service) allotLegs(ctx context.Context, items []LegRef) (int, int, error) {
	t, err := s.inTx(ctx, func(t *txn) error {
		folios := make([]string, len(items))
		for i, it := range items {
			folios[i] = it.Folio
		}
		if err := t.lockFolios(folios...); err != nil {
			return err
		}
		for _, it := range items {
			if err := t.tryAllot(it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return len(t.allotted), 0, nil
}
