package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Bodies in the shape of Razorpay's documented recurring-payment webhooks
// (API reference, Recurring Payments → Webhooks: token.confirmed for
// e-mandate with bank_details, token.rejected with a failure_reason,
// token.paused/token.cancelled for UPI with start_time, a card token with no
// recurring_details, and payment.failed of a recurring debit with
// customer_id, token_id and the error fields). Ids and values are ours.
const (
	tokenConfirmedEmandate = `{"entity":"event","account_id":"acc_T0000000000001","event":"token.confirmed","contains":["token"],"payload":{"token":{"entity":{"id":"token_Qa1","entity":"token","token":"Xb2","bank":"HDFC","wallet":null,"method":"emandate","recurring":true,"recurring_details":{"status":"confirmed","failure_reason":null},"auth_type":"netbanking","mrn":null,"used_at":1764000000,"created_at":1764000000,"bank_details":{"beneficiary_name":"Asha Rao","account_number":"50100012345678","ifsc":"HDFC0000123","account_type":"savings"},"max_amount":2500000,"expired_at":1893436199,"dcc_enabled":false,"notes":{"investor_id":"INV-7"}}}},"created_at":1764000060}`
	tokenRejected          = `{"entity":"event","account_id":"acc_T0000000000001","event":"token.rejected","contains":["token"],"payload":{"token":{"entity":{"id":"token_Qa2","entity":"token","token":"Xb3","bank":"HDFC","wallet":null,"method":"emandate","recurring":false,"recurring_details":{"status":"rejected","failure_reason":"Rejected by bank"},"auth_type":"debitcard","mrn":null,"used_at":1764000000,"created_at":1764000000,"bank_details":{"beneficiary_name":"Asha Rao","account_number":"50100012345678","ifsc":"HDFC0000123","account_type":"savings"},"max_amount":2500000,"expired_at":4102444799,"dcc_enabled":false}}},"created_at":1764000100}`
	tokenPausedUPI         = `{"entity":"event","account_id":"acc_T0000000000001","event":"token.paused","contains":["token"],"payload":{"token":{"entity":{"id":"token_Qa3","entity":"token","token":"Xb4","bank":null,"wallet":null,"method":"upi","vpa":{"username":"asha","handle":"upi","name":null},"recurring":true,"recurring_details":{"status":"paused","failure_reason":null},"auth_type":null,"mrn":null,"used_at":1764000000,"created_at":1764000000,"start_time":1764028800,"dcc_enabled":false,"max_amount":500000,"expired_at":1913956837}}},"created_at":1765000000}`
	tokenCancelledUPI      = `{"entity":"event","account_id":"acc_T0000000000001","event":"token.cancelled","contains":["token"],"payload":{"token":{"entity":{"id":"token_Qa3","entity":"token","token":"Xb4","bank":null,"wallet":null,"method":"upi","vpa":{"username":"asha","handle":"upi","name":null},"recurring":true,"recurring_details":{"status":"cancelled","failure_reason":null},"auth_type":null,"mrn":null,"used_at":1764000000,"created_at":1764000000,"start_time":1764028800,"dcc_enabled":false,"max_amount":500000,"expired_at":1913956837}}},"created_at":1766000000}`
	tokenConfirmedCard     = `{"entity":"event","account_id":"acc_T0000000000001","event":"token.confirmed","contains":["token"],"payload":{"token":{"entity":{"id":"token_Qa4","entity":"token","token":"Xb5","bank":null,"wallet":null,"method":"card","card":{"entity":"card","name":"Asha","last4":"2002","network":"Visa","type":"credit"},"recurring":true,"auth_type":null,"mrn":null,"used_at":1764000000,"created_at":1764000000,"expired_at":1748716199,"dcc_enabled":false}}},"created_at":1764000001}`
	recurringFailed        = `{"entity":"event","account_id":"acc_T0000000000001","event":"payment.failed","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_Rf1","entity":"payment","amount":500000,"currency":"INR","status":"failed","order_id":"order_Rf1","invoice_id":null,"international":false,"method":"emandate","amount_refunded":0,"refund_status":null,"captured":false,"description":"SIP instalment","card_id":null,"bank":"HDFC","wallet":null,"vpa":null,"email":"asha@example.com","contact":"+919800000000","customer_id":"cust_Ra1","token_id":"token_Qa1","notes":{"plan_id":"PLN-1","due_date":"2026-12-07","investor_id":"INV-7"},"fee":null,"tax":null,"error_code":"BAD_REQUEST_ERROR","error_description":"Payment failed due to insufficient balance","error_source":"customer","error_step":"payment_debit_request","error_reason":"insufficient_funds","acquirer_data":{},"created_at":1765094400}}},"created_at":1765094410}`
)

func TestParseMandateEvents(t *testing.T) {
	cases := []struct {
		name string
		body string
		want fund.MandateEvent
		max  string // "" : nil
	}{
		{"emandate confirmed", tokenConfirmedEmandate, fund.MandateEvent{TokenID: "token_Qa1", Method: "emandate", Status: fund.MandateConfirmed,
			InvestorID: "INV-7", Bank: "HDFC", BeneficiaryName: "Asha Rao", AccountNumber: "50100012345678", IFSC: "HDFC0000123", AccountType: "savings",
			EventAt: time.Unix(1764000060, 0).UTC(), ExpiresAt: time.Unix(1893436199, 0).UTC(), CreatedAt: time.Unix(1764000000, 0).UTC()}, "25000.00"},
		{"rejected with a reason", tokenRejected, fund.MandateEvent{TokenID: "token_Qa2", Method: "emandate", Status: fund.MandateRejected,
			Failure: "Rejected by bank", Bank: "HDFC", BeneficiaryName: "Asha Rao", AccountNumber: "50100012345678", IFSC: "HDFC0000123", AccountType: "savings",
			EventAt: time.Unix(1764000100, 0).UTC(), ExpiresAt: time.Unix(4102444799, 0).UTC(), CreatedAt: time.Unix(1764000000, 0).UTC()}, "25000.00"},
		{"upi paused with a start time", tokenPausedUPI, fund.MandateEvent{TokenID: "token_Qa3", Method: "upi", Status: fund.MandatePaused,
			EventAt: time.Unix(1765000000, 0).UTC(), StartsAt: time.Unix(1764028800, 0).UTC(), ExpiresAt: time.Unix(1913956837, 0).UTC(), CreatedAt: time.Unix(1764000000, 0).UTC()}, "5000.00"},
		{"upi cancelled", tokenCancelledUPI, fund.MandateEvent{TokenID: "token_Qa3", Method: "upi", Status: fund.MandateCancelled,
			EventAt: time.Unix(1766000000, 0).UTC(), StartsAt: time.Unix(1764028800, 0).UTC(), ExpiresAt: time.Unix(1913956837, 0).UTC(), CreatedAt: time.Unix(1764000000, 0).UTC()}, "5000.00"},
		{"card token: the status from the event name", tokenConfirmedCard, fund.MandateEvent{TokenID: "token_Qa4", Method: "card", Status: fund.MandateConfirmed,
			EventAt: time.Unix(1764000001, 0).UTC(), ExpiresAt: time.Unix(1748716199, 0).UTC(), CreatedAt: time.Unix(1764000000, 0).UTC()}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.body), "evt-1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Payment != nil || p.Mandate == nil {
				t.Fatalf("parsed %+v", p)
			}
			m := *p.Mandate
			if (c.max == "") != (m.MaxAmount == nil) || (m.MaxAmount != nil && m.MaxAmount.String() != c.max) {
				t.Fatalf("max_amount %v, want %q", m.MaxAmount, c.max)
			}
			want := c.want
			want.Gateway, want.EventID, want.EventType, want.MaxAmount = "razorpay", "evt-1", p.EventType, m.MaxAmount
			if m != want {
				t.Fatalf("got  %+v\nwant %+v", m, want)
			}
		})
	}
}

func TestParseRecurringPaymentFailed(t *testing.T) {
	p, err := Parse([]byte(recurringFailed), "evt-2")
	if err != nil {
		t.Fatal(err)
	}
	pe := p.Payment
	if pe == nil || p.Mandate != nil {
		t.Fatalf("parsed %+v", p)
	}
	if pe.Status != fund.PaymentFailed || pe.Amount.String() != "5000.00" || pe.TokenID != "token_Qa1" || pe.CustomerID != "cust_Ra1" ||
		pe.NotesInvestorID != "INV-7" || pe.GatewayOrderID != "order_Rf1" || pe.ErrorCode != "BAD_REQUEST_ERROR" ||
		pe.ErrorDescription != "Payment failed due to insufficient balance" || pe.ErrorReason != "insufficient_funds" {
		t.Fatalf("payment %+v", pe)
	}
	// The razorpay-go SDK's payment (error fields null) reads as empty.
	q, err := Parse([]byte(razorpayGoBody), "evt-3")
	if err != nil || q.Payment == nil || q.Payment.ErrorCode != "" || q.Payment.TokenID != "" {
		t.Fatalf("razorpay-go body: %+v, %v", q.Payment, err)
	}
}

func TestParseMandateRefusals(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"status unknown", strings.Replace(tokenPausedUPI, `"status":"paused"`, `"status":"sleeping"`, 1), "mandate status"},
		{"max_amount not paise", strings.Replace(tokenPausedUPI, `"max_amount":500000`, `"max_amount":"5000"`, 1), "max_amount"},
		{"max_amount fractional", strings.Replace(tokenPausedUPI, `"max_amount":500000`, `"max_amount":5000.5`, 1), "max_amount"},
		{"expired_at not a time", strings.Replace(tokenPausedUPI, `"expired_at":1913956837`, `"expired_at":"soon"`, 1), "expired_at"},
		{"no id", strings.Replace(tokenPausedUPI, `"id":"token_Qa3",`, ``, 1), "without an id"},
		{"account with a NUL", strings.Replace(tokenConfirmedEmandate, `50100012345678`, `5010\u00002345678`, 1), "NUL"},
		{"created_at not a time", strings.Replace(tokenCancelledUPI, `"created_at":1766000000}`, `"created_at":-5}`, 1), "created_at"},
		{"no status at all", strings.Replace(tokenConfirmedCard, `"event":"token.confirmed"`, `"event":"token.refreshed"`, 1), "no recurring_details.status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.body), "e")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one about %q", err, c.want)
			}
			if p.Mandate != nil || p.Payment != nil {
				t.Fatalf("a refused body gave %+v", p)
			}
		})
	}
	// A token in a non-token event, or an initiated registration.
	if p, err := Parse([]byte(strings.Replace(tokenPausedUPI, `"event":"token.paused"`, `"event":"subscription.paused"`, 1)), "e"); err != nil || p.Mandate != nil {
		t.Fatalf("non-token event: %+v %v", p, err)
	}
	p, err := Parse([]byte(strings.Replace(tokenPausedUPI, `"status":"paused"`, `"status":"initiated"`, 1)), "e")
	if err != nil || p.Mandate == nil || p.Mandate.Status != fund.MandateCreated {
		t.Fatalf("initiated: %+v %v", p.Mandate, err)
	}
}
