package amfi

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse streams the largest NAVAll fixture through the parser and
// reports rows per second next to MB/s and allocations.
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "NAVAll_*.txt"))
	largest, size := "", int64(-1)
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() > size {
			largest, size = filepath.Base(f), st.Size()
		}
	}
	if largest == "" {
		largest = "NAVAll_2019-06-21.txt" // let fixture() fail with its message
	}
	data := fixture(b, largest)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		p, err := NewParser(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := p.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
