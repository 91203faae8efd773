package fraudeval_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
)

// skewDay0 is the skewed stream's first day (event times only: nothing
// here depends on today's date).
var skewDay0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

func skewAt(days float64) time.Time {
	return skewDay0.Add(time.Duration(days * 24 * float64(time.Hour)))
}

func skewMsg(t *testing.T, topic, key string, at time.Time, v any) gen.Message {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return gen.Message{Topic: topic, Key: key, Value: b, At: at}
}

// skewBank is investors.changed: inv's bank account is now the one with
// fingerprint fp.
func skewBank(t *testing.T, inv string, seq int64, days float64, fp string) gen.Message {
	at := skewAt(days)
	return skewMsg(t, fraud.TopicInvestorsChanged, inv, at, fraud.InvestorChanged{
		EventID: "investors.changed:" + inv + ":" + string(rune('0'+seq)), InvestorID: inv, ChangeSeq: seq,
		Fields: []string{"bank_account"}, Fingerprints: map[string]string{"bank_account": fp}, Channel: "api",
		EffectiveFrom: at.Format(time.RFC3339), At: at.Format(time.RFC3339)})
}

// skewRedeem is orders.status: a redemption of value out of holdings.
func skewRedeem(t *testing.T, inv, order string, days float64, value, holdings string) gen.Message {
	at := skewAt(days)
	return skewMsg(t, fund.TopicOrderStatus, inv, at, fraud.OrderPlaced{
		OrderStatusChanged: fund.OrderStatusChanged{EventID: fund.TopicOrderStatus + ":" + order + ":pending_nav", OrderID: order,
			RequestID: "REQ" + order, Kind: "redemption", Folio: "F" + inv, SchemeCode: "100001", Status: "pending_nav", At: at.Format(time.RFC3339)},
		InvestorID: inv, Value: value, Holdings: holdings})
}

// On a backlog the topics' consumers run days of event time apart. Here
// all of orders.status (and one late mule's change) is read before the
// rest of investors.changed, as a consumer far ahead of the others reads
// it, and the live evaluation must still raise exactly what the rules
// say over the stream in time order:
//
//   - ATO1 changes its bank account on day 0, redeems 60 % of its holdings
//     on day 2 (within the 7 days of ato-redemption: an alert, a hold) and
//     75 % on day 20 (no change in the 7 days before: nothing);
//   - M1, M2 and M3 move to one bank account on days 0, 1 and 2: M3 is the
//     third within 90 days (mule-bank: more than 2), an alert; M4 moves to
//     it on day 100, 98 days after M3, with no one else in its 90 days:
//     nothing.
//
// The read-ahead redemption of day 20 and change of day 100 must not push
// the day-2 redemption and the day-0..2 changes out of their windows
// before the slower topic's events that pair with them arrive. Run with a
// restart between the two halves too: the snapshot must carry what the
// windows need across it.
func TestSkewedTopicsEqualTruth(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "one run"
		if restart {
			name = "restart between"
		}
		t.Run(name, func(t *testing.T) {
			ctx, _, pg, c, topics, brokers := liveSetup(t)

			r1 := skewRedeem(t, "ATO1", "ORDR1", 2, "600000", "1000000")
			r2 := skewRedeem(t, "ATO1", "ORDR2", 20, "300000", "400000")
			m3 := skewBank(t, "M3", 1, 2, "mule-acct")
			ahead := []gen.Message{r1, r2, skewBank(t, "M4", 1, 100, "mule-acct")}
			behind := []gen.Message{skewBank(t, "ATO1", 1, 0, "ato-new-acct"), skewBank(t, "M1", 1, 0, "mule-acct"),
				skewBank(t, "M2", 1, 1, "mule-acct"), m3}
			// by hand (see above): the day-2 redemption and M3's change
			want := []string{fraud.AlertID("ato-redemption", fund.TopicOrderStatus+":ORDR1:pending_nav"),
				fraud.AlertID("mule-bank", "investors.changed:M3:1")}
			slices.Sort(want)

			// the same stream in time order through the backtest agrees
			all := append(slices.Clone(ahead), behind...)
			slices.SortStableFunc(all, func(a, b gen.Message) int { return a.At.Compare(b.At) })
			bt := fraud.NewBacktest(fraud.Shipped(), time.Time{}, time.Time{})
			for _, m := range all {
				ev, err := fraud.Decode(m.Topic, m.Value, "test")
				if err != nil {
					t.Fatal(err)
				}
				bt.Add(ev)
			}
			if got := bt.AlertIDs(); !slices.Equal(got, want) {
				t.Fatalf("the backtest in time order raised %v, want %v", got, want)
			}

			h := &holder{holds: map[string]ledger.HoldRequest{}}
			start := func() (context.CancelFunc, <-chan error) {
				rctx, cancel := context.WithCancel(ctx)
				errc := make(chan error, 1)
				d := fraudeval.Deps{PG: pg, Brokers: brokers, Metrics: pipelines.NewMetrics(prometheus.NewRegistry()),
					Registry: prometheus.NewRegistry(), Ledger: h, Log: testkit.Logger(t)}
				go func() { errc <- fraudeval.Serve(rctx, d, c, fraud.Shipped()) }()
				return cancel, errc
			}
			produce(t, brokers, ahead)
			stop, errc := start()
			waitApplied(t, ctx, pg, highWater(t, brokers, topics), errc, true)
			if restart {
				stop()
				<-errc
				stop, errc = start()
			}
			produce(t, brokers, behind)
			waitApplied(t, ctx, pg, highWater(t, brokers, topics), errc, true)
			stop()
			<-errc
			if got := alertIDs(t, ctx, pg); !slices.Equal(got, want) {
				t.Errorf("live alerts %v\nwant %v", got, want)
			}
			if _, ok := h.holds["ORDR1"]; !ok || len(h.holds) != 1 {
				t.Errorf("legs held %v, want ORDR1 only", slices.Collect(maps.Keys(h.holds)))
			}
		})
	}
}

// Every message sent twice (a producer's retry, the outbox relay sending
// again after a crash: the same event at a new offset) and the live
// evaluation still raises exactly the generator's truth, each alert once:
// it skips only positions it has applied, so the rules know a copy by its
// event id. Before, the copies made a round trip's purchases count twice
// (missed) and fired the counting rules on the wrong event.
func TestLiveCopiesEqualTruth(t *testing.T) {
	ctx, _, pg, c, topics, brokers := liveSetup(t)
	s, err := gen.Generate(gen.Options{Seed: 13, Investors: 30, Days: 30, Plant: 2})
	if err != nil {
		t.Fatal(err)
	}
	var twice []gen.Message
	for _, m := range s.Messages {
		twice = append(twice, m, m)
	}
	produce(t, brokers, twice)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		errc <- fraudeval.Serve(rctx, fraudeval.Deps{PG: pg, Brokers: brokers, Metrics: pipelines.NewMetrics(prometheus.NewRegistry()),
			Registry: prometheus.NewRegistry(), Log: testkit.Logger(t)}, c, fraud.Shipped())
	}()
	waitApplied(t, ctx, pg, highWater(t, brokers, topics), errc, false)
	cancel()
	<-errc
	want := truthIDs(s)
	if got := alertIDs(t, ctx, pg); !slices.Equal(got, want) || len(want) != 12 {
		t.Errorf("alerts %v\nwant %v (2 plants x 6)", got, want)
	}
}
