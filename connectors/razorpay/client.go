// Package razorpay is the outbound client of Razorpay's REST API: the
// recurring debits presented against a mandate (token). The webhooks that
// report their outcome arrive through connectors/webhook.
//
// Wire format (Razorpay API reference, "Recurring Payments → Create
// Subsequent Payments", the same for e-mandate, UPI AutoPay and NACH; and
// the razorpay-go SDK's documents/emandate.md and order.md):
//
//   - POST /v1/orders {amount (paise), currency "INR", receipt (≤ 40 chars),
//     payment_capture true, notes {…}} → the order entity {id "order_…",
//     entity "order", amount, amount_paid, amount_due, currency, receipt,
//     status created|attempted|paid, attempts, notes, created_at}.
//   - POST /v1/payments/create/recurring {email, contact, amount (paise, the
//     order's), currency, order_id, customer_id, token "token_…", recurring
//     "1", description, notes} → {razorpay_payment_id, razorpay_order_id,
//     razorpay_signature}. The debit's outcome comes later as a
//     payment.captured or payment.failed webhook.
//   - GET /v1/orders?receipt=… ("Fetch All Orders": retrieves the orders
//     that carry that receipt) → {entity "collection", count, items […]}.
//   - GET /v1/orders/{id}/payments → {entity "collection", count, items
//     [payment entities]}.
//   - Basic auth key_id:key_secret; an error is a 4xx/5xx with
//     {"error": {"code", "description", "source", "step", "reason",
//     "field", "metadata"}}.
//
// Idempotency. Razorpay has an idempotency header only for RazorpayX
// payouts (X-Payout-Idempotency); orders and payments have none, and the
// receipt is not enforced unique (the API reference's own "Fetch All
// Orders" example lists two orders with receipt "Receipt No. 1"). So the
// idempotency key is made the order's receipt and Present looks before it
// writes: it finds the order by receipt (GET /v1/orders?receipt=) before
// creating one, and the payments of that order (GET
// /v1/orders/{id}/payments) before creating the recurring payment. A retry
// after a crash anywhere (order created but not recorded; payment created
// but not recorded) finds what the first attempt made and creates nothing
// new. What remains is two presenters racing on the same key at the same
// moment: the caller serialises them (one instalment row, locked while it
// is presented).
package razorpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/pipelines"
)

// MaxKey is the longest receipt Razorpay accepts.
const MaxKey = 40

// Order is Razorpay's order entity (the fields the client reads).
type Order struct {
	ID         string            `json:"id"`
	Entity     string            `json:"entity"`
	Amount     int64             `json:"amount"` // paise
	AmountPaid int64             `json:"amount_paid"`
	AmountDue  int64             `json:"amount_due"`
	Currency   string            `json:"currency"`
	Receipt    string            `json:"receipt"`
	Status     string            `json:"status"` // created, attempted, paid
	Attempts   int               `json:"attempts"`
	Notes      map[string]string `json:"notes"`
	CreatedAt  int64             `json:"created_at"`
}

// Payment is Razorpay's payment entity (the fields the client reads).
type Payment struct {
	ID         string `json:"id"`
	Entity     string `json:"entity"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	TokenID    string `json:"token_id"`
	Recurring  bool   `json:"recurring"`
	CreatedAt  int64  `json:"created_at"`
}

// NewOrder is the body of POST /v1/orders.
type NewOrder struct {
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	Receipt        string            `json:"receipt"`
	PaymentCapture bool              `json:"payment_capture"`
	Notes          map[string]string `json:"notes,omitempty"`
}

// NewRecurring is the body of POST /v1/payments/create/recurring.
type NewRecurring struct {
	Email       string            `json:"email"`
	Contact     string            `json:"contact"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	OrderID     string            `json:"order_id"`
	CustomerID  string            `json:"customer_id"`
	Token       string            `json:"token"`
	Recurring   string            `json:"recurring"` // "1"
	Description string            `json:"description,omitempty"`
	Notes       map[string]string `json:"notes,omitempty"`
}

// RecurringCreated is the answer of POST /v1/payments/create/recurring.
type RecurringCreated struct {
	PaymentID string `json:"razorpay_payment_id"`
	OrderID   string `json:"razorpay_order_id"`
	Signature string `json:"razorpay_signature"`
}

// Collection is Razorpay's list envelope.
type Collection[T any] struct {
	Entity string `json:"entity"` // "collection"
	Count  int    `json:"count"`
	Items  []T    `json:"items"`
}

// ErrorBody is Razorpay's error answer.
type ErrorBody struct {
	Error struct {
		Code        string `json:"code"`
		Description string `json:"description"`
		Source      string `json:"source"`
		Step        string `json:"step"`
		Reason      string `json:"reason"`
		Field       string `json:"field,omitempty"`
	} `json:"error"`
}

func (c *Client) present(ctx context.Context, d Debit) (Presented, error) {
	paise, err := d.check()
	if err != nil {
		return Presented{}, err
	}
	o, found, err := c.OrderByReceipt(ctx, d.Key)
	if err != nil {
		return Presented{}, err
	}
	if !found {
		o, err = c.CreateOrder(ctx, NewOrder{Amount: paise, Currency: "INR", Receipt: d.Key, PaymentCapture: true, Notes: d.Notes})
		if err != nil {
			return Presented{}, err
		}
	} else if o.Amount != paise {
		// The same instalment presented for another amount: the caller's
		// state is inconsistent; presenting a second debit would be worse.
		return Presented{}, &RefusedError{Code: "RECEIPT_AMOUNT_MISMATCH",
			Description: fmt.Sprintf("order %s for receipt %q is for %d paise, not %d", o.ID, d.Key, o.Amount, paise)}
	}
	pays, err := c.OrderPayments(ctx, o.ID)
	if err != nil {
		return Presented{}, err
	}
	if len(pays) > 0 {
		// Presented already (whatever became of it): the first payment is
		// the debit; its outcome comes by webhook.
		sort.SliceStable(pays, func(i, j int) bool { return pays[i].CreatedAt < pays[j].CreatedAt })
		return Presented{GatewayOrderID: o.ID, GatewayPaymentID: pays[0].ID}, nil
	}
	if o.Attempts > 0 || o.Status == "paid" {
		// The gateway saw an attempt it does not list yet: wait rather
		// than risk a second debit.
		return Presented{}, pipelines.Transient(fmt.Errorf("razorpay: order %s has %d attempts but lists no payment yet", o.ID, o.Attempts))
	}
	r, err := c.CreateRecurring(ctx, NewRecurring{Email: d.Email, Contact: d.Contact, Amount: paise, Currency: "INR",
		OrderID: o.ID, CustomerID: d.CustomerID, Token: d.TokenID, Recurring: "1", Description: d.Description, Notes: d.Notes})
	if err != nil {
		return Presented{}, err
	}
	return Presented{GatewayOrderID: o.ID, GatewayPaymentID: r.PaymentID}, nil
}

// check refuses a debit the gateway could never accept (a caller's bug, so
// a RefusedError: retrying cannot cure it). It returns the amount in paise.
func (d Debit) check() (int64, error) {
	bad := func(f string, a ...any) (int64, error) {
		return 0, &RefusedError{Code: "BAD_REQUEST_ERROR", Description: fmt.Sprintf(f, a...)}
	}
	switch {
	case d.Key == "" || len(d.Key) > MaxKey:
		return bad("debit key %q: want 1 to %d characters (it is the order's receipt)", d.Key, MaxKey)
	case d.TokenID == "":
		return bad("debit %s: no token", d.Key)
	case d.CustomerID == "":
		return bad("debit %s: no customer", d.Key)
	}
	dec := d.Amount.Decimal()
	if dec.Sign() <= 0 || !dec.Shift(2).IsInteger() {
		return bad("debit %s: amount %s is not a positive whole number of paise", d.Key, d.Amount)
	}
	return d.Amount.Paise(), nil
}

// OrderByReceipt finds the earliest order carrying receipt.
func (c *Client) OrderByReceipt(ctx context.Context, receipt string) (Order, bool, error) {
	var col Collection[Order]
	if err := c.do(ctx, http.MethodGet, "/v1/orders?receipt="+url.QueryEscape(receipt), nil, &col); err != nil {
		return Order{}, false, err
	}
	var best Order
	found := false
	for _, o := range col.Items {
		if o.Receipt != receipt { // "contain": be exact here
			continue
		}
		if !found || o.CreatedAt < best.CreatedAt || (o.CreatedAt == best.CreatedAt && o.ID < best.ID) {
			best, found = o, true
		}
	}
	return best, found, nil
}

// CreateOrder creates an order.
func (c *Client) CreateOrder(ctx context.Context, o NewOrder) (Order, error) {
	var out Order
	if err := c.do(ctx, http.MethodPost, "/v1/orders", o, &out); err != nil {
		return Order{}, err
	}
	if out.ID == "" {
		return Order{}, pipelines.Transient(errors.New("razorpay: order created without an id"))
	}
	return out, nil
}

// OrderPayments lists the payments made on an order.
func (c *Client) OrderPayments(ctx context.Context, orderID string) ([]Payment, error) {
	var col Collection[Payment]
	if err := c.do(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(orderID)+"/payments", nil, &col); err != nil {
		return nil, err
	}
	return col.Items, nil
}

// CreateRecurring creates a recurring payment on an order.
func (c *Client) CreateRecurring(ctx context.Context, r NewRecurring) (RecurringCreated, error) {
	var out RecurringCreated
	if err := c.do(ctx, http.MethodPost, "/v1/payments/create/recurring", r, &out); err != nil {
		return RecurringCreated{}, err
	}
	if out.PaymentID == "" {
		return RecurringCreated{}, pipelines.Transient(errors.New("razorpay: recurring payment created without an id"))
	}
	return out, nil
}

// do sends one request. A 4xx (but 429) is a RefusedError; a 5xx, a 429,
// a network error or an unreadable 2xx is transient.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("razorpay %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("razorpay %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.KeyID, c.KeySecret)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return pipelines.Transient(fmt.Errorf("razorpay %s %s: %w", method, path, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return pipelines.Transient(fmt.Errorf("razorpay %s %s: reading the answer: %w", method, path, err))
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if err := json.Unmarshal(raw, out); err != nil {
			return pipelines.Transient(fmt.Errorf("razorpay %s %s: answer %d is not what was expected: %w", method, path, resp.StatusCode, err))
		}
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		var eb ErrorBody
		_ = json.Unmarshal(raw, &eb)
		re := &RefusedError{Status: resp.StatusCode, Code: eb.Error.Code, Description: eb.Error.Description, Reason: eb.Error.Reason}
		if re.Code == "" {
			re.Code = http.StatusText(resp.StatusCode)
		}
		return re
	}
	return pipelines.Transient(fmt.Errorf("razorpay %s %s: status %d: %s", method, path, resp.StatusCode, truncate(raw, 200)))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
