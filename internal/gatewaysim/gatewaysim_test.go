package gatewaysim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
)

// hook verifies and decodes what the stand-in delivers, as the real
// receiver does (webhook.Verify, webhook.Parse).
type hook struct {
	mu  sync.Mutex
	got []webhook.Parsed
	bad int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !webhook.Verify(body, r.Header.Get(webhook.HeaderSignature), [][]byte{[]byte("whsec")}) || r.Header.Get(webhook.HeaderEventID) == "" {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p, err := webhook.Parse(body, r.Header.Get(webhook.HeaderEventID))
	if err != nil {
		h.bad++
		w.WriteHeader(http.StatusOK)
		return
	}
	h.got = append(h.got, p)
}

func TestDeliversRealFormatWebhooks(t *testing.T) {
	h := &hook{}
	hs := httptest.NewServer(h)
	defer hs.Close()
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	sim := &gatewaysim.Server{KeyID: "k", KeySecret: "s", WebhookURL: hs.URL, WebhookSecret: []byte("whsec"), Now: func() time.Time { return now }}
	gs := httptest.NewServer(sim)
	defer gs.Close()
	c := &razorpay.Client{BaseURL: gs.URL, KeyID: "k", KeySecret: "s"}
	ctx := context.Background()

	sim.AddToken(gatewaysim.Token{ID: "token_M", CustomerID: "cust_M", InvestorID: "INV-1", MaxAmount: fund.AmountFromPaise(1000000),
		AccountNumber: "1121431121541121", IFSC: "HDFC0000001", Beneficiary: "Gaurav Kumar", Bank: "HDFC"})
	if err := sim.ConfirmMandate("token_M"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Present(ctx, razorpay.Debit{Key: "A", TokenID: "token_M", CustomerID: "cust_M", Amount: fund.AmountFromPaise(250000)}); err != nil {
		t.Fatal(err)
	}
	sim.FailToken("token_M", "BAD_REQUEST_ERROR", "Insufficient balance in the account")
	if _, err := c.Present(ctx, razorpay.Debit{Key: "B", TokenID: "token_M", CustomerID: "cust_M", Amount: fund.AmountFromPaise(250000)}); err != nil {
		t.Fatal(err)
	}
	if n := sim.Pending(); n != 3 {
		t.Fatalf("%d webhooks pending, want 3", n)
	}
	if len(h.got) != 0 {
		t.Fatal("delivered before Settle")
	}
	if err := sim.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if h.bad != 0 || len(h.got) != 3 {
		t.Fatalf("delivered %d good, %d bad", len(h.got), h.bad)
	}
	m := h.got[0].Mandate
	if m == nil || m.TokenID != "token_M" || m.Status != fund.MandateConfirmed || m.MaxAmount == nil || m.MaxAmount.String() != "10000.00" ||
		m.InvestorID != "INV-1" || m.AccountNumber != "1121431121541121" || !m.EventAt.Equal(now) {
		t.Fatalf("token.confirmed decoded as %+v", m)
	}
	ok, bad := h.got[1].Payment, h.got[2].Payment
	if ok == nil || ok.Status != fund.PaymentCaptured || ok.TokenID != "token_M" || ok.CustomerID != "cust_M" || ok.Amount.String() != "2500.00" {
		t.Fatalf("capture decoded as %+v", ok)
	}
	if bad == nil || bad.Status != fund.PaymentFailed || bad.ErrorCode != "BAD_REQUEST_ERROR" || bad.ErrorDescription != "Insufficient balance in the account" {
		t.Fatalf("failure decoded as %+v", bad)
	}
	if sim.Pending() != 0 {
		t.Fatal("webhooks left after Settle")
	}
}

func TestAutoSettleAndConcurrency(t *testing.T) {
	h := &hook{}
	hs := httptest.NewServer(h)
	defer hs.Close()
	sim := &gatewaysim.Server{KeyID: "k", KeySecret: "s", WebhookURL: hs.URL, WebhookSecret: []byte("whsec"), AutoSettle: true}
	gs := httptest.NewServer(sim)
	defer gs.Close()
	c := &razorpay.Client{BaseURL: gs.URL, KeyID: "k", KeySecret: "s"}
	sim.AddToken(gatewaysim.Token{ID: "token_C", CustomerID: "cust_C", MaxAmount: fund.AmountFromPaise(1000), Status: fund.MandateConfirmed})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a' + i))
			if _, err := c.Present(context.Background(), razorpay.Debit{Key: key, TokenID: "token_C", CustomerID: "cust_C", Amount: fund.AmountFromPaise(100)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if errs := sim.Wait(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(h.got) != 16 || h.bad != 0 || sim.Calls(gatewaysim.CreateRecurring) != 16 {
		t.Fatalf("%d delivered, %d bad, %d created", len(h.got), h.bad, sim.Calls(gatewaysim.CreateRecurring))
	}
}
