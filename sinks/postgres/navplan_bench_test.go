package postgres_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/benchkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// BenchmarkNAVPlanCPU is the NAV sink's own CPU for a backfill's batches,
// without a database: each day's file (about 14,000 NAVs) planned, applied
// to the state and its nav_latest moves held, as for a committed batch,
// the moves cut every five days as the engine's flush does (issue 15: this
// bookkeeping was a fifth of the backfill's CPU). An op is a day.
func BenchmarkNAVPlanCPU(b *testing.B) {
	const days = 20
	g := benchkit.Generator(b, days)
	files := make([][]fund.NAVLine, days)
	for d := range days {
		files[d] = benchkit.Day(b, g, d)
	}
	var s *postgres.NAVSink
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%days == 0 {
			s = postgres.NewLoadedNAVSink()
		}
		s.Committed(files[i%days])
		if i%5 == 4 {
			s.Cut()
			s.DropCut()
		}
	}
}
