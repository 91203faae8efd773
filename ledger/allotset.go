package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
)

// AlertAllotFailed is raised for a leg whose allotment failed on its own
// data (an invariant the rules check: lots that do not add up to the
// holding, a NAV that is not one): the leg stays pending_nav, the rest of
// its batch is allotted, and the next pass tries it again.
const AlertAllotFailed = "allot_failed"

// legError is one leg's allotment failing on its own data.
type legError struct {
	id  string
	err error
}

func (e *legError) Error() string { return fmt.Sprintf("allot %s: %v", e.id, e.err) }
func (e *legError) Unwrap() error { return e.err }

// allotSet allots a batch set-based, in one transaction: the batch's
// folios locked in folio order (one statement), its legs locked (one),
// the NAVs, schemes, holdings and open lots read and ids reserved (one
// round trip); every allotment decided by the per-leg code in Go on a
// staged Tx; then the rows written with set statements (one round trip),
// the outbox rows (one) and the audit rows (one step of the chain's head).
//
// A leg whose allotment fails on its own data does not fail the batch: the
// batch is redone without it (nothing of the failed try was written), and
// the redo raises an allot_failed alert for it. A store error fails the
// batch (AllotPending retries a transient one whole).
func (s *Service) allotSet(ctx context.Context, items []LegRef) (allotted, failed int, err error) {
	skip := map[string]string{}
	for {
		n, err := s.allotSetOnce(ctx, items, skip)
		var le *legError
		if errors.As(err, &le) {
			if _, again := skip[le.id]; !again {
				skip[le.id] = le.err.Error()
				continue
			}
		}
		return n, len(skip), err
	}
}

func (s *Service) allotSetOnce(ctx context.Context, items []LegRef, skip map[string]string) (int, error) {
	var allotted int
	err := s.Store.InTx(ctx, func(db Tx) error {
		st := newStaged(db)
		t := &txn{ctx: ctx, db: st, svc: s, locked: map[string]bool{}, keyed: map[string]bool{}}
		folios := make([]string, 0, len(items))
		ids := make([]string, 0, len(items))
		for _, it := range items {
			folios = append(folios, it.Folio)
			if _, bad := skip[it.ID]; !bad {
				ids = append(ids, it.ID)
			}
		}
		sort.Strings(folios)
		locked, err := db.LockFolios(ctx, dedupSorted(folios))
		if err != nil {
			return fmt.Errorf("lock folios: %w", err)
		}
		for _, f := range locked {
			t.locked[f] = true
		}
		legs, err := db.LockLegs(ctx, ids)
		if err != nil {
			return fmt.Errorf("lock legs: %w", err)
		}
		st.addLegs(legs)
		if err := st.read(ctx, factsFor(legs)); err != nil {
			return err
		}
		for _, id := range ids {
			if err := t.tryAllot(id); err != nil {
				if isStoreError(err) || ctx.Err() != nil {
					return err
				}
				return &legError{id, err}
			}
		}
		failed := make([]string, 0, len(skip))
		for id := range skip {
			failed = append(failed, id)
		}
		sort.Strings(failed)
		for _, id := range failed {
			if err := st.RaiseAlert(ctx, AlertAllotFailed, id, skip[id]); err != nil {
				return err
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		if err := st.flush(ctx); err != nil {
			return err
		}
		allotted = len(t.allotted)
		return nil
	})
	return allotted, err
}

// factsFor is what the allotments of legs read: each pending leg's NAV, the
// schemes, the holdings, the open lots of those a redemption or switch-out
// consumes, and an id for each transaction and lot a leg can post (one
// each: a switch-in, read with its switch-out, posts its own).
func factsFor(legs []Leg) FactsQuery {
	var q FactsQuery
	navs, schemes, holdings, lots := map[NAVKey]bool{}, map[string]bool{}, map[HoldingKey]bool{}, map[HoldingKey]bool{}
	for _, l := range legs {
		k := HoldingKey{l.Folio, l.SchemeCode}
		if !schemes[l.SchemeCode] {
			schemes[l.SchemeCode] = true
			q.Schemes = append(q.Schemes, l.SchemeCode)
		}
		if !holdings[k] {
			holdings[k] = true
			q.Holdings = append(q.Holdings, k)
		}
		if l.Status == fund.PendingNAV && l.NAVDate != nil {
			if n := (NAVKey{l.SchemeCode, fund.DateOf(*l.NAVDate)}); !navs[n] {
				navs[n] = true
				q.NAVs = append(q.NAVs, n)
			}
		}
		q.TxIDs++
		if l.Kind.IssuesUnits() {
			q.LotIDs++
		} else if l.Status == fund.PendingNAV && !lots[k] {
			lots[k] = true
			q.Lots = append(q.Lots, k)
		}
	}
	return q
}

// allotDeferred allots the legs this ReceiveMany batch realised (deferred
// by realisePurchase), set-based: the same allotment code on a staged Tx,
// with the facts of all of them read in one round trip and their rows
// written with the set statements of the allocate pass. The legs are
// locked already (their folios, then the rows, by the events that realised
// them), and their NAV-date decisions are written with their status. The
// outbox and audit rows join the transaction's own, written last.
func (t *txn) allotDeferred() error {
	if len(t.deferred) == 0 {
		return nil
	}
	legs := t.deferred
	t.deferred = nil
	clear(t.readAhead) // the set-based writes below may change any leg
	st := newStaged(t.db)
	ls := make([]Leg, len(legs))
	for i := range legs {
		ls[i] = legs[i].Leg
	}
	st.addLegs(ls)
	if err := st.read(t.ctx, factsFor(ls)); err != nil {
		return err
	}
	tt := &txn{ctx: t.ctx, db: st, svc: t.svc, locked: t.locked, keyed: t.keyed}
	for i := range legs {
		if err := tt.tryAllotLeg(&legs[i]); err != nil {
			return err
		}
	}
	if err := st.flush(t.ctx); err != nil {
		return err
	}
	t.events = append(t.events, tt.events...)
	t.audits = append(t.audits, tt.audits...)
	t.allotted = append(t.allotted, tt.allotted...)
	return nil
}
