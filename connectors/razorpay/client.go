// Package razorpay is the outbound client of Razorpay's REST API: the
// recurring debits presented against a mandate (token). The webhooks that
// report their outcome arrive through connectors/webhook.
package razorpay

import (
	"context"
	"errors"
)

func (c *Client) present(ctx context.Context, d Debit) (Presented, error) {
	return Presented{}, errors.New("razorpay: Present not implemented yet")
}
