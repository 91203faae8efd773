package kyc

import (
	"encoding/json"
	"strings"
	"testing"
)

// Any JSON document either fails to decode or validates without a panic;
// every error names a field path of the document, and a record that passes
// passes again after a second Normalise (normalising is idempotent).
func FuzzValidate(f *testing.F) {
	g := good()
	b, _ := json.Marshal(g)
	f.Add(string(b))
	m := minor()
	b, _ = json.Marshal(m)
	f.Add(string(b))
	f.Add(`{"pan":"abcpe1234f","nominees":[{"share":"100.001"}],"fatca":{"tax_residencies":[{"country":"US"}]}}`)
	f.Add(`{"dob":"2008-02-29","tax_status":"minor","guardian":{}}`)
	f.Add(`{"mobile":"+","email":"@","bank_accounts":[{},{}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var inv Investor
		if json.Unmarshal([]byte(doc), &inv) != nil {
			return
		}
		inv.Normalise()
		es := inv.Validate(today)
		for _, e := range es {
			if e.Field == "" || e.Reason == "" || strings.ContainsAny(e.Field, " \x00") {
				t.Fatalf("error without a field path: %+v", e)
			}
		}
		if es == nil {
			again := inv
			again.Normalise()
			if again.Validate(today) != nil {
				t.Fatal("a valid record fails after normalising again")
			}
			if CheckPAN(inv.PAN, "") != "" && inv.TaxStatus != Minor {
				t.Fatalf("valid record with PAN %q", inv.PAN)
			}
		}
	})
}

// The format checks never panic, and a mobile they accept normalises to a
// fixed point in E.164.
func FuzzFormats(f *testing.F) {
	for _, s := range []string{"ABCPE1234F", "HDFC0001234", "a@b.in", "+91 98765 43210", "09876543210", "", "++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckPAN(s, ResidentIndividual)
		_ = CheckIFSC(s)
		_ = CheckEmail(s)
		if n, why := NormaliseMobile(s); why == "" {
			if n2, why2 := NormaliseMobile(n); why2 != "" || n2 != n || !strings.HasPrefix(n, "+") {
				t.Fatalf("%q → %q → %q %q", s, n, n2, why2)
			}
		}
	})
}
