package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// FCM sends push messages through Firebase Cloud Messaging's HTTP v1 API:
// POST /v1/projects/{project}/messages:send with an OAuth 2 bearer token,
// body {"message": {"token", "notification": {"title", "body"}, "data",
// "android": {"collapse_key"}, "apns": {"headers": {"apns-collapse-id"}}}};
// 200 {"name": "projects/…/messages/…"}; errors {"error": {"code",
// "status", "details": [{"errorCode": "UNREGISTERED"…}]}}. FCM has no
// idempotency key, but the collapse key (the Message-ID) makes a second
// delivery replace the first on the device instead of showing twice: so
// an interrupted push is simply sent again (FCMResend).
type FCM struct {
	BaseURL string // https://fcm.googleapis.com
	Project string
	Token   func(ctx context.Context) (string, error) // the OAuth 2 access token (service account)
	Client  *http.Client
}

func (f *FCM) Channel() Channel { return Push }
func (f *FCM) Provider() string { return "fcm" }

type fcmMessage struct {
	Message struct {
		Token        string            `json:"token"`
		Notification map[string]string `json:"notification"`
		Data         map[string]string `json:"data"`
		Android      struct {
			CollapseKey string `json:"collapse_key"`
		} `json:"android"`
		APNS struct {
			Headers map[string]string `json:"headers"`
		} `json:"apns"`
	} `json:"message"`
}

// Send implements Sender.
func (f *FCM) Send(ctx context.Context, n Notification) (string, error) {
	id := MessageID(n.EventID, n.Channel)
	var m fcmMessage
	m.Message.Token = n.Recipient
	m.Message.Notification = map[string]string{"title": n.Subject, "body": n.Body}
	m.Message.Data = map[string]string{"event_id": n.EventID, "event_type": n.EventType}
	m.Message.Android.CollapseKey = id
	m.Message.APNS.Headers = map[string]string{"apns-collapse-id": id[:min(len(id), 64)]}
	body, _ := json.Marshal(m)
	tok, err := f.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("fcm: access token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.BaseURL+"/v1/projects/"+f.Project+"/messages:send", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	c := f.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("fcm: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		var ok struct{ Name string }
		if err := json.Unmarshal(raw, &ok); err != nil || ok.Name == "" {
			return "", fmt.Errorf("fcm: 200 without a name: %.200s", raw)
		}
		return ok.Name, nil
	}
	var e struct {
		Error struct {
			Code    int
			Message string
			Status  string
			Details []struct{ ErrorCode string }
		}
	}
	_ = json.Unmarshal(raw, &e)
	code := e.Error.Status
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	err = fmt.Errorf("fcm: %s: %s: %s", resp.Status, code, e.Error.Message)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return "", &RetryAfterError{After: time.Duration(after) * time.Second, Err: err}
	case resp.StatusCode >= 500:
		return "", err
	default: // 400 INVALID_ARGUMENT, 401, 403 SENDER_ID_MISMATCH, 404 UNREGISTERED
		return "", &PermanentError{err}
	}
}

// FCMResend is the push channel's Confirmer: FCM cannot be asked, and a
// second push with the same collapse key replaces the first on the
// device, so an interrupted push is queued again.
type FCMResend struct{}

// Confirm implements Confirmer: never found.
func (FCMResend) Confirm(context.Context, Notification) (string, bool, error) { return "", false, nil }
