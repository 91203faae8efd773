// Package twiliosim is a stand-in Twilio for tests and the demo: an
// http.Handler that speaks the Programmable Messaging wire format notify's
// Twilio sender uses, can answer 429/5xx or stall on demand, and sends
// signed status callbacks (DLRs) like Twilio does.
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json   create (form: To, From, Body, StatusCallback)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json   list (filter To)
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   fetch one
//
// Every method is safe for concurrent use.
package twiliosim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fundflow/fundflow/notify"
)

// Message is one message the stand-in accepted.
type Message struct {
	Sid, To, From, Body, StatusCallback, Status string
	ErrorCode                                   int // 0: none
	Created                                     time.Time
}

// Server is the stand-in.
type Server struct {
	AccountSid, AuthToken string

	mu      sync.Mutex
	msgs    []Message
	faults  []int         // status codes to answer the next creates with
	stall   time.Duration // a create waits this long before answering (a timeout for the client)
	creates int
	deliver time.Duration // >0: each accepted message is reported delivered this long after
}

// DeliverAfter makes every message accepted from now on delivered d
// later, as a carrier would: its status becomes "delivered" and, when it
// has a StatusCallback, the signed callback is posted (0: never).
func (s *Server) DeliverAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliver = d
}

// New returns a stand-in for one account.
func New(accountSid, authToken string) *Server {
	return &Server{AccountSid: accountSid, AuthToken: authToken}
}

// Fail makes the next creates answer these statuses (429, 500, 503…) in order.
func (s *Server) Fail(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, statuses...)
}

// Stall makes every create wait d before it answers (0: none).
func (s *Server) Stall(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = d
}

// Messages returns the accepted messages.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Creates counts the create requests (refused ones too).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := "/2010-04-01/Accounts/" + s.AccountSid + "/Messages.json"
	if sid, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/"+s.AccountSid+"/Messages/"); ok && strings.HasSuffix(sid, ".json") && r.Method == http.MethodGet {
		if u, p, ok := r.BasicAuth(); !ok || u != s.AccountSid || p != s.AuthToken {
			writeErr(w, http.StatusUnauthorized, 20003, "Authenticate")
			return
		}
		s.fetch(w, strings.TrimSuffix(sid, ".json"))
		return
	}
	if r.URL.Path != path {
		writeErr(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != s.AccountSid || p != s.AuthToken {
		writeErr(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.create(w, r)
	case http.MethodGet:
		s.list(w, r)
	default:
		writeErr(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeErr(w, http.StatusBadRequest, 20001, err.Error())
		return
	}
	s.mu.Lock()
	s.creates++
	stall := s.stall
	fault := 0
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	s.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case fault == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		writeErr(w, fault, 20429, "Too Many Requests")
		return
	case fault != 0:
		writeErr(w, fault, 20500, "Internal Server Error")
		return
	}
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	if !strings.HasPrefix(to, "+") || len(to) < 8 {
		writeErr(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	}
	if body == "" {
		writeErr(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	m := Message{Sid: "SM" + hex.EncodeToString(b), To: to, From: r.PostForm.Get("From"), Body: body,
		StatusCallback: r.PostForm.Get("StatusCallback"), Status: "queued", Created: time.Now().UTC()}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	deliver := s.deliver
	s.mu.Unlock()
	if deliver > 0 {
		time.AfterFunc(deliver, func() {
			if m.StatusCallback == "" {
				s.SetStatus(m.Sid, "delivered", 0)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := s.Report(ctx, m.Sid, "delivered", ""); err != nil {
				s.SetStatus(m.Sid, "delivered", 0) // the callback was lost; the status stands
			}
		})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(resource(s.AccountSid, m))
}

func resource(account string, m Message) map[string]any {
	return map[string]any{"sid": m.Sid, "account_sid": account, "to": m.To, "from": m.From, "body": m.Body,
		"status": m.Status, "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": m.Created.Format(time.RFC1123Z), "error_code": errorCode(m.ErrorCode), "error_message": nil,
		"uri": "/2010-04-01/Accounts/" + account + "/Messages/" + m.Sid + ".json"}
}

func errorCode(c int) any {
	if c == 0 {
		return nil
	}
	return c
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("To")
	out := []map[string]any{}
	for _, m := range s.Messages() {
		if to == "" || m.To == to {
			out = append(out, resource(s.AccountSid, m))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"messages": out, "page": 0, "page_size": len(out)})
}

func (s *Server) fetch(w http.ResponseWriter, sid string) {
	for _, m := range s.Messages() {
		if m.Sid == sid {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(resource(s.AccountSid, m))
			return
		}
	}
	writeErr(w, http.StatusNotFound, 20404, "The requested resource /Messages/"+sid+".json was not found")
}

// SetStatus changes a message's status without a callback (a receipt the
// carrier reported and whose webhook was lost); errorCode for failures.
func (s *Server) SetStatus(sid, status string, errorCode int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.msgs {
		if s.msgs[i].Sid == sid {
			s.msgs[i].Status, s.msgs[i].ErrorCode = status, errorCode
			return true
		}
	}
	return false
}

// Report posts a signed status callback (MessageStatus = status:
// delivered, undelivered, failed; errorCode for the failures) for one
// message to its StatusCallback URL, as Twilio does, and returns the answer's status.
func (s *Server) Report(ctx context.Context, sid, status, errorCode string) (int, error) {
	var m *Message
	s.mu.Lock()
	for i := range s.msgs {
		if s.msgs[i].Sid == sid {
			s.msgs[i].Status = status
			c := s.msgs[i]
			m = &c
		}
	}
	s.mu.Unlock()
	if m == nil || m.StatusCallback == "" {
		return 0, fmt.Errorf("twiliosim: no message %s with a status callback", sid)
	}
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {s.AccountSid}, "From": {m.From}, "To": {m.To},
		"MessageStatus": {status}, "SmsStatus": {status}, "ApiVersion": {"2010-04-01"}}
	if errorCode != "" {
		form.Set("ErrorCode", errorCode)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, bytes.NewBufferString(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", notify.TwilioSignature(s.AuthToken, m.StatusCallback, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
