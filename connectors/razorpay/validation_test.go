package razorpay

import (
	"strings"
	"testing"
)

// The documented sample of fund_account.validation.completed (Razorpay
// "Account Validation Webhook Events"), trimmed, with the composite
// entity's validation_results.
const sampleCompleted = `{"entity":"event","account_id":"acc_BfVUrG6tDiL7H0","event":"fund_account.validation.completed",
"contains":["fund_account.validation"],"payload":{"fund_account.validation":{"entity":{"id":"fav_Fa6RwlxjoX0xeO",
"entity":"fund_account.validation","fund_account":{"id":"fa_Fa6Rq1WwNrpMoK","entity":"fund_account","account_type":"bank_account",
"bank_account":{"name":"Gaurav Kumar","bank_name":"HDFC","ifsc":"HDFC0000053","account_number":"1121431121541121"}},
"status":"completed","reference_id":"bv_1","validation_results":{"account_status":"valid","registered_name":"Gaurav Kumar",
"details":"The beneficiary account is valid.","name_match_score":100},"utr":"123456789012","created_at":1599473652}}},"created_at":1599473660}`

func TestParseValidationEvent(t *testing.T) {
	legacy := strings.Replace(strings.Replace(sampleCompleted, `"validation_results":{"account_status":"valid","registered_name":"Gaurav Kumar",
"details":"The beneficiary account is valid.","name_match_score":100}`, `"results":{"account_status":"active","registered_name":"Gaurav Kumar"}`, 1), "\n", "\n", 1)
	cases := []struct {
		name       string
		body       string
		wantErr    string
		valid      bool
		score      int
		hasScore   bool
		registered string
	}{
		{"composite completed", sampleCompleted, "", true, 100, true, "Gaurav Kumar"},
		{"older entity: results, active, no score", legacy, "", true, 0, false, "Gaurav Kumar"},
		{"score as a string", strings.Replace(sampleCompleted, `"name_match_score":100`, `"name_match_score":"87"`, 1), "", true, 87, true, "Gaurav Kumar"},
		{"score out of range", strings.Replace(sampleCompleted, `"name_match_score":100`, `"name_match_score":101`, 1), "", true, 0, false, "Gaurav Kumar"},
		{"invalid account", strings.Replace(sampleCompleted, `"account_status":"valid"`, `"account_status":"invalid"`, 1), "", false, 100, true, "Gaurav Kumar"},
		{"failed", strings.NewReplacer(`validation.completed"`, `validation.failed"`, `"status":"completed"`, `"status":"failed"`).Replace(sampleCompleted), "", false, 100, true, "Gaurav Kumar"},
		{"status contradicts the event", strings.Replace(sampleCompleted, `"status":"completed"`, `"status":"created"`, 1), "entity.status", false, 0, false, ""},
		{"another event", strings.Replace(sampleCompleted, `fund_account.validation.completed`, `payout.processed`, 1), "is not", false, 0, false, ""},
		{"no reference", strings.Replace(sampleCompleted, `"reference_id":"bv_1"`, `"reference_id":""`, 1), "reference_id", false, 0, false, ""},
		{"no entity", `{"event":"fund_account.validation.completed","payload":{"fund_account.validation":{}}}`, "entity is missing", false, 0, false, ""},
		{"no payload", `{"event":"fund_account.validation.completed","payload":{}}`, "missing", false, 0, false, ""},
		{"not JSON", `{`, "not JSON", false, 0, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := ParseValidationEvent([]byte(c.body))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := ev.Validation
			score, has := v.Score()
			if v.AccountValid() != c.valid || score != c.score || has != c.hasScore || v.RegisteredName() != c.registered || v.ReferenceID != "bv_1" {
				t.Errorf("valid %v score %d/%v name %q ref %q; want %v %d/%v %q bv_1", v.AccountValid(), score, has, v.RegisteredName(), v.ReferenceID,
					c.valid, c.score, c.hasScore, c.registered)
			}
		})
	}
}

func FuzzParseValidationEvent(f *testing.F) {
	f.Add([]byte(sampleCompleted))
	f.Add([]byte(`{"event":"fund_account.validation.failed","payload":{"fund_account.validation":{"entity":{"id":"fav_1","reference_id":"r","status":"failed"}}}}`))
	f.Add([]byte(`{"event":"fund_account.validation.completed","payload":{"fund_account.validation":{"entity":{"id":"fav_1","reference_id":"r","status":"completed","validation_results":{"name_match_score":"1e9"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseValidationEvent(b)
		if err != nil {
			return
		}
		v := ev.Validation
		if v.ID == "" || v.ReferenceID == "" {
			t.Fatalf("accepted without id or reference: %+v", v)
		}
		if s, ok := v.Score(); ok && (s < 0 || s > 100) {
			t.Fatalf("score %d", s)
		}
		if v.AccountValid() && v.Status != ValidationCompleted {
			t.Fatal("valid but not completed")
		}
	})
}
