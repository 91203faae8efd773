package clickhouse_test

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// BenchmarkHeldNAVHistory holds about 100,000 generated NAVs (7 business
// days, batches of FUNDFLOW_BENCH_BATCH, as nav-ingest's HoldRows gathers
// them) in a HeldNAVHistory and flushes them as one insert into the real
// ClickHouse, again and again with the same holder, as a run does. The
// timed loop is Write of every batch, Cut, Flush; B/op and allocs/op are
// the Go side's. Reported: rows/s; cpu-ns/row, this process's user+system
// CPU (the sink, the driver's encoding, the GC; not the server's work);
// gc-cpu-ns/row, the GC's (runtime/metrics' estimate: idle mark workers
// count in full, so it can exceed the process's own; the batches given to
// Write stay live and every cycle scans them, as a run's parsed lines);
// held-B/row, the heap the held rows keep over the batches' own (measured
// once, outside the loop, between forced collections).
//
// Session 38, interleaved 5 x 5 flushes old/new on the shared 2-core box
// (medians): cpu-ns/row 2157 -> 810, gc-cpu-ns/row 880 -> 254, rows/s
// 324k -> 453k, 169 MB -> 37 MB and 1,374k -> 3k allocs an op (98k
// rows), held-B/row 115 -> 52.
func BenchmarkHeldNAVHistory(b *testing.B) {
	const days = 7
	bs := benchkit.BatchSize(b)
	conn, _ := testkit.CH(b)
	ctx := testkit.Ctx(b)
	latest, err := clickhouse.LoadLatestDates(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	g := benchkit.Generator(b, days)
	var batches []pipelines.Batch[fund.NAVLine]
	rows := 0
	for d := range days {
		for i, items := range benchkit.Batches(benchkit.Day(b, g, d), bs) {
			batches = append(batches, pipelines.Batch[fund.NAVLine]{Items: items,
				Through: pipelines.Checkpoint{Stream: items[0].From.File, Pos: []byte(strconv.Itoa(i))}})
			rows += len(items)
		}
	}
	run := func(h *clickhouse.HeldNAVHistory, flush bool) {
		for _, bt := range batches {
			if err := h.Write(ctx, bt); err != nil {
				b.Fatal(err)
			}
		}
		if !flush {
			return
		}
		h.Cut()
		if err := h.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	newHeld := func() *clickhouse.HeldNAVHistory {
		return &clickhouse.HeldNAVHistory{NAVHistory: clickhouse.NAVHistory{Conn: conn, Latest: latest}}
	}

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	h := newHeld()
	run(h, false)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heldBytes := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(rows)
	runtime.KeepAlive(h)
	h = nil
	runtime.GC()

	gcCPU := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(gcCPU)
	gc0 := gcCPU[0].Value.Float64()
	cpu0 := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	h = newHeld()
	for range b.N {
		run(h, true)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := processCPU() - cpu0
	metrics.Read(gcCPU)
	gc := gcCPU[0].Value.Float64() - gc0
	n := float64(rows * b.N)
	b.ReportMetric(n/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/row")
	b.ReportMetric(gc*1e9/n, "gc-cpu-ns/row")
	b.ReportMetric(heldBytes, "held-B/row")
	b.ReportMetric(float64(rows), "rows")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
