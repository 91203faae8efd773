// Package gatewaysim is a stand-in Razorpay for tests and the demo: an
// http.Handler (serve it with httptest.Server) that speaks the wire format
// of the recurring-debit API connectors/razorpay calls, and that delivers
// the outcomes as signed webhooks in the format connectors/webhook
// receives.
//
// Endpoints (basic auth KeyID:KeySecret on all):
//
//	POST /v1/orders                      an order; a receipt seen before gives that order back
//	GET  /v1/orders?receipt=R            the orders with receipt R
//	GET  /v1/orders/{id}/payments        the payments of an order
//	POST /v1/payments/create/recurring   a recurring payment on an order, against a token
//
// A recurring payment is refused with a 400 error body when the token is
// unknown, not confirmed, not the customer's, or its max_amount is below the
// amount, or the order is unknown, paid or for another amount. Accepted, it
// is created and its outcome (payment.captured, or payment.failed when a
// FailToken rule says so) is queued as a webhook: delivered by Settle, or
// at once when AutoSettle is set. The mandate's own webhooks (token.*) are
// sent by ConfirmMandate, PauseMandate, CancelMandate and RejectMandate.
// Every method is safe for concurrent use.
package gatewaysim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
)

// Endpoint names, as Calls counts them.
const (
	CreateOrder     = "POST /v1/orders"
	ListOrders      = "GET /v1/orders"
	OrderPayments   = "GET /v1/orders/{id}/payments"
	CreateRecurring = "POST /v1/payments/create/recurring"
	ValidateAccount = "POST /v1/fund_accounts/validations" // validation.go
)

// Token is a mandate the stand-in knows.
type Token struct {
	ID, CustomerID string
	Method         string      // emandate (default), upi, nach
	MaxAmount      fund.Amount // per debit
	Status         fund.MandateStatus
	InvestorID     string // put in the token's notes.investor_id
	Bank           string // e.g. HDFC
	AccountNumber  string // bank_details.account_number (emandate)
	IFSC           string
	Beneficiary    string
	ExpiresAt      time.Time
	StartsAt       time.Time
}

// Failure is why a token's debits fail (payment.failed).
type Failure struct{ Code, Description, Reason string }

// Server is the stand-in gateway.
type Server struct {
	KeyID, KeySecret string
	WebhookURL       string // where webhooks are POSTed
	WebhookSecret    []byte
	AutoSettle       bool             // deliver a payment's outcome as soon as it is created
	Now              func() time.Time // the gateway's clock (created_at); nil: time.Now
	HTTP             *http.Client     // for webhooks; nil: http.DefaultClient

	mu        sync.Mutex
	seq       int
	orders    map[string]*order
	byReceipt map[string][]string
	payments  map[string]*payment
	tokens    map[string]*Token
	failures  map[string]Failure
	pending   []delivery
	calls     map[string]int
	inject    map[string][]injected
	wg        sync.WaitGroup
	errs      []error
	sent      []Sent
	banks     map[string]Bank // validation.go: by IFSC:ACCOUNT
	valFail   string
}

// Sent is a webhook the stand-in delivered (acknowledged 2xx).
type Sent struct {
	EventID, Event string
	Body           []byte
}

// Delivered lists the webhooks delivered so far, in order (a test replays
// one with Deliver).
func (s *Server) Delivered() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

type order struct {
	ID       string            `json:"id"`
	Entity   string            `json:"entity"`
	Amount   int64             `json:"amount"`
	Paid     int64             `json:"amount_paid"`
	Due      int64             `json:"amount_due"`
	Currency string            `json:"currency"`
	Receipt  string            `json:"receipt"`
	OfferID  *string           `json:"offer_id"`
	Status   string            `json:"status"`
	Attempts int               `json:"attempts"`
	Notes    map[string]string `json:"notes"`
	Created  int64             `json:"created_at"`
	payments []string
}

type payment struct {
	ID          string            `json:"id"`
	Entity      string            `json:"entity"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Status      string            `json:"status"`
	OrderID     string            `json:"order_id"`
	InvoiceID   *string           `json:"invoice_id"`
	Intl        bool              `json:"international"`
	Method      string            `json:"method"`
	Refunded    int64             `json:"amount_refunded"`
	RefundSt    *string           `json:"refund_status"`
	Captured    bool              `json:"captured"`
	Description string            `json:"description"`
	CardID      *string           `json:"card_id"`
	Bank        *string           `json:"bank"`
	Wallet      *string           `json:"wallet"`
	VPA         *string           `json:"vpa"`
	Email       string            `json:"email"`
	Contact     string            `json:"contact"`
	CustomerID  string            `json:"customer_id"`
	TokenID     string            `json:"token_id"`
	Notes       map[string]string `json:"notes"`
	Fee         *int64            `json:"fee"`
	Tax         *int64            `json:"tax"`
	ErrCode     *string           `json:"error_code"`
	ErrDesc     *string           `json:"error_description"`
	ErrSource   *string           `json:"error_source"`
	ErrStep     *string           `json:"error_step"`
	ErrReason   *string           `json:"error_reason"`
	Acquirer    map[string]string `json:"acquirer_data"`
	Created     int64             `json:"created_at"`
}

type delivery struct {
	eventID, event string
	body           []byte
}

type injected struct {
	status int
	after  bool // act first, then answer status (the answer is lost)
}

func (s *Server) init() {
	if s.orders == nil {
		s.orders, s.byReceipt, s.payments = map[string]*order{}, map[string][]string{}, map[string]*payment{}
		s.tokens, s.failures, s.calls, s.inject = map[string]*Token{}, map[string]Failure{}, map[string]int{}, map[string][]injected{}
	}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_sim%09d", prefix, s.seq)
}

// AddToken makes a token known (no webhook is sent; status "" is created).
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if t.Status == "" {
		t.Status = fund.MandateCreated
	}
	if t.Method == "" {
		t.Method = "emandate"
	}
	s.tokens[t.ID] = &t
}

// FailToken makes every later debit of token fail with code and
// description (payment.failed); an empty code lifts the rule.
func (s *Server) FailToken(token, code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if code == "" {
		delete(s.failures, token)
		return
	}
	s.failures[token] = Failure{Code: code, Description: description, Reason: "payment_failed"}
}

// FailNext makes the next call of endpoint answer status (a 5xx: the
// gateway is down) without doing anything.
func (s *Server) FailNext(endpoint string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.inject[endpoint] = append(s.inject[endpoint], injected{status: status})
}

// LoseAnswer makes the next call of endpoint do its work and then answer
// status: the caller does not learn what was done (a crash or a timeout
// after the gateway acted).
func (s *Server) LoseAnswer(endpoint string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	s.inject[endpoint] = append(s.inject[endpoint], injected{status: status, after: true})
}

// Calls is how often endpoint was called (injected failures included).
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// Payments lists the payments created, in order.
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Payment
	for _, p := range s.payments {
		out = append(out, Payment{ID: p.ID, OrderID: p.OrderID, TokenID: p.TokenID, Amount: fund.AmountFromPaise(p.Amount), Status: p.Status})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Payment is a payment as the stand-in holds it.
type Payment struct {
	ID, OrderID, TokenID, Status string
	Amount                       fund.Amount
}

// Pending is how many webhooks wait for Settle.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Settle delivers the queued webhooks, in order. One that is not
// acknowledged (2xx) stays queued and its error is returned.
func (s *Server) Settle(ctx context.Context) error {
	s.mu.Lock()
	todo := s.pending
	s.pending = nil
	s.mu.Unlock()
	for i, d := range todo {
		if err := s.send(ctx, d); err != nil {
			s.mu.Lock()
			s.pending = append(append([]delivery(nil), todo[i:]...), s.pending...)
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// Wait waits for the deliveries AutoSettle started and returns their
// errors.
func (s *Server) Wait() []error {
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := s.errs
	s.errs = nil
	return errs
}

func (s *Server) send(ctx context.Context, d delivery) error {
	if err := Deliver(ctx, s.HTTP, s.WebhookURL, s.WebhookSecret, d.eventID, d.body); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent = append(s.sent, Sent{EventID: d.eventID, Event: d.event, Body: d.body})
	s.mu.Unlock()
	return nil
}

// Deliver POSTs a webhook body signed as Razorpay signs it.
func Deliver(ctx context.Context, hc *http.Client, url string, secret []byte, eventID string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEventID, eventID)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(body, secret))
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", eventID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: status %d", eventID, resp.StatusCode)
	}
	return nil
}

// queue adds a webhook (the caller holds mu) and, with AutoSettle, sends
// it at once in the background.
func (s *Server) queue(event string, payload map[string]any) {
	d := delivery{eventID: s.id("evt"), event: event}
	d.body, _ = json.Marshal(map[string]any{"entity": "event", "account_id": "acc_sim00000001", "event": event,
		"contains": keys(payload), "payload": payload, "created_at": s.now().Unix()})
	if !s.AutoSettle {
		s.pending = append(s.pending, d)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.send(context.Background(), d); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}()
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The mandate's webhooks: each moves the token and queues its token.*
// event (Razorpay's token entity).

// AuthorizeMandate sends the mandate registration's authorisation payment
// (payment.authorized of an amount-0 e-mandate order, or ₹1 for UPI, on
// the customer's registration order, carrying token_id and customer_id):
// in Razorpay's flow this payment, not the token entity, names the
// customer a token belongs to.
func (s *Server) AuthorizeMandate(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	t, ok := s.tokens[token]
	if !ok {
		return fmt.Errorf("gatewaysim: token %s unknown (AddToken first)", token)
	}
	var amount int64
	if t.Method == "upi" {
		amount = 100
	}
	o := &order{ID: s.id("order"), Entity: "order", Amount: amount, Due: amount, Currency: "INR", Status: "attempted", Attempts: 1, Notes: map[string]string{}, Created: s.now().Unix()}
	s.orders[o.ID] = o
	p := &payment{ID: s.id("pay"), Entity: "payment", Amount: amount, Currency: "INR", Status: "authorized", OrderID: o.ID,
		Method: t.Method, Description: "mandate registration", Bank: nilIfEmptyPtr(t.Bank), CustomerID: t.CustomerID, TokenID: t.ID,
		Notes: map[string]string{}, Acquirer: map[string]string{}, Created: s.now().Unix()}
	if t.InvestorID != "" {
		p.Notes["investor_id"] = t.InvestorID
	}
	s.payments[p.ID] = p
	o.payments = append(o.payments, p.ID)
	snapshot := *p
	s.queue("payment.authorized", map[string]any{"payment": map[string]any{"entity": &snapshot}})
	return nil
}

// ConfirmMandate confirms token (token.confirmed).
func (s *Server) ConfirmMandate(token string) error {
	return s.mandate(token, fund.MandateConfirmed, "")
}

// PauseMandate pauses token (token.paused).
func (s *Server) PauseMandate(token string) error { return s.mandate(token, fund.MandatePaused, "") }

// CancelMandate cancels token (token.cancelled).
func (s *Server) CancelMandate(token string) error {
	return s.mandate(token, fund.MandateCancelled, "")
}

// RejectMandate rejects token's registration (token.rejected).
func (s *Server) RejectMandate(token, reason string) error {
	return s.mandate(token, fund.MandateRejected, reason)
}

func (s *Server) mandate(id string, st fund.MandateStatus, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	t, ok := s.tokens[id]
	if !ok {
		return fmt.Errorf("gatewaysim: token %s unknown (AddToken first)", id)
	}
	t.Status = st
	s.queue("token."+string(st), map[string]any{"token": map[string]any{"entity": TokenEntity(*t, reason, s.now())}})
	return nil
}

// TokenEntity is t as Razorpay's token entity (a webhook's
// payload.token.entity).
func TokenEntity(t Token, failure string, now time.Time) map[string]any {
	var fr any
	if failure != "" {
		fr = failure
	}
	e := map[string]any{"id": t.ID, "entity": "token", "token": strings.TrimPrefix(t.ID, "token_"), "bank": nilIfEmpty(t.Bank),
		"wallet": nil, "method": t.Method, "recurring": t.Status != fund.MandateRejected,
		"recurring_details": map[string]any{"status": string(t.Status), "failure_reason": fr},
		"auth_type":         "netbanking", "mrn": nil, "used_at": now.Unix(), "created_at": now.Unix(),
		"max_amount": t.MaxAmount.Paise(), "dcc_enabled": false, "notes": []any{}}
	if t.InvestorID != "" {
		e["notes"] = map[string]string{"investor_id": t.InvestorID}
	}
	if !t.ExpiresAt.IsZero() {
		e["expired_at"] = t.ExpiresAt.Unix()
	}
	if !t.StartsAt.IsZero() {
		e["start_time"] = t.StartsAt.Unix()
	}
	if t.AccountNumber != "" {
		e["bank_details"] = map[string]string{"beneficiary_name": t.Beneficiary, "account_number": t.AccountNumber,
			"ifsc": t.IFSC, "account_type": "savings"}
	}
	return e
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ServeHTTP answers the four endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	endpoint, orderID := route(r)
	if endpoint == "" {
		writeErr(w, http.StatusNotFound, "BAD_REQUEST_ERROR", "The requested URL was not found on the server.", "")
		return
	}
	s.calls[endpoint]++
	if u, p, ok := r.BasicAuth(); !ok || u != s.KeyID || p != s.KeySecret {
		writeErr(w, http.StatusUnauthorized, "BAD_REQUEST_ERROR", "The api key provided is invalid", "")
		return
	}
	var inj *injected
	if q := s.inject[endpoint]; len(q) > 0 {
		inj, s.inject[endpoint] = &q[0], q[1:]
		if !inj.after {
			writeErr(w, inj.status, "SERVER_ERROR", "We are facing some trouble completing your request at the moment. Please try again shortly.", "")
			return
		}
	}
	rec := &recorder{header: http.Header{}}
	switch endpoint {
	case CreateOrder:
		s.createOrder(rec, r)
	case ListOrders:
		s.listOrders(rec, r)
	case OrderPayments:
		s.orderPayments(rec, orderID)
	case CreateRecurring:
		s.createRecurring(rec, r)
	case ValidateAccount:
		s.validateAccount(rec, r)
	}
	if inj != nil {
		writeErr(w, inj.status, "SERVER_ERROR", "We are facing some trouble completing your request at the moment. Please try again shortly.", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

func route(r *http.Request) (endpoint, orderID string) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/v1/orders":
		return CreateOrder, ""
	case r.Method == http.MethodGet && p == "/v1/orders":
		return ListOrders, ""
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/orders/") && strings.HasSuffix(p, "/payments"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/orders/"), "/payments")
		if id != "" && !strings.Contains(id, "/") {
			return OrderPayments, id
		}
	case r.Method == http.MethodPost && p == "/v1/payments/create/recurring":
		return CreateRecurring, ""
	case r.Method == http.MethodPost && p == "/v1/fund_accounts/validations":
		return ValidateAccount, ""
	}
	return "", ""
}

// recorder keeps an answer so that LoseAnswer can drop it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func writeJSON(w *recorder, status int, v any) {
	w.status = status
	_ = json.NewEncoder(&w.body).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, desc, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errBody(code, desc, field))
}

func errBody(code, desc, field string) map[string]any {
	e := map[string]any{"code": code, "description": desc, "source": "business", "step": "payment_initiation",
		"reason": "input_validation_failed", "metadata": map[string]any{}}
	if field != "" {
		e["field"] = field
	}
	return map[string]any{"error": e}
}

func refuse(w *recorder, desc, field string) {
	writeJSON(w, http.StatusBadRequest, errBody("BAD_REQUEST_ERROR", desc, field))
}

func (s *Server) createOrder(w *recorder, r *http.Request) {
	var in struct {
		Amount         json.Number       `json:"amount"`
		Currency       string            `json:"currency"`
		Receipt        string            `json:"receipt"`
		PaymentCapture any               `json:"payment_capture"`
		Notes          map[string]string `json:"notes"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		refuse(w, "The request body is not valid JSON", "")
		return
	}
	amount, err := in.Amount.Int64()
	if err != nil || amount < 100 {
		refuse(w, "The amount must be atleast INR 1.00", "amount")
		return
	}
	if in.Currency != "INR" {
		refuse(w, "Currency is not supported", "currency")
		return
	}
	if len(in.Receipt) > 40 {
		refuse(w, "The receipt may not be greater than 40 characters.", "receipt")
		return
	}
	// The real gateway does not refuse a receipt seen before; the stand-in
	// gives the first order back, which is what a client that looks before
	// it writes must never need.
	if ids := s.byReceipt[in.Receipt]; in.Receipt != "" && len(ids) > 0 {
		writeJSON(w, http.StatusOK, s.orders[ids[0]])
		return
	}
	o := &order{ID: s.id("order"), Entity: "order", Amount: amount, Due: amount, Currency: in.Currency, Receipt: in.Receipt,
		Status: "created", Notes: in.Notes, Created: s.now().Unix()}
	if o.Notes == nil {
		o.Notes = map[string]string{}
	}
	s.orders[o.ID] = o
	if in.Receipt != "" {
		s.byReceipt[in.Receipt] = append(s.byReceipt[in.Receipt], o.ID)
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) listOrders(w *recorder, r *http.Request) {
	items := []*order{}
	if rc := r.URL.Query().Get("receipt"); rc != "" {
		for _, id := range s.byReceipt[rc] {
			items = append(items, s.orders[id])
		}
	} else {
		for _, o := range s.orders {
			items = append(items, o)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	}
	writeJSON(w, http.StatusOK, map[string]any{"entity": "collection", "count": len(items), "items": items})
}

func (s *Server) orderPayments(w *recorder, orderID string) {
	o, ok := s.orders[orderID]
	if !ok {
		refuse(w, "The id provided does not exist", "id")
		return
	}
	items := []*payment{}
	for _, id := range o.payments {
		items = append(items, s.payments[id])
	}
	writeJSON(w, http.StatusOK, map[string]any{"entity": "collection", "count": len(items), "items": items})
}

func (s *Server) createRecurring(w *recorder, r *http.Request) {
	var in struct {
		Email       string            `json:"email"`
		Contact     string            `json:"contact"`
		Amount      json.Number       `json:"amount"`
		Currency    string            `json:"currency"`
		OrderID     string            `json:"order_id"`
		CustomerID  string            `json:"customer_id"`
		Token       string            `json:"token"`
		Recurring   string            `json:"recurring"`
		Description string            `json:"description"`
		Notes       map[string]string `json:"notes"`
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		refuse(w, "The request body is not valid JSON", "")
		return
	}
	amount, err := in.Amount.Int64()
	o, ok := s.orders[in.OrderID]
	t, tok := s.tokens[in.Token]
	switch {
	case err != nil:
		refuse(w, "The amount must be an integer.", "amount")
	case in.Recurring != "1":
		refuse(w, "The recurring field must be 1.", "recurring")
	case !ok:
		refuse(w, "The id provided does not exist", "order_id")
	case o.Status == "paid":
		refuse(w, "Order has already been paid", "order_id")
	case amount != o.Amount:
		refuse(w, "The amount does not match the order amount", "amount")
	case !tok:
		refuse(w, "The token provided does not exist", "token")
	case t.CustomerID != in.CustomerID:
		refuse(w, "The token does not belong to the customer", "customer_id")
	case t.Status != fund.MandateConfirmed:
		refuse(w, fmt.Sprintf("The token is %s and cannot be charged", t.Status), "token")
	case amount > t.MaxAmount.Paise():
		refuse(w, "The amount exceeds the maximum amount allowed for the token", "amount")
	default:
		s.charge(w, o, t, amount, in.Email, in.Contact, in.Description, in.Notes)
	}
}

func (s *Server) charge(w *recorder, o *order, t *Token, amount int64, email, contact, desc string, notes map[string]string) {
	now := s.now().Unix()
	p := &payment{ID: s.id("pay"), Entity: "payment", Amount: amount, Currency: "INR", Status: "created", OrderID: o.ID,
		Method: t.Method, Description: desc, Bank: nilIfEmptyPtr(t.Bank), Email: email, Contact: contact,
		CustomerID: t.CustomerID, TokenID: t.ID, Notes: notes, Acquirer: map[string]string{}, Created: now}
	if p.Notes == nil {
		p.Notes = map[string]string{}
	}
	s.payments[p.ID] = p
	o.payments = append(o.payments, p.ID)
	o.Attempts++
	o.Status = "attempted"
	event := "payment.captured"
	if f, bad := s.failures[t.ID]; bad {
		event, p.Status = "payment.failed", "failed"
		p.ErrCode, p.ErrDesc, p.ErrReason = &f.Code, &f.Description, &f.Reason
		src, step := "customer", "payment_debit_request"
		p.ErrSource, p.ErrStep = &src, &step
	} else {
		p.Status, p.Captured = "captured", true
		o.Status, o.Paid, o.Due = "paid", amount, 0
		var zero int64
		p.Fee, p.Tax = &zero, &zero
	}
	snapshot := *p
	s.queue(event, map[string]any{"payment": map[string]any{"entity": &snapshot}})
	writeJSON(w, http.StatusOK, map[string]string{"razorpay_payment_id": p.ID, "razorpay_order_id": o.ID,
		"razorpay_signature": signature(o.ID, p.ID, s.KeySecret)})
}

func nilIfEmptyPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// signature is what Razorpay returns as razorpay_signature: HMAC-SHA256 of
// "order_id|payment_id" under the key secret.
func signature(orderID, paymentID, secret string) string {
	return webhook.Sign([]byte(orderID+"|"+paymentID), []byte(secret))
}
