package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"
)

// SMTP sends email over SMTP with STARTTLS (required) and AUTH PLAIN,
// keeping a few connections open (one per concurrent sender; RSET between
// messages is implied by a new MAIL FROM). net/smtp is enough: it speaks
// STARTTLS and AUTH, and is the standard library's (frozen, but complete for
// submission); a third-party client would add nothing the tests need.
type SMTP struct {
	Addr     string // host:port
	User     string
	Password string
	TLS      *tls.Config // trusted roots and ServerName
	From     string      // envelope and header sender
	Timeout  time.Duration

	mu   sync.Mutex
	idle []*smtp.Client
}

func (s *SMTP) Channel() Channel { return Email }
func (s *SMTP) Provider() string { return "smtp" }

func (s *SMTP) dial(ctx context.Context) (*smtp.Client, error) {
	to := s.Timeout
	if to <= 0 {
		to = 30 * time.Second
	}
	d := net.Dialer{Timeout: to}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		c.Close()
		return nil, &PermanentError{fmt.Errorf("smtp %s does not offer STARTTLS", s.Addr)}
	}
	if err := c.StartTLS(s.TLS); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp starttls: %w", err)
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, s.TLS.ServerName)); err != nil {
			c.Close()
			return nil, fmt.Errorf("smtp auth: %w", err)
		}
	}
	return c, nil
}

func (s *SMTP) get(ctx context.Context) (*smtp.Client, error) {
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	return s.dial(ctx)
}

func (s *SMTP) put(c *smtp.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) < 32 {
		s.idle = append(s.idle, c)
		return
	}
	c.Quit()
}

// Close ends the idle connections.
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.idle {
		c.Quit()
	}
	s.idle = nil
	return nil
}

// Send delivers one message; its Message-ID is MessageID(event, channel).
func (s *SMTP) Send(ctx context.Context, n Notification) (string, error) {
	msg, id := s.Compose(n)
	c, err := s.get(ctx)
	if err != nil {
		return "", err
	}
	if err := s.transact(c, n.Recipient, msg); err != nil {
		c.Close()
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 && te.Code != 554 {
			// 5xx: the server refuses this message for good (a bad mailbox).
			return "", &PermanentError{err}
		}
		return "", err
	}
	s.put(c)
	return id, nil
}

func (s *SMTP) transact(c *smtp.Client, to string, msg []byte) error {
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of DATA: %w", err)
	}
	return nil
}

// Compose writes the message (headers and a quoted-printable UTF-8 body)
// and returns it with its Message-ID.
func (s *SMTP) Compose(n Notification) ([]byte, string) {
	id := MessageID(n.EventID, n.Channel)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n", s.From, n.Recipient, mime.QEncoding.Encode("utf-8", n.Subject), id)
	fmt.Fprintf(&b, "Date: %s\r\nX-Fundflow-Event: %s\r\nMIME-Version: 1.0\r\n", time.Now().UTC().Format(time.RFC1123Z), n.EventID)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(n.Body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes(), id
}

// MailpitConfirmer asks Mailpit's API whether a message with the
// notification's Message-ID arrived. A production SMTP relay has no such
// API: there the email channel runs without a Confirmer (interrupted rows
// fail, never resent) or with the provider's own message search.
type MailpitConfirmer struct {
	API    string // http://host:port
	Client *http.Client
}

// Confirm searches by Message-ID (exact match on the result).
func (m MailpitConfirmer) Confirm(ctx context.Context, n Notification) (string, bool, error) {
	id := MessageID(n.EventID, n.Channel)
	q := url.Values{"query": {"message-id:" + id}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+"/api/v1/search?"+q.Encode(), nil)
	if err != nil {
		return "", false, err
	}
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("mailpit search: %s", resp.Status)
	}
	var page struct{ Messages []struct{ MessageID string } }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return "", false, err
	}
	for _, msg := range page.Messages {
		if msg.MessageID == id {
			return id, true, nil
		}
	}
	return "", false, nil
}
