// Package pgstore keeps the fraud evaluation's state: the rules' windows
// in memory, snapshotted to Postgres with the stream positions they are
// valid at (migration 046), and the alerts and their holds in Postgres, one
// transaction per batch that raises any (migration 025).
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Store is the fraud evaluation's Postgres state.
type Store struct {
	Pool *pgxpool.Pool
	Now  func() time.Time // nil: time.Now
	// Lateness: how far behind its partition's newest event an event may
	// still arrive (window expiry's margin); 0: Lateness, the default.
	Lateness time.Duration
	// Hold holds a hold alert's leg inside the evaluation's transaction
	// (the ledger's PlaceHoldIn), so the alert and its hold commit
	// together and no allotment slips between them. nil: hold alerts are
	// raised and their legs left for PlaceDueHolds.
	Hold HoldInFunc

	mu     sync.Mutex // the windows: one batch at a time (the topics' pipelines share them)
	snapMu sync.Mutex // one snapshot at a time
	// outbox: how far OutboxBatch may read (the outbox id is the position,
	// so a row committing late below it would be skipped for good)
	outboxMu sync.Mutex
	outbox   postgres.OutboxHorizon
	m        mem
	stats    SnapshotStats // under snapMu
}

// SnapshotStats is what the snapshots of this Store wrote (the benchmark
// reports it: the windows' bytes are most of the evaluation's writes).
type SnapshotStats struct {
	Snapshots, Full int
	Windows         int64
	Bytes           int64
	Took            time.Duration // encoding and writing, the stream going on meanwhile
}

// Stats is what the snapshots wrote so far.
func (s *Store) Stats() SnapshotStats {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.stats
}

// HoldInFunc places one hold in tx and returns its id. An error that
// IsPermanent says is final (the leg is allotted or ended) is recorded on
// the alert and the batch goes on; any other fails the batch (retried).
type HoldInFunc func(ctx context.Context, tx pgx.Tx, h DueHold) (int64, error)

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Positioned is an event and its place in its stream (a Kafka topic and
// partition, or stream "outbox" partition 0 and the outbox id).
type Positioned struct {
	fraud.Event
	Stream string
	Part   int
	Off    int64
	// Ignored moves the position only (a message no rule reads, or one
	// sent to quarantine).
	Ignored bool
	// Seen is when the bus took it (the Kafka time stamp): the start of
	// the event-to-alert latency.
	Seen time.Time
}

// Result is what one Apply did.
type Result struct {
	Applied, Skipped int
	Raised           []fraud.Firing // new alerts only (a replayed event raises none)
	// RaisedSeen is when the bus took each Raised alert's triggering event.
	RaisedSeen []time.Time
	// Holds placed with their alerts, and refused by the ledger (the leg
	// had ended).
	HoldsPlaced, HoldsRefused int
}

type streamPart struct {
	stream string
	part   int
}

// Apply evaluates evs in order: events at or below their stream's applied
// position are skipped (a batch redelivered after a crash or replayed
// after a start changes nothing twice), the windows (in memory) are
// evaluated, and the new alerts are inserted with fraud.alert.raised on
// the outbox, an audit row and their holds, in one transaction, before
// the windows and positions in memory move. A batch that raises nothing
// touches Postgres only to enrich order events the ledger must fill in.
// The windows and positions reach Postgres by Snapshot; after a crash the
// events since the last snapshot are evaluated again, and their alerts,
// found by id (rule + event), are not raised twice.
func (s *Store) Apply(ctx context.Context, rs *fraud.RuleSet, evs []Positioned) (Result, error) {
	// enrich before the lock: one topic's query must not hold up the
	// others (an event skipped below was enriched for nothing: harmless)
	var need []int
	for i, e := range evs {
		if !e.Ignored && e.NeedsEnrich() {
			need = append(need, i)
		}
	}
	if len(need) > 0 {
		es := make([]fraud.Event, len(need))
		for j, i := range need {
			es[j] = evs[i].Event
		}
		if err := enrich(ctx, s.Pool, es); err != nil {
			return Result{}, classify(err)
		}
		evs = slices.Clone(evs)
		for j, i := range need {
			evs[i].Event = es[j]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return Result{}, err
	}
	m := &s.m
	var res Result
	moved := map[streamPart]int64{}
	todo := make([]int, 0, len(evs)) // indexes of evs to evaluate
	for i, e := range evs {
		sp := streamPart{e.Stream, e.Part}
		cur, ok := moved[sp]
		if !ok {
			if cur, ok = m.pos[sp]; !ok {
				cur = -1
			}
		}
		if e.Off <= cur {
			res.Skipped++
			continue
		}
		moved[sp] = e.Off
		if e.Ignored {
			continue
		}
		todo = append(todo, i)
	}
	// evaluate in order over an overlay: memory changes only once the
	// alerts are committed (a failed batch is retried from the same state)
	over := make(map[string]fraud.State, 2*len(todo)) // about two windows an event
	var firings []fraud.Firing
	seenAt := map[string]time.Time{}
	folioOf := map[string]string{}
	for _, i := range todo {
		ev := evs[i].Event
		for _, r := range rs.Rules {
			k := r.Key(ev)
			if k == "" {
				continue
			}
			sk := fraud.StateKey(r.ID, k)
			st, ok := over[sk]
			if !ok {
				st = m.states[sk]
			}
			st, fs := r.Eval(st, ev)
			over[sk] = st
			if len(fs) > 0 {
				firings = append(firings, fs...)
				seenAt[ev.ID], folioOf[ev.ID] = evs[i].Seen, ev.FolioNo
			}
		}
		res.Applied++
	}
	if len(firings) > 0 {
		if err := s.raise(ctx, rs, firings, seenAt, folioOf, &res); err != nil {
			return Result{}, classify(err)
		}
	}
	for sk, st := range over {
		if st.Len() == 0 {
			delete(m.states, sk)
		} else {
			if _, had := m.states[sk]; !had {
				m.expiry.track(rs, sk, st)
			}
			m.states[sk] = st
		}
		m.dirty[sk] = st
	}
	for sp, off := range moved {
		m.pos[sp] = off
	}
	for _, i := range todo {
		sp := streamPart{evs[i].Stream, evs[i].Part}
		m.noteKind(sp.stream, evs[i].Kind)
		at := evs[i].At
		prev, seen := m.evAt[sp]
		if seen && at.Before(prev.Add(-m.lateness)) {
			m.expiry.Late++ // below the floor expiry assumed: counted, see Late
		}
		// an event's own time counts no later than its Kafka time plus
		// FutureTolerance: a future-dated event must not move the floor
		if !evs[i].Seen.IsZero() {
			if lim := evs[i].Seen.Add(FutureTolerance); at.After(lim) {
				at = lim
			}
		}
		if at.After(prev) {
			m.evAt[sp] = at
		}
	}
	m.sweepExpired(rs, len(evs))
	m.pending += len(evs)
	return res, nil
}

// raise inserts the firings' alerts (each with its event and audit row
// when new) and holds the legs of the new hold alerts, in one transaction,
// in the ledger's lock order (ledger.Service): the alerts and their events
// first (fraud tables and outbox rows, which no ledger transaction locks),
// then the held legs' folios, in folio order, then the holds, and the
// audit rows last. The audit chain's head is the ledger's last lock: taken
// before a folio (the alerts' audit rows used to be written first), a
// payment capture holding that folio and waiting for the head deadlocked
// with this transaction (TestFraudHoldsCrashWithAllotment saw it).
func (s *Store) raise(ctx context.Context, rs *fraud.RuleSet, firings []fraud.Firing, seenAt map[string]time.Time, folioOf map[string]string, res *Result) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		res.Raised, res.RaisedSeen, res.HoldsPlaced, res.HoldsRefused = nil, nil, 0, 0
		var b pgx.Batch
		payloads := make([]string, len(firings))
		for i, f := range firings {
			args, err := alertArgs(rs.Version, f)
			if err != nil {
				return err
			}
			payloads[i] = args[len(args)-1].(string)
			b.Queue(alertEventSQL, args...)
		}
		br := tx.SendBatch(ctx, &b)
		var due []DueHold
		var audited, auditPayloads []string
		for i, f := range firings {
			var created bool
			if err := br.QueryRow().Scan(&created); err != nil {
				br.Close()
				return fmt.Errorf("fraud alert %s: %w", f.AlertID(), err)
			}
			if created {
				res.Raised = append(res.Raised, f)
				res.RaisedSeen = append(res.RaisedSeen, seenAt[f.Event.EventID])
				audited, auditPayloads = append(audited, f.AlertID()), append(auditPayloads, payloads[i])
				if f.Action == fraud.ActionHold && f.OrderID != "" {
					due = append(due, DueHold{AlertID: f.AlertID(), RuleID: f.RuleID, OrderID: f.OrderID, InvestorID: f.Investor, folio: folioOf[f.Event.EventID]})
				}
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("fraud alerts: %w", err)
		}
		// the holds of the new hold alerts, in this transaction: every
		// held leg's folio locked first, in folio order (as the ledger
		// takes them), so no hold waits for a folio once the first one's
		// audit row holds the chain's head
		if s.Hold != nil && len(due) > 0 {
			slices.SortFunc(due, func(a, b DueHold) int {
				if c := strings.Compare(a.folio, b.folio); c != 0 {
					return c
				}
				return strings.Compare(a.OrderID, b.OrderID)
			})
			legs := make([]string, len(due))
			for i, d := range due {
				legs[i] = d.OrderID
			}
			if _, err := tx.Exec(ctx, `SELECT 1 FROM folios WHERE folio_no IN (SELECT folio_no FROM orders WHERE id = ANY($1))
				ORDER BY folio_no FOR NO KEY UPDATE`, legs); err != nil {
				return fmt.Errorf("fraud holds: lock the folios: %w", err)
			}
			for _, d := range due {
				placed, err := s.holdIn(ctx, tx, d)
				if err != nil {
					return err
				}
				if placed {
					res.HoldsPlaced++
				} else {
					res.HoldsRefused++
				}
			}
		}
		rows := make([]postgres.AuditEntry, len(audited))
		for i, id := range audited {
			rows[i] = postgres.AuditEntry{Entity: "fraud_alert", ID: id, Action: "raised", Payload: json.RawMessage(auditPayloads[i])}
		}
		if err := postgres.AppendAudits(ctx, tx, "fraud", rows); err != nil {
			return fmt.Errorf("fraud alerts' audit rows: %w", err)
		}
		return nil
	})
}

// AlertRaised is the fraud.alert.raised payload.
type AlertRaised struct {
	EventID    string      `json:"event_id"`
	AlertID    string      `json:"alert_id"`
	RuleID     string      `json:"rule_id"`
	Kind       string      `json:"kind"`
	Action     string      `json:"action"`
	InvestorID string      `json:"investor_id"`
	OrderID    string      `json:"order_id"`
	Evidence   []fraud.Ref `json:"evidence"`
	EventAt    string      `json:"event_at"`
	At         string      `json:"at"`
}

// alertEventSQL writes an alert and, when it is new, its
// fraud.alert.raised event, in one statement; it returns whether it was
// new (a replay raised it before: false, nothing written). Its audit row
// is the caller's, last in the transaction.
const alertEventSQL = `WITH a AS (
	INSERT INTO fraud_alerts (id, rule_id, kind, action, investor_id, scope_key, event_id, order_id, evidence, rules_version, event_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING RETURNING id
), o AS (
	INSERT INTO outbox (event_id, topic, key, payload) SELECT $12, $13, $5, $14::jsonb FROM a ON CONFLICT (event_id) DO NOTHING
)
SELECT count(*) = 1 FROM a`

// alertSQL is alertEventSQL with the audit row, for a transaction that
// takes no ledger lock after it.
const alertSQL = `WITH a AS (
	INSERT INTO fraud_alerts (id, rule_id, kind, action, investor_id, scope_key, event_id, order_id, evidence, rules_version, event_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING RETURNING id
), o AS (
	INSERT INTO outbox (event_id, topic, key, payload) SELECT $12, $13, $5, $14::jsonb FROM a ON CONFLICT (event_id) DO NOTHING
), l AS (
	INSERT INTO audit_log (entity, entity_id, action, actor, payload) SELECT 'fraud_alert', id, 'raised', 'fraud', $14::jsonb FROM a
)
SELECT count(*) = 1 FROM a`

// alertArgs are alertSQL's arguments for f.
func alertArgs(version int, f fraud.Firing) ([]any, error) {
	ev, err := json.Marshal(f.Evidence)
	if err != nil {
		return nil, err
	}
	id := f.AlertID()
	p := AlertRaised{EventID: fraud.TopicAlertRaised + ":" + id, AlertID: id, RuleID: f.RuleID, Kind: string(f.Kind), Action: string(f.Action),
		InvestorID: f.Investor, OrderID: f.OrderID, Evidence: f.Evidence, EventAt: f.At.UTC().Format(time.RFC3339Nano),
		At: time.Now().UTC().Format(time.RFC3339Nano)}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return []any{id, f.RuleID, string(f.Kind), string(f.Action), f.Investor, f.Key, f.Event.EventID, f.OrderID, string(ev), version, f.At,
		p.EventID, fraud.TopicAlertRaised, string(b)}, nil
}

// insertAlert writes one alert (alertSQL); false when a replay raised it
// before.
func insertAlert(ctx context.Context, tx pgx.Tx, version int, f fraud.Firing) (bool, error) {
	args, err := alertArgs(version, f)
	if err != nil {
		return false, err
	}
	var created bool
	if err := tx.QueryRow(ctx, alertSQL, args...).Scan(&created); err != nil {
		return false, fmt.Errorf("fraud alert %s: %w", f.AlertID(), err)
	}
	return created, nil
}

// enrich fills in the order events the ledger must complete: the
// investor, the order's value (a redemption by units, or of all units, at
// the latest NAV) and the investor's holdings value at the latest NAVs.
func enrich(ctx context.Context, tx querier, evs []fraud.Event) error {
	var ids []string
	for _, e := range evs {
		if e.NeedsEnrich() {
			ids = append(ids, e.OrderID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT o.id, o.investor_id, o.folio_no,
		       COALESCE(o.amount, round(o.units * n.nav, 2), round(h.units * n.nav, 2), 0),
		       COALESCE((SELECT round(sum(h2.units * n2.nav), 2) FROM folios f2
		                 JOIN holdings h2 ON h2.folio_no = f2.folio_no
		                 JOIN nav_latest n2 ON n2.scheme_code = h2.scheme_code
		                 WHERE f2.investor_id = o.investor_id), 0)
		FROM orders o
		LEFT JOIN nav_latest n ON n.scheme_code = o.scheme_code
		LEFT JOIN holdings h ON h.folio_no = o.folio_no AND h.scheme_code = o.scheme_code
		WHERE o.id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("fraud enrich: %w", err)
	}
	return fill(rows, evs)
}

// fill sets the order events' investor, folio, value and holdings from
// rows of (order id, investor, folio, value, holdings); an order not in
// them is left alone (no investor: no rule sees it).
func fill(rows pgx.Rows, evs []fraud.Event) error {
	type facts struct {
		inv, folio      string
		value, holdings decimal.Decimal
	}
	got := map[string]facts{}
	for rows.Next() {
		var id string
		var f facts
		if err := rows.Scan(&id, &f.inv, &f.folio, &f.value, &f.holdings); err != nil {
			rows.Close()
			return fmt.Errorf("fraud enrich: %w", err)
		}
		got[id] = f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fraud enrich: %w", err)
	}
	for i := range evs {
		e := &evs[i]
		f, ok := got[e.OrderID]
		if !e.NeedsEnrich() || !ok {
			continue
		}
		var err error
		e.InvestorID, e.FolioNo = f.inv, f.folio
		if e.Amount, err = fund.AmountFromDecimal(f.value, fund.NoRounding); err != nil {
			return err
		}
		if e.Holdings, err = fund.AmountFromDecimal(f.holdings, fund.NoRounding); err != nil {
			return err
		}
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// classify marks the failures a retry cures (deadlock, serialization,
// connection) as transient for the engine.
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code[:2] == "08") {
		return pipelines.Transient(err)
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) {
		return pipelines.Transient(err)
	}
	return err
}

// DueHold is a hold alert whose leg is not held yet.
type DueHold struct {
	AlertID, RuleID, OrderID, InvestorID string
	folio                                string // the leg's, to take the folio locks in order
}

// holdIn holds d's leg in tx (s.Hold) under a savepoint, so a leg the
// ledger refuses (ended already) is recorded on the alert and the rest of
// the batch stands; it reports whether the hold was placed.
func (s *Store) holdIn(ctx context.Context, tx pgx.Tx, d DueHold) (bool, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("fraud hold %s: %w", d.AlertID, err)
	}
	id, herr := s.Hold(ctx, sp, d)
	holdErr := ""
	switch {
	case herr == nil:
		err = sp.Commit(ctx)
	case IsPermanent(herr):
		id, holdErr = 0, herr.Error()
		err = sp.Rollback(ctx)
	default:
		sp.Rollback(ctx) //nolint:errcheck // the batch fails anyway
		return false, fmt.Errorf("hold of %s for %s: %w", d.OrderID, d.AlertID, herr)
	}
	if err != nil {
		return false, fmt.Errorf("fraud hold %s: %w", d.AlertID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE fraud_alerts SET hold_id = $2, hold_error = $3 WHERE id = $1`, d.AlertID, id, holdErr); err != nil {
		return false, fmt.Errorf("fraud alert %s: %w", d.AlertID, err)
	}
	return herr == nil, nil
}

// PlaceFunc places one hold (ledger.PlaceHold) and returns its id. An
// error that IsPermanent says is final (the leg is allotted or ended) is
// recorded on the alert; any other is retried on the next pass.
type PlaceFunc func(ctx context.Context, h DueHold) (int64, error)

// PlaceDueHolds holds the legs of hold alerts raised but not yet held: the
// evaluation's transaction cannot call the ledger's own, so each pass (and
// every start) places what a crash left undone; PlaceHold is idempotent
// per leg and source, so a hold placed just before a crash is found, not
// doubled.
func (s *Store) PlaceDueHolds(ctx context.Context, place PlaceFunc) (int, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, rule_id, order_id, investor_id FROM fraud_alerts
		WHERE action = 'hold' AND hold_id IS NULL AND order_id <> '' ORDER BY raised_at, id LIMIT 1000`)
	if err != nil {
		return 0, classify(fmt.Errorf("fraud holds due: %w", err))
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DueHold, error) {
		var d DueHold
		return d, r.Scan(&d.AlertID, &d.RuleID, &d.OrderID, &d.InvestorID)
	})
	if err != nil {
		return 0, classify(fmt.Errorf("fraud holds due: %w", err))
	}
	n := 0
	for _, d := range due {
		id, err := place(ctx, d)
		holdErr := ""
		if err != nil {
			if !IsPermanent(err) {
				return n, fmt.Errorf("hold of %s for %s: %w", d.OrderID, d.AlertID, err)
			}
			holdErr = err.Error()
		}
		if _, err := s.Pool.Exec(ctx, `UPDATE fraud_alerts SET hold_id = $2, hold_error = $3 WHERE id = $1`, d.AlertID, id, holdErr); err != nil {
			return n, classify(fmt.Errorf("fraud alert %s: %w", d.AlertID, err))
		}
		if holdErr == "" {
			n++
		}
	}
	return n, nil
}

// IsPermanent: err will not go away on a retry (not a cancellation, a
// connection or a deadlock): the ledger refused the hold.
func IsPermanent(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return false // the database said no to a statement: not the ledger's decision
	}
	var ce *pgconn.ConnectError
	return !errors.As(err, &ce)
}

// History calls fn with every event of the fraud topics stored in the
// outbox (orders.status, investors.changed, payments.status) made in
// [from, to), in outbox order, order events enriched as the job enriched
// them when they were written (enrichAsOf: the holdings of that moment,
// not today's). A malformed row is skipped and counted: the backtest acts
// on nothing.
func (s *Store) History(ctx context.Context, from, to time.Time, fn func(fraud.Event) error) (bad int, err error) {
	const chunk = 5000
	var after int64
	for {
		var evs []fraud.Event
		var written []time.Time
		err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, topic, payload::text, created_at FROM outbox
				WHERE topic IN ($1, $2, $3) AND created_at >= $4 AND created_at < $5 AND id > $6 ORDER BY id LIMIT $7`,
				fund.TopicOrderStatus, fraud.TopicInvestorsChanged, fraud.TopicPayments, from, to, after, chunk)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				var id int64
				var topic, payload string
				var at time.Time
				if err := rows.Scan(&id, &topic, &payload, &at); err != nil {
					rows.Close()
					return err
				}
				after, n = id, n+1
				ev, err := fraud.Decode(topic, []byte(payload), fmt.Sprintf("outbox:%d", id))
				switch {
				case errors.Is(err, fraud.ErrIgnored):
				case err != nil:
					bad++
				default:
					evs, written = append(evs, ev), append(written, at)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if n == 0 {
				after = -1
			}
			return enrichAsOf(ctx, tx, evs, written)
		})
		if err != nil {
			return bad, fmt.Errorf("fraud history: %w", err)
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return bad, err
			}
		}
		if after < 0 {
			return bad, nil
		}
	}
}

// OutboxStream is the stream name of events read from the outbox table
// (partition 0, offset = outbox id).
const OutboxStream = "outbox"

// OutboxBatch reads the next outbox rows of the fraud topics after the
// applied outbox position and at or below the outbox's horizon (no row
// can still commit below it: postgres.OutboxHorizon), at most limit, typed (fraud.Decode; a row no
// rule reads or a malformed one moves the position only, the malformed
// one logged by the caller through bad). Without Kafka the outbox table is
// the bus: this is the evaluation's source then.
func (s *Store) OutboxBatch(ctx context.Context, limit int) (evs []Positioned, bad []string, err error) {
	var after int64 = -1
	err = s.Pool.QueryRow(ctx, `SELECT last_off FROM fraud_positions WHERE stream = $1 AND part = 0`, OutboxStream).Scan(&after)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, classify(fmt.Errorf("fraud outbox position: %w", err))
	}
	s.outboxMu.Lock()
	final, err := s.outbox.Final(ctx, s.Pool)
	s.outboxMu.Unlock()
	if err != nil {
		return nil, nil, classify(err)
	}
	if final <= after {
		return nil, nil, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, topic, payload::text, created_at FROM outbox
		WHERE topic IN ($1, $2, $3) AND id > $4 AND id <= $5 ORDER BY id LIMIT $6`,
		fund.TopicOrderStatus, fraud.TopicInvestorsChanged, fraud.TopicPayments, after, final, limit)
	if err != nil {
		return nil, nil, classify(fmt.Errorf("fraud outbox: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var topic, payload string
		var at time.Time
		if err := rows.Scan(&id, &topic, &payload, &at); err != nil {
			return nil, nil, classify(fmt.Errorf("fraud outbox: %w", err))
		}
		p := Positioned{Stream: OutboxStream, Off: id, Seen: at}
		ev, err := fraud.Decode(topic, []byte(payload), fmt.Sprintf("outbox:%d", id))
		switch {
		case errors.Is(err, fraud.ErrIgnored):
			p.Ignored = true
		case err != nil:
			p.Ignored = true
			bad = append(bad, fmt.Sprintf("outbox %d (%s): %v", id, topic, err))
		default:
			p.Event = ev
		}
		evs = append(evs, p)
	}
	return evs, bad, classify(rows.Err())
}
