package razorpay

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fundflow/fundflow/fund"
)

// Client calls Razorpay's REST API (https://api.razorpay.com) with basic
// auth key_id:key_secret. It is the outbound side only: the webhooks the
// gateway sends back are received by connectors/webhook.
type Client struct {
	BaseURL   string // e.g. https://api.razorpay.com (no trailing /v1)
	KeyID     string // rzp_live_… / rzp_test_…
	KeySecret string
	HTTP      *http.Client // nil: http.DefaultClient
}

// Debit is one recurring debit against a confirmed mandate (token).
type Debit struct {
	Key         string      // idempotency key: the instalment's (plan id + due date), ≤ 40 chars (Razorpay receipt)
	TokenID     string      // the mandate (token_…)
	CustomerID  string      // cust_…
	Amount      fund.Amount // rupees; sent in paise
	Email       string      // may be empty
	Contact     string      // may be empty
	Description string
	Notes       map[string]string // plan_id, due_date, instalment seq
}

// Presented names what the gateway holds for a presented debit.
type Presented struct{ GatewayOrderID, GatewayPaymentID string }

// RefusedError is a 4xx answer of the gateway (bad token, over the
// mandate's limit, …): never retry it; the instalment fails with Code and
// Description. Any other error of Present is transient (5xx, 429, network,
// and 401/403: our API key, not the debit): retry later with the same Key.
type RefusedError struct {
	Status                    int
	Code, Description, Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("razorpay refused (%d %s): %s", e.Status, e.Code, e.Description)
}

// Present creates (or finds, by Key) the gateway order and the recurring
// payment on it, once.
func (c *Client) Present(ctx context.Context, d Debit) (Presented, error) {
	return c.present(ctx, d)
}
