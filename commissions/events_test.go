package commissions

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/pipelines"
)

func TestDecodeTxEvent(t *testing.T) {
	for _, c := range []struct {
		name, in string
		tx       int64
		reject   bool
	}{
		{"event", `{"event_id":"transactions.completed:O1","tx_id":42,"kind":"purchase"}`, 42, false},
		{"no tx id", `{"event_id":"x"}`, 0, true},
		{"negative tx id", `{"event_id":"x","tx_id":-1}`, 0, true},
		{"no event id", `{"tx_id":1}`, 0, true},
		{"tx id a string", `{"event_id":"x","tx_id":"1"}`, 0, true},
		{"not json", `transactions.completed`, 0, true},
	} {
		ev, err := DecodeTxEvent([]byte(c.in))
		var rej *pipelines.RejectError
		if c.reject != errors.As(err, &rej) || (err != nil && !c.reject) {
			t.Errorf("%s: err %v, want reject %v", c.name, err, c.reject)
		}
		if !c.reject && ev.TxID != c.tx {
			t.Errorf("%s: tx %d, want %d", c.name, ev.TxID, c.tx)
		}
	}
}

// FuzzDecodeTxEvent: any payload is a typed event with a positive tx id or
// a reject (quarantine), never a panic or another error.
func FuzzDecodeTxEvent(f *testing.F) {
	f.Add([]byte(`{"event_id":"transactions.completed:O1","tx_id":42}`))
	f.Add([]byte(`{"event_id":"","tx_id":1e3}`))
	f.Add([]byte(`{"tx_id":9223372036854775808}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := DecodeTxEvent(in)
		var rej *pipelines.RejectError
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("not a reject: %v", err)
		}
		if err == nil && (ev.TxID <= 0 || ev.EventID == "") {
			t.Fatalf("accepted %+v", ev)
		}
	})
}
