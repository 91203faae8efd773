package fraud_test

import (
	"testing"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/gen"
)

// BenchmarkDecode: fraud.Decode over a generated stream's messages (the
// evaluation's stage), per message.
func BenchmarkDecode(b *testing.B) {
	s, err := gen.Generate(gen.Options{Seed: 1, Investors: 2500, Days: 30, Plant: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m := s.Messages[i%len(s.Messages)]
		if _, err := fraud.Decode(m.Topic, m.Value, "bench"); err != nil && err != fraud.ErrIgnored {
			b.Fatal(err)
		}
	}
}
