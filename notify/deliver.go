package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sender hands a message to one channel's provider. Send is called from
// several goroutines at once. It returns the provider's id of the message;
// a *PermanentError when retrying cannot help; a *RetryAfterError when the
// provider asks us to wait.
type Sender interface {
	Channel() Channel
	Provider() string
	Send(ctx context.Context, n Notification) (providerID string, err error)
}

// Confirmer asks a provider whether a message it may have been handed
// arrived (the crash gap: sent, not recorded). found false means it did not.
type Confirmer interface {
	Confirm(ctx context.Context, n Notification) (providerID string, found bool, err error)
}

// Outcome is what one attempt left on its row.
type Outcome struct {
	ID         int64
	Status     Status // Sent, Queued (retry at NotBefore), Failed, Dead
	Provider   string
	ProviderID string
	Error      string
	NotBefore  time.Time
}

// Store is where the deliverer claims and records rows (notify/pgstore).
type Store interface {
	// Claim marks up to limit due queued rows 'sending' (committed) and
	// returns them, attempts already counted.
	Claim(ctx context.Context, limit int, now time.Time) ([]Notification, error)
	// Record writes the outcomes; Dead ones get a dead-letter row too.
	Record(ctx context.Context, outs []Outcome) error
	// Sending returns the rows left 'sending' (by a process that died),
	// with DigestEvent set on rows that went out inside a digest.
	Sending(ctx context.Context) ([]Notification, error)
	// MarkDigest records (committed) that rows ids go out as one digest
	// whose first row is ids[0], before the digest is sent.
	MarkDigest(ctx context.Context, ids []int64) error
}

// Backoff is the wait before attempt n+1 after n failed ones: exponential
// from Base, capped at Max, with full jitter (a random wait in [d/2, d]) so
// a crowd of retries does not arrive at once.
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after the attempts-th failed attempt.
func (b Backoff) Delay(attempts int) time.Duration {
	base, maxd := b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if maxd <= 0 {
		maxd = 10 * time.Minute
	}
	d := base
	for i := 1; i < attempts && d < maxd; i++ {
		d *= 2
	}
	d = min(d, maxd)
	return d/2 + rand.N(d/2+1)
}

// DefaultMaxAttempts is how many attempts a message gets before dead letter.
const DefaultMaxAttempts = 6

// Deliverer sends the due notifications. One runs at a time (the caller
// holds the single-runner lock): Reconcile trusts that every 'sending' row
// belongs to a dead process.
type Deliverer struct {
	Store      Store
	Senders    map[Channel]Sender
	Confirmers map[Channel]Confirmer // a channel without one: interrupted rows go by Unconfirmed
	// Unconfirmed is what becomes of an interrupted row on a channel
	// without a Confirmer; "": UnconfirmedFail.
	Unconfirmed Unconfirmed
	MaxAttempts int // 0: DefaultMaxAttempts
	Backoff     Backoff
	Workers     int // concurrent sends; 0: 8
	Batch       int // rows per claim; 0: 256
	// DigestOver is the per-investor rate limit: more than this many
	// non-urgent messages to one investor on one channel in a claimed batch
	// go as one digest; 0: no digests.
	DigestOver int
	Now        func() time.Time
	Log        *slog.Logger
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Reconcile settles the rows a dead process left 'sending': confirmed by
// the provider → sent; not found → queued again (it never arrived, so one
// more send is the first delivery); a provider that cannot be asked →
// by Unconfirmed: failed "interrupted: outcome unknown" (at most once; an
// operator replays), or queued again (at least once).
// The rows of a digest are settled together by the digest's message.
func (d *Deliverer) Reconcile(ctx context.Context) (confirmed, requeued, failed int, err error) {
	rows, err := d.Store.Sending(ctx)
	if err != nil || len(rows) == 0 {
		return 0, 0, 0, err
	}
	var groups [][]Notification
	at := map[string]int{}
	for _, n := range rows {
		if n.DigestEvent == "" {
			groups = append(groups, []Notification{n})
			continue
		}
		key := n.DigestEvent + "/" + string(n.Channel)
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], n)
	}
	outs := make([]Outcome, 0, len(rows))
	for _, g := range groups {
		msg := g[0]
		if g[0].DigestEvent != "" {
			msg = Digest(g)
		}
		prov := ""
		if s := d.Senders[msg.Channel]; s != nil {
			prov = s.Provider()
		}
		o := Outcome{Provider: prov}
		if c := d.Confirmers[msg.Channel]; c == nil && d.Unconfirmed == UnconfirmedResend {
			o.Status, o.Error, o.NotBefore = Queued, "interrupted: outcome unknown (the provider cannot be asked); sent again (notify.unconfirmed: resend)", d.now()
		} else if c == nil {
			o.Status, o.Error = Failed, "interrupted: outcome unknown (the provider cannot be asked); replay to send again"
		} else {
			id, found, err := c.Confirm(ctx, msg)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("notify: confirm %s/%s: %w", msg.EventID, msg.Channel, err)
			}
			if found {
				o.Status, o.ProviderID = Sent, id
			} else {
				o.Status, o.Error, o.NotBefore = Queued, "interrupted before the provider had it", d.now()
			}
		}
		for _, n := range g {
			o.ID = n.ID
			outs = append(outs, o)
			switch o.Status {
			case Sent:
				confirmed++
			case Queued:
				requeued++
			default:
				failed++
			}
		}
	}
	return confirmed, requeued, failed, d.Store.Record(ctx, outs)
}

// Digest is the one message that carries rows (one investor, one channel,
// oldest first): its event id is "digest:" + the first row's, so its
// Message-ID is stable, and its text lists each message.
func Digest(rows []Notification) Notification {
	first := rows[0]
	dg := Notification{EventID: "digest:" + first.EventID, Channel: first.Channel, InvestorID: first.InvestorID,
		EventType: "digest", Template: "digest", Recipient: first.Recipient, NotBefore: first.NotBefore,
		Subject: fmt.Sprintf("%d updates on your investments", len(rows))}
	var b strings.Builder
	for i, n := range rows {
		if first.Channel == SMS {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(strings.TrimSpace(n.Body))
			continue
		}
		if n.Subject != "" {
			fmt.Fprintf(&b, "%d. %s\n\n", i+1, n.Subject)
		}
		b.WriteString(strings.TrimSpace(n.Body))
		b.WriteString("\n\n")
	}
	dg.Body = b.String()
	return dg
}

// Pass claims one batch of due rows, sends them (Workers at a time) and
// records every outcome; it returns how many rows it claimed (0: none due).
func (d *Deliverer) Pass(ctx context.Context) (int, error) {
	rows, err := d.Store.Claim(ctx, d.batch(), d.now())
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return len(rows), d.record(ctx, d.sendAll(ctx, rows))
}

func (d *Deliverer) batch() int {
	if d.Batch <= 0 {
		return 256
	}
	return d.Batch
}

// record writes outcomes with a context of its own: a cancelled run still
// writes what it sent, so nothing sent is left 'sending'.
func (d *Deliverer) record(ctx context.Context, outs []Outcome) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return d.Store.Record(rctx, outs)
}

// sendAll sends rows, Workers at a time, and returns their outcomes. A
// burst to one investor on one channel (more than DigestOver non-urgent
// rows) is marked as a digest (committed) and sent as one message.
func (d *Deliverer) sendAll(ctx context.Context, rows []Notification) []Outcome {
	outs := make([]Outcome, len(rows))
	jobs := d.digests(ctx, rows, outs)
	workers := d.Workers
	if workers <= 0 {
		workers = 8
	}
	next := make(chan []int)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				if len(job) == 1 {
					outs[job[0]] = d.attempt(ctx, rows[job[0]])
					continue
				}
				g := make([]Notification, len(job))
				for k, i := range job {
					g[k] = rows[i]
				}
				dg := Digest(g)
				dg.Attempts = g[0].Attempts
				o := d.attempt(ctx, dg)
				for _, i := range job {
					o.ID = rows[i].ID
					outs[i] = o
				}
			}
		}()
	}
	for _, job := range jobs {
		next <- job
	}
	close(next)
	wg.Wait()
	return outs
}

// digests groups rows into send jobs (indexes into rows): one per row, or
// one per digest, marked in the store before it is sent. A digest that
// cannot be marked is sent as single messages.
func (d *Deliverer) digests(ctx context.Context, rows []Notification, outs []Outcome) [][]int {
	jobs := make([][]int, 0, len(rows))
	if d.DigestOver <= 0 {
		for i := range rows {
			jobs = append(jobs, []int{i})
		}
		return jobs
	}
	by := map[string][]int{}
	var order []string
	for i, n := range rows {
		if n.Urgent {
			jobs = append(jobs, []int{i})
			continue
		}
		k := n.InvestorID + "/" + string(n.Channel)
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], i)
	}
	for _, k := range order {
		g := by[k]
		if len(g) <= d.DigestOver {
			for _, i := range g {
				jobs = append(jobs, []int{i})
			}
			continue
		}
		// By id, as Reconcile rebuilds it: the same first row, the same text.
		slices.SortFunc(g, func(a, b int) int { return cmp.Compare(rows[a].ID, rows[b].ID) })
		ids := make([]int64, len(g))
		for j, i := range g {
			ids[j] = rows[i].ID
		}
		if err := d.Store.MarkDigest(ctx, ids); err != nil {
			if d.Log != nil {
				d.Log.Warn("notify: digest not marked; sending one by one", "investor", rows[g[0]].InvestorID, "err", err)
			}
			for _, i := range g {
				jobs = append(jobs, []int{i})
			}
			continue
		}
		jobs = append(jobs, g)
	}
	return jobs
}

// Drain sends until nothing is due now. Claiming the next batch, sending
// one and recording the one before overlap (at most three batches are in
// flight), so the senders do not wait for the database; each batch is
// still claimed (committed) before its sends and recorded after them.
func (d *Deliverer) Drain(ctx context.Context) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	claimed := make(chan []Notification, 1)
	sent := make(chan []Outcome, 1)
	var claimErr error
	total := 0
	go func() {
		defer close(claimed)
		for ctx.Err() == nil {
			rows, err := d.Store.Claim(ctx, d.batch(), d.now())
			if err != nil || len(rows) == 0 {
				claimErr = err
				return
			}
			total += len(rows)
			select {
			case claimed <- rows:
			case <-ctx.Done():
				// Claimed, not sent: left 'sending' for Reconcile, as after a crash.
				return
			}
		}
	}()
	go func() {
		defer close(sent)
		for rows := range claimed {
			sent <- d.sendAll(ctx, rows)
		}
	}()
	var recErr error
	for outs := range sent {
		if recErr != nil {
			continue
		}
		if recErr = d.record(ctx, outs); recErr != nil {
			cancel() // stop claiming; drain what is in flight
		}
	}
	if recErr != nil {
		return total, recErr
	}
	return total, claimErr
}

func (d *Deliverer) attempt(ctx context.Context, n Notification) Outcome {
	s := d.Senders[n.Channel]
	if s == nil {
		return Outcome{ID: n.ID, Status: Dead, Error: fmt.Sprintf("no sender for channel %s", n.Channel)}
	}
	id, err := s.Send(ctx, n)
	if err == nil {
		return Outcome{ID: n.ID, Status: Sent, Provider: s.Provider(), ProviderID: id}
	}
	maxA := d.MaxAttempts
	if maxA <= 0 {
		maxA = DefaultMaxAttempts
	}
	out := Outcome{ID: n.ID, Provider: s.Provider(), Error: err.Error()}
	if IsPermanent(err) || n.Attempts >= maxA {
		out.Status = Dead
		if !IsPermanent(err) {
			out.Error = fmt.Sprintf("after %d attempts: %v", n.Attempts, err)
		}
		return out
	}
	wait := d.Backoff.Delay(n.Attempts)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > wait {
		wait = ra.After
	}
	out.Status, out.NotBefore = Queued, d.now().Add(wait)
	if d.Log != nil {
		d.Log.Debug("notify: retry", "event", n.EventID, "channel", n.Channel, "attempt", n.Attempts, "wait", wait, "err", err)
	}
	return out
}
