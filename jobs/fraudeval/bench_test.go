package fraudeval_test

import (
	"context"
	"math"
	rtmetrics "runtime/metrics"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/fraud/pgstore"
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
// bucket). The broker and the producers are processes of their own
// (benchproc_test.go): this process only reads and evaluates, and its peak
// resident memory is reported beside the broker's.
func BenchmarkFraudEval(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FRAUD_EVENTS", 30_000)
	ctx := testkit.Ctx(b)
	pool, _ := testkit.PG(b)
	pg := &postgres.Store{Pool: pool}
	c := &config.Fraud{InvestorsTopic: "investors.changed", BatchSize: 500, SessionTimeout: 10 * time.Second, SnapshotInterval: time.Second, SnapshotEvents: 200_000}
	topics := fraudeval.Topics(c)
	br := startBroker(b, 4, topics...)
	brokers := br.addrs
	b.Logf("load %s at the start; broker pid %d, RSS %.0f MB", loadAvg(), br.cmd.Process.Pid, rssMB(br.cmd.Process.Pid))
	// about 4 messages per ordinary investor in 30 days
	p1 := startProducer(b, producerJob{Brokers: brokers, Gen: gen.Options{Seed: 1, Investors: max(1, n/4), Days: 30, Plant: max(1, n/20000)}})()
	b.Logf("%d messages, %d planted alerts, generated and produced in %s by a process that peaked at %.0f MB; broker RSS now %.0f MB",
		p1.n, len(p1.truth), p1.took.Round(time.Millisecond), p1.peakRSS, rssMB(br.cmd.Process.Pid))
	backlog := lastOffsets(b, brokers, topics)
	// the bare read: the same messages, the same batches, a group of its own
	t0 := time.Now()
	read := 0
	for _, tp := range topics {
		src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: tp, GroupID: "bench-bare", Batch: c.BatchSize})
		if err != nil {
			b.Fatal(err)
		}
		want := 0
		for k, last := range backlog {
			if k[0] == tp {
				want += int(last + 1)
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
	if read != p1.n {
		b.Fatalf("the bare read found %d messages on the topics, the producer produced %d", read, p1.n)
	}
	b.Logf("bare read: %d messages in %s (load %s)", read, bare.Round(time.Millisecond), loadAvg())

	// the evaluation over the backlog
	reg, preg := prometheus.NewRegistry(), prometheus.NewRegistry()
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	t0 = time.Now()
	go func() {
		errc <- fraudeval.Serve(rctx, fraudeval.Deps{PG: pg, Brokers: brokers, Metrics: pipelines.NewMetrics(preg),
			Registry: reg, Log: testkit.Logger(b)}, c, fraud.Shipped())
	}()
	stopProgress := progress(b, reg, t0, br.cmd.Process.Pid)
	waitApplied(b, ctx, pg, backlog, errc, false)
	run := time.Since(t0)
	stopProgress()
	stageTimes(b, preg)
	b.Logf("evaluated the backlog in %s (load %s); snapshots wrote %.1f MB of windows (%.1f MB in full ones); %.0f windows expired",
		run.Round(time.Millisecond), loadAvg(), counterSum(b, reg, "fundflow_fraud_snapshot_bytes_total", "")/1e6,
		counterSum(b, reg, "fundflow_fraud_snapshot_bytes_total", "full")/1e6, counterSum(b, reg, "fundflow_fraud_windows_expired_total", ""))
	// under load: another month (new ids) produced at a steady rate while
	// the evaluation runs (FUNDFLOW_BENCH_FRAUD_RATE events/s, default half
	// the rate just measured: load, not a backlog); the latency is from
	// each triggering message's Kafka time stamp (its produce) to its
	// alert's commit, from this part only
	before := histCounts(b, reg, "fundflow_fraud_event_to_alert_seconds")
	rate := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FRAUD_RATE", max(1000, int(float64(read)/run.Seconds()/2)))
	stopProgress = progress(b, reg, time.Now(), br.cmd.Process.Pid)
	p2 := startProducer(b, producerJob{Brokers: brokers, Rate: rate, Gen: gen.Options{Seed: 2, Investors: max(1, n/40), Days: 30, Plant: max(5, n/40000),
		Start: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Tag: "B"}})()
	waitApplied(b, ctx, pg, lastOffsets(b, brokers, topics), errc, false)
	stopProgress()
	cancel()
	<-errc

	var alerts int
	pool.QueryRow(ctx, `SELECT count(*) FROM fraud_alerts`).Scan(&alerts) //nolint:errcheck
	// the alerts against the truth, by id, and what reached the topics
	// against what was produced: a count alone hides a missed alert behind
	// an extra one, and a lost message behind a missed alert
	var want []string
	for _, tr := range append(slices.Clone(p1.truth), p2.truth...) {
		want = append(want, tr.AlertID)
	}
	missed, extra := diff(want, alertIDs(b, ctx, pg))
	onTopics := int64(0)
	for _, last := range lastOffsets(b, brokers, topics) {
		onTopics += last + 1
	}
	if len(missed) > 0 || len(extra) > 0 || onTopics != int64(p1.n+p2.n) {
		b.Errorf("live alerts differ from the truth: missed %v, extra %v; %d messages on the topics, %d produced", missed, extra, onTopics, p1.n+p2.n)
	}
	after := histCounts(b, reg, "fundflow_fraud_event_to_alert_seconds")
	p99, samples := quantileSince(before, after, 0.99)
	brokerRSS, _ := br.wait()
	b.ReportMetric(float64(read)/run.Seconds(), "events/s")
	b.ReportMetric(float64(read)/bare.Seconds(), "bare_read_events/s")
	b.ReportMetric(bare.Seconds()/run.Seconds(), "ratio_vs_bare_read")
	b.ReportMetric(p99, "p99_event_to_alert_s")
	b.ReportMetric(benchkit.PeakRSSMB(), "peak_rss_MB")
	b.ReportMetric(brokerRSS, "broker_peak_rss_MB")
	b.Logf("evaluated %d events in %s (bare read %s), %d alerts (truth %d+%d); under load: %d events at %d/s (generated and produced in %s), p99 event-to-alert <= %.3fs over %d alerts; load %s at the end",
		read, run.Round(time.Millisecond), bare.Round(time.Millisecond), alerts, len(p1.truth), len(p2.truth),
		p2.n, rate, p2.took.Round(time.Millisecond), p99, samples, loadAvg())
	b.Logf("peak resident memory: this process (read and evaluation) %.0f MB, the broker %.0f MB, the producers %.0f and %.0f MB",
		benchkit.PeakRSSMB(), brokerRSS, p1.peakRSS, p2.peakRSS)
}

// progress logs the events evaluated every 5 s (where a run spends its
// time: a stall in a rebalance shows as a flat line), with the resident
// memory of this process and the broker's and the load.
func progress(b *testing.B, g prometheus.Gatherer, t0 time.Time, brokerPID int) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			mfs, _ := g.Gather()
			var n, w, snap float64
			for _, mf := range mfs {
				switch mf.GetName() {
				case "fundflow_fraud_events_total":
					for _, m := range mf.GetMetric() {
						n += m.GetCounter().GetValue()
					}
				case "fundflow_fraud_snapshot_bytes_total":
					for _, m := range mf.GetMetric() {
						snap += m.GetCounter().GetValue()
					}
				case "fundflow_fraud_windows":
					w = mf.GetMetric()[0].GetGauge().GetValue()
				}
			}
			gc := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/user:cpu-seconds"}}
			rtmetrics.Read(gc)
			b.Logf("%6.1fs: %.0f events read by the evaluation, %.0f windows, %.1f MB of snapshots; RSS %.0f MB here, %.0f MB the broker; load %s; GC %d cycles, %.1f CPU s (Go code %.1f s)",
				time.Since(t0).Seconds(), n, w, snap/1e6, rssMB(0), rssMB(brokerPID), loadAvg(),
				gc[0].Value.Uint64(), gc[1].Value.Float64(), gc[2].Value.Float64())
		}
	}()
	return func() { close(done) }
}

// stageTimes logs the seconds each pipeline stage spent on its batches
// (the engine reads, stages and writes concurrently: the largest is the
// bound).
func stageTimes(b *testing.B, g prometheus.Gatherer) {
	mfs, _ := g.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "fundflow_stage_batch_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var l []string
			for _, lp := range m.GetLabel() {
				l = append(l, lp.GetValue())
			}
			b.Logf("stage %v: %d batches, %.1fs", l, m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum())
		}
	}
}

// counterSum is a counter's value summed over its labels (label "": all,
// else only the series with that label value).
func counterSum(b *testing.B, g prometheus.Gatherer, name, label string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetValue() == label }) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// histCounts is a histogram's cumulative bucket counts summed over its
// labels (+Inf under the key math.Inf(1)).
func histCounts(b *testing.B, g prometheus.Gatherer, name string) map[float64]uint64 {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	counts := map[float64]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			counts[math.Inf(1)] += h.GetSampleCount()
			for _, bk := range h.GetBucket() {
				counts[bk.GetUpperBound()] += bk.GetCumulativeCount()
			}
		}
	}
	return counts
}

// quantileSince is the upper bound of the bucket holding quantile q of
// the samples observed between two histCounts, and how many there were.
func quantileSince(before, after map[float64]uint64, q float64) (float64, uint64) {
	total := after[math.Inf(1)] - before[math.Inf(1)]
	if total == 0 {
		return 0, 0
	}
	var bounds []float64
	for ub := range after {
		bounds = append(bounds, ub)
	}
	sort.Float64s(bounds)
	for _, ub := range bounds {
		if float64(after[ub]-before[ub]) >= q*float64(total) {
			return ub, total
		}
	}
	return math.Inf(1), total
}

// BenchmarkFraudApplyCPU: the evaluation's own CPU path without Kafka:
// the stage (decode) and Apply (the windows in memory; Postgres only for
// the planted alerts) over the generated stream in batches of 500,
// against decoding alone in the same run, with a snapshot every 10,000
// events (its bytes logged). FUNDFLOW_BENCH_FRAUD_CPU_EVENTS
// sets the size (default 100,000). What BenchmarkFraudEval adds to this is
// the delivery from Kafka.
func BenchmarkFraudApplyCPU(b *testing.B) {
	n := benchkit.EnvInt(b, "FUNDFLOW_BENCH_FRAUD_CPU_EVENTS", 100_000)
	ctx := testkit.Ctx(b)
	pool, _ := testkit.PG(b)
	s, err := gen.Generate(gen.Options{Seed: 1, Investors: max(1, n/4), Days: 30, Plant: max(1, n/20000)})
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]kafka.Message, len(s.Messages))
	parts := map[string]int{}
	for i, m := range s.Messages {
		parts[m.Topic]++
		msgs[i] = kafka.Message{Topic: m.Topic, Partition: 0, Offset: int64(parts[m.Topic]), Key: []byte(m.Key), Value: m.Value, Time: time.Now()}
	}
	stage := fraudeval.Stage()
	decode := func() []pgstore.Positioned {
		out := make([]pgstore.Positioned, 0, len(msgs))
		for _, m := range msgs {
			p, err := stage(ctx, m)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	b.ResetTimer()
	t0 := time.Now()
	decode()
	bare := time.Since(t0)
	st := &pgstore.Store{Pool: pool}
	t0 = time.Now()
	evs := decode()
	raised := 0
	for i := 0; i < len(evs); i += 500 {
		res, err := st.Apply(ctx, fraud.Shipped(), evs[i:min(i+500, len(evs))])
		if err != nil {
			b.Fatal(err)
		}
		raised += len(res.Raised)
		// a snapshot every 10,000 events, about a second of the stream
		// as Serve takes them (inline here: its cost is counted)
		if (i/500)%20 == 19 {
			if err := st.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := time.Since(t0)
	ss := st.Stats()
	live, expired := st.Windows()
	b.Logf("snapshots in the run: %d (%d full), %d windows, %.1f MB, %s; windows in memory at the end %d, expired %d",
		ss.Snapshots, ss.Full, ss.Windows, float64(ss.Bytes)/1e6, ss.Took.Round(time.Millisecond), live, expired)
	t1 := time.Now()
	if err := st.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}
	snap := time.Since(t1)
	b.ReportMetric(float64(len(evs))/run.Seconds(), "events/s")
	b.ReportMetric(float64(len(evs))/bare.Seconds(), "decode_only_events/s")
	b.ReportMetric(bare.Seconds()/run.Seconds(), "ratio_vs_decode")
	b.Logf("%d events: decode %s, decode+apply %s (%d alerts, truth %d), then a full snapshot of the windows %s",
		len(evs), bare.Round(time.Millisecond), run.Round(time.Millisecond), raised, len(s.Truth), snap.Round(time.Millisecond))
}

// diff is what want has and got lacks, and what got has and want lacks.
func diff(want, got []string) (missed, extra []string) {
	w, g := map[string]bool{}, map[string]bool{}
	for _, id := range want {
		w[id] = true
	}
	for _, id := range got {
		g[id] = true
		if !w[id] {
			extra = append(extra, id)
		}
	}
	for _, id := range want {
		if !g[id] {
			missed = append(missed, id)
		}
	}
	return missed, extra
}
