package ledger

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/fundflow/fundflow/fund"
)

// ReceiveMany stores and applies several webhook events in ONE transaction
// (group commit): what Receive does for each, in order, with one commit and
// one pass of the audit chain's lock for all of them. Locks are taken for
// the whole batch in the lock order on Service (inbox rows, match keys,
// folios); then each event is applied. Any error fails them all (nothing is
// stored): the payments pipeline's sink (pipelines.CallSink in
// cmd/fundflow) then receives them one by one, so a bad event fails alone.
func (s *Service) ReceiveMany(ctx context.Context, evs []InboxEvent) ([]Receipt, error) {
	out := make([]Receipt, len(evs))
	// A payment without a time of its own is timed now, once, so that
	// moving it forward ahead (advanceAhead) and applying it agree.
	evs = slices.Clone(evs)
	for i := range evs {
		if p := evs[i].Payment; p != nil && p.EventAt.IsZero() {
			q := *p
			q.EventAt = s.now()
			evs[i].Payment = &q
		}
	}
	_, err := s.inTx(ctx, func(t *txn) error {
		for i := range out {
			out[i] = Receipt{}
		}
		// Inbox rows, by event id: the same id twice (in this batch or
		// before) is a duplicate.
		first := map[string]int{}
		var keys []string
		for i, ev := range evs {
			k := InboxKey(ev.Source, ev.EventID)
			if _, dup := first[k]; dup {
				out[i].Duplicate = true
				continue
			}
			first[k] = i
			keys = append(keys, k)
		}
		sort.Strings(keys)
		uniq := make([]InboxEvent, len(keys))
		for j, k := range keys {
			uniq[j] = evs[first[k]]
		}
		inserted, err := t.db.InsertInboxMany(ctx, uniq)
		if err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		var matchKeys []string
		for k, i := range first {
			if !inserted[k] {
				out[i].Duplicate = true
			} else if p := evs[i].Payment; p != nil && evs[i].Problem == "" {
				matchKeys = append(matchKeys, p.NotesOrderID, p.GatewayOrderID, p.TokenID)
			} else if m := evs[i].Mandate; m != nil && evs[i].Problem == "" {
				matchKeys = append(matchKeys, m.TokenID)
			}
		}
		if err := t.lockMatchKeys(matchKeys...); err != nil {
			return err
		}
		// The orders, looked up under the match keys in one statement;
		// their folios locked in folio order before any row; then their
		// legs read (and locked) in one statement too.
		var pays []fund.PaymentEvent
		seen := map[string]bool{}
		for i, ev := range evs {
			if out[i].Duplicate || ev.Payment == nil || ev.Problem != "" || seen[ev.Payment.PaymentID] {
				continue
			}
			seen[ev.Payment.PaymentID] = true
			pays = append(pays, *ev.Payment)
		}
		if t.found, err = t.db.FindOrders(ctx, pays); err != nil {
			return fmt.Errorf("find the orders of %d payments: %w", len(pays), err)
		}
		var folios, legIDs []string
		for _, p := range pays {
			if f, ok := t.found[p.PaymentID]; ok {
				folios, legIDs = append(folios, f.Folio), append(legIDs, f.ID)
			} else {
				t.found[p.PaymentID] = LegRef{} // no order: FindOrder's answer too
			}
		}
		if err := t.lockFolios(folios...); err != nil {
			return err
		}
		legs, err := t.db.LockLegs(ctx, legIDs)
		if err != nil {
			return fmt.Errorf("read %d orders: %w", len(legIDs), err)
		}
		t.readAhead = make(map[string]Leg, len(legs))
		for _, l := range legs {
			t.readAhead[l.ID] = l
		}
		if err := t.advanceAhead(evs, out); err != nil {
			return err
		}
		// The legs the batch's payments realise are allotted together at
		// the end, set-based (allotDeferred), not one by one.
		t.deferAllot, t.deferredBy = true, map[string]int{}
		touched := map[string]bool{}
		for i, ev := range evs {
			if out[i].Duplicate {
				continue
			}
			rc := &out[i]
			if p := ev.Payment; p != nil {
				// An earlier event of this batch on the same payment or
				// the same order keys may have changed what the lookup
				// finds: look it up again then.
				keys := []string{"p:" + p.PaymentID, "n:" + p.NotesOrderID, "g:" + p.GatewayOrderID}
				for _, k := range keys {
					if touched[k] {
						delete(t.found, p.PaymentID)
					}
				}
				for _, k := range keys {
					touched[k] = true
				}
			}
			t.event = i
			if rc.Status, rc.Reason, err = t.apply(ev); err != nil {
				return fmt.Errorf("event %s: %w", ev.EventID, err)
			}
			if rc.Status != "applied" {
				if err := t.db.SetInboxStatus(ctx, ev.Source, ev.EventID, rc.Status, rc.Reason); err != nil {
					return err
				}
			}
		}
		if err := t.allotDeferred(); err != nil {
			return err
		}
		for _, id := range t.allotted {
			if i, ok := t.deferredBy[id]; ok {
				out[i].Allotted = append(out[i].Allotted, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// advanceAhead moves forward, in one round trip, the payments of the events
// that no other event of the batch can affect: none shares its payment,
// its order keys or the order it pays for. applyPayment then uses the
// answer instead of asking. The others are moved forward in turn, as
// Receive does.
func (t *txn) advanceAhead(evs []InboxEvent, out []Receipt) error {
	keys := func(ev InboxEvent) []string {
		p := ev.Payment
		return []string{"p:" + p.PaymentID, "n:" + p.NotesOrderID, "g:" + p.GatewayOrderID, "o:" + t.found[p.PaymentID].ID}
	}
	uses := map[string]int{}
	for i, ev := range evs {
		if out[i].Duplicate || ev.Payment == nil || ev.Problem != "" {
			continue
		}
		for _, k := range keys(ev) {
			uses[k]++
		}
	}
	var ahead []Advance
	for i, ev := range evs {
		if out[i].Duplicate || ev.Payment == nil || ev.Problem != "" {
			continue
		}
		alone := true
		for _, k := range keys(ev) {
			alone = alone && uses[k] == 1
		}
		if alone {
			ahead = append(ahead, Advance{Payment: *ev.Payment, OrderID: t.found[ev.Payment.PaymentID].ID, EventID: ev.EventID})
		}
	}
	advs, err := t.db.AdvancePayments(t.ctx, ahead)
	if err != nil {
		return fmt.Errorf("payments of %d events: %w", len(ahead), err)
	}
	t.advanced = make(map[string]PaymentAdvance, len(ahead))
	for i, a := range ahead {
		t.advanced[a.Payment.PaymentID] = advs[i]
	}
	return nil
}
