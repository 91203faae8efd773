package testkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// MailpitServer is where the test's SMTP server (Mailpit, started by
// scripts/services.sh with STARTTLS and AUTH) is, how to log in, and the
// recipient domain that is this test's own: the server is shared, so a test
// counts only the messages sent to its Domain.
type MailpitServer struct {
	SMTPAddr string // host:port, STARTTLS required
	User     string
	Password string
	CAFile   string // the server's self-signed certificate, to trust
	API      string // http://host:port of the web UI and JSON API
	Domain   string // e.g. t-1a2b3c.test: send to anything@Domain
}

// Mailpit gives the test the shared Mailpit and a recipient domain of its own.
func Mailpit(t testing.TB) MailpitServer {
	t.Helper()
	return MailpitServer{
		SMTPAddr: Env(t, "FUNDFLOW_SMTP_ADDR"),
		User:     Env(t, "FUNDFLOW_SMTP_USER"),
		Password: Env(t, "FUNDFLOW_SMTP_PASSWORD"),
		CAFile:   Env(t, "FUNDFLOW_SMTP_CA"),
		API:      Env(t, "FUNDFLOW_MAILPIT_API"),
		Domain:   randomName("t-") + ".test",
	}
}

// TLSConfig trusts the server's certificate (and nothing else).
func (m MailpitServer) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(m.CAFile)
	if err != nil {
		t.Fatalf("testkit: mailpit certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("testkit: no certificate in %s", m.CAFile)
	}
	host, _, _ := net.SplitHostPort(m.SMTPAddr)
	return &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
}

// MailpitMessage is a message as Mailpit's search API lists it.
type MailpitMessage struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Address string }
	Snippet   string
}

// Messages lists every message sent to the test's domain (all pages).
func (m MailpitServer) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	var out []MailpitMessage
	for start := 0; ; {
		var page struct {
			Total    int
			Messages []MailpitMessage
		}
		q := url.Values{"query": {"to:" + m.Domain}, "start": {strconv.Itoa(start)}, "limit": {"1000"}}
		m.getJSON(t, "/api/v1/search?"+q.Encode(), &page)
		out = append(out, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return out
		}
	}
}

// CountByMessageID counts the test's messages per Message-ID header: a
// value above 1 is a message delivered twice.
func (m MailpitServer) CountByMessageID(t testing.TB) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, msg := range m.Messages(t) {
		n[msg.MessageID]++
	}
	return n
}

// Text returns the plain-text body of one message.
func (m MailpitServer) Text(t testing.TB, id string) string {
	t.Helper()
	var msg struct{ Text string }
	m.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &msg)
	return msg.Text
}

func (m MailpitServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.API+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testkit: mailpit API: %v (%s)", err, startHint)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testkit: mailpit API %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("testkit: mailpit API %s: %v", path, err)
	}
}

// PrivateMailpit is a Mailpit of the test's own (same binary, certificate
// and password as the shared one) that the test stops and starts, for
// "the SMTP server was down" tests without disturbing other tests.
type PrivateMailpit struct {
	MailpitServer
	t   testing.TB
	cmd *exec.Cmd
}

// NewPrivateMailpit reserves two free ports for a private Mailpit; it is
// not running until Start.
func NewPrivateMailpit(t testing.TB) *PrivateMailpit {
	t.Helper()
	shared := Mailpit(t)
	p := &PrivateMailpit{MailpitServer: shared, t: t}
	p.SMTPAddr = freeAddr(t)
	p.API = "http://" + freeAddr(t)
	t.Cleanup(p.Stop)
	return p
}

// Start runs the private Mailpit and waits until its API answers.
func (p *PrivateMailpit) Start() {
	t := p.t
	t.Helper()
	dir := filepath.Dir(p.CAFile) // $STATE/mailpit: smtp.crt, smtp.key, smtp.auth
	bin := filepath.Join(filepath.Dir(dir), "bin", "mailpit")
	p.cmd = exec.Command(bin, "--smtp", p.SMTPAddr, "--listen", p.API[len("http://"):],
		"--smtp-tls-cert", p.CAFile, "--smtp-tls-key", filepath.Join(dir, "smtp.key"),
		"--smtp-require-starttls", "--smtp-auth-file", filepath.Join(dir, "smtp.auth"),
		"--smtp-disable-rdns", "--max", "0", "--quiet")
	// Pdeathsig: a test process killed before its cleanup takes its Mailpit with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("testkit: start mailpit: %v", err)
	}
	for i := 0; ; i++ {
		resp, err := http.Get(p.API + "/livez")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if i > 300 {
			t.Fatalf("testkit: private mailpit did not answer on %s: %v", p.API, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DeleteAll deletes every message of the private Mailpit.
func (p *PrivateMailpit) DeleteAll() {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, p.API+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("testkit: mailpit delete: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("testkit: mailpit delete: %s", resp.Status)
	}
}

// Stop kills the private Mailpit (its messages are lost: they live in memory).
func (p *PrivateMailpit) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
