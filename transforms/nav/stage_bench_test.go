package nav

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// BenchmarkStageNAVAll validates every row of a daily NAVAll file against
// a previous NAV a day older for each scheme (so every row takes the jump
// check), the per-row work of the engine's validate step.
func BenchmarkStageNAVAll(b *testing.B) {
	data, err := os.ReadFile(testkit.Fixture(b, "amfi/navall/NAVAll_2019-06-21.txt"))
	if err != nil {
		b.Fatal(err)
	}
	next, err := Decode(bytes.NewReader(data), fund.Origin{File: "f.txt"})
	if err != nil {
		b.Fatal(err)
	}
	var items []Item
	prev := map[string]fund.DatedNAV{}
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		items = append(items, it)
		if it.Row.Reason == "" {
			r := it.Row.Record
			prev[r.SchemeCode] = fund.DatedNAV{NAV: r.NAV, Date: r.Date.AddDays(-1)}
		}
	}
	now := func() time.Time { return time.Date(2019, 6, 22, 12, 0, 0, 0, time.UTC) }
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := NewValidator(prev, DefaultThresholds)
		v.Now = now
		for _, it := range items {
			_, _ = v.Stage(ctx, it)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/row")
}
