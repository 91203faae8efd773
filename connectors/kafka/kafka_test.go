package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// The receipt time of a Kafka order: the message's time stamp when it lies
// within the allowed consumer lag before our clock, else our clock; the
// client's placed_at then counts only within the skew before that.
func TestOrderStageReceiptTime(t *testing.T) {
	now := time.Date(2026, 8, 20, 9, 20, 0, 0, time.UTC) // 14:50 IST
	stage := OrderStage(func() time.Time { return now }, 5*time.Minute, 10*time.Minute)
	const placed = "2026-08-20T14:46:00+05:30" // 09:16 UTC
	body := []byte(`{"order_id":"K-1","type":"redemption","investor_id":"I","folio":"F","scheme_code":"S","units":"1","placed_at":"` + placed + `"}`)
	placedAt := time.Date(2026, 8, 20, 9, 16, 0, 0, time.UTC)
	cases := []struct {
		name     string
		msgTime  time.Time
		received time.Time
		at       time.Time
		src      fund.TimeSource
	}{
		{"the bus took it a minute ago", now.Add(-time.Minute), now.Add(-time.Minute), placedAt, fund.TimeClient},
		{"a consumer 8 minutes behind", now.Add(-8 * time.Minute), now.Add(-8 * time.Minute), now.Add(-8 * time.Minute), fund.TimeReceived}, // placed_at is after that receipt
		{"a time stamp 11 minutes old: our clock", now.Add(-11 * time.Minute), now, placedAt, fund.TimeClient},
		{"a time stamp in the future", now.Add(time.Hour), now, placedAt, fund.TimeClient},
		{"no time stamp", time.Time{}, now, placedAt, fund.TimeClient},
	}
	for _, c := range cases {
		in, err := stage(context.Background(), Message{Topic: "orders.placed", Partition: 1, Offset: 7, Value: body, Time: c.msgTime})
		if err != nil || in.Invalid != nil {
			t.Fatalf("%s: %v %+v", c.name, err, in.Invalid)
		}
		if !in.ReceivedAt.Equal(c.received) || !in.At.Equal(c.at) || in.TimeSource != c.src {
			t.Errorf("%s: received %v, at %v (%s); want %v, %v (%s)", c.name, in.ReceivedAt, in.At, in.TimeSource, c.received, c.at, c.src)
		}
		if in.Pos.Topic != "orders.placed" || in.Pos.Part != 1 || in.Pos.Offset != 7 {
			t.Errorf("%s: position %+v", c.name, in.Pos)
		}
	}
}
