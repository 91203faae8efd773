package plans

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func TestNewInstalmentEventWireForm(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, fund.IST())
	topic, key, ev := NewInstalmentEvent(StepDue, InstalmentFacts{
		PlanID: "pl_1", Kind: "sip", InvestorID: "inv_1", FolioNo: "F1", SchemeCode: "S1",
		Seq: 3, NominalDate: fund.NewDate(2026, 12, 5), DueDate: fund.NewDate(2026, 12, 7),
		Amount: decimal.RequireFromString("1500"), Status: "due",
	}, at)
	if topic != "sip.instalment.due" || key != "F1" {
		t.Fatalf("topic %q key %q", topic, key)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event_id":"sip.instalment.due:pl_1:2026-12-07","plan_id":"pl_1","kind":"sip","investor_id":"inv_1",` +
		`"folio_no":"F1","scheme_code":"S1","to_scheme_code":"","seq":3,"nominal_date":"2026-12-05","due_date":"2026-12-07",` +
		`"amount":"1500.00","status":"due","reason":"","detail":"","gateway_order_id":"","gateway_payment_id":"",` +
		`"order_id":"","at":"2026-12-04T04:30:00Z"}`
	if string(b) != want {
		t.Fatalf("payload\n got %s\nwant %s", b, want)
	}
}

func TestInstalmentEventAppendJSONIsJSONMarshal(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "<a&b>", "tab\there\n", "ünï\u2028code", "bad\xffutf8", "del\x7f"} {
		ev := InstalmentEvent{EventID: s, PlanID: s + "p", Kind: "sip", FolioNo: s, Seq: -12, Amount: "1.00", Detail: s, At: s}
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.AppendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Fatalf("%q:\n got %s\nwant x%s", s, got, want)
		}
	}
}
