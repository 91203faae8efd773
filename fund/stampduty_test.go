package fund

import (
	"testing"
	"time"
)

var afterDuty = NewDate(2026, time.August, 21)

// Hand-computed: duty = N × 5 / 100005 rounded half-up (to the nearest
// paisa); the exact quotient is shown to the digit that decides.
func TestStampDutyHand(t *testing.T) {
	cases := []struct {
		net, duty string
	}{
		{"10000.00", "0.50"},      // 50000/100005 = 0.499975… → 0.50
		{"100.00", "0.00"},        // 500/100005 = 0.0049997… → 0.00 (a ceiling would give 0.01)
		{"100.01", "0.01"},        // 500.05/100005 = 0.0050002… → 0.01 (first amount with a paisa of duty)
		{"99.99", "0.00"},         // 0.0049992…
		{"5000.00", "0.25"},       // 25000/100005 = 0.2499875… → 0.25 (a floor would give 0.24)
		{"500.00", "0.02"},        // 0.0249987…
		{"300.00", "0.01"},        // 0.0149992…
		{"1000.00", "0.05"},       // 0.0499975…
		{"2000.00", "0.10"},       // 0.0999950…
		{"12345.67", "0.62"},      // 61728.35/100005 = 0.6172526… → 0.62
		{"100000.00", "5.00"},     // 4.9997500…
		{"10000000.00", "499.98"}, // 50000000/100005 = 499.9750012… → 499.98
		{"0.01", "0.00"},
		{"0.00", "0.00"},
	}
	for _, c := range cases {
		got := StampDuty(MustAmount(c.net), afterDuty, Purchase)
		if got.String() != c.duty {
			t.Errorf("duty on %s = %s, want %s", c.net, got, c.duty)
		}
	}
}

func TestStampDutyKinds(t *testing.T) {
	n := MustAmount("10000.00")
	for k, want := range map[TxKind]string{Purchase: "0.50", SIP: "0.50", SwitchIn: "0.50", IDCWReinvest: "0.50", Redemption: "0.00", SwitchOut: "0.00"} {
		if got := StampDuty(n, afterDuty, k); got.String() != want {
			t.Errorf("%v: duty %s, want %s", k, got, want)
		}
	}
	if s := StampDutyStart(); s != NewDate(2020, time.July, 1) {
		t.Errorf("StampDutyStart = %s", s)
	}
}

func TestTxKind(t *testing.T) {
	for _, k := range []TxKind{Purchase, SIP, SwitchIn, IDCWReinvest, Redemption, SwitchOut} {
		back, err := ParseTxKind(k.String())
		if err != nil || back != k || !k.Valid() {
			t.Errorf("%v round trip: %v, %v", k, back, err)
		}
	}
	for in, want := range map[string]TxKind{"Switch-In": SwitchIn, "switch out": SwitchOut, "REDEEM": Redemption, " buy ": Purchase, "idcw-reinvestment": IDCWReinvest, "SIP": SIP} {
		if got, err := ParseTxKind(in); err != nil || got != want {
			t.Errorf("ParseTxKind(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseTxKind("transfer"); err == nil {
		t.Error("ParseTxKind(transfer) accepted")
	}
	if TxKind(0).Valid() || TxKind(0).String() != "TxKind(0)" || TxKind(0).IssuesUnits() {
		t.Error("zero TxKind")
	}
}
