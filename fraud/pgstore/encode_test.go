package pgstore

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fund"
)

// The hand-written snapshot encoding writes exactly what json.Encoder
// writes for the same record, so snapshots stay readable by load (and by
// the code before it), for windows of every shape: empty, nil, gone,
// every optional field, strings that need escaping, times with and
// without nanoseconds and zones.
func TestAppendRecIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 1))
	strs := []string{"", "INV-1", "orders.status:P1:awaiting_payment", "kafka:orders.status/3/1234", `a"b\c`, "<&>", "tab\there", "naïve", "\u2028x", "\x7f", "bank:9f86d081884c7d65"}
	// a packed window keeps UTC Unix nanoseconds (events are UTC from Decode)
	times := []time.Time{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC), time.Date(2026, 8, 3, 10, 0, 0, 123456789, time.UTC),
		time.Date(2026, 8, 3, 15, 30, 0, 5000, time.FixedZone("IST", 19800)).UTC()}
	amounts := []string{"0", "47500.00", "0.01", "-0.01", "-12.5", "-0.5", "99999999999.99", "92233720368547758.07", "-92233720368547758.08"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	for i := range 2000 {
		var st *fraud.State
		switch i % 5 {
		case 0: // gone
		case 1:
			st = &fraud.State{}
		default:
			es := []fraud.Entry{}
			for range rng.IntN(6) {
				a, err := fund.ParseAmountRounded(pick(amounts), fund.RoundHalfEven)
				if err != nil {
					t.Fatal(err)
				}
				p, err := fraud.PaiseOf(a)
				if err != nil {
					t.Fatal(err)
				}
				es = append(es, fraud.Entry{Ref: fraud.Ref{EventID: pick(strs), Lineage: pick(strs)}, At: times[rng.IntN(len(times))],
					Investor: pick(strs), Paise: p, Redemption: rng.IntN(2) == 0, OrderID: pick(strs), Fired: rng.IntN(2) == 0})
			}
			s := fraud.NewState(es)
			st = &s
		}
		k := pick(strs)
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(snapRec{K: k, S: st}); err != nil {
			t.Fatal(err)
		}
		got, ok := appendRec(nil, k, st)
		if !ok || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("record %d (ok %v):\n got %s\nwant %s", i, ok, got, want.Bytes())
		}
	}
}
