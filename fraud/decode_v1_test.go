package fraud_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
)

// The decoder (go-json-experiment with v1Like) reads every payload as
// encoding/json did: the generated stream's messages, and the shapes v1
// accepted that v2 refuses by default (names in another case, a repeated
// name, invalid UTF-8, unknown fields, null).
func TestDecodeReadsAsEncodingJSON(t *testing.T) {
	s, err := gen.Generate(gen.Options{Seed: 7, Investors: 300, Days: 30, Plant: 2})
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		topic string
		value []byte
	}
	var ms []msg
	for _, m := range s.Messages {
		ms = append(ms, msg{m.Topic, m.Value})
	}
	ms = append(ms,
		msg{fraud.TopicInvestorsChanged, []byte(`{"EVENT_ID":"e1","Investor_Id":"I1","fields":["bank_account"],"fingerprints":{"bank_account":"ab"},"effective_from":"2026-08-03T10:00:00Z","extra":{"a":[1,2]}}`)},
		msg{fraud.TopicInvestorsChanged, []byte(`{"event_id":"e1","event_id":"e2","investor_id":"I` + "\xff" + `1","fields":null,"fingerprints":null,"effective_from":"2026-08-03T10:00:00Z"}`)},
		msg{fraud.TopicPayments, []byte(`{"event_id":"p1","status":"failed","investor_id":"I1","amount":"10.00","at":"2026-08-03T10:00:00Z","unknown":true}`)},
		msg{"orders.status", []byte(`{"Event_ID":"o1","order_id":"O1","kind":"purchase","status":"awaiting_payment","at":"2026-08-03T10:00:00Z","investor_id":"I1","value":"47500.00","value":"47600.00"}`)},
	)
	for i, m := range ms {
		var got, want any
		switch m.topic {
		case fraud.TopicInvestorsChanged:
			got, want = &fraud.InvestorChanged{}, &fraud.InvestorChanged{}
		case fraud.TopicPayments:
			got, want = &fraud.PaymentStatus{}, &fraud.PaymentStatus{}
		default:
			got, want = &fraud.OrderPlaced{}, &fraud.OrderPlaced{}
		}
		werr := json.Unmarshal(m.value, want)
		gerr := fraud.StrictJSON(m.value, got)
		if (werr == nil) != (gerr == nil) || (werr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("message %d %s: got %+v (%v), encoding/json %+v (%v)", i, m.value, got, gerr, want, werr)
		}
	}
}
