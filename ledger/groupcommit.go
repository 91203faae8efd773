package ledger

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/fundflow/fundflow/pipelines"
)

// ReceiveMany stores and applies several webhook events in ONE transaction
// (group commit): what Receive does for each, in order, with one commit and
// one pass of the audit chain's lock for all of them. Locks are taken for
// the whole batch in the lock order on Service (inbox rows, match keys,
// folios); then each event is applied. Any error fails them all (nothing is
// stored); GroupReceiver then applies them one by one.
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
				matchKeys = append(matchKeys, p.NotesOrderID, p.GatewayOrderID)
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
			n := len(t.allotted)
			if rc.Status, rc.Reason, err = t.apply(ev); err != nil {
				return fmt.Errorf("event %s: %w", ev.EventID, err)
			}
			if n < len(t.allotted) {
				rc.Allotted = append([]string(nil), t.allotted[n:]...)
			}
			if rc.Status != "applied" {
				if err := t.db.SetInboxStatus(ctx, ev.Source, ev.EventID, rc.Status, rc.Reason); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GroupReceiver stores webhook events through the Service with group commit:
// concurrent Receive calls are gathered (up to Max, waiting at most Linger
// after the first) into one ReceiveMany transaction; each call returns when
// its event is durable. If the batch fails, its events are received one by
// one, so one bad event never holds the others back.
type GroupReceiver struct {
	Service *Service
	Max     int           // events per transaction; default 64
	Linger  time.Duration // default 2 ms
	Workers int           // transactions in flight at once; default 4

	reqs chan groupReq // made by NewGroupReceiver
}

type groupReq struct {
	ev    InboxEvent
	reply chan groupRes
}

type groupRes struct {
	rc  Receipt
	err error
}

// Run gathers and writes until ctx ends, with Workers writers side by side
// (default 4: while one commits, the others build their transactions).
func (g *GroupReceiver) Run(ctx context.Context) {
	n := g.Workers
	if n <= 0 {
		n = 4
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.run(ctx)
		}()
	}
	wg.Wait()
}

func (g *GroupReceiver) run(ctx context.Context) {
	max := g.Max
	if max <= 0 {
		max = 64
	}
	linger := g.Linger
	if linger <= 0 {
		linger = 2 * time.Millisecond
	}
	for {
		var batch []groupReq
		select {
		case <-ctx.Done():
			return
		case r := <-g.reqs:
			batch = append(batch, r)
		}
		t := time.NewTimer(linger)
	gather:
		for len(batch) < max {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			case <-t.C:
				break gather
			}
		}
		t.Stop()
		g.write(ctx, batch)
	}
}

// NewGroupReceiver returns a receiver; call Run in a goroutine.
func NewGroupReceiver(s *Service, max int, linger time.Duration) *GroupReceiver {
	return &GroupReceiver{Service: s, Max: max, Linger: linger, reqs: make(chan groupReq, 1024)}
}

func (g *GroupReceiver) write(ctx context.Context, batch []groupReq) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*time.Second)
	defer cancel()
	evs := make([]InboxEvent, len(batch))
	for i, r := range batch {
		evs[i] = r.ev
	}
	rcs, err := g.Service.ReceiveMany(wctx, evs)
	if err == nil {
		for i, r := range batch {
			r.reply <- groupRes{rc: rcs[i]}
		}
		return
	}
	if len(batch) == 1 && !pipelines.IsTransient(err) {
		batch[0].reply <- groupRes{err: err}
		return
	}
	// One by one: the bad event fails alone (and a deadlock between
	// batches, retried as single events, goes away).
	for _, r := range batch {
		rc, err := g.Service.Receive(wctx, r.ev)
		r.reply <- groupRes{rc: rc, err: err}
	}
}

// Receive queues one event and waits until it is written (or ctx ends: the
// event may still be written, and a redelivery is then a duplicate).
func (g *GroupReceiver) Receive(ctx context.Context, ev InboxEvent) (Receipt, error) {
	r := groupReq{ev: ev, reply: make(chan groupRes, 1)}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return Receipt{}, pipelines.Transient(ctx.Err())
	}
	select {
	case res := <-r.reply:
		return res.rc, res.err
	case <-ctx.Done():
		return Receipt{}, pipelines.Transient(ctx.Err())
	}
}
