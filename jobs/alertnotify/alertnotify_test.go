package alertnotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/scheduler"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// post is one request the target received, checked against the wire
// format on arrival.
type post struct {
	Key string // Idempotency-Key
	Msg SlackMessage
}

// target is an httptest webhook: it checks each request is a Slack
// incoming-webhook POST and answers with answer(n) for the n-th (from 1).
type target struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	posts  []post
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newTarget(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *target {
	tg := &target{t: t, answer: answer}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("target: read body: %v", err)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/services/T0/B0/secret" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("target: %s %s %q, want POST /services/T0/B0/secret application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var m SlackMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Errorf("target: body is not a Slack message: %v\n%s", err, body)
		}
		checkSlack(t, m, body)
		tg.mu.Lock()
		tg.posts = append(tg.posts, post{Key: r.Header.Get("Idempotency-Key"), Msg: m})
		n := len(tg.posts)
		tg.mu.Unlock()
		if tg.answer == nil {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "ok") //nolint:errcheck
			return
		}
		tg.answer(n, w, r)
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) url() string { return tg.srv.URL + "/services/T0/B0/secret" }

func (tg *target) keys() []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var out []string
	for _, p := range tg.posts {
		out = append(out, p.Key)
	}
	return out
}

// checkSlack checks the message's layout as Slack documents it: a plain
// fallback text, then a header (plain_text, at most 150 characters), mrkdwn
// sections (at most 3000 characters each) and a context block; at most 50
// blocks.
func checkSlack(t *testing.T, m SlackMessage, body []byte) {
	t.Helper()
	if m.Text == "" || len(m.Blocks) < 3 || len(m.Blocks) > 50 {
		t.Errorf("target: text %q and %d blocks, want a text and 3 to 50 blocks: %s", m.Text, len(m.Blocks), body)
		return
	}
	h, c := m.Blocks[0], m.Blocks[len(m.Blocks)-1]
	if h.Type != "header" || h.Text == nil || h.Text.Type != "plain_text" || len([]rune(h.Text.Text)) > 150 {
		t.Errorf("target: first block %+v, want a plain_text header of at most 150 characters", h)
	}
	for _, s := range m.Blocks[1 : len(m.Blocks)-1] {
		if s.Type != "section" || s.Text == nil || s.Text.Type != "mrkdwn" || len([]rune(s.Text.Text)) > 3000 {
			t.Errorf("target: block %+v, want a mrkdwn section of at most 3000 characters", s)
		}
	}
	if c.Type != "context" || len(c.Elements) != 1 || c.Elements[0].Type != "mrkdwn" {
		t.Errorf("target: last block %+v, want a context with one mrkdwn element", c)
	}
}

// setup is a migrated database, the application's pool on it (the job and
// the alert raisers run as the application's role) and a job on target.
func setup(t *testing.T, url string) (*pgxpool.Pool, *Job) {
	_, _, app, _ := testkit.PGApp(t)
	return app, &Job{Pool: app, URL: url, Timeout: 5 * time.Second, Backoff: time.Millisecond, MaxBackoff: time.Millisecond, Log: testkit.Logger(t)}
}

type row struct {
	Status     string
	Attempts   int
	HTTPStatus *int
	Answer     *string
}

func deliveries(t *testing.T, pool *pgxpool.Pool) map[string]row {
	t.Helper()
	rows, err := pool.Query(testkit.Ctx(t), `SELECT a.subject, d.event, d.status, d.attempts, d.http_status, d.answer
		FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]row{}
	for rows.Next() {
		var subject, event string
		var r row
		if err := rows.Scan(&subject, &event, &r.Status, &r.Attempts, &r.HTTPStatus, &r.Answer); err != nil {
			t.Fatal(err)
		}
		out[subject+" "+event] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func pass(t *testing.T, j *Job) Stats {
	t.Helper()
	st, err := j.Pass(testkit.Ctx(t))
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	return st
}

// Raises and resolves made by the real code paths (nav-freshness's
// SyncAlerts, the engine's RaiseAlert) each reach the target once, in the
// Slack format, raise before resolve; passes with nothing new send nothing.
func TestRaiseAndResolveDeliveredOnce(t *testing.T) {
	ctx := testkit.Ctx(t)
	tg := newTarget(t, nil)
	pool, j := setup(t, tg.url())
	store := postgres.Store{Pool: pool}
	if _, _, err := store.SyncAlerts(ctx, "nav_stale", map[string]string{
		"HDFC Mutual Fund": "3 schemes over the SLA <15m> & late", "SBI Mutual Fund": "1 scheme over the SLA"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RaiseAlert(ctx, "not_a_feed", "NAVAll.txt", "an HTML page"); err != nil {
		t.Fatal(err)
	}
	// Raised again while open: the same alert, no new delivery.
	if err := store.RaiseAlert(ctx, "not_a_feed", "NAVAll.txt", "an HTML page, again"); err != nil {
		t.Fatal(err)
	}
	if st := pass(t, j); st.Tried != 3 || st.Sent != 3 {
		t.Fatalf("first pass: %+v, want 3 raises tried and sent", st)
	}
	// SBI catches up: its alert is resolved.
	if _, _, err := store.SyncAlerts(ctx, "nav_stale", map[string]string{"HDFC Mutual Fund": "3 schemes over the SLA"}); err != nil {
		t.Fatal(err)
	}
	if st := pass(t, j); st.Tried != 1 || st.Sent != 1 {
		t.Fatalf("second pass: %+v, want the one resolve", st)
	}
	if st := pass(t, j); st.worked() {
		t.Fatalf("third pass: %+v, want nothing to do", st)
	}

	tg.mu.Lock()
	posts := append([]post(nil), tg.posts...)
	tg.mu.Unlock()
	var texts []string
	for _, p := range posts {
		texts = append(texts, p.Msg.Text)
	}
	want := []string{"[RAISED] nav_stale: HDFC Mutual Fund", "[RAISED] nav_stale: SBI Mutual Fund", "[RAISED] not_a_feed: NAVAll.txt",
		"[RESOLVED] nav_stale: SBI Mutual Fund"}
	if len(texts) != 4 {
		t.Fatalf("texts %q, want %q (the raises in any order, then the resolve)", texts, want)
	}
	for _, w := range want[:3] {
		if !strings.Contains(strings.Join(texts[:3], "|"), w) {
			t.Errorf("raises %q lack %q", texts[:3], w)
		}
	}
	if texts[3] != want[3] {
		t.Errorf("fourth post %q, want %q", texts[3], want[3])
	}
	// mrkdwn control characters of the detail arrive escaped; the header
	// names the event and the kind.
	for _, p := range posts {
		if strings.Contains(p.Msg.Text, "HDFC") {
			if got := p.Msg.Blocks[1].Text.Text; got != "*HDFC Mutual Fund*\n3 schemes over the SLA &lt;15m&gt; &amp; late" {
				t.Errorf("HDFC section %q", got)
			}
			if got := p.Msg.Blocks[0].Text.Text; got != ":rotating_light: Raised: nav_stale" {
				t.Errorf("HDFC header %q", got)
			}
		}
		if strings.HasPrefix(p.Msg.Text, "[RESOLVED]") && !strings.Contains(p.Msg.Blocks[2].Elements[0].Text, "resolved ") {
			t.Errorf("resolve context %q names no resolve time", p.Msg.Blocks[2].Elements[0].Text)
		}
	}
	seen := map[string]int{}
	for _, k := range tg.keys() {
		seen[k]++
		if !strings.HasPrefix(k, "fundflow-alert-") || seen[k] > 1 {
			t.Errorf("Idempotency-Key %q (seen %d times)", k, seen[k])
		}
	}
	got := deliveries(t, pool)
	if len(got) != 4 {
		t.Fatalf("%d delivery rows, want 4: %v", len(got), got)
	}
	for k, r := range got {
		if r.Status != "sent" || r.Attempts != 1 || r.HTTPStatus == nil || *r.HTTPStatus != 200 || r.Answer == nil || *r.Answer != "ok" {
			t.Errorf("%s: %+v, want sent on the first attempt, answer 200 ok", k, r)
		}
	}
}

// The target answers 503, then times out, then 200: the delivery is tried
// again after its backoff and sent on the third attempt, with the same
// Idempotency-Key each time; nothing fails.
func TestFailsTwiceThenSucceeds(t *testing.T) {
	ctx := testkit.Ctx(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tg := newTarget(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "busy") //nolint:errcheck
		case 2:
			select { // hang until the job gives up on this request
			case <-r.Context().Done():
			case <-release:
			}
		default:
			io.WriteString(w, "ok") //nolint:errcheck
		}
	})
	pool, j := setup(t, tg.url())
	j.Timeout = time.Second // the hung second request times out; the others answer at once
	if err := (postgres.Store{Pool: pool}).RaiseAlert(ctx, "allot_failed", "ORD-1/1", "scheme closed"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Stats{{Tried: 1, Retrying: 1}, {Tried: 1, Retrying: 1}, {Tried: 1, Sent: 1}} {
		waitDue(t, pool)
		if st := pass(t, j); st != want {
			t.Fatalf("pass %d: %+v, want %+v", i+1, st, want)
		}
		if i == 0 {
			r := deliveries(t, pool)["ORD-1/1 raised"]
			if r.Status != "pending" || r.Attempts != 1 || r.HTTPStatus == nil || *r.HTTPStatus != 503 || *r.Answer != "busy" {
				t.Fatalf("after the 503: %+v", r)
			}
		}
	}
	keys := tg.keys()
	if len(keys) != 3 || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Fatalf("keys %q, want the same key three times", keys)
	}
	r := deliveries(t, pool)["ORD-1/1 raised"]
	if r.Status != "sent" || r.Attempts != 3 {
		t.Fatalf("%+v, want sent on attempt 3", r)
	}
}

// waitDue waits until every pending delivery's backoff has passed in
// Postgres's clock (the tests' backoff is 1 ms).
func waitDue(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for {
		var waiting bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at > now())`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if !waiting {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// A 4xx other than 429 is poison: failed at once with the answer, the pass
// fails (so the run is recorded failed), and no later pass sends it again.
// 429 is retried no sooner than its Retry-After; a target that keeps
// failing with 5xx is given up after MaxAttempts.
func TestPoisonAnswersAndGivingUp(t *testing.T) {
	cases := []struct {
		name        string
		code        int
		retryAfter  string
		maxAttempts int
		passes      int
		wantStatus  string
		wantTries   int
		wantAnswer  string
		wantMinWait time.Duration // of the pending row after the first pass
	}{
		{name: "404 revoked hook", code: 404, passes: 3, wantStatus: "failed", wantTries: 1, wantAnswer: "no_service"},
		{name: "400 bad payload", code: 400, passes: 3, wantStatus: "failed", wantTries: 1, wantAnswer: "invalid_blocks"},
		{name: "403 forbidden", code: 403, passes: 2, wantStatus: "failed", wantTries: 1, wantAnswer: "action_prohibited"},
		{name: "500 until out of attempts", code: 500, maxAttempts: 3, passes: 5, wantStatus: "failed", wantTries: 3, wantAnswer: "gave up after 3 attempts: oops"},
		{name: "429 waits for Retry-After", code: 429, retryAfter: "120", passes: 1, wantStatus: "pending", wantTries: 1, wantAnswer: "rate_limited", wantMinWait: 119 * time.Second},
	}
	answers := map[int]string{404: "no_service", 400: "invalid_blocks", 403: "action_prohibited", 500: "oops", 429: "rate_limited"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testkit.Ctx(t)
			tg := newTarget(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(c.code)
				io.WriteString(w, answers[c.code]) //nolint:errcheck
			})
			pool, j := setup(t, tg.url())
			j.MaxAttempts = c.maxAttempts
			if err := (postgres.Store{Pool: pool}).RaiseAlert(ctx, "refund_due", "pay_1", "order failed"); err != nil {
				t.Fatal(err)
			}
			var failedPasses int
			for i := 0; i < c.passes; i++ {
				if c.wantMinWait == 0 {
					waitDue(t, pool)
				}
				_, err := j.Pass(ctx)
				if errors.Is(err, ErrDeliveryFailed) {
					failedPasses++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if got := len(tg.keys()); got != c.wantTries {
				t.Fatalf("%d POSTs, want %d", got, c.wantTries)
			}
			if wantFailed := map[bool]int{true: 1}[c.wantStatus == "failed"]; failedPasses != wantFailed {
				t.Fatalf("%d passes failed with ErrDeliveryFailed, want %d (the one that gave up)", failedPasses, wantFailed)
			}
			r := deliveries(t, pool)["pay_1 raised"]
			if r.Status != c.wantStatus || r.Attempts != c.wantTries || r.HTTPStatus == nil || *r.HTTPStatus != c.code || r.Answer == nil || *r.Answer != c.wantAnswer {
				t.Fatalf("%+v (answer %q), want %s after %d attempts with %d %q", r, deref(r.Answer), c.wantStatus, c.wantTries, c.code, c.wantAnswer)
			}
			if c.wantMinWait > 0 {
				var wait time.Duration
				if err := pool.QueryRow(ctx, `SELECT (extract(epoch FROM next_attempt_at - now()) * 1e9)::bigint FROM alert_deliveries`).Scan(&wait); err != nil {
					t.Fatal(err)
				}
				if wait < c.wantMinWait {
					t.Fatalf("next attempt in %s, want at least %s", wait, c.wantMinWait)
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// A resolve is not sent before its raise: while the raise waits for a
// retry, the resolve waits too; then they go in order.
func TestResolveWaitsForItsRaise(t *testing.T) {
	ctx := testkit.Ctx(t)
	tg := newTarget(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	})
	pool, j := setup(t, tg.url())
	store := postgres.Store{Pool: pool}
	if _, _, err := store.SyncAlerts(ctx, "nav_stale", map[string]string{"Axis Mutual Fund": "late"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.SyncAlerts(ctx, "nav_stale", map[string]string{}); err != nil { // resolved before any pass
		t.Fatal(err)
	}
	if st := pass(t, j); st != (Stats{Tried: 1, Retrying: 1}) {
		t.Fatalf("first pass %+v, want the raise tried and the resolve held back", st)
	}
	waitDue(t, pool)
	if st := pass(t, j); st != (Stats{Tried: 2, Sent: 2}) {
		t.Fatalf("second pass %+v, want the raise, then the resolve", st)
	}
	keys := tg.keys()
	if len(keys) != 3 || !strings.HasSuffix(keys[1], "-raised") || !strings.HasSuffix(keys[2], "-resolved") {
		t.Fatalf("keys %q: the raise (twice), then the resolve", keys)
	}
}

// Deliveries queued long ago (a webhook configured after months of alerts,
// or an outage longer than max_age) are expired, not replayed.
func TestOldDeliveriesExpire(t *testing.T) {
	ctx := testkit.Ctx(t)
	tg := newTarget(t, nil)
	pool, j := setup(t, tg.url())
	j.MaxAge = time.Hour
	store := postgres.Store{Pool: pool}
	for _, s := range []string{"old", "new"} {
		if err := store.RaiseAlert(ctx, "not_a_feed", s, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE alert_deliveries d SET created_at = now() - interval '2 hours' FROM alerts a WHERE a.id = d.alert_id AND a.subject = 'old'`); err != nil {
		t.Fatal(err)
	}
	if st := pass(t, j); st != (Stats{Tried: 1, Sent: 1, Expired: 1}) {
		t.Fatalf("%+v, want the new one sent and the old one expired", st)
	}
	if r := deliveries(t, pool)["old raised"]; r.Status != "expired" || r.Attempts != 0 {
		t.Fatalf("old: %+v", r)
	}
}

// The child process of TestKillMidSendSendsNothingTwice: one scheduled
// pass against the target, until it is killed.
func TestHelperChildPass(t *testing.T) {
	url, db := os.Getenv("ALERTNOTIFY_CHILD_TARGET"), os.Getenv("ALERTNOTIFY_CHILD_DB")
	if url == "" || db == "" {
		return // only as the child of the kill test
	}
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{Pool: pool, URL: url, Timeout: time.Hour, Log: testkit.Logger(t)}
	fmt.Println("child: passing")
	if err := j.Scheduled(ctx); err != nil {
		t.Fatal(err)
	}
}

// A serve process is SIGKILLed while the target holds its POST of the
// third of five alerts. The next run (another process, as after a
// restart) records that delivery failed "interrupted" and sends the other
// two: every alert reached the target exactly once, none twice.
func TestKillMidSendSendsNothingTwice(t *testing.T) {
	ctx := testkit.Ctx(t)
	inFlight := make(chan struct{})
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	tg := newTarget(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 3 {
			close(inFlight)
			select { // answers only after the sender is dead
			case <-hold:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok") //nolint:errcheck
	})
	_, _, app, appURL := testkit.PGApp(t)
	store := postgres.Store{Pool: app}
	for i := 1; i <= 5; i++ {
		if err := store.RaiseAlert(ctx, "allot_failed", fmt.Sprintf("ORD-%d/1", i), "scheme closed"); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHelperChildPass$", "-test.v")
	cmd.Env = append(os.Environ(), "ALERTNOTIFY_CHILD_TARGET="+tg.url(), "ALERTNOTIFY_CHILD_DB="+appURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-inFlight:
	case <-ctx.Done():
		t.Fatalf("the child never sent the third alert: %v\n%s", ctx.Err(), out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The restart: a new process's scheduled pass (skipped until Postgres
	// has ended the dead one's session and with it its lock).
	j := &Job{Pool: app, URL: tg.url(), Log: testkit.Logger(t)}
	for {
		err := j.Scheduled(ctx)
		if errors.Is(err, scheduler.ErrSkipped) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if !errors.Is(err, ErrDeliveryFailed) || !strings.Contains(err.Error(), "1 interrupted") {
			t.Fatalf("restart pass: %v, want ErrDeliveryFailed for the 1 interrupted delivery", err)
		}
		break
	}
	if err := j.Scheduled(ctx); err != nil {
		t.Fatalf("a further pass: %v, want nothing to do", err)
	}

	seen := map[string]int{}
	for _, k := range tg.keys() {
		seen[k]++
	}
	if len(seen) != 5 {
		t.Fatalf("%d distinct deliveries reached the target, want 5: %v", len(seen), seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s reached the target %d times", k, n)
		}
	}
	var sent, interrupted int
	for k, r := range deliveries(t, app) {
		switch {
		case r.Status == "sent":
			sent++
		case r.Status == "failed" && r.Answer != nil && strings.HasPrefix(*r.Answer, "interrupted"):
			interrupted++
			if k != "ORD-3/1 raised" {
				t.Errorf("%s interrupted, want ORD-3/1's raise (the one in flight)", k)
			}
		default:
			t.Errorf("%s: %+v", k, r)
		}
	}
	if sent != 4 || interrupted != 1 {
		t.Fatalf("%d sent, %d interrupted, want 4 and 1", sent, interrupted)
	}
}

// A burst over DigestOver goes as one digest message (a 503 first: the
// whole digest is tried again, with the same key), each delivery recorded
// sent; the few resolves after it go one by one.
func TestBurstGoesAsOneDigest(t *testing.T) {
	ctx := testkit.Ctx(t)
	tg := newTarget(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok") //nolint:errcheck
	})
	pool, j := setup(t, tg.url())
	j.DigestOver = 3
	store := postgres.Store{Pool: pool}
	for i := 1; i <= 25; i++ {
		if err := store.RaiseAlert(ctx, "allot_failed", fmt.Sprintf("ORD-%d/1", i), "scheme closed"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := store.SyncAlerts(ctx, "not_a_feed", map[string]string{"a.txt": "html", "b.txt": "html"}); err != nil {
		t.Fatal(err)
	}
	if st := pass(t, j); st != (Stats{Tried: 27, Retrying: 27, Digests: 1}) {
		t.Fatalf("first pass %+v, want one digest of 27, to retry", st)
	}
	waitDue(t, pool)
	if st := pass(t, j); st != (Stats{Tried: 27, Sent: 27, Digests: 1}) {
		t.Fatalf("second pass %+v, want the digest again, sent", st)
	}
	if _, _, err := store.SyncAlerts(ctx, "not_a_feed", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if st := pass(t, j); st != (Stats{Tried: 2, Sent: 2}) {
		t.Fatalf("third pass %+v, want the 2 resolves one by one", st)
	}
	tg.mu.Lock()
	posts := append([]post(nil), tg.posts...)
	tg.mu.Unlock()
	if len(posts) != 4 || posts[0].Key != posts[1].Key || !strings.HasPrefix(posts[0].Key, "fundflow-alert-digest-") {
		t.Fatalf("%d posts, keys %q: want the digest twice under one key, then 2 resolves", len(posts), []string{posts[0].Key, posts[1].Key})
	}
	m := posts[1].Msg
	if want := "[DIGEST] 27 alerts raised: allot_failed raised ×25, not_a_feed raised ×2"; m.Text != want {
		t.Errorf("text %q, want %q", m.Text, want)
	}
	if len(m.Blocks) != 4 {
		t.Fatalf("%d blocks, want header, 2 kinds, context", len(m.Blocks))
	}
	want := "*allot_failed* · 25 raised\nORD-1/1, ORD-2/1, ORD-3/1, ORD-4/1, ORD-5/1, ORD-6/1, ORD-7/1, ORD-8/1, ORD-9/1, ORD-10/1 and 15 more"
	if got := m.Blocks[1].Text.Text; got != want {
		t.Errorf("first kind %q, want %q", got, want)
	}
	if got := m.Blocks[2].Text.Text; got != "*not_a_feed* · 2 raised\na.txt, b.txt" && got != "*not_a_feed* · 2 raised\nb.txt, a.txt" {
		t.Errorf("second kind %q", got)
	}
	for k, r := range deliveries(t, pool) {
		wantAttempts := 2
		if strings.HasSuffix(k, "resolved") {
			wantAttempts = 1
		}
		if r.Status != "sent" || r.Attempts != wantAttempts {
			t.Errorf("%s: %+v, want sent after %d attempts", k, r, wantAttempts)
		}
	}
}
