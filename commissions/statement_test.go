package commissions

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

func TestStatementOutputs(t *testing.T) {
	// 10,000.00 to a registered inter-state payee on 7-May-2026: IGST 1,800.00,
	// TDS 2 % 200.00, net 11,600.00.
	s := commission.Settle(commission.Payee{ID: "ARN-1", GSTRegistered: true}, d("2026-05-07"), fund.MustAmount("10000.00"), fund.Amount{}, fund.Amount{}, fund.Amount{})
	p := Payout{Month: d("2026-04-01"), PayoutDate: d("2026-05-07"), Statements: []commission.Statement{s},
		Lines: []commission.Line{{Bucket: "ARN-1", Payee: "ARN-1", Exact: commission.AccrualFromBasis(dec("365000000")), Amount: fund.MustAmount("10000.00")}}}
	var b bytes.Buffer
	if err := WriteStatementsCSV(&b, p); err != nil {
		t.Fatal(err)
	}
	want := StatementCSVHeader + "\n2026-04,ARN-1,2026-05-07,10000.00,0.00,0.00,0.00,10000.00,0.00,0.00,1800.00,1800.00,2,200.00,11600.00,0.00,0.00\n"
	if b.String() != want {
		t.Errorf("CSV:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WritePayoutJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	st := doc["statements"].([]any)[0].(map[string]any)
	line := doc["lines"].([]any)[0].(map[string]any)
	// 365,000,000 / 36,500 = 10,000 exactly.
	if st["net"] != "11600.00" || st["igst"] != "1800.00" || line["exact"] != "10000.0000000000" || !strings.Contains(doc["rounding"].(string), "largest remainder") {
		t.Errorf("JSON: %s", b.String())
	}
}
