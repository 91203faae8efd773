package clickhouse

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// The plans' topics the facts take, and what makes a plan event unusable.
// The version orders an instalment's states: a later second wins, and in
// one second the later status.
func TestDecodePlanFact(t *testing.T) {
	for topic, want := range map[string]bool{"sip.instalment.due": true, "swp.instalment.failed": true, "stp.cancelled": true,
		"sip.registered": false, "transactions.completed": false, "xip.instalment.due": false, "sip": false} {
		if PlanTopic(topic) != want {
			t.Errorf("PlanTopic(%q) = %v", topic, !want)
		}
	}
	good := `"event_id":"e","plan_id":"pl_1","kind":"sip","seq":2,"nominal_date":"2026-11-30","due_date":"2026-12-01","amount":"5000.00","status":"%s","at":"%s"`
	ev := func(status, at string) fund.OutboxEvent {
		return fund.OutboxEvent{Topic: "sip.instalment." + status, EventID: "e",
			Payload: []byte("{" + strings.Replace(strings.Replace(good, "%s", status, 1), "%s", at, 1) + "}")}
	}
	presented, ok, err := DecodePlanFact(ev("presented", "2026-12-01T04:30:00Z"))
	if err != nil || !ok || presented.Seq != 2 || presented.DueDate != fund.NewDate(2026, 12, 1) || presented.Amount.String() != "5000" {
		t.Fatalf("%+v %v %v", presented, ok, err)
	}
	failed, _, _ := DecodePlanFact(ev("failed", "2026-12-01T04:30:00Z"))
	paidLater, _, _ := DecodePlanFact(ev("paid", "2026-12-01T04:30:01Z"))
	if !(presented.Version < failed.Version && failed.Version < paidLater.Version) {
		t.Fatalf("versions presented %d, failed %d, paid a second later %d", presented.Version, failed.Version, paidLater.Version)
	}
	// A wallet SIP whose auto-invest bought nothing ends in_wallet, after
	// paid (an unknown status would be quarantined).
	inWallet, ok, err := DecodePlanFact(ev("in_wallet", "2026-12-01T04:30:00Z"))
	if err != nil || !ok || inWallet.Status != "in_wallet" || !(presented.Version < inWallet.Version) {
		t.Fatalf("in_wallet: %+v %v %v", inWallet, ok, err)
	}
	if _, ok, err := DecodePlanFact(fund.OutboxEvent{Topic: "sip.cancelled", Payload: []byte(`{"plan_id":"pl_1","kind":"sip"}`)}); ok || err != nil {
		t.Fatalf("a plan's cancellation: ok %v, %v", ok, err)
	}
	for name, bad := range map[string]string{
		"not JSON":     `{`,
		"no plan":      strings.Replace(good, `"pl_1"`, `""`, 1),
		"kind":         strings.Replace(good, `"sip"`, `"lump"`, 1),
		"seq":          strings.Replace(good, `"seq":2`, `"seq":0`, 1),
		"due date":     strings.Replace(good, `"2026-12-01"`, `"01-Dec-2026"`, 1),
		"amount scale": strings.Replace(good, `"5000.00"`, `"5000.001"`, 1),
		"amount sign":  strings.Replace(good, `"5000.00"`, `"-5"`, 1),
	} {
		p := strings.Replace(strings.Replace(bad, "%s", "paid", 1), "%s", "2026-12-01T05:00:00Z", 1)
		if name != "not JSON" {
			p = "{" + p + "}"
		}
		if _, _, err := DecodePlanFact(fund.OutboxEvent{Topic: "sip.instalment.paid", Payload: []byte(p)}); err == nil {
			t.Errorf("%s: accepted %s", name, p)
		}
	}
	if _, _, err := DecodePlanFact(ev("refunded", "2026-12-01T05:00:00Z")); err == nil {
		t.Error("an unknown status accepted")
	}
	if _, _, err := DecodePlanFact(ev("paid", "yesterday")); err == nil {
		t.Error("a bad time accepted")
	}
}
