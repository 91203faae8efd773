package pgstore_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/notify/twiliosim"
)

// BenchmarkNotifyDeliver sends N queued notifications (60 % email through a
// Mailpit of its own, 40 % SMS through the Twilio stand-in) with the
// deliverer (claim, send, record with the notification.sent event), and,
// in the same run, the same number of emails with a bare net/smtp loop
// (the same STARTTLS+AUTH, one open connection per worker, no database) to
// the same Mailpit (emptied in between: it slows as it fills). ratio_vs_bare_smtp = pipeline messages/s ÷ bare
// emails/s. N: FUNDFLOW_BENCH_NOTIFICATIONS (default 2,000; the issue's
// size is 1,000,000).
func BenchmarkNotifyDeliver(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_NOTIFICATIONS", 2000)
	const workers = 16
	pool, _ := testkit.PG(b)
	mp := testkit.NewPrivateMailpit(b)
	mp.Start()
	ctx := testkit.Ctx(b)
	st := pgstore.Store{Pool: pool}
	emails := n * 6 / 10
	if _, err := pool.Exec(ctx, `INSERT INTO notifications (event_id, channel, investor_id, event_type, template, recipient, subject, body)
		SELECT 'bench:' || i, CASE WHEN i <= $1 THEN 'email' ELSE 'sms' END, 'INV' || (i % 1000), 'transactions.completed',
			'transactions.completed.email@v1', CASE WHEN i <= $1 THEN 'inv' || (i % 1000) || '@' || $3 ELSE '+9198' || lpad((i % 100000000)::text, 8, '0') END,
			'purchase confirmed: 10.000 units of Axis Bluechip Fund', 'Your purchase of ₹1,23,456.78 in folio XXXXXX7890 is confirmed.'
		FROM generate_series(1, $2::int) i`, emails, n, mp.Domain); err != nil {
		b.Fatal(err)
	}
	sim := twiliosim.New("ACbench", "token")
	srv := httptest.NewServer(sim)
	defer srv.Close()
	smtpS := &notify.SMTP{Addr: mp.SMTPAddr, User: mp.User, Password: mp.Password, TLS: mp.TLSConfig(b), From: "notify@fundflow.test"}
	defer smtpS.Close()
	tw := &notify.Twilio{BaseURL: srv.URL, AccountSid: "ACbench", AuthToken: "token", From: "+15005550006", Client: srv.Client()}
	d := &notify.Deliverer{Store: st, Senders: map[notify.Channel]notify.Sender{notify.Email: smtpS, notify.SMS: tw}, Workers: workers, Batch: 1000}

	b.ResetTimer()
	start := time.Now()
	sent, err := d.Drain(ctx)
	run := time.Since(start)
	if err != nil || sent != n {
		b.Fatalf("drain: %d of %d, %v", sent, n, err)
	}
	b.StopTimer()
	var ok int
	pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE status = 'sent'`).Scan(&ok)
	if ok != n || len(sim.Messages()) != n-emails {
		b.Fatalf("sent rows %d, SMS at the gateway %d; want %d and %d", ok, len(sim.Messages()), n, n-emails)
	}
	b.Logf("pipeline: %d notifications in %s = %.0f/s", n, run.Round(time.Millisecond), float64(n)/run.Seconds())
	// Mailpit's own count (the private one holds only these): listing
	// 600,000 messages through its search is more than it answers.
	if got := mailpitTotal(b, mp.API); got != emails {
		b.Fatalf("mailpit has %d emails, want %d", got, emails)
	}
	// Mailpit slows as it fills: the bare loop starts from an empty one too.
	mp.DeleteAll()
	b.StartTimer()
	bare := bareSMTP(b, mp.MailpitServer, emails, workers)
	b.StopTimer()
	pipeline := float64(n) / run.Seconds()
	raw := float64(emails) / bare.Seconds()
	b.ReportMetric(pipeline, "msgs/s")
	b.ReportMetric(raw, "bare_smtp_msgs/s")
	b.ReportMetric(pipeline/raw, "ratio_vs_bare_smtp")
	b.ReportMetric(run.Seconds(), "run_s")
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("%d notifications (%d email, %d SMS) in %s = %.0f/s; bare SMTP loop %d emails in %s = %.0f/s; ratio %.2f; loadavg %s",
		n, emails, n-emails, run.Round(time.Millisecond), pipeline, emails, bare.Round(time.Millisecond), raw, pipeline/raw, strings.TrimSpace(string(load)))
}

// mailpitTotal is the number of messages Mailpit holds (GET
// /api/v1/messages: "total").
func mailpitTotal(b *testing.B, api string) int {
	resp, err := http.Get(api + "/api/v1/messages?limit=1")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Total int }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		b.Fatal(err)
	}
	return page.Total
}

// bareSMTP sends count emails with workers connections kept open, the
// least any SMTP client must do; it returns the time taken.
func bareSMTP(b *testing.B, m testkit.MailpitServer, count, workers int) time.Duration {
	host := m.TLSConfig(b).ServerName
	next := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(m.SMTPAddr)
			if err == nil {
				err = c.StartTLS(m.TLSConfig(b))
			}
			if err == nil {
				err = c.Auth(smtp.PlainAuth("", m.User, m.Password, host))
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				for range next {
				}
				return
			}
			defer c.Quit()
			for i := range next {
				to := fmt.Sprintf("bare%d@%s", i%1000, m.Domain)
				msg := fmt.Sprintf("From: notify@fundflow.test\r\nTo: %s\r\nSubject: bare %d\r\nMessage-ID: <bare-%d@%s>\r\n\r\nYour purchase of Rs 1,23,456.78 in folio XXXXXX7890 is confirmed.\r\n", to, i, i, m.Domain)
				err := c.Mail("notify@fundflow.test")
				if err == nil {
					err = c.Rcpt(to)
				}
				var w io.WriteCloser
				if err == nil {
					w, err = c.Data()
				}
				if err == nil {
					_, err = w.Write([]byte(msg))
				}
				if err == nil {
					err = w.Close()
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		b.Fatalf("bare smtp: %v", err)
	default:
	}
	return took
}
