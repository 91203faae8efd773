package ledger

import (
	"context"
	"fmt"
	"sort"
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
		// The orders, looked up under the match keys; their folios locked
		// in folio order before any row.
		t.found = map[string]LegRef{}
		var folios []string
		for i, ev := range evs {
			if out[i].Duplicate || ev.Payment == nil || ev.Problem != "" {
				continue
			}
			if _, ok := t.found[ev.Payment.PaymentID]; ok {
				continue
			}
			f, err := t.db.FindOrder(ctx, *ev.Payment)
			if err != nil {
				return fmt.Errorf("find order of payment %s: %w", ev.Payment.PaymentID, err)
			}
			t.found[ev.Payment.PaymentID] = f
			if f.Folio != "" {
				folios = append(folios, f.Folio)
			}
		}
		if err := t.lockFolios(folios...); err != nil {
			return err
		}
		// The legs the batch's payments realise are allotted together at
		// the end, set-based (allotDeferred), not one by one.
		t.deferAllot, t.deferredBy = true, map[string]int{}
		for i, ev := range evs {
			if out[i].Duplicate {
				continue
			}
			rc := &out[i]
			if ev.Payment != nil {
				// A payment met earlier in this batch may have been matched
				// since: look it up again.
				delete(t.found, ev.Payment.PaymentID)
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
