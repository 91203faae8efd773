package testkit

import (
	"net/smtp"
	"testing"
)

// A message sent with STARTTLS and AUTH to the shared Mailpit is listed for
// this test's domain only, under its Message-ID.
func TestMailpitDelivers(t *testing.T) {
	m := Mailpit(t)
	c, err := smtp.Dial(m.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(m.TLSConfig(t)); err != nil {
		t.Fatal(err)
	}
	host := m.TLSConfig(t).ServerName
	if err := c.Auth(smtp.PlainAuth("", m.User, m.Password, host)); err != nil {
		t.Fatal(err)
	}
	to := "probe@" + m.Domain
	if err := c.Mail("fundflow@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("From: fundflow@example.test\r\nTo: " + to + "\r\nMessage-ID: <probe-1@" + m.Domain + ">\r\nSubject: probe\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
	got := m.CountByMessageID(t)
	if len(got) != 1 || got["probe-1@"+m.Domain] != 1 {
		t.Fatalf("messages by Message-ID = %v, want exactly one probe-1@%s", got, m.Domain)
	}
}
