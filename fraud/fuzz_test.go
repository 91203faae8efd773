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
