// Package alertnotify is the alert-notify job: it sends each raise and each
// resolve of a row of `alerts` to a webhook as a Slack incoming-webhook
// message ({"text": ..., "blocks": [...]}), with retries and backoff. The
// deliveries are queued by triggers in Postgres (alert_deliveries, queued
// in the transaction that raises or resolves the alert); this job sends
// what is due and records each answer on its row. A burst (more than
// DigestOver due at once) goes as one digest message.
//
// Never twice: one process sends at a time (the single-runner lock), and a
// delivery is marked 'sending' in Postgres before its POST. A delivery
// found 'sending' by the next run was handed to the target by a process
// that died before it recorded the answer: nobody knows whether the
// target got it, so it is recorded failed ("interrupted") and not sent
// again. Each POST carries an Idempotency-Key for targets that can
// deduplicate.
package alertnotify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Name is the job's name in job_runs, the run metrics and its lock.
const Name = "alert-notify"

// Defaults of the job when its fields are zero.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 10
	DefaultMaxAge      = 24 * time.Hour
	DefaultBackoff     = 10 * time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	DefaultDigestOver  = 20
	digestLimit        = 1000 // deliveries in one digest, at most
	answerLimit        = 1024 // bytes of the target's answer kept on the row
)

// Job is the alert-notify job.
type Job struct {
	Pool        *pgxpool.Pool
	URL         string       // the webhook (a secret: never logged)
	Client      *http.Client // nil: http.DefaultClient; each POST is bounded by Timeout
	Timeout     time.Duration
	MaxAttempts int           // then the delivery is recorded failed
	MaxAge      time.Duration // a delivery older than this at its first try is expired, not sent
	Backoff     time.Duration // the wait after the first failed try, doubling, up to MaxBackoff
	MaxBackoff  time.Duration
	// DigestOver: when more deliveries than this are due at once, they go
	// as one digest message (counts by kind, the first subjects) instead.
	DigestOver int
	Log        *slog.Logger
	Recorder   pipelines.Recorder
}

// Stats counts what one pass did.
type Stats struct {
	Tried       int64 `json:"tried"`       // deliveries POSTed
	Sent        int64 `json:"sent"`        // answered 2xx
	Retrying    int64 `json:"retrying"`    // 5xx, 429, timeout: tried again later
	Failed      int64 `json:"failed"`      // refused (4xx) or out of attempts
	Interrupted int64 `json:"interrupted"` // left 'sending' by a process that died: recorded failed, not resent
	Expired     int64 `json:"expired"`     // older than MaxAge before their first try: not sent
	Digests     int64 `json:"digests"`     // digest messages POSTed (each tried its deliveries at once)
}

func (s Stats) worked() bool {
	return s.Tried > 0 || s.Interrupted > 0 || s.Expired > 0
}

// Run is the engine's view of a pass: deliveries tried in, sent out, the
// ones that ended failed as failed units.
func (s Stats) Run() pipelines.Stats {
	return pipelines.Stats{In: s.Tried, Out: s.Sent, FailedUnits: s.Failed + s.Interrupted, Skipped: s.Expired, Reasons: map[string]int64{}}
}

// ErrDeliveryFailed is the pass's error when a delivery ended failed, so
// the run is recorded failed and FundflowJobFailed tells someone that the
// notifications do not arrive.
var ErrDeliveryFailed = errors.New("alert deliveries failed")

// Scheduled is one pass as serve's scheduler runs it: under the job's
// lock, a job_runs row only when it did something (most passes find
// nothing due).
func (j *Job) Scheduled(ctx context.Context) error {
	return supervise.Single(ctx, postgres.Store{Pool: j.Pool}, Name, func(ctx context.Context) error {
		var st Stats
		_, err := j.Recorder.RunIfWork(ctx, Name, func(pipelines.Stats) bool { return st.worked() }, func(ctx context.Context) (pipelines.Stats, error) {
			var err error
			st, err = j.Pass(ctx)
			return st.Run(), err
		})
		if st.worked() {
			j.log().Info("alert-notify", "sent", st.Sent, "retrying", st.Retrying, "failed", st.Failed, "interrupted", st.Interrupted, "expired", st.Expired)
		}
		return err
	})
}

// Pass sends every delivery due now; the caller holds the job's lock. A
// delivery is tried at most once a pass: one that must wait is due again
// after its backoff, at a later pass.
func (j *Job) Pass(ctx context.Context) (st Stats, err error) {
	var start time.Time
	if err := j.Pool.QueryRow(ctx, `SELECT now()`).Scan(&start); err != nil {
		return st, fmt.Errorf("alert-notify: %w", err)
	}
	tag, err := j.Pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'failed', done_at = now(), http_status = NULL,
		answer = 'interrupted: the process sending it stopped before the answer was recorded; not sent again, so it cannot arrive twice'
		WHERE status = 'sending'`)
	if err != nil {
		return st, fmt.Errorf("alert-notify: interrupted deliveries: %w", err)
	}
	st.Interrupted = tag.RowsAffected()
	tag, err = j.Pool.Exec(ctx, `UPDATE alert_deliveries SET status = 'expired', done_at = now(),
		answer = 'expired: older than max_age before its first try'
		WHERE status = 'pending' AND attempts = 0 AND created_at < now() - $1::interval`, or(j.MaxAge, DefaultMaxAge))
	if err != nil {
		return st, fmt.Errorf("alert-notify: expire deliveries: %w", err)
	}
	st.Expired = tag.RowsAffected()
	var firstFailure string
	failed := func(ds []delivery, r result) {
		if r.final && !r.ok && firstFailure == "" {
			firstFailure = fmt.Sprintf("alert %d %s: %s", ds[0].AlertID, ds[0].Event, r.summary())
		}
	}
	for ctx.Err() == nil {
		keys, err := j.due(ctx, start)
		if err != nil {
			return st, err
		}
		if len(keys) == 0 {
			break
		}
		// A burst (a closed scheme's thousand allot_failed alerts) is one
		// digest message, not a thousand: a channel stays readable and a
		// webhook's rate limit (Slack: about one a second) is not hit.
		if len(keys) > orInt(j.DigestOver, DefaultDigestOver) {
			ds, err := j.claim(ctx, keys)
			if err != nil {
				return st, err
			}
			if len(ds) == 0 {
				continue
			}
			body, err := json.Marshal(Digest(ds))
			if err != nil {
				return st, fmt.Errorf("alert-notify: digest: %w", err)
			}
			// Not cut short by a shutdown (serve waits for its jobs): cut
			// mid-send, it could not be known whether it arrived.
			r := j.post(context.WithoutCancel(ctx), body, fmt.Sprintf("fundflow-alert-digest-%d-%s-%d", ds[0].AlertID, ds[0].Event, len(ds)))
			st.Digests++
			rs := make([]result, len(ds))
			for i, d := range ds {
				rs[i] = j.giveUp(d, r)
				failed(ds[i:i+1], rs[i])
			}
			st.Tried += int64(len(ds))
			if err := j.record(ds, rs, &st); err != nil {
				return st, err
			}
			continue
		}
		for _, k := range keys {
			if ctx.Err() != nil {
				break // shutting down: the rest stay pending
			}
			ds, err := j.claim(ctx, []key{k})
			if err != nil {
				return st, err
			}
			if len(ds) == 0 {
				continue
			}
			d := ds[0]
			body, err := json.Marshal(Message(d.Kind, d.Subject, d.Detail, d.Event, d.AlertID, d.RaisedAt, d.ResolvedAt))
			if err != nil {
				return st, fmt.Errorf("alert-notify: message: %w", err)
			}
			r := j.giveUp(d, j.post(context.WithoutCancel(ctx), body, fmt.Sprintf("fundflow-alert-%d-%s", d.AlertID, d.Event)))
			st.Tried++
			if err := j.record(ds, []result{r}, &st); err != nil {
				return st, err
			}
			failed(ds, r)
		}
	}
	if st.Failed > 0 || st.Interrupted > 0 {
		if firstFailure == "" {
			firstFailure = "a delivery was interrupted by a process that died mid-send"
		}
		return st, fmt.Errorf("%s: %w: %d failed, %d interrupted (first: %s); see alert_deliveries", Name, ErrDeliveryFailed, st.Failed, st.Interrupted, firstFailure)
	}
	return st, ctx.Err()
}

// key names one delivery.
type key struct {
	AlertID int64
	Event   string
}

// due lists deliveries due at start, each alert's raise before its
// resolve. A resolve waits while its raise is still to be sent.
func (j *Job) due(ctx context.Context, start time.Time) ([]key, error) {
	rows, err := j.Pool.Query(ctx, `SELECT d.alert_id, d.event FROM alert_deliveries d
		WHERE d.status = 'pending' AND d.next_attempt_at <= $1
		  AND NOT (d.event = 'resolved' AND EXISTS (SELECT 1 FROM alert_deliveries r
		      WHERE r.alert_id = d.alert_id AND r.event = 'raised' AND r.status IN ('pending', 'sending')))
		ORDER BY d.alert_id, d.event
		LIMIT $2`, start, digestLimit)
	if err != nil {
		return nil, fmt.Errorf("alert-notify: due deliveries: %w", err)
	}
	ks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[key])
	if err != nil {
		return nil, fmt.Errorf("alert-notify: due deliveries: %w", err)
	}
	return ks, nil
}

// delivery is one claimed delivery with its alert.
type delivery struct {
	AlertID    int64
	Event      string // raised | resolved
	Attempts   int    // including this one
	Kind       string
	Subject    string
	Detail     string
	RaisedAt   time.Time
	ResolvedAt *time.Time
}

// claim marks deliveries 'sending', committed before their POST, so that
// a crash leaves exactly the ones in flight to be found. The ones no
// longer pending are left out. One at a time but for a digest, so at most
// one message is ever in flight.
func (j *Job) claim(ctx context.Context, ks []key) ([]delivery, error) {
	ids, events := make([]int64, len(ks)), make([]string, len(ks))
	for i, k := range ks {
		ids[i], events[i] = k.AlertID, k.Event
	}
	rows, err := j.Pool.Query(ctx, `UPDATE alert_deliveries d SET status = 'sending', attempts = d.attempts + 1
		FROM alerts a, unnest($1::bigint[], $2::text[]) AS k (alert_id, event)
		WHERE d.alert_id = k.alert_id AND d.event = k.event AND d.status = 'pending' AND a.id = d.alert_id
		RETURNING d.alert_id, d.event, d.attempts, a.kind, a.subject, a.detail, a.created_at, a.resolved_at`, ids, events)
	if err != nil {
		return nil, fmt.Errorf("alert-notify: claim: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery, error) {
		var d delivery
		err := r.Scan(&d.AlertID, &d.Event, &d.Attempts, &d.Kind, &d.Subject, &d.Detail, &d.RaisedAt, &d.ResolvedAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("alert-notify: claim: %w", err)
	}
	// RETURNING has no order: by alert, its raise before its resolve.
	slices.SortFunc(ds, func(a, b delivery) int {
		return cmp.Or(cmp.Compare(a.AlertID, b.AlertID), strings.Compare(a.Event, b.Event))
	})
	return ds, nil
}

// result is what one POST came to.
type result struct {
	ok         bool          // 2xx
	final      bool          // sent, or failed for good
	status     int           // 0: no answer
	answer     string        // the answer's start, or the error
	retryAfter time.Duration // the target's Retry-After, if any
}

func (r result) summary() string {
	if r.status == 0 {
		return r.answer
	}
	return fmt.Sprintf("HTTP %d %s", r.status, r.answer)
}

// post POSTs one message and classifies the answer: 2xx sent; 429, 408
// and 5xx, a timeout or no connection may be tried again (final false);
// any other answer (a 4xx) means the target refuses this message and
// retrying cannot help: failed at once, with the answer kept.
func (j *Job) post(ctx context.Context, body []byte, idempotencyKey string) result {
	rctx, cancel := context.WithTimeout(ctx, or(j.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return result{final: true, answer: "request: " + redact(err.Error(), j.URL)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fundflow-alert-notify")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	client := j.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL is a secret: errors quote it, so it is cut out.
		return result{answer: redact(err.Error(), j.URL)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) //nolint:errcheck // drain for reuse of the connection
	res := result{status: resp.StatusCode, answer: strings.ToValidUTF8(strings.ReplaceAll(string(b), "\x00", ""), "?")}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		res.ok, res.final = true, true
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		res.retryAfter = retryAfter(resp.Header.Get("Retry-After"))
	default:
		res.final = true // poison: this message will not be taken
	}
	return res
}

// giveUp makes a delivery's transient failure final once its attempts are
// spent.
func (j *Job) giveUp(d delivery, r result) result {
	if !r.final && d.Attempts >= orInt(j.MaxAttempts, DefaultMaxAttempts) {
		r.final = true
		r.answer = fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, r.answer)
	}
	return r
}

// backoff is the wait after the n-th failed try: Backoff doubling, capped.
func (j *Job) backoff(n int, retryAfter time.Duration) time.Duration {
	b, limit := or(j.Backoff, DefaultBackoff), or(j.MaxBackoff, DefaultMaxBackoff)
	for i := 1; i < n && b < limit; i++ {
		b *= 2
	}
	return max(min(b, limit), retryAfter)
}

// record writes the outcomes of a POST on their rows, in one round trip
// (a digest's hundreds). It runs even when ctx ended (the target answered:
// that must not be lost).
func (j *Job) record(ds []delivery, rs []result, st *Stats) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := &pgx.Batch{}
	var failed, retrying []int
	for i, d := range ds {
		r := rs[i]
		var status *int
		if r.status != 0 {
			status = &r.status
		}
		switch {
		case r.ok:
			st.Sent++
			b.Queue(`UPDATE alert_deliveries SET status = 'sent', done_at = now(), http_status = $3, answer = $4
				WHERE alert_id = $1 AND event = $2`, d.AlertID, d.Event, status, r.answer)
		case r.final:
			st.Failed++
			failed = append(failed, i)
			b.Queue(`UPDATE alert_deliveries SET status = 'failed', done_at = now(), http_status = $3, answer = $4
				WHERE alert_id = $1 AND event = $2`, d.AlertID, d.Event, status, r.answer)
		default:
			st.Retrying++
			retrying = append(retrying, i)
			b.Queue(`UPDATE alert_deliveries SET status = 'pending', next_attempt_at = now() + $3::interval, http_status = $4, answer = $5
				WHERE alert_id = $1 AND event = $2`, d.AlertID, d.Event, j.backoff(d.Attempts, r.retryAfter), status, r.answer)
		}
	}
	// One line for a digest's hundreds, naming the first.
	if len(failed) > 0 {
		d, r := ds[failed[0]], rs[failed[0]]
		j.log().Error("alert delivery failed", "deliveries", len(failed), "alert", d.AlertID, "event", d.Event, "kind", d.Kind, "attempts", d.Attempts, "answer", r.summary())
	}
	if len(retrying) > 0 {
		d, r := ds[retrying[0]], rs[retrying[0]]
		j.log().Warn("alert delivery will be retried", "deliveries", len(retrying), "alert", d.AlertID, "event", d.Event, "attempts", d.Attempts,
			"in", j.backoff(d.Attempts, r.retryAfter), "answer", r.summary())
	}
	if err := j.Pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("alert-notify: record %d deliveries from alert %d %s: %w", len(ds), ds[0].AlertID, ds[0].Event, err)
	}
	return nil
}

// retryAfter reads a Retry-After of seconds (the HTTP-date form is rare
// from webhooks and is ignored: the backoff applies).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Hour)
}

// redact cuts the secret URL out of an error.
func redact(s, url string) string {
	if url == "" {
		return s
	}
	return strings.ReplaceAll(s, url, "<webhook url>")
}

func (j *Job) log() *slog.Logger {
	if j.Log == nil {
		return slog.Default()
	}
	return j.Log
}

func or(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
