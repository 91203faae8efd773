package razorpay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/pipelines"
)

func setup(t *testing.T) (*gatewaysim.Server, *razorpay.Client) {
	t.Helper()
	sim := &gatewaysim.Server{KeyID: "rzp_test_k", KeySecret: "s3cret"}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.AddToken(gatewaysim.Token{ID: "token_A", CustomerID: "cust_A", MaxAmount: fund.AmountFromPaise(500000), Status: fund.MandateConfirmed})
	return sim, &razorpay.Client{BaseURL: srv.URL, KeyID: "rzp_test_k", KeySecret: "s3cret", HTTP: srv.Client()}
}

func debit(key string, paise int64) razorpay.Debit {
	return razorpay.Debit{Key: key, TokenID: "token_A", CustomerID: "cust_A", Amount: fund.AmountFromPaise(paise),
		Email: "a@example.com", Contact: "9000000000", Description: "SIP", Notes: map[string]string{"plan_id": "P1", "due_date": "2026-12-07"}}
}

func TestPresentOnce(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	p1, err := c.Present(ctx, debit("P1-2026-12-07", 100000))
	if err != nil {
		t.Fatal(err)
	}
	if p1.GatewayOrderID == "" || p1.GatewayPaymentID == "" {
		t.Fatalf("presented %+v", p1)
	}
	// The same key again (a retry after the answer was recorded, or not):
	// the same debit, no second order or payment.
	p2, err := c.Present(ctx, debit("P1-2026-12-07", 100000))
	if err != nil {
		t.Fatal(err)
	}
	if p2 != p1 {
		t.Fatalf("second Present %+v, first %+v", p2, p1)
	}
	if n := sim.Calls(gatewaysim.CreateRecurring); n != 1 {
		t.Fatalf("%d recurring payments created, want 1", n)
	}
	if n := sim.Calls(gatewaysim.CreateOrder); n != 1 {
		t.Fatalf("%d orders created, want 1", n)
	}
	if ps := sim.Payments(); len(ps) != 1 || ps[0].Amount.String() != "1000.00" || ps[0].TokenID != "token_A" {
		t.Fatalf("payments at the gateway: %+v", ps)
	}
	// Another instalment is another debit.
	if _, err := c.Present(ctx, debit("P1-2027-01-07", 100000)); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.Payments()); n != 2 {
		t.Fatalf("%d payments, want 2", n)
	}
}

// A crash between creating the order and creating the payment: the next
// attempt finds the order by its receipt and presents one payment on it.
func TestPresentAfterCrashBetweenOrderAndPayment(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	o, err := c.CreateOrder(ctx, razorpay.NewOrder{Amount: 100000, Currency: "INR", Receipt: "K1", PaymentCapture: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Present(ctx, debit("K1", 100000))
	if err != nil {
		t.Fatal(err)
	}
	if p.GatewayOrderID != o.ID {
		t.Fatalf("presented on order %s, want the crashed attempt's %s", p.GatewayOrderID, o.ID)
	}
	if n := sim.Calls(gatewaysim.CreateOrder); n != 1 {
		t.Fatalf("%d orders created, want 1", n)
	}
	if n := len(sim.Payments()); n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}
}

// The gateway created the payment but its answer was lost: Present fails
// transiently, and the retry finds the payment instead of debiting again.
func TestPresentAfterLostAnswer(t *testing.T) {
	for _, ep := range []string{gatewaysim.CreateOrder, gatewaysim.CreateRecurring} {
		t.Run(ep, func(t *testing.T) {
			sim, c := setup(t)
			ctx := context.Background()
			sim.LoseAnswer(ep, http.StatusGatewayTimeout)
			_, err := c.Present(ctx, debit("K2", 100000))
			if err == nil || !pipelines.IsTransient(err) {
				t.Fatalf("lost answer: err %v, want a transient error", err)
			}
			p, err := c.Present(ctx, debit("K2", 100000))
			if err != nil {
				t.Fatal(err)
			}
			ps := sim.Payments()
			if len(ps) != 1 || ps[0].ID != p.GatewayPaymentID {
				t.Fatalf("payments %+v after the retry presented %+v: want exactly one", ps, p)
			}
			if n := sim.Calls(gatewaysim.CreateRecurring); n != 1 {
				t.Fatalf("create recurring called %d times, want 1", n)
			}
		})
	}
}

func TestPresentRefused(t *testing.T) {
	sim, c := setup(t)
	sim.AddToken(gatewaysim.Token{ID: "token_P", CustomerID: "cust_A", MaxAmount: fund.AmountFromPaise(500000), Status: fund.MandatePaused})
	ctx := context.Background()
	cases := []struct {
		name  string
		d     razorpay.Debit
		field string
	}{
		{"over the limit", debit("R1", 500001), "amount"},
		{"unknown token", func() razorpay.Debit { d := debit("R2", 100); d.TokenID = "token_X"; return d }(), "token"},
		{"paused token", func() razorpay.Debit { d := debit("R3", 100); d.TokenID = "token_P"; return d }(), "token"},
		{"another customer's token", func() razorpay.Debit { d := debit("R4", 100); d.CustomerID = "cust_B"; return d }(), "customer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Present(ctx, tc.d)
			var re *razorpay.RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("err %v, want a RefusedError", err)
			}
			if re.Status != http.StatusBadRequest || re.Code != "BAD_REQUEST_ERROR" || re.Description == "" {
				t.Fatalf("refused %+v", re)
			}
			if pipelines.IsTransient(err) {
				t.Fatal("a refusal must not be retried")
			}
		})
	}
	if n := len(sim.Payments()); n != 0 {
		t.Fatalf("%d payments created by refused debits", n)
	}
	// Bad debits never reach the gateway.
	for _, d := range []razorpay.Debit{debit("", 100), debit("K-way-too-long-for-a-razorpay-receipt-0123456789", 100),
		debit("K5", 0), {Key: "K6", Amount: fund.AmountFromPaise(100)}} {
		var re *razorpay.RefusedError
		if _, err := c.Present(ctx, d); !errors.As(err, &re) {
			t.Errorf("debit %+v: err %v, want a RefusedError", d, err)
		}
	}
	// The same key for another amount is refused, not a second debit.
	if _, err := c.Present(ctx, debit("K7", 100)); err != nil {
		t.Fatal(err)
	}
	var re *razorpay.RefusedError
	if _, err := c.Present(ctx, debit("K7", 200)); !errors.As(err, &re) || re.Code != "RECEIPT_AMOUNT_MISMATCH" {
		t.Fatalf("K7 for another amount: %v", err)
	}
}

func TestPresentTransient(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	for _, ep := range []string{gatewaysim.ListOrders, gatewaysim.CreateOrder, gatewaysim.OrderPayments, gatewaysim.CreateRecurring} {
		sim.FailNext(ep, http.StatusInternalServerError)
		_, err := c.Present(ctx, debit("T1", 100000))
		var re *razorpay.RefusedError
		if err == nil || errors.As(err, &re) || !pipelines.IsTransient(err) {
			t.Fatalf("%s answered 500: err %v, want transient", ep, err)
		}
	}
	sim.FailNext(gatewaysim.ListOrders, http.StatusTooManyRequests)
	if _, err := c.Present(ctx, debit("T1", 100000)); !pipelines.IsTransient(err) {
		t.Fatalf("429: %v, want transient", err)
	}
	p, err := c.Present(ctx, debit("T1", 100000))
	if err != nil {
		t.Fatal(err)
	}
	if ps := sim.Payments(); len(ps) != 1 || ps[0].ID != p.GatewayPaymentID {
		t.Fatalf("payments %+v", ps)
	}
	// Unreachable gateway.
	dead := &razorpay.Client{BaseURL: "http://127.0.0.1:1", KeyID: "k", KeySecret: "s"}
	if _, err := dead.Present(ctx, debit("T2", 100)); !pipelines.IsTransient(err) {
		t.Fatalf("no gateway: %v, want transient", err)
	}
	// Wrong credentials are a refusal (401): retrying cannot cure them.
	bad := *c
	bad.KeySecret = "wrong"
	var re *razorpay.RefusedError
	if _, err := bad.Present(ctx, debit("T3", 100)); !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
		t.Fatalf("bad key: %v", err)
	}
}

// Many instalments presented at once, each key twice: one payment per key.
func TestPresentConcurrentKeys(t *testing.T) {
	sim, c := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	const n = 20
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("C-%02d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The same key is presented twice in a row (as a retry is):
			// the caller serialises one key, not different keys.
			for j := 0; j < 2; j++ {
				if _, err := c.Present(ctx, debit(key, 100)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(sim.Payments()); got != n {
		t.Fatalf("%d payments, want %d", got, n)
	}
}
