package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
)

// BenchmarkNAVSink publishes one NAVAll.txt's worth of NAVs (14,041 events,
// the size of the 2026 file) in the pipeline's batches of 2000 through
// NAVSink (JSON encoding, event ids, acks=all), against the raw baseline of
// the same Writer sending the same pre-encoded messages.
func BenchmarkNAVSink(b *testing.B) {
	const events, batchSize = 14041, 2000
	brokers := testkit.Kafka(b, 3, "nav.validated", "raw")
	items := make([]fund.NAVLine, events)
	for i := range items {
		items[i] = navLine(fmt.Sprintf("%06d", 100000+i), "2026-08-21", fmt.Sprintf("%d.%04d", 10+i%900, i%10000), "NAVAll.txt", i+2)
		items[i].SchemeName = "Example Mutual Fund Flexi Cap Fund - Direct Plan - Growth"
		items[i].ISINGrowth = "INF000A01011"
	}
	raw := make([]kafkago.Message, events)
	for i, n := range items {
		raw[i] = NAVMessage(n)
	}
	ctx := context.Background()
	sinkW := NewWriter(Config{Brokers: brokers, Topic: "nav.validated", BatchSize: batchSize})
	defer sinkW.Close()
	rawW := NewWriter(Config{Brokers: brokers, Topic: "raw", BatchSize: batchSize})
	defer rawW.Close()
	sink := NAVSink{W: sinkW}
	// Connections and metadata first, so both sides time only publishing.
	if err := sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: items[:1]}); err != nil {
		b.Fatal(err)
	}
	if err := rawW.WriteMessages(ctx, raw[:1]...); err != nil {
		b.Fatal(err)
	}

	var tSink, tRaw time.Duration
	b.ResetTimer()
	// Batch by batch, alternating, so that drift in the in-process broker
	// (its logs grow, the GC runs) falls on both sides alike.
	for range b.N {
		for lo := 0; lo < events; lo += batchSize {
			hi := min(lo+batchSize, events)
			t0 := time.Now()
			if err := sink.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: items[lo:hi]}); err != nil {
				b.Fatal(err)
			}
			tSink += time.Since(t0)
			t0 = time.Now()
			if err := rawW.WriteMessages(ctx, raw[lo:hi]...); err != nil {
				b.Fatal(err)
			}
			tRaw += time.Since(t0)
		}
	}
	n := float64(events * b.N)
	b.ReportMetric(n/tSink.Seconds(), "events/s")
	b.ReportMetric(n/tRaw.Seconds(), "raw_msgs/s")
	b.ReportMetric(tRaw.Seconds()/tSink.Seconds(), "ratio")
}

// BenchmarkNAVMessage is the cost of encoding one event (JSON and event id).
func BenchmarkNAVMessage(b *testing.B) {
	n := navLine("119551", "2026-08-21", "101.2345", "NAVAll.txt", 2)
	n.SchemeName = "Example Mutual Fund Flexi Cap Fund - Direct Plan - Growth"
	for b.Loop() {
		NAVMessage(n)
	}
}
