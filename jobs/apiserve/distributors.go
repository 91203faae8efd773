package apiserve

import (
	"context"
	"strings"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/commissions"
	commpg "github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// Distributors is api.Distributors over the commissions store.
type Distributors struct{ Store commpg.Store }

var _ api.Distributors = Distributors{}

// Subtree implements api.Distributors.
func (d Distributors) Subtree(ctx context.Context, arn string) ([]string, error) {
	return d.Store.Subtree(ctx, arn)
}

// Payout implements api.Distributors.
func (d Distributors) Payout(ctx context.Context, payee string, month fund.Date) (api.DistributorPayout, bool, error) {
	st, lines, ok, err := d.Store.PayoutOf(ctx, payee, month)
	if err != nil || !ok {
		return api.DistributorPayout{}, ok, err
	}
	return api.DistributorPayout{Month: month.String()[:7], Statement: st, Lines: lines,
		Rounding: "accrued exactly; " + commission.LargestRemainder}, true, nil
}

// Explain implements api.Distributors.
func (d Distributors) Explain(ctx context.Context, bucket string, month fund.Date) (commission.Explanation, error) {
	return commissions.ExplainMonth(ctx, d.Store, strings.TrimSpace(bucket), month)
}

// PayoutStatement implements api.Distributors.
func (d Distributors) PayoutStatement(ctx context.Context, payee string, month fund.Date) (commissions.PayoutPDF, bool, error) {
	return d.Store.PayoutStatement(ctx, payee, month)
}
