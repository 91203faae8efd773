// Package pgstore is notify's Postgres store: the read model planning
// reads, preferences, the planning pass over the outbox, and the
// notifications rows the deliverer claims and records.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/notify"
)

// Store is notify's Postgres store.
type Store struct{ Pool *pgxpool.Pool }

// TopicSent is the event of every delivery, written with the row's 'sent'.
const TopicSent = "notification.sent"

// Investor implements notify.ReadModel.
func (s Store) Investor(ctx context.Context, id string) (notify.Investor, error) {
	inv := notify.Investor{ID: id}
	err := s.Pool.QueryRow(ctx, `SELECT name, email, phone FROM investors WHERE id = $1`, id).Scan(&inv.Name, &inv.Email, &inv.Phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, fmt.Errorf("investor %q: %w", id, notify.ErrUnknownInvestor)
	}
	return inv, err
}

// FolioInvestor implements notify.ReadModel.
func (s Store) FolioInvestor(ctx context.Context, folio string) (string, error) {
	var id string
	err := s.Pool.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, folio).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("folio %s: %w", fund.MaskTail(folio), notify.ErrUnknownInvestor)
	}
	return id, err
}

// SchemeName implements notify.ReadModel.
func (s Store) SchemeName(ctx context.Context, code string) (string, error) {
	var name string
	err := s.Pool.QueryRow(ctx, `SELECT name FROM schemes WHERE code = $1`, code).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// Preference implements notify.Preferences: the event type's row, else the
// investor's default ('*').
func (s Store) Preference(ctx context.Context, investorID, eventType string) (*notify.Preference, error) {
	var p notify.Preference
	var chans []string
	err := s.Pool.QueryRow(ctx, `SELECT investor_id, event_type, channels, quiet_start, quiet_end, opted_out, push_token
		FROM notify_preferences WHERE investor_id = $1 AND event_type IN ($2, '*')
		ORDER BY event_type = '*' LIMIT 1`, investorID, eventType).
		Scan(&p.InvestorID, &p.EventType, &chans, &p.QuietStart, &p.QuietEnd, &p.OptedOut, &p.PushToken)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, c := range chans {
		p.Channels = append(p.Channels, notify.Channel(c))
	}
	return &p, nil
}

// PutPreference stores (replaces) one preference.
func (s Store) PutPreference(ctx context.Context, p notify.Preference) error {
	if err := p.Validate(); err != nil {
		return err
	}
	chans := make([]string, len(p.Channels))
	for i, c := range p.Channels {
		chans[i] = string(c)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO notify_preferences (investor_id, event_type, channels, quiet_start, quiet_end, opted_out, push_token, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		ON CONFLICT (investor_id, event_type) DO UPDATE SET channels = EXCLUDED.channels, quiet_start = EXCLUDED.quiet_start,
			quiet_end = EXCLUDED.quiet_end, opted_out = EXCLUDED.opted_out, push_token = EXCLUDED.push_token, updated_at = now()`,
		p.InvestorID, p.EventType, chans, p.QuietStart, p.QuietEnd, p.OptedOut, p.PushToken)
	return err
}

// WritePlans writes planned events in one transaction: their
// notifications, and their dead letters. Idempotent, so a batch planned
// again after a crash (its offsets or outbox marks not yet committed) adds
// nothing: a notification is unique on (event id, channel), and an event's
// planning dead letter is written once.
func (s Store) WritePlans(ctx context.Context, plans []notify.Plan) error {
	var b pgx.Batch
	for _, p := range plans {
		if dl := p.Dead; dl != nil {
			b.Queue(`INSERT INTO notify_dead_letters (event_id, channel, reason, payload)
				SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM notify_dead_letters
					WHERE event_id = $1 AND channel = $2 AND notification_id IS NULL AND replayed_at IS NULL)`,
				dl.EventID, string(dl.Channel), dl.Reason, dl.Payload)
		}
		for _, n := range p.Rows {
			b.Queue(`INSERT INTO notifications (event_id, channel, investor_id, event_type, template, recipient, subject, body, urgent, not_before)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id, channel) DO NOTHING`,
				n.EventID, string(n.Channel), n.InvestorID, n.EventType, n.Template, n.Recipient, n.Subject, n.Body, n.Urgent, n.NotBefore)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("notify: write planned rows: %w", err)
	}
	return tx.Commit(ctx)
}

func queueDeadLetter(b *pgx.Batch, dl notify.DeadLetter) {
	var nid *int64
	if dl.NotificationID != 0 {
		nid = &dl.NotificationID
	}
	b.Queue(`INSERT INTO notify_dead_letters (event_id, channel, notification_id, reason, payload) VALUES ($1, $2, $3, $4, $5)`,
		dl.EventID, string(dl.Channel), nid, dl.Reason, dl.Payload)
}

const cols = `id, event_id, channel, investor_id, event_type, template, recipient, subject, body, urgent, not_before, attempts`

func scanRows(rows pgx.Rows) ([]notify.Notification, error) {
	defer rows.Close()
	var out []notify.Notification
	for rows.Next() {
		var n notify.Notification
		var ch string
		if err := rows.Scan(&n.ID, &n.EventID, &ch, &n.InvestorID, &n.EventType, &n.Template, &n.Recipient, &n.Subject, &n.Body, &n.Urgent, &n.NotBefore, &n.Attempts); err != nil {
			return nil, err
		}
		n.Channel = notify.Channel(ch)
		out = append(out, n)
	}
	return out, rows.Err()
}

// Claim implements notify.Store.
func (s Store) Claim(ctx context.Context, limit int, now time.Time) ([]notify.Notification, error) {
	rows, err := s.Pool.Query(ctx, `UPDATE notifications SET status = 'sending', claimed_at = now(), attempts = attempts + 1
		WHERE id IN (SELECT id FROM notifications WHERE status = 'queued' AND not_before <= $1
			ORDER BY not_before, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING `+cols, now, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: claim: %w", err)
	}
	return scanRows(rows)
}

// Sending implements notify.Store.
func (s Store) Sending(ctx context.Context) ([]notify.Notification, error) {
	rows, err := s.Pool.Query(ctx, `SELECT n.id, n.event_id, n.channel, n.investor_id, n.event_type, n.template, n.recipient,
			n.subject, n.body, n.urgent, n.not_before, n.attempts, coalesce(f.event_id, '')
		FROM notifications n LEFT JOIN notifications f ON f.id = n.digest_id
		WHERE n.status = 'sending' ORDER BY n.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []notify.Notification
	for rows.Next() {
		var n notify.Notification
		var ch string
		if err := rows.Scan(&n.ID, &n.EventID, &ch, &n.InvestorID, &n.EventType, &n.Template, &n.Recipient, &n.Subject, &n.Body, &n.Urgent, &n.NotBefore, &n.Attempts, &n.DigestEvent); err != nil {
			return nil, err
		}
		n.Channel = notify.Channel(ch)
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkDigest implements notify.Store: the rows' digest is their first.
func (s Store) MarkDigest(ctx context.Context, ids []int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE notifications SET digest_id = $2 WHERE id = ANY($1) AND status = 'sending'`, ids, ids[0])
	return err
}

// Record implements notify.Store: one transaction writes every outcome, a
// dead letter for each dead row and a notification.sent outbox event for
// each sent one.
func (s Store) Record(ctx context.Context, outs []notify.Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	n := len(outs)
	ids, st, prov, pid, errs := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	nb := make([]*time.Time, n)
	for i, o := range outs {
		ids[i], st[i], prov[i], pid[i], errs[i] = o.ID, string(o.Status), o.Provider, o.ProviderID, o.Error
		if !o.NotBefore.IsZero() {
			t := o.NotBefore
			nb[i] = &t
		}
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var b pgx.Batch
	b.Queue(`UPDATE notifications n SET status = u.status, provider = u.provider,
			provider_id = CASE WHEN u.provider_id <> '' THEN u.provider_id ELSE n.provider_id END,
			last_error = u.err, not_before = COALESCE(u.not_before, n.not_before),
			digest_id = CASE WHEN u.status = 'queued' THEN NULL ELSE n.digest_id END,
			sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE n.sent_at END,
			failed_at = CASE WHEN u.status IN ('failed', 'dead') THEN now() ELSE n.failed_at END
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(id, status, provider, provider_id, err, not_before)
		WHERE n.id = u.id`, ids, st, prov, pid, errs, nb)
	b.Queue(`INSERT INTO notify_dead_letters (event_id, channel, notification_id, reason)
		SELECT event_id, channel, id, last_error FROM notifications WHERE id = ANY($1) AND status IN ('dead', 'failed')`, ids)
	b.Queue(`INSERT INTO outbox (event_id, topic, key, payload)
		SELECT '`+TopicSent+`:' || event_id || ':' || channel, '`+TopicSent+`', investor_id,
			jsonb_build_object('event_id', '`+TopicSent+`:' || event_id || ':' || channel, 'source_event_id', event_id,
				'channel', channel, 'provider', provider, 'provider_id', provider_id, 'investor_id', investor_id,
				'event_type', event_type, 'template', template, 'attempts', attempts,
				'sent_at', to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
		FROM notifications WHERE id = ANY($1) AND status = 'sent'
		ON CONFLICT (event_id) DO NOTHING`, ids)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("notify: record outcomes: %w", err)
	}
	return tx.Commit(ctx)
}

// Receipt records a provider's delivery receipt (DLR) for the message it
// knows as providerID: delivered, or failed with the reason. It reports
// whether a row matched.
func (s Store) Receipt(ctx context.Context, provider, providerID string, delivered bool, reason string, at time.Time) (bool, error) {
	var tag interface{ RowsAffected() int64 }
	var err error
	if delivered {
		tag, err = s.Pool.Exec(ctx, `UPDATE notifications SET status = 'delivered', delivered_at = $3
			WHERE provider = $1 AND provider_id = $2 AND status IN ('sent', 'delivered')`, provider, providerID, at)
	} else {
		// An undelivered message gets a dead letter, so it can be replayed.
		tag, err = s.Pool.Exec(ctx, `WITH f AS (UPDATE notifications SET status = 'failed', failed_at = $3, last_error = $4
				WHERE provider = $1 AND provider_id = $2 AND status IN ('sent', 'delivered')
				RETURNING id, event_id, channel)
			INSERT INTO notify_dead_letters (event_id, channel, notification_id, reason)
			SELECT event_id, channel, id, 'receipt: ' || $4 FROM f`, provider, providerID, at, reason)
	}
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// Replay queues dead (and failed) notifications again with a fresh attempt
// budget: the ones of the dead letters named, or every open dead letter's
// when ids is empty. It returns how many rows it queued.
func (s Store) Replay(ctx context.Context, ids []int64) (int, error) {
	if ids == nil {
		ids = []int64{} // a NULL array has no cardinality
	}
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var n int
	err = tx.QueryRow(ctx, `WITH d AS (
			UPDATE notify_dead_letters SET replayed_at = now()
			WHERE replayed_at IS NULL AND notification_id IS NOT NULL AND (cardinality($1::bigint[]) = 0 OR id = ANY($1))
			RETURNING notification_id),
		q AS (UPDATE notifications SET status = 'queued', attempts = 0, not_before = now(), last_error = ''
			WHERE id IN (SELECT notification_id FROM d) AND status IN ('dead', 'failed') RETURNING 1)
		SELECT count(*) FROM q`, ids).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("notify: replay: %w", err)
	}
	return n, tx.Commit(ctx)
}

// Counts returns the notifications per status.
func (s Store) Counts(ctx context.Context) (map[notify.Status]int, error) {
	rows, err := s.Pool.Query(ctx, `SELECT status, count(*) FROM notifications GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[notify.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[notify.Status(st)] = n
	}
	return out, rows.Err()
}

// FactsPass copies up to limit notifications whose status changed since
// their last copy (sent, delivered, failed, dead) to ClickHouse
// notification_facts, then marks them copied: a crash between the two
// copies them again, the same rows (ReplacingMergeTree). It returns the
// rows copied.
func (s Store) FactsPass(ctx context.Context, ch driver.Conn, limit int) (int, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, event_id, channel, provider, event_type, template, investor_id, status, attempts, last_error,
			queued_at, coalesce(CASE status WHEN 'sent' THEN sent_at WHEN 'delivered' THEN delivered_at ELSE failed_at END, now())
		FROM notifications WHERE status IN ('sent', 'delivered', 'failed', 'dead') AND facts_status <> status
		ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return 0, fmt.Errorf("notify facts: %w", err)
	}
	type fact struct {
		id                                                    int64
		event, channel, provider, typ, tmpl, inv, st, lastErr string
		attempts                                              int
		queued, at                                            time.Time
	}
	var fs []fact
	for rows.Next() {
		var f fact
		if err := rows.Scan(&f.id, &f.event, &f.channel, &f.provider, &f.typ, &f.tmpl, &f.inv, &f.st, &f.attempts, &f.lastErr, &f.queued, &f.at); err != nil {
			rows.Close()
			return 0, err
		}
		fs = append(fs, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(fs) == 0 {
		return 0, err
	}
	b, err := ch.PrepareBatch(ctx, `INSERT INTO notification_facts (notification_id, event_id, channel, provider, event_type, template, investor_id, status, attempts, error, queued_at, at, day)`)
	if err != nil {
		return 0, fmt.Errorf("notify facts: %w", err)
	}
	ids, sts := make([]int64, len(fs)), make([]string, len(fs))
	for i, f := range fs {
		at := f.at.UTC()
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		if err := b.Append(uint64(f.id), f.event, f.channel, f.provider, f.typ, f.tmpl, f.inv, f.st, uint16(min(f.attempts, 65535)), f.lastErr, f.queued.UTC(), at, day); err != nil {
			return 0, fmt.Errorf("notify facts: %w", err)
		}
		ids[i], sts[i] = f.id, f.st
	}
	if err := b.Send(); err != nil {
		return 0, fmt.Errorf("notify facts: %w", err)
	}
	// Marked with the status copied: a row that moved on meanwhile is copied again next pass.
	if _, err := s.Pool.Exec(ctx, `UPDATE notifications n SET facts_status = u.st FROM unnest($1::bigint[], $2::text[]) AS u(id, st) WHERE n.id = u.id`, ids, sts); err != nil {
		return 0, fmt.Errorf("notify facts: mark: %w", err)
	}
	return len(fs), nil
}

// DeadLetter records a dead letter of its own (a message that is not an
// event, e.g. a bad preference from Kafka).
func (s Store) DeadLetter(ctx context.Context, dl notify.DeadLetter) error {
	var b pgx.Batch
	queueDeadLetter(&b, dl)
	return s.Pool.SendBatch(ctx, &b).Close()
}

// AwaitingReceipt returns the provider ids of up to limit SMS the
// provider took between from and to and whose receipt has not come
// (status still 'sent'), oldest first: the receipt poll asks about them.
func (s Store) AwaitingReceipt(ctx context.Context, provider string, from, to time.Time, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT provider_id FROM notifications
		WHERE status = 'sent' AND channel = 'sms' AND provider = $1 AND provider_id <> '' AND sent_at >= $2 AND sent_at < $3
		ORDER BY sent_at, id LIMIT $4`, provider, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: awaiting receipt: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
