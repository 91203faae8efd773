package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
)

// The reports read what onboarding and the gate keep: an onboarded
// investor with accounts and a declaration, an order-only investor with
// nothing on file (no nomination, no FATCA, no KYC record).
func TestKYCReports(t *testing.T) {
	_, _, app, _ := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	s, _ := pii.New(bytes.Repeat([]byte{3}, 32))
	svc := &investors.Service{Store: pgstore.Store{Pool: app}, PII: s}
	body := `{"investor_id":"INV-A","name":"A B","pan":"ABCPE1234F","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
	if _, _, err := svc.Create(ctx, []byte(body), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO investors (id) VALUES ('INV-B'); INSERT INTO folios (folio_no, investor_id) VALUES ('F-A', 'INV-A'), ('F-B', 'INV-B')`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := kycReport(ctx, app, "all", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# investors by KYC status and reason\nno_record  -  1\n(1 rows)", // INV-A onboarded, no KRA status yet
		"# folios without nomination or opt-out\nF-B  INV-B  no_record\n(1 rows)",
		"# investors missing a FATCA declaration\nINV-B  no_record\n(1 rows)",
		"# bank accounts not verified (penny drop: unverified, pending or failed; name-match score)\nINV-A  HDFC0001234  XXXXXXXX9012  default  unverified  -  -\n(1 rows)",
		// No bank restriction yet (serve's kyc-banks pass sets it), no money waiting.
		"# payouts held for the bank account (open payout holds: payout account balances and refunds due)\n(0 rows)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks\n%s\n---\n%s", want, out.String())
		}
	}
}
