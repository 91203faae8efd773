package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppendAudit writes one audit_log row in the caller's transaction: entity
// and id name what changed ("order", "ORD-1"), action how ("created",
// "allotted"), payload is the new state or the change (marshalled to JSON;
// never put PAN, bank accounts or other secrets in it: the trail is kept
// forever and cannot be edited). It numbers the row and chains its hash
// (AppendAudits), which the database checks; the chain's head stays locked
// until tx ends, so call AppendAudit as late as possible in a transaction.
func AppendAudit(ctx context.Context, tx pgx.Tx, entity, id, action string, payload any) error {
	return AppendAuditBy(ctx, tx, "", entity, id, action, payload)
}

// AppendAuditBy is AppendAudit with the actor (a pipeline, a user) recorded.
func AppendAuditBy(ctx context.Context, tx pgx.Tx, actor, entity, id, action string, payload any) error {
	return AppendAudits(ctx, tx, actor, []AuditEntry{{Entity: entity, ID: id, Action: action, Payload: payload}})
}

// AuditEntry is one audit_log row to append (see AppendAudit).
type AuditEntry struct {
	Entity, ID, Action string
	Payload            any
}

// AppendAudits writes rows, in order, in the caller's transaction: one
// step of the chain per call. It locks the chain's head and reads it, the
// database's clock and the payloads as jsonb's own text (one round trip,
// audit_begin), numbers and hashes the rows here (AuditHash, the
// documented canonical content), and inserts them with every column given
// (one statement). The database checks them, set-based, before the
// statement ends (audit_verify) and moves the head once. The head stays
// locked until tx ends: call it as late as possible in a transaction.
func AppendAudits(ctx context.Context, tx pgx.Tx, actor string, rows []AuditEntry) error {
	step, err := marshalAudits(rows)
	if err != nil || step == nil {
		return err
	}
	return appendStep(ctx, tx, actor, step)
}

// AuditStep is a step of the chain made ready outside the transaction that
// appends it (PrepareAudits).
type AuditStep struct {
	entities, ids, actions, payloads []string
	canon                            []string // the payloads as jsonb's own text; nil: audit_begin gives it
}

// PrepareAudits marshals rows' payloads and has the database give them as
// jsonb's own text (the bytes the hash covers), on any connection q: a
// writer of thousands of rows has it done while its transaction does other
// work (a first NAVAll file's 16,000 new schemes: 150 ms), and
// AppendPrepared then only locks the head, hashes and inserts. Nil for no
// rows.
func PrepareAudits(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, rows []AuditEntry) (*AuditStep, error) {
	step, err := marshalAudits(rows)
	if err != nil || step == nil {
		return nil, err
	}
	// audit_begin's canon, without its lock: the head is not this
	// connection's to wait for.
	if err := q.QueryRow(ctx, `SELECT ARRAY(SELECT p::jsonb::text FROM unnest($1::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n)`,
		step.payloads).Scan(&step.canon); err != nil {
		return nil, classify(fmt.Errorf("audit: payloads' jsonb text: %w", err))
	}
	if len(step.canon) != len(step.payloads) {
		return nil, fmt.Errorf("audit: %d payloads came back as %d", len(step.payloads), len(step.canon))
	}
	return step, nil
}

// AppendPrepared is AppendAudits of a step PrepareAudits made ready.
func AppendPrepared(ctx context.Context, tx pgx.Tx, actor string, step *AuditStep) error {
	if step == nil {
		return nil
	}
	return appendStep(ctx, tx, actor, step)
}

// marshalAudits checks rows and marshals their payloads (nil: no rows).
func marshalAudits(rows []AuditEntry) (*AuditStep, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	n := len(rows)
	s := &AuditStep{entities: make([]string, n), ids: make([]string, n), actions: make([]string, n), payloads: make([]string, n)}
	for i, r := range rows {
		if r.Entity == "" || r.ID == "" || r.Action == "" {
			return nil, fmt.Errorf("audit: entity, id and action are required (got %q, %q, %q)", r.Entity, r.ID, r.Action)
		}
		b, err := json.Marshal(r.Payload)
		if err != nil {
			return nil, fmt.Errorf("audit %s %s %s: payload: %w", r.Entity, r.ID, r.Action, err)
		}
		s.entities[i], s.ids[i], s.actions[i], s.payloads[i] = r.Entity, r.ID, r.Action, string(b)
	}
	return s, nil
}

// appendStep locks the head (and has audit_begin make the payloads'
// jsonb text unless the step has it), hashes the rows and inserts them.
func appendStep(ctx context.Context, tx pgx.Tx, actor string, step *AuditStep) error {
	n := len(step.payloads)
	// A step of thousands of rows (a first NAVAll file's 16,000 new
	// schemes) sorts more than the default work_mem in audit_begin and in
	// audit_verify's window: held in memory, not spilled to temp files.
	// It lasts to the transaction's end and never lowers a larger setting.
	if size := payloadBytes(step.payloads); size > 2<<20 {
		if _, err := tx.Exec(ctx, `SELECT set_config('work_mem',
			(greatest(pg_size_bytes(current_setting('work_mem')), $1::bigint) / 1024)::text || 'kB', true)`,
			int64(min(4*size, 512<<20))); err != nil {
			return classify(fmt.Errorf("audit: work_mem for %d rows: %w", n, err))
		}
	}
	ask := step.payloads
	if step.canon != nil {
		ask = []string{}
	}
	var head AuditRow
	var made []string
	if err := tx.QueryRow(ctx, `SELECT head_seq, head_hash, at, canon FROM audit_begin($1::text[])`, ask).
		Scan(&head.Seq, &head.Hash, &head.At, &made); err != nil {
		return classify(fmt.Errorf("audit: lock the chain's head: %w", err))
	}
	canon := step.canon
	if canon == nil {
		canon = made
	}
	if len(canon) != n {
		return fmt.Errorf("audit: %d payloads came back as %d", n, len(canon))
	}
	seqs := make([]int64, n)
	prevs := make([]string, n)
	hashes := make([]string, n)
	prev := head.Hash
	for i := range n {
		r := AuditRow{Seq: head.Seq + int64(i) + 1, At: head.At, Entity: step.entities[i], EntityID: step.ids[i], Action: step.actions[i],
			Actor: actor, Payload: json.RawMessage(canon[i])}
		seqs[i], prevs[i], hashes[i] = r.Seq, prev, AuditHash(prev, r)
		prev = hashes[i]
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (seq, at, entity, entity_id, action, actor, payload, prev_hash, hash)
		SELECT s, $2, e, i, a, $3, p::jsonb, ph, h
		FROM unnest($1::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS x(s, e, i, a, p, ph, h)`,
		seqs, head.At, actor, step.entities, step.ids, step.actions, canon, prevs, hashes); err != nil {
		return classify(fmt.Errorf("audit: %d rows: %w", n, err))
	}
	return nil
}

func payloadBytes(payloads []string) int {
	n := 0
	for _, p := range payloads {
		n += len(p) + 300 // and the row's other columns
	}
	return n
}

// AuditRow is one row of the trail as stored.
type AuditRow struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Entity   string          `json:"entity"`
	EntityID string          `json:"entity_id"`
	Action   string          `json:"action"`
	Actor    string          `json:"actor"`
	Payload  json.RawMessage `json:"payload"` // jsonb's own text: the bytes the hash covers
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// GenesisHash is the prev_hash of the first row.
var GenesisHash = strings.Repeat("0", 64)

// AuditHash recomputes a row's hash from prevHash and its content: SHA-256
// of prevHash followed by seq, at (UTC, microseconds), entity, entity_id,
// action, actor and payload, each as its byte length, ':' and its bytes.
// It is written here independently of the SQL trigger that sets the hash,
// so a verify that agrees with the trigger checks both.
func AuditHash(prevHash string, r AuditRow) string {
	h := sha256.New()
	h.Write([]byte(prevHash))
	for _, f := range []string{
		strconv.FormatInt(r.Seq, 10),
		r.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		r.Entity, r.EntityID, r.Action, r.Actor, string(r.Payload),
	} {
		h.Write([]byte(strconv.Itoa(len(f)) + ":"))
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditProblem kinds.
const (
	AuditAltered   = "altered"   // the row's content no longer gives its hash
	AuditMissing   = "missing"   // a row is gone (a gap in seq, or a broken link)
	AuditReordered = "reordered" // the row follows another row than the one before it
	AuditRewritten = "rewritten" // the chain holds together but differs from a head published earlier (an anchor): rewritten, hashes and all
)

// AuditProblem is the first place the chain does not hold.
type AuditProblem struct {
	Seq    int64  `json:"seq"` // the row named (for missing: the first absent seq)
	Kind   string `json:"kind"`
	Detail string `json:"detail"`

	brokenLink bool // the row's prev_hash is not the hash of the row before it
}

func (p *AuditProblem) Error() string {
	return fmt.Sprintf("audit_log seq %d %s: %s", p.Seq, p.Kind, p.Detail)
}

// AuditAnchor is the chain's head (seq, hash) as published outside the
// database, at At: to the outbox (and so to Kafka) and to an append-only
// file. A superuser can rewrite rows and recompute every hash after them,
// and the chain will hold together; it cannot change what was published.
type AuditAnchor struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Rows           int64         `json:"rows"`
	LastSeq        int64         `json:"last_seq"`
	LastHash       string        `json:"last_hash"`
	AnchorsChecked int           `json:"anchors_checked"`       // published heads compared with the chain
	LastAnchor     *AuditAnchor  `json:"last_anchor,omitempty"` // the newest of them
	Problem        *AuditProblem `json:"problem,omitempty"`     // nil: the chain is whole
}

// VerifyAudit walks audit_log in seq order, recomputing every hash and
// link, and stops at the first row that is altered, missing or out of
// order. A chain whose tail was cut is caught against audit_head. progress,
// if not nil, is called every 10,000 rows.
func VerifyAudit(ctx context.Context, pool *pgxpool.Pool, progress func(rows int64)) (AuditReport, error) {
	return VerifyAuditAnchored(ctx, pool, nil, progress)
}

// VerifyAuditAnchored is VerifyAudit that also compares the chain with
// heads published earlier: the row at each anchor's seq must have the
// anchor's hash, and the chain must reach the newest anchor. This catches
// what the chain alone cannot: a tail rewritten with its hashes recomputed
// (and audit_head moved to match) by someone who can switch the triggers off.
func VerifyAuditAnchored(ctx context.Context, pool *pgxpool.Pool, anchors []AuditAnchor, progress func(rows int64)) (AuditReport, error) {
	var rep AuditReport
	// One snapshot for the walk and the head: a writer committing meanwhile
	// cannot make a whole chain look cut.
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		rep, err = verifyChain(ctx, tx, AuditAnchor{}, anchors, progress)
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("audit verify: %w", classify(err))
	}
	return rep, nil
}

// verifyChain checks the rows after from (zero: the whole chain; else a
// head verified and published before, whose row must still have its hash),
// then every anchor and audit_head, in tx's snapshot.
func verifyChain(ctx context.Context, tx pgx.Tx, from AuditAnchor, anchors []AuditAnchor, progress func(rows int64)) (AuditReport, error) {
	rep := AuditReport{LastSeq: from.Seq, LastHash: from.Hash}
	if from.Seq == 0 {
		rep.LastHash = GenesisHash
	}
	bySeq := map[int64]AuditAnchor{}
	for _, a := range anchors {
		if a.Seq > 0 {
			bySeq[a.Seq] = a
		}
		if rep.LastAnchor == nil || a.Seq > rep.LastAnchor.Seq {
			a := a
			rep.LastAnchor = &a
		}
	}
	if from.Seq > 0 {
		bySeq[from.Seq] = from
		var h string
		err := tx.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = $1`, from.Seq).Scan(&h)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			rep.Problem = &AuditProblem{Seq: from.Seq, Kind: AuditMissing, Detail: fmt.Sprintf("the row of the head published at %s is gone", from.At.UTC().Format(time.RFC3339))}
			return rep, nil
		case err != nil:
			return rep, err
		case h != from.Hash:
			rep.Problem = anchorProblem(from, h)
			return rep, nil
		}
		rep.AnchorsChecked++
	}
	rows, err := tx.Query(ctx, `SELECT seq, at, entity, entity_id, action, actor, payload::text, prev_hash, hash
		FROM audit_log WHERE seq > $1 ORDER BY seq`, from.Seq)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	var r AuditRow
	var payload string
	for rows.Next() {
		if err := rows.Scan(&r.Seq, &r.At, &r.Entity, &r.EntityID, &r.Action, &r.Actor, &payload, &r.PrevHash, &r.Hash); err != nil {
			return rep, err
		}
		r.Payload = json.RawMessage(payload)
		if p := checkAuditRow(rep, r); p != nil {
			rep.Problem = p
			break
		}
		if a, ok := bySeq[r.Seq]; ok {
			if a.Hash != r.Hash {
				rep.Problem = anchorProblem(a, r.Hash)
				break
			}
			rep.AnchorsChecked++
		}
		rep.Rows++
		rep.LastSeq, rep.LastHash = r.Seq, r.Hash
		if progress != nil && rep.Rows%10000 == 0 {
			progress(rep.Rows)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	if rep.Problem != nil {
		return rep, explainBrokenLink(ctx, tx, rep.Problem)
	}
	if a := rep.LastAnchor; a != nil && a.Seq > rep.LastSeq {
		rep.Problem = &AuditProblem{Seq: rep.LastSeq + 1, Kind: AuditMissing,
			Detail: fmt.Sprintf("the chain ends at seq %d but the head published at %s was seq %d (%s): rows %d..%d are gone",
				rep.LastSeq, a.At.UTC().Format(time.RFC3339), a.Seq, short(a.Hash), rep.LastSeq+1, a.Seq)}
		return rep, nil
	}
	var headSeq int64
	var headHash string
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&headSeq, &headHash); err != nil {
		return rep, fmt.Errorf("audit head: %w", err)
	}
	switch {
	case headSeq > rep.LastSeq:
		rep.Problem = &AuditProblem{Seq: rep.LastSeq + 1, Kind: AuditMissing,
			Detail: fmt.Sprintf("the chain ends at seq %d but its head says %d rows were written: rows %d..%d are gone", rep.LastSeq, headSeq, rep.LastSeq+1, headSeq)}
	case headSeq < rep.LastSeq || headHash != rep.LastHash:
		rep.Problem = &AuditProblem{Seq: rep.LastSeq, Kind: AuditAltered,
			Detail: fmt.Sprintf("the chain head (seq %d, hash %s) does not match the last row (seq %d, hash %s)", headSeq, headHash, rep.LastSeq, rep.LastHash)}
	}
	return rep, nil
}

func anchorProblem(a AuditAnchor, got string) *AuditProblem {
	return &AuditProblem{Seq: a.Seq, Kind: AuditRewritten,
		Detail: fmt.Sprintf("its hash is %s but the head published at %s says seq %d was %s: the chain was rewritten at or before seq %d and its hashes recomputed",
			short(got), a.At.UTC().Format(time.RFC3339), a.Seq, short(a.Hash), a.Seq)}
}

// AnchorAudit verifies the rows written since last (nil: the whole chain)
// and publishes the head to the outbox on topic, in one transaction. It
// publishes nothing, and returns the problem, if the chain does not hold or
// no longer matches last; nothing new (the same head as last, or an empty
// trail) returns published false. The caller then appends the anchor to its
// file.
func AnchorAudit(ctx context.Context, pool *pgxpool.Pool, last *AuditAnchor, topic string) (a AuditAnchor, published bool, err error) {
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT seq, hash, now() FROM audit_head`).Scan(&a.Seq, &a.Hash, &a.At); err != nil {
			return fmt.Errorf("audit head: %w", err)
		}
		if a.Seq == 0 || (last != nil && last.Seq == a.Seq && last.Hash == a.Hash) {
			return nil
		}
		var from AuditAnchor
		var anchors []AuditAnchor
		if last != nil {
			from, anchors = *last, []AuditAnchor{*last}
		}
		rep, err := verifyChain(ctx, tx, from, anchors, nil)
		if err != nil {
			return err
		}
		if rep.Problem != nil {
			return rep.Problem
		}
		payload, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, 'audit', $3)
			ON CONFLICT (event_id) DO NOTHING`, fmt.Sprintf("audit-anchor-%d", a.Seq), topic, string(payload)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		published = true
		return nil
	})
	if err != nil {
		var p *AuditProblem
		if errors.As(err, &p) {
			return a, false, p
		}
		return a, false, fmt.Errorf("audit anchor: %w", classify(err))
	}
	return a, published, nil
}

// checkAuditRow checks row r against the chain verified so far.
func checkAuditRow(rep AuditReport, r AuditRow) *AuditProblem {
	want := rep.LastSeq + 1
	switch {
	case r.Seq > want:
		return &AuditProblem{Seq: want, Kind: AuditMissing,
			Detail: fmt.Sprintf("seq jumps from %d to %d: rows %d..%d are gone", rep.LastSeq, r.Seq, want, r.Seq-1)}
	case r.Seq < want: // cannot happen with seq the primary key; kept for a copied table
		return &AuditProblem{Seq: r.Seq, Kind: AuditReordered, Detail: fmt.Sprintf("seq %d appears after seq %d", r.Seq, rep.LastSeq)}
	case r.PrevHash != rep.LastHash:
		// explainBrokenLink says which row is at fault.
		return &AuditProblem{Seq: r.Seq, Kind: AuditMissing, brokenLink: true,
			Detail: fmt.Sprintf("its prev_hash %s is not the hash of seq %d (%s)", short(r.PrevHash), rep.LastSeq, short(rep.LastHash))}
	}
	if got := AuditHash(r.PrevHash, r); got != r.Hash {
		return &AuditProblem{Seq: r.Seq, Kind: AuditAltered,
			Detail: fmt.Sprintf("its content hashes to %s, the row says %s (%s %s %s)", short(got), short(r.Hash), r.Entity, r.EntityID, r.Action)}
	}
	return nil
}

// explainBrokenLink names the row at fault when row p.Seq does not link to
// the row before it: if its prev_hash is the hash of another row still in
// the table, rows were moved (reordered); if no row has that hash and row
// p.Seq itself still hashes right, the row before it was rewritten (hash
// and all); otherwise the row it followed is gone and the rest renumbered.
func explainBrokenLink(ctx context.Context, tx pgx.Tx, p *AuditProblem) error {
	if !p.brokenLink {
		return nil
	}
	var r AuditRow
	var payload string
	if err := tx.QueryRow(ctx, `SELECT seq, at, entity, entity_id, action, actor, payload::text, prev_hash, hash
		FROM audit_log WHERE seq = $1`, p.Seq).Scan(&r.Seq, &r.At, &r.Entity, &r.EntityID, &r.Action, &r.Actor, &payload, &r.PrevHash, &r.Hash); err != nil {
		return err
	}
	r.Payload = json.RawMessage(payload)
	var other int64
	err := tx.QueryRow(ctx, `SELECT seq FROM audit_log WHERE hash = $1`, r.PrevHash).Scan(&other)
	switch {
	case err == nil:
		p.Kind = AuditReordered
		p.Detail = fmt.Sprintf("it was written after the row now at seq %d, not after seq %d", other, p.Seq-1)
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	case AuditHash(r.PrevHash, r) == r.Hash:
		p.Seq--
		p.Kind = AuditAltered
		p.Detail = fmt.Sprintf("its hash was rewritten: seq %d was chained to %s", p.Seq+1, short(r.PrevHash))
	default:
		p.Detail = fmt.Sprintf("the row seq %d was chained to (%s) is gone and the rows after it renumbered", p.Seq, short(r.PrevHash))
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// AuditFilter selects rows of the trail for an export.
type AuditFilter struct {
	From, To time.Time // at in [From, To); zero = open
}

// ScanAudit calls fn for every audit row in the filter, in seq order.
func ScanAudit(ctx context.Context, pool *pgxpool.Pool, f AuditFilter, fn func(AuditRow) error) error {
	var sql bytes.Buffer
	sql.WriteString(`SELECT seq, at, entity, entity_id, action, actor, payload::text, prev_hash, hash FROM audit_log WHERE true`)
	var args []any
	if !f.From.IsZero() {
		args = append(args, f.From)
		fmt.Fprintf(&sql, ` AND at >= $%d`, len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To)
		fmt.Fprintf(&sql, ` AND at < $%d`, len(args))
	}
	sql.WriteString(` ORDER BY seq`)
	rows, err := pool.Query(ctx, sql.String(), args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	var r AuditRow
	var payload string
	for rows.Next() {
		if err := rows.Scan(&r.Seq, &r.At, &r.Entity, &r.EntityID, &r.Action, &r.Actor, &payload, &r.PrevHash, &r.Hash); err != nil {
			return err
		}
		r.Payload = json.RawMessage(payload)
		if err := fn(r); err != nil {
			return err
		}
	}
	return classify(rows.Err())
}
