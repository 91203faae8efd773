package fraudeval_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// BenchmarkFraudEval: the shipped rules over a generated stream on kfake
// (three topics, four partitions), against a bare read of the same
// messages (a consumer group reading and committing batches of the same
// size, nothing else) in the same run. FUNDFLOW_BENCH_FRAUD_EVENTS sets
// the size (default 30,000; the 5,000,000 behind it). The p99
// event-to-alert latency is from the Kafka time stamp of a message produced
// while the evaluation runs flat out to its alert's commit (the histogram's
// bucket).
func BenchmarkFraudEval(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FRAUD_EVENTS", 30_000)
	ctx := testkit.Ctx(b)
	pool, _ := testkit.PG(b)
	pg := &postgres.Store{Pool: pool}
	c := &config.Fraud{InvestorsTopic: "investors.changed", BatchSize: 500, SessionTimeout: 10 * time.Second}
	topics := fraudeval.Topics(c)
	brokers := testkit.Kafka(b, 4, topics...)
	// about 4 messages per ordinary investor in 30 days
	s, err := gen.Generate(gen.Options{Seed: 1, Investors: max(1, n/4), Days: 30, Plant: max(1, n/20000)})
	if err != nil {
		b.Fatal(err)
	}
	msgs := s.Messages
	b.Logf("%d messages, %d planted alerts", len(msgs), len(s.Truth))
	writers := map[string]*kafkago.Writer{}
	for _, tp := range topics {
		writers[tp] = &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: tp, Balancer: &kafkago.Hash{}, BatchSize: 1000, BatchTimeout: 5 * time.Millisecond}
		defer writers[tp].Close()
	}
	produce := func(ms []gen.Message) {
		by := map[string][]kafkago.Message{}
		for _, m := range ms {
			by[m.Topic] = append(by[m.Topic], kafkago.Message{Key: []byte(m.Key), Value: m.Value})
		}
		for tp, km := range by {
			for i := 0; i < len(km); i += 10000 {
				if err := writers[tp].WriteMessages(ctx, km[i:min(i+10000, len(km))]...); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	// the bare read: the same messages, the same batches, a group of its own
	produce(msgs)
	t0 := time.Now()
	read := 0
	for _, tp := range topics {
		src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: tp, GroupID: "bench-bare", Batch: c.BatchSize})
		if err != nil {
			b.Fatal(err)
		}
		want := 0
		for _, m := range msgs {
			if m.Topic == tp {
				want++
			}
		}
		for got := 0; got < want; {
			bt, err := src.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(bt.Items)
			if err := src.Commit(ctx, bt.Through); err != nil {
				b.Fatal(err)
			}
		}
		read += want
		src.Close()
	}
	bare := time.Since(t0)

	// the evaluation over the backlog
	reg := prometheus.NewRegistry()
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	t0 = time.Now()
	go func() {
		errc <- fraudeval.Serve(rctx, fraudeval.Deps{PG: pg, Brokers: brokers, Metrics: pipelines.NewMetrics(prometheus.NewRegistry()),
			Registry: reg, Log: testkit.Logger(b)}, c, fraud.Shipped())
	}()
	waitApplied(b, ctx, pg, highWater(b, brokers, topics), errc, false)
	run := time.Since(t0)
	// under load: the same stream again (new ids, as a second month would
	// be) produced while the evaluation runs; latency from produce to alert
	s2, _ := gen.Generate(gen.Options{Seed: 2, Investors: max(1, n/4), Days: 30, Plant: max(1, n/20000), Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	produce(s2.Messages)
	waitApplied(b, ctx, pg, highWater(b, brokers, topics), errc, false)
	cancel()
	<-errc

	var alerts int
	pool.QueryRow(ctx, `SELECT count(*) FROM fraud_alerts`).Scan(&alerts) //nolint:errcheck
	p99 := histQuantile(b, reg, "fundflow_fraud_event_to_alert_seconds", 0.99)
	b.ReportMetric(float64(len(msgs))/run.Seconds(), "events/s")
	b.ReportMetric(float64(read)/bare.Seconds(), "bare_read_events/s")
	b.ReportMetric(bare.Seconds()/run.Seconds(), "ratio_vs_bare_read")
	b.ReportMetric(p99, "p99_event_to_alert_s")
	b.Logf("evaluated %d events in %s (bare read %s), %d alerts (truth %d+%d); p99 event-to-alert <= %.3fs",
		len(msgs), run.Round(time.Millisecond), bare.Round(time.Millisecond), alerts, len(s.Truth), len(s2.Truth), p99)
}

// histQuantile is the upper bound of the bucket holding quantile q of a
// histogram summed over its labels.
func histQuantile(b *testing.B, g prometheus.Gatherer, name string, q float64) float64 {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	counts := map[float64]uint64{}
	var total uint64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			total += h.GetSampleCount()
			for _, bk := range h.GetBucket() {
				counts[bk.GetUpperBound()] += bk.GetCumulativeCount()
			}
		}
	}
	if total == 0 {
		return 0
	}
	var bounds []float64
	for ub := range counts {
		bounds = append(bounds, ub)
	}
	sort.Float64s(bounds)
	for _, ub := range bounds {
		if float64(counts[ub]) >= q*float64(total) {
			return ub
		}
	}
	return bounds[len(bounds)-1]
}
