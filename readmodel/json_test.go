package readmodel

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestMoneyJSONKeepsItsScale(t *testing.T) {
	v := decimal.RequireFromString("48085.1")
	g := decimal.RequireFromString("-0.1")
	p := Portfolio{Folio: "F", Invested: decimal.RequireFromString("29517.3"), Value: decimal.RequireFromString("100"),
		Holdings: []Holding{{Scheme: "S", Units: "1.500", Invested: decimal.RequireFromString("5"), AvgCost: decimal.RequireFromString("3.3"), Value: &v, Gain: &g},
			{Scheme: "T", Invested: decimal.Zero}}}
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"invested":"29517.30"`, `"value":"100.00"`, `"gain":"0.00"`, `"average_cost":"3.3000"`,
		`"value":"48085.10"`, `"gain":"-0.10"`, `"units":"1.500"`, `"value":null`, `"folio":"F"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Portfolio
	if err := json.Unmarshal(b, &back); err != nil || !back.Invested.Equal(p.Invested) || !back.Holdings[0].Value.Equal(v) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	tx, _ := json.Marshal(LedgerTx{ID: 7, Amount: decimal.RequireFromString("5000"), Units: decimal.RequireFromString("103.584")})
	if !strings.Contains(string(tx), `"amount":"5000.00"`) || !strings.Contains(string(tx), `"stamp_duty":"0.00"`) || !strings.Contains(string(tx), `"id":7`) {
		t.Fatalf("%s", tx)
	}
}
