package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// fakeDistributors: ARN-1's tree holds SUB-A; ARN-2 stands alone. Each
// payee has an April 2024 payout.
type fakeDistributors struct{}

func (fakeDistributors) Subtree(_ context.Context, arn string) ([]string, error) {
	if arn == "ARN-1" {
		return []string{"ARN-1", "SUB-A"}, nil
	}
	return []string{arn}, nil
}

func (fakeDistributors) Payout(_ context.Context, payee string, month fund.Date) (api.DistributorPayout, bool, error) {
	if month != fund.NewDate(2024, 4, 1) {
		return api.DistributorPayout{}, false, nil
	}
	st := commission.Settle(commission.Payee{ID: payee}, fund.NewDate(2024, 5, 7), fund.MustAmount("100.00"), fund.Amount{}, fund.Amount{}, fund.Amount{})
	return api.DistributorPayout{Month: "2024-04", Statement: st}, true, nil
}

func (fakeDistributors) Explain(_ context.Context, bucket string, month fund.Date) (commission.Explanation, error) {
	return commission.Explanation{Difference: fund.MustAmount("-1.00")}, nil
}

// PayoutStatement: the April payout of 100.00 with five days of trail
// accrued (20.00 a day) and a month before with three.
func (f fakeDistributors) PayoutStatement(ctx context.Context, payee string, month fund.Date) (commissions.PayoutPDF, bool, error) {
	p, ok, err := f.Payout(ctx, payee, month)
	if !ok || err != nil {
		return commissions.PayoutPDF{}, ok, err
	}
	doc := commissions.PayoutPDF{Month: month, Statement: p.Statement,
		Lines:      []commission.Line{{Bucket: "ARN-1", Payee: payee, Amount: fund.MustAmount("100.00")}},
		EventLines: []commission.EventPayLine{{Bucket: "ARN-1", Payee: payee, Kind: commission.KindClawback, Amount: fund.MustAmount("1.00")}}}
	for d := 0; d < 30; d++ {
		doc.This = append(doc.This, commissions.DayValue{Day: month.AddDays(d), Cum: decimal.New(int64(20*min(d+1, 5)), 0)})
	}
	for d := 0; d < 31; d++ {
		doc.Prev = append(doc.Prev, commissions.DayValue{Day: month.AddDays(d - 31), Cum: decimal.New(int64(20*min(d+1, 3)), 0)})
	}
	return doc, true, nil
}

func distributor(t *testing.T, arn string) string {
	c := claims(api.RoleDistributor, "user-"+arn, time.Hour)
	c.ARN = arn
	return token(t, c)
}

// A distributor reads its ARN's sub-tree and nothing else (404, as for a
// stranger's folio); staff read any; an investor or analyst may not (403);
// a distributor token without an arn is refused.
func TestDistributorPayoutRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *api.Config) { c.Distributors = fakeDistributors{} })
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	noARN := token(t, claims(api.RoleDistributor, "d", time.Hour))
	for _, c := range []struct {
		name, path, tok string
		status          int
	}{
		{"own ARN", "/v1/distributors/ARN-1/payouts/2024-04", distributor(t, "ARN-1"), 200},
		{"its sub-broker", "/v1/distributors/SUB-A/payouts/2024-04", distributor(t, "ARN-1"), 200},
		{"explain", "/v1/distributors/SUB-A/payouts/2024-04/explain", distributor(t, "ARN-1"), 200},
		{"statement pdf", "/v1/distributors/SUB-A/payouts/2024-04/statement.pdf", distributor(t, "ARN-1"), 200},
		{"another ARN's pdf", "/v1/distributors/ARN-2/payouts/2024-04/statement.pdf", distributor(t, "ARN-1"), 404},
		{"unpaid month's pdf", "/v1/distributors/ARN-1/payouts/2024-05/statement.pdf", ops, 404},
		{"another ARN", "/v1/distributors/ARN-2/payouts/2024-04", distributor(t, "ARN-1"), 404},
		{"its parent", "/v1/distributors/ARN-1/payouts/2024-04", distributor(t, "SUB-A"), 404},
		{"another ARN's explain", "/v1/distributors/ARN-1/payouts/2024-04/explain", distributor(t, "ARN-2"), 404},
		{"ops any", "/v1/distributors/ARN-2/payouts/2024-04", ops, 200},
		{"unpaid month", "/v1/distributors/ARN-1/payouts/2024-05", ops, 404},
		{"bad month", "/v1/distributors/ARN-1/payouts/2024-4", ops, 400},
		{"investor", "/v1/distributors/ARN-1/payouts/2024-04", investor(t, "INV-1"), 403},
		{"analyst", "/v1/distributors/ARN-1/payouts/2024-04", token(t, claims(api.RoleAnalyst, "a", time.Hour)), 403},
		{"distributor token without arn", "/v1/distributors/ARN-1/payouts/2024-04", noARN, 401},
	} {
		status, _, body := e.get(t, c.path, c.tok)
		if status != c.status {
			t.Errorf("%s: %d %s; want %d", c.name, status, body, c.status)
			continue
		}
		if c.name == "statement pdf" {
			if !bytes.HasPrefix(body, []byte("%PDF-")) {
				t.Errorf("%s: not a PDF: %.40q", c.name, body)
			}
			continue
		}
		if status == 200 && c.name != "explain" {
			var p api.DistributorPayout
			// 100.00 less TDS at 5 % (paid 7-May-2024, before the 2 % of Oct-2024).
			if err := json.Unmarshal(body, &p); err != nil || p.Month != "2024-04" || p.Statement.Net.String() != "95.00" {
				t.Errorf("%s: %s", c.name, body)
			}
		}
	}
}
