package fraud

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/internal/config"
)

// FuzzParseRules: any bytes give either a rule set every rule of which is
// usable (known kind, a scope of it, a window, an action) or *config.Errors
// whose every problem names a field; never a panic.
func FuzzParseRules(f *testing.F) {
	f.Add(shippedRules)
	f.Add([]byte(goodRule))
	f.Add([]byte("version: 1\nrules:\n  - {id: s, kind: structuring, scope: folio, window: 1h, action: hold, thresholds: {min_count: 2, amount: 50000, band: 1}}\n"))
	f.Add([]byte("version: 1\nrules:\n  - {id: a, kind: account_takeover, scope: investor, window: 1h, action: hold, thresholds: {min_pct: 1e3, fields: []}}\n"))
	f.Add([]byte("version: x\nrules: {a: b}\n"))
	f.Add([]byte("- - -\n"))
	f.Add([]byte("rules:\n  - thresholds: {min_pct: '1e-2147483648', amount: '-0', band: 9e99}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRules("f.yaml", data)
		if err != nil {
			var ce *config.Errors
			if !errors.As(err, &ce) || len(ce.List) == 0 {
				t.Fatalf("error %v is not a list of field problems", err)
			}
			for _, fe := range ce.List {
				if fe.Path == "" || fe.Msg == "" {
					t.Fatalf("problem without a field or message: %+v", fe)
				}
			}
			return
		}
		if len(rs.Rules) == 0 {
			t.Fatal("a rule set with no rules passed")
		}
		for _, r := range rs.Rules {
			spec, ok := kinds[r.Kind]
			if !ok || r.Window <= 0 || (r.Action != ActionAlert && r.Action != ActionHold) || (r.Action == ActionHold && !spec.hold) {
				t.Fatalf("unusable rule passed: %+v", r)
			}
			if r.Kind == KindStructuring && (r.Band.Sign() <= 0 || r.Band.Cmp(r.Amount) > 0) {
				t.Fatalf("structuring band %s amount %s passed", r.Band, r.Amount)
			}
			// a passed rule evaluates any event without a panic
			r.Eval(State{}, red("x", 0, "1", "1"))
			r.Eval(State{}, change("c", "I", 0, map[string]string{"bank_account": "f"}))
		}
	})
}

// FuzzDecode: any message of the fraud topics decodes to an event with an
// id and a time, or to ErrIgnored or an error; never a panic; and what
// decodes evaluates under every shipped rule.
func FuzzDecode(f *testing.F) {
	f.Add("investors.changed", []byte(`{"event_id":"investors.changed:I1:1","investor_id":"I1","change_seq":1,"fields":["bank_account"],"fingerprints":{"bank_account":"ab"},"kyc_status":"","channel":"api","effective_from":"2026-12-05T04:30:00Z","at":"2026-12-05T04:30:00.123Z"}`))
	f.Add("orders.status", []byte(`{"event_id":"orders.status:O1:pending_nav","order_id":"O1","request_id":"R1","kind":"redemption","folio":"F1","scheme_code":"S","status":"pending_nav","at":"2026-12-05T04:30:00Z","investor_id":"I1","value":"100.00","holdings":"1000.00"}`))
	f.Add("payments.status", []byte(`{"event_id":"p:1:failed","payment_id":"pay_1","order_id":"O1","investor_id":"I1","folio_no":"F1","status":"failed","amount":"1.00","at":"2026-12-05T04:30:00Z"}`))
	f.Add("orders.status", []byte(`{"event_id":"x","order_id":"O","kind":"purchase","status":"awaiting_payment","at":"2026-12-05T04:30:00Z","value":"1e99"}`))
	f.Add("nope", []byte(`{}`))
	rs := Shipped()
	f.Fuzz(func(t *testing.T, topic string, data []byte) {
		ev, err := Decode(topic, data, "fuzz")
		if err != nil {
			return
		}
		if ev.ID == "" || ev.At.IsZero() {
			t.Fatalf("decoded without id or time: %+v", ev)
		}
		rs.EvalAll(map[string]State{}, ev)
	})
}
