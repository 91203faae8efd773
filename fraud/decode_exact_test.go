package fraud

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// A window keeps amounts as integer paise and times as Unix nanoseconds:
// Decode proves an amount is exact paise that fit an int64 and a time is
// within the years a window keeps, and refuses anything else (the message
// is quarantined) instead of rounding or wrapping it. The last two cases
// were read before session 36.
func TestDecodeRefusesWhatAWindowCannotKeepExactly(t *testing.T) {
	pay := func(amount, at string) []byte {
		return fmt.Appendf(nil, `{"event_id":"p1","payment_id":"pay1","order_id":"O1","investor_id":"INV-1","status":"failed","amount":%q,"at":%q}`, amount, at)
	}
	ok, err := Decode(TopicPayments, pay("92233720368547758.07", "2026-08-03T10:00:00Z"), "l")
	if err != nil || ok.Amount.Paise() != 1<<63-1 {
		t.Fatalf("the largest amount: %v, %v", ok.Amount, err)
	}
	for _, c := range []struct{ amount, at, want string }{
		{"1000.005", "2026-08-03T10:00:00Z", "decimals"},
		{"92233720368547758.08", "2026-08-03T10:00:00Z", "out of range"},
		{"100000000000000000000", "2026-08-03T10:00:00Z", "out of range"},
		{"10.00", "0001-01-01T00:00:00Z", "outside the years"},
		{"10.00", "2300-01-01T00:00:00Z", "outside the years"},
	} {
		_, err := Decode(TopicPayments, pay(c.amount, c.at), "l")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("amount %s at %s: %v, want an error with %q", c.amount, c.at, err, c.want)
		}
	}
	if _, err := Decode(TopicPayments, pay("92233720368547758.08", "2026-08-03T10:00:00Z"), "l"); !errors.Is(err, ErrAmountRange) {
		t.Errorf("not ErrAmountRange: %v", err)
	}
	if _, err := Decode(TopicPayments, pay("1000.005", "2026-08-03T10:00:00Z"), "l"); !errors.Is(err, fund.ErrTooManyDecimals) {
		t.Errorf("not ErrTooManyDecimals: %v", err)
	}
}
