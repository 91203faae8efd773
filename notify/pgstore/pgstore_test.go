package pgstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/notifyjob"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/notify/twiliosim"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// seed writes investors INV1 and INV2 (emails at the test's Mailpit
// domain), their folios and a scheme.
func seed(t *testing.T, pool *pgxpool.Pool, domain string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO investors (id, name, email, phone) VALUES ('INV1', 'Asha Rao', 'asha@%s', '+919800000001'), ('INV2', 'Ravi Iyer', 'ravi@%s', '')`, domain, domain),
		`INSERT INTO folios (folio_no, investor_id) VALUES ('1234567890', 'INV1'), ('5550001111', 'INV2')`,
		`INSERT INTO schemes (code, name, version, valid_from) VALUES ('120465', 'Axis Bluechip Fund - Direct Growth', 1, '2020-01-01')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

func txEvent(id, investor, folio, amount string) string {
	return fmt.Sprintf(`{"event_id":%q,"tx_id":1,"order_id":"O-%s","request_id":"R","kind":"purchase","folio":%q,
"investor_id":%q,"scheme_code":"120465","nav_date":"2026-12-04","nav":"52.1234","units":"10.000",
"amount":%q,"stamp_duty":"0.03","exit_load":"0","net_amount":%q,"placed_at":"","posted_at":""}`, id, id, folio, investor, amount, amount)
}

func outbox(t *testing.T, pool *pgxpool.Pool, id, topic, key, payload string) {
	t.Helper()
	if _, err := pool.Exec(testkit.Ctx(t), `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`, id, topic, key, payload); err != nil {
		t.Fatal(err)
	}
}

func planner(t *testing.T, st pgstore.Store) notify.Planner {
	ts, err := notify.LoadTemplates(notify.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return notify.Planner{Templates: ts, RM: st, Prefs: st}
}

// planOutbox runs the planner over the outbox once (the engine pipeline
// serve and `notify run` use) and returns the events it read.
func planOutbox(ctx context.Context, pool *pgxpool.Pool, p notify.Planner) (int, error) {
	st, err := notifyjob.Planner{PG: &postgres.Store{Pool: pool}, Planner: p}.Outbox(false).Run(ctx)
	return int(st.In), err
}

func smtpSender(t *testing.T, m testkit.MailpitServer) *notify.SMTP {
	s := &notify.SMTP{Addr: m.SMTPAddr, User: m.User, Password: m.Password, TLS: m.TLSConfig(t), From: "notify@fundflow.test", Timeout: 5 * time.Second}
	t.Cleanup(func() { s.Close() })
	return s
}

func status(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(testkit.Ctx(t), `SELECT event_id || '/' || channel || '=' || status FROM notifications`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out[s]++
	}
	return out
}

// Events in the outbox become one email each in Mailpit, exactly once per
// (event, channel), with ₹ amounts in Indian grouping and masked folios; an
// unknown investor and a malformed event go to dead letter and the rest
// flows; planning twice adds nothing.
func TestPlanAndDeliverEmail(t *testing.T) {
	pool, _ := testkit.PG(t)
	m := testkit.Mailpit(t)
	seed(t, pool, m.Domain)
	ctx := testkit.Ctx(t)
	st := pgstore.Store{Pool: pool}
	tx1, tx2 := m.Domain+":tx-1", m.Domain+":tx-2" // unique: Mailpit is shared
	outbox(t, pool, tx1, "transactions.completed", "1234567890", txEvent(tx1, "INV1", "1234567890", "1234567.80"))
	outbox(t, pool, "tx-bad", "transactions.completed", "x", `{"event_id":"tx-bad","investor_id":"INV1"}`)
	outbox(t, pool, tx2, "transactions.completed", "5550001111", txEvent(tx2, "INV2", "5550001111", "999.00"))
	outbox(t, pool, "tx-ghost", "transactions.completed", "777", txEvent("tx-ghost", "GHOST", "777", "1.00"))
	outbox(t, pool, "nav-1", "nav.validated", "x", `{}`)

	p := planner(t, st)
	if n, err := planOutbox(ctx, pool, p); err != nil || n != 5 {
		t.Fatalf("plan pass: %d %v", n, err)
	}
	if n, err := planOutbox(ctx, pool, p); err != nil || n != 0 {
		t.Fatalf("second plan pass reads nothing: %d %v", n, err)
	}
	var reasons []string
	rows, _ := pool.Query(ctx, `SELECT event_id || ': ' || reason FROM notify_dead_letters ORDER BY event_id`)
	for rows.Next() {
		var r string
		rows.Scan(&r)
		reasons = append(reasons, r)
	}
	rows.Close()
	if len(reasons) != 2 || !strings.HasPrefix(reasons[0], "tx-bad: malformed event: folio: required") || !strings.HasPrefix(reasons[1], `tx-ghost: investor "GHOST": unknown investor`) {
		t.Fatalf("dead letters: %q", reasons)
	}

	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtpSender(t, m)}}
	if n, err := d.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("drain: %d %v", n, err)
	}
	got := m.CountByMessageID(t)
	want := map[string]int{notify.MessageID(tx1, notify.Email): 1, notify.MessageID(tx2, notify.Email): 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mailpit: %v, want %v", got, want)
	}
	for _, msg := range m.Messages(t) {
		if msg.MessageID != notify.MessageID(tx1, notify.Email) {
			continue
		}
		text := m.Text(t, msg.ID)
		// 1234567.80 → 12,34,567.80 (567, then 34 thousand, then 12 lakh).
		for _, w := range []string{"₹12,34,567.80", "XXXXXX7890", "Axis Bluechip Fund - Direct Growth", "Dear Asha Rao"} {
			if !strings.Contains(text, w) {
				t.Errorf("email lacks %q:\n%s", w, text)
			}
		}
		if strings.Contains(text, "1234567890") {
			t.Error("email shows the full folio")
		}
	}
	if s := status(t, pool); s[tx1+"/email=sent"] != 1 || s[tx2+"/email=sent"] != 1 || len(s) != 2 {
		t.Fatalf("rows: %v", s)
	}
	var sent int
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'notification.sent'`).Scan(&sent)
	if sent != 2 {
		t.Fatalf("notification.sent events: %d, want 2", sent)
	}
	// The notification.sent events themselves are marked and plan nothing.
	if n, err := planOutbox(ctx, pool, p); err != nil || n != 2 {
		t.Fatalf("plan pass over notification.sent: %d %v", n, err)
	}
	if s := status(t, pool); len(s) != 2 {
		t.Fatalf("rows after: %v", s)
	}
}

// The SMTP server is down: the messages wait with backoff and all arrive,
// once each, when it is back.
func TestMailpitDownThenUp(t *testing.T) {
	pool, _ := testkit.PG(t)
	mp := testkit.NewPrivateMailpit(t)
	seed(t, pool, mp.Domain)
	ctx := testkit.Ctx(t)
	st := pgstore.Store{Pool: pool}
	const n = 5
	for i := range n {
		id := fmt.Sprintf("tx-%d", i)
		outbox(t, pool, id, "transactions.completed", "1234567890", txEvent(id, "INV1", "1234567890", "100.00"))
	}
	if _, err := planOutbox(ctx, pool, planner(t, st)); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtpSender(t, mp.MailpitServer)},
		Backoff: notify.Backoff{Base: time.Minute, Max: time.Hour}, MaxAttempts: 10, Now: func() time.Time { return clock }}
	// Down: two passes (the second after the backoff) fail every message.
	for range 2 {
		if k, err := d.Drain(ctx); err != nil || k != n {
			t.Fatalf("drain while down: %d %v", k, err)
		}
		clock = clock.Add(time.Hour)
	}
	var attempts, queued int
	pool.QueryRow(ctx, `SELECT sum(attempts), count(*) FILTER (WHERE status = 'queued' AND last_error LIKE '%connection refused%') FROM notifications`).Scan(&attempts, &queued)
	if attempts != 2*n || queued != n {
		t.Fatalf("while down: %d attempts, %d queued with the error; want %d and %d", attempts, queued, 2*n, n)
	}
	mp.Start()
	if k, err := d.Drain(ctx); err != nil || k != n {
		t.Fatalf("drain when up: %d %v", k, err)
	}
	got := mp.CountByMessageID(t)
	if len(got) != n {
		t.Fatalf("arrived: %v, want %d distinct", got, n)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("%s arrived %d times", id, c)
		}
	}
}

// A row left 'sending' by a dead process: Mailpit has it → recorded sent,
// not sent again; Mailpit does not → queued and sent once.
func TestReconcileSending(t *testing.T) {
	pool, _ := testkit.PG(t)
	m := testkit.Mailpit(t)
	seed(t, pool, m.Domain)
	ctx := testkit.Ctx(t)
	st := pgstore.Store{Pool: pool}
	// Event ids are global (the Message-ID derives from them) and Mailpit is shared: unique per test.
	a, b := m.Domain+":tx-a", m.Domain+":tx-b"
	outbox(t, pool, a, "transactions.completed", "1234567890", txEvent(a, "INV1", "1234567890", "100.00"))
	outbox(t, pool, b, "transactions.completed", "1234567890", txEvent(b, "INV1", "1234567890", "200.00"))
	if _, err := planOutbox(ctx, pool, planner(t, st)); err != nil {
		t.Fatal(err)
	}
	smtp := smtpSender(t, m)
	rows, err := st.Claim(ctx, 10, time.Now())
	if err != nil || len(rows) != 2 {
		t.Fatalf("claim: %v %v", rows, err)
	}
	// The process sent tx-a and died before recording anything.
	for _, r := range rows {
		if r.EventID == a {
			if _, err := smtp.Send(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtp},
		Confirmers: map[notify.Channel]notify.Confirmer{notify.Email: notify.MailpitConfirmer{API: m.API}}}
	c, r, f, err := d.Reconcile(ctx)
	if err != nil || c != 1 || r != 1 || f != 0 {
		t.Fatalf("reconcile: confirmed %d requeued %d failed %d, %v", c, r, f, err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := m.CountByMessageID(t)
	if got[notify.MessageID(a, notify.Email)] != 1 || got[notify.MessageID(b, notify.Email)] != 1 || len(got) != 2 {
		t.Fatalf("mailpit: %v", got)
	}
	if s := status(t, pool); s[a+"/email=sent"] != 1 || s[b+"/email=sent"] != 1 {
		t.Fatalf("rows: %v", s)
	}
	// Without a confirmer an interrupted row fails (never twice) and replay sends it.
	if _, err := pool.Exec(ctx, `UPDATE notifications SET status = 'sending' WHERE event_id = $1`, b); err != nil {
		t.Fatal(err)
	}
	d.Confirmers = nil
	if _, _, f, err := d.Reconcile(ctx); err != nil || f != 1 {
		t.Fatalf("reconcile without confirmer: %d %v", f, err)
	}
	if k, err := st.Replay(ctx, nil); err != nil || k != 1 {
		t.Fatalf("replay: %d %v", k, err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.CountByMessageID(t); got[notify.MessageID(b, notify.Email)] != 2 {
		t.Fatalf("the replay is an operator's choice to send again: %v", got)
	}
}

// The SMS gateway answers 429, 500 and 503 before it accepts: the message
// waits out the backoff (at least the Retry-After) and is sent once; a
// number it refuses (400, code 21211) is dead at once.
func TestSMSThrottledThenSent(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	seed(t, pool, "sms.test")
	st := pgstore.Store{Pool: pool}
	if err := st.PutPreference(ctx, notify.Preference{InvestorID: "INV1", EventType: "*", Channels: []notify.Channel{notify.SMS}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO investors (id, name, email, phone) VALUES ('INV3', 'Bad Number', '', '12345')`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO folios (folio_no, investor_id) VALUES ('3330001111', 'INV3')`); err != nil {
		t.Fatal(err)
	}
	if err := st.PutPreference(ctx, notify.Preference{InvestorID: "INV3", EventType: "*", Channels: []notify.Channel{notify.SMS}}); err != nil {
		t.Fatal(err)
	}
	outbox(t, pool, "sms-1", "transactions.completed", "1234567890", txEvent("sms-1", "INV1", "1234567890", "2500.00"))
	outbox(t, pool, "sms-bad", "transactions.completed", "3330001111", txEvent("sms-bad", "INV3", "3330001111", "1.00"))
	if _, err := planOutbox(ctx, pool, planner(t, st)); err != nil {
		t.Fatal(err)
	}
	sim := twiliosim.New("AC0123", "token")
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.Fail(429, 500, 503)
	clock := time.Now()
	tw := &notify.Twilio{BaseURL: srv.URL, AccountSid: "AC0123", AuthToken: "token", From: "+15005550006", Client: srv.Client()}
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.SMS: tw}, Workers: 1,
		Backoff: notify.Backoff{Base: time.Millisecond, Max: time.Millisecond}, Now: func() time.Time { return clock }}
	// Pass 1: sms-1 gets the 429 (Retry-After: 1 s beats the 1 ms backoff),
	// sms-bad the 500 → both wait. Then each pass moves the clock on by 2 s.
	for i := 0; i < 6; i++ {
		if _, err := d.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			var nb time.Time
			pool.QueryRow(ctx, `SELECT not_before FROM notifications WHERE event_id = 'sms-1'`).Scan(&nb)
			if nb.Before(clock.Add(time.Second - time.Millisecond)) {
				t.Fatalf("the 429's Retry-After is honoured: not before %s, clock %s", nb, clock)
			}
		}
		clock = clock.Add(2 * time.Second)
	}
	s := status(t, pool)
	if s["sms-1/sms=sent"] != 1 || s["sms-bad/sms=dead"] != 1 {
		t.Fatalf("rows: %v", s)
	}
	msgs := sim.Messages()
	if len(msgs) != 1 || msgs[0].To != "+919800000001" || !strings.Contains(msgs[0].Body, "₹2,500.00") || strings.Contains(msgs[0].Body, "1234567890") {
		t.Fatalf("gateway got: %+v", msgs)
	}
	// Creates: sms-1's 429 and sms-bad's 500 (pass 1), sms-1's 503 and sms-bad's 400 (pass 2), sms-1's 201 (pass 3) = 5.
	if sim.Creates() != 5 {
		t.Fatalf("creates: %d, want 5", sim.Creates())
	}
	var reason string
	pool.QueryRow(ctx, `SELECT reason FROM notify_dead_letters WHERE event_id = 'sms-bad'`).Scan(&reason)
	if !strings.Contains(reason, "21211") {
		t.Fatalf("dead letter reason: %q", reason)
	}
	var pid string
	pool.QueryRow(ctx, `SELECT provider_id FROM notifications WHERE event_id = 'sms-1'`).Scan(&pid)
	if pid != msgs[0].Sid {
		t.Fatalf("provider id %q, want the SID %q", pid, msgs[0].Sid)
	}
	// Facts for delivery rates: sent and dead now, delivered after the receipt.
	ch, _ := testkit.CH(t)
	if n, err := st.FactsPass(ctx, ch, 100); err != nil || n != 2 {
		t.Fatalf("facts pass: %d %v", n, err)
	}
	// The receipt: delivered.
	if ok, err := st.Receipt(ctx, "twilio", pid, true, "", time.Now()); err != nil || !ok {
		t.Fatalf("receipt: %v %v", ok, err)
	}
	if s := status(t, pool); s["sms-1/sms=delivered"] != 1 {
		t.Fatalf("after the DLR: %v", s)
	}
	if n, err := st.FactsPass(ctx, ch, 100); err != nil || n != 1 {
		t.Fatalf("facts pass after the receipt: %d %v", n, err)
	}
	if n, err := st.FactsPass(ctx, ch, 100); err != nil || n != 0 {
		t.Fatalf("nothing left to copy: %d %v", n, err)
	}
	rows, err := ch.Query(ctx, `SELECT status, provider, count() FROM notification_facts FINAL GROUP BY status, provider ORDER BY status`)
	if err != nil {
		t.Fatal(err)
	}
	var facts []string
	for rows.Next() {
		var st, prov string
		var c uint64
		rows.Scan(&st, &prov, &c)
		facts = append(facts, fmt.Sprintf("%s/%s=%d", st, prov, c))
	}
	rows.Close()
	if fmt.Sprint(facts) != "[dead/twilio=1 delivered/twilio=1 sent/twilio=1]" {
		t.Fatalf("facts: %v", facts)
	}
}

// A burst of 6 orders.status events to one investor goes as one digest
// email (more than DigestOver = 3), an urgent one (rejected) alone, and
// another investor's 2 one by one; a digest cut by a crash is settled as
// one message.
func TestBurstIsCoalescedIntoADigest(t *testing.T) {
	pool, _ := testkit.PG(t)
	m := testkit.Mailpit(t)
	seed(t, pool, m.Domain)
	ctx := testkit.Ctx(t)
	st := pgstore.Store{Pool: pool}
	status := func(id, folio, s string) {
		ev := m.Domain + ":" + id
		outbox(t, pool, ev, "orders.status", folio, fmt.Sprintf(`{"event_id":%q,"order_id":%q,"kind":"purchase","folio":%q,"scheme_code":"120465","status":%q,"at":""}`, ev, id, folio, s))
	}
	for i := range 6 {
		status(fmt.Sprintf("a%d", i), "1234567890", "pending_nav")
	}
	status("urgent", "1234567890", "rejected")
	status("b0", "5550001111", "allotted")
	status("b1", "5550001111", "allotted")
	if _, err := planOutbox(ctx, pool, planner(t, st)); err != nil {
		t.Fatal(err)
	}
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtpSender(t, m)}, DigestOver: 3,
		Confirmers: map[notify.Channel]notify.Confirmer{notify.Email: notify.MailpitConfirmer{API: m.API}}}
	// 9 emails + the urgent one's SMS (no preference: email and SMS for urgent events; no SMS sender here: dead).
	if n, err := d.Drain(ctx); err != nil || n != 10 {
		t.Fatalf("drain: %d %v", n, err)
	}
	got := m.CountByMessageID(t)
	// 6 rows → 1 digest (its id from a0, the first), + urgent + b0 + b1 = 4 emails.
	want := map[string]int{}
	for _, e := range []string{"digest:" + m.Domain + ":a0", m.Domain + ":urgent", m.Domain + ":b0", m.Domain + ":b1"} {
		want[notify.MessageID(e, notify.Email)] = 1
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mailpit: %v, want %v", got, want)
	}
	for _, msg := range m.Messages(t) {
		if msg.MessageID == notify.MessageID("digest:"+m.Domain+":a0", notify.Email) {
			if msg.Subject != "6 updates on your investments" {
				t.Errorf("digest subject %q", msg.Subject)
			}
			if text := m.Text(t, msg.ID); strings.Count(text, "is now pending_nav") != 6 {
				t.Errorf("digest text:\n%s", text)
			}
		}
	}
	var inDigest int
	pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE digest_id IS NOT NULL AND status = 'sent'`).Scan(&inDigest)
	if inDigest != 6 {
		t.Fatalf("rows sent in the digest: %d, want 6", inDigest)
	}
	// A crash after the digest went out: its rows are 'sending' again;
	// Reconcile finds the digest once and records all six, sending nothing.
	if _, err := pool.Exec(ctx, `UPDATE notifications SET status = 'sending' WHERE digest_id IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if c, r, f, err := d.Reconcile(ctx); err != nil || c != 6 || r != 0 || f != 0 {
		t.Fatalf("reconcile: %d %d %d %v", c, r, f, err)
	}
	if len(m.Messages(t)) != 4 {
		t.Fatal("reconcile sent something")
	}
}

// Two SMS with the same text to the same number (two SIP reminders alike
// to the letter), both claimed, the first handed to the gateway, then the
// process dies. Each text ends with its own reference (notify.SMSRef), so
// the reconciliation finds the first at the gateway (sent, with the
// gateway's SID) and not the second (queued, then sent once): each arrives
// once. Matched by text alone, the second would have been taken for the
// first and never sent.
func TestReconcileTellsIdenticalSMSApart(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	st := pgstore.Store{Pool: pool}
	if _, err := pool.Exec(ctx, `INSERT INTO notifications (event_id, channel, investor_id, event_type, template, recipient, body)
		SELECT 'sip-due-' || i, 'sms', 'INV1', 'sip.instalment.due', 'sip.instalment.due.sms@v1', '+919800000001',
			'Your SIP of Rs 5,000.00 in Axis Bluechip Fund is due on 10 Dec.' FROM generate_series(1, 2) i`); err != nil {
		t.Fatal(err)
	}
	sim := twiliosim.New("AC0123", "token")
	srv := httptest.NewServer(sim)
	defer srv.Close()
	tw := &notify.Twilio{BaseURL: srv.URL, AccountSid: "AC0123", AuthToken: "token", From: "+15005550006", Client: srv.Client()}
	rows, err := st.Claim(ctx, 10, time.Now())
	if err != nil || len(rows) != 2 {
		t.Fatalf("claim: %v %v", rows, err)
	}
	first := rows[0]
	sid, err := tw.Send(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.SMS: tw},
		Confirmers: map[notify.Channel]notify.Confirmer{notify.SMS: notify.TwilioConfirmer{T: tw}}}
	c, r, f, err := d.Reconcile(ctx)
	if err != nil || c != 1 || r != 1 || f != 0 {
		t.Fatalf("reconcile: confirmed %d requeued %d failed %d, %v; want 1 1 0", c, r, f, err)
	}
	var got string
	pool.QueryRow(ctx, `SELECT provider_id FROM notifications WHERE id = $1 AND status = 'sent'`, first.ID).Scan(&got) //nolint:errcheck
	if got != sid {
		t.Fatalf("the first SMS recorded with SID %q, want the gateway's %q", got, sid)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := sim.Messages()
	refs := map[string]int{}
	for _, m := range msgs {
		for _, n := range rows {
			if m.Body == "Your SIP of Rs 5,000.00 in Axis Bluechip Fund is due on 10 Dec. Ref "+notify.SMSRef(n.EventID) {
				refs[n.EventID]++
			}
		}
	}
	if len(msgs) != 2 || refs["sip-due-1"] != 1 || refs["sip-due-2"] != 1 {
		t.Fatalf("the gateway has %d SMS, per event %v; want each of the two once", len(msgs), refs)
	}
	if s := status(t, pool); s["sip-due-1/sms=sent"] != 1 || s["sip-due-2/sms=sent"] != 1 {
		t.Fatalf("rows: %v", s)
	}
}

// An interrupted email whose SMTP server cannot be searched (no
// confirmer): by default it fails with a replayable dead letter (never
// twice); with notify.unconfirmed: resend it is queued and sent again, so
// it arrives (once here: the kill came before the server had it).
func TestUnconfirmedPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy notify.Unconfirmed
		status string
		dead   int
	}{
		{"", "failed", 1},
		{notify.UnconfirmedFail, "failed", 1},
		{notify.UnconfirmedResend, "sent", 0},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			pool, _ := testkit.PG(t)
			m := testkit.Mailpit(t)
			ctx := testkit.Ctx(t)
			st := pgstore.Store{Pool: pool}
			id := m.Domain + ":unconfirmed"
			if _, err := pool.Exec(ctx, `INSERT INTO notifications (event_id, channel, investor_id, event_type, template, recipient, subject, body)
				VALUES ($1, 'email', 'INV1', 'orders.status', 'orders.status.email@v1', $2, 'Order update', 'Your order is allotted.')`,
				id, "asha@"+m.Domain); err != nil {
				t.Fatal(err)
			}
			if rows, err := st.Claim(ctx, 10, time.Now()); err != nil || len(rows) != 1 {
				t.Fatalf("claim: %v %v", rows, err)
			}
			d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtpSender(t, m)}, Unconfirmed: tc.policy}
			if _, _, _, err := d.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			var dead int
			pool.QueryRow(ctx, `SELECT count(*) FROM notify_dead_letters WHERE reason LIKE 'interrupted: outcome unknown%'`).Scan(&dead) //nolint:errcheck
			if s := status(t, pool); s[id+"/email="+tc.status] != 1 || dead != tc.dead {
				t.Fatalf("rows %v, dead letters %d; want %s and %d", s, dead, tc.status, tc.dead)
			}
			want := 0
			if tc.status == "sent" {
				want = 1
			}
			if got := m.CountByMessageID(t)[notify.MessageID(id, notify.Email)]; got != want {
				t.Fatalf("in Mailpit %d times, want %d", got, want)
			}
		})
	}
}
