package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Twilio sends SMS through Twilio's Programmable Messaging API in its wire
// format: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form
// fields To, From, Body, StatusCallback, HTTP basic auth AccountSid:AuthToken;
// 201 with the message resource ({"sid": "SM…", "status": "queued", …});
// errors as {"code": 20429, "message": …, "status": 429}. Twilio has no
// idempotency key on message creation and chooses the SID itself: the
// crash gap is closed by TwilioConfirmer (a search of the account's
// messages to the number for the text, which ends with its own reference).
type Twilio struct {
	BaseURL        string // https://api.twilio.com in production
	AccountSid     string
	AuthToken      string
	From           string
	StatusCallback string // our DLR webhook URL
	Client         *http.Client
}

func (t *Twilio) Channel() Channel { return SMS }
func (t *Twilio) Provider() string { return "twilio" }

func (t *Twilio) client() *http.Client {
	if t.Client != nil {
		return t.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// twilioError is Twilio's error body.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// Send creates the message and returns its SID.
func (t *Twilio) Send(ctx context.Context, n Notification) (string, error) {
	form := url.Values{"To": {n.Recipient}, "From": {t.From}, "Body": {SMSText(n)}}
	if t.StatusCallback != "" {
		form.Set("StatusCallback", t.StatusCallback)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/2010-04-01/Accounts/"+url.PathEscape(t.AccountSid)+"/Messages.json", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(t.AccountSid, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var m struct{ Sid string }
		if err := json.Unmarshal(body, &m); err != nil || m.Sid == "" {
			return "", fmt.Errorf("twilio: %s without a sid: %.200s", resp.Status, body)
		}
		return m.Sid, nil
	}
	var te twilioError
	_ = json.Unmarshal(body, &te)
	err = fmt.Errorf("twilio: %s: code %d: %s", resp.Status, te.Code, te.Message)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after := time.Duration(0)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
			after = time.Duration(s) * time.Second
		}
		return "", &RetryAfterError{After: after, Err: err}
	case resp.StatusCode >= 500:
		return "", err
	default: // 400 (21211 invalid To, 21610 unsubscribed…), 401, 404
		return "", &PermanentError{err}
	}
}

// TwilioConfirmer looks for a message that may have been created before a
// crash: GET …/Messages.json?To=…&DateSent>=… (Twilio's list filters), a
// match on the exact text, whose reference (SMSRef) makes it this
// message's and no other's.
type TwilioConfirmer struct{ T *Twilio }

// Confirm implements Confirmer.
func (c TwilioConfirmer) Confirm(ctx context.Context, n Notification) (string, bool, error) {
	q := url.Values{"To": {n.Recipient}, "DateSent>": {n.NotBefore.UTC().AddDate(0, 0, -1).Format("2006-01-02")}, "PageSize": {"1000"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.T.BaseURL+"/2010-04-01/Accounts/"+url.PathEscape(c.T.AccountSid)+"/Messages.json?"+q.Encode(), nil)
	if err != nil {
		return "", false, err
	}
	req.SetBasicAuth(c.T.AccountSid, c.T.AuthToken)
	resp, err := c.T.client().Do(req)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("twilio list: %s", resp.Status)
	}
	var page struct {
		Messages []struct{ Sid, Body string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return "", false, err
	}
	want := SMSText(n)
	for _, m := range page.Messages {
		if m.Body == want {
			return m.Sid, true, nil
		}
	}
	return "", false, nil
}

// TwilioSignature is the X-Twilio-Signature of a webhook: base64 of
// HMAC-SHA1 (key: the auth token) over the full URL followed by each POST
// parameter's name and value, sorted by name.
func TwilioSignature(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Receipt is a delivery receipt (DLR) read from a status callback.
type Receipt struct {
	Provider   string
	ProviderID string
	Delivered  bool   // false with Final: undelivered or failed
	Final      bool   // queued/sending/sent are not final: nothing to record
	Reason     string // "30003 undelivered" etc.
}

// ParseTwilioCallback checks a status callback's signature and reads it.
func ParseTwilioCallback(authToken, fullURL, signature string, form url.Values) (Receipt, error) {
	want := TwilioSignature(authToken, fullURL, form)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return Receipt{}, fmt.Errorf("X-Twilio-Signature does not match")
	}
	if form.Get("MessageSid") == "" || form.Get("MessageStatus") == "" {
		return Receipt{}, fmt.Errorf("MessageSid and MessageStatus are required")
	}
	return twilioReceipt(form), nil
}

// twilioReceipt reads a message's status fields (a callback's, or a
// fetched resource's in the same names) as a receipt.
func twilioReceipt(form url.Values) Receipt {
	sid, st := form.Get("MessageSid"), form.Get("MessageStatus")
	r := Receipt{Provider: "twilio", ProviderID: sid}
	switch st {
	case "delivered":
		r.Delivered, r.Final = true, true
	case "undelivered", "failed":
		r.Final, r.Reason = true, strings.TrimSpace(form.Get("ErrorCode")+" "+st)
	}
	return r
}

// ReceiptPoller asks a provider for a message's delivery state, for the
// messages whose receipt (status callback) never came.
type ReceiptPoller interface {
	Provider() string
	Status(ctx context.Context, providerID string) (Receipt, error)
}

// Status fetches a message (GET …/Messages/{Sid}.json) and reads its
// status as a receipt: delivered, undelivered/failed with the error code,
// or not final yet.
func (t *Twilio) Status(ctx context.Context, sid string) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		t.BaseURL+"/2010-04-01/Accounts/"+url.PathEscape(t.AccountSid)+"/Messages/"+url.PathEscape(sid)+".json", nil)
	if err != nil {
		return Receipt{}, err
	}
	req.SetBasicAuth(t.AccountSid, t.AuthToken)
	resp, err := t.client().Do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Receipt{}, fmt.Errorf("twilio fetch %s: %s", sid, resp.Status)
	}
	var m struct {
		Sid       string `json:"sid"`
		Status    string `json:"status"`
		ErrorCode *int   `json:"error_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return Receipt{}, fmt.Errorf("twilio fetch %s: %w", sid, err)
	}
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {m.Status}}
	if m.ErrorCode != nil {
		form.Set("ErrorCode", strconv.Itoa(*m.ErrorCode))
	}
	return twilioReceipt(form), nil
}
