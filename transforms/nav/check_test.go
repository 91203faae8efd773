package nav

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// virtualFile is a NAV file that exists only as a formula: fixed-width
// lines, so any offset maps to a line. Reading it costs no memory of its
// own, so what Check holds is what Check keeps.
type virtualFile struct {
	rows int
	off  int64
}

const (
	vHeader  = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\n"
	vSchemes = 10000
)

// vLine is row i: scheme 100000+i%vSchemes, a constant NAV per scheme (no
// jumps), one day per vSchemes rows (every key once).
func vLine(i int) string {
	code := 100000 + i%vSchemes
	d := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/vSchemes)
	return fmt.Sprintf("%d;-;-;Scheme %06d Growth;%04d.1234;%s\n", code, code, 10+code%1000, d.Format("02-Jan-2006"))
}

var vLineLen = int64(len(vLine(0)))

func (f *virtualFile) size() int64 { return int64(len(vHeader)) + int64(f.rows)*vLineLen }

func (f *virtualFile) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.off >= f.size() {
			if n == 0 {
				return 0, io.EOF
			}
			break
		}
		var chunk string
		var within int64
		if f.off < int64(len(vHeader)) {
			chunk, within = vHeader, f.off
		} else {
			i := (f.off - int64(len(vHeader))) / vLineLen
			chunk, within = vLine(int(i)), (f.off-int64(len(vHeader)))%vLineLen
		}
		k := copy(p[n:], chunk[within:])
		n += k
		f.off += int64(k)
	}
	return n, nil
}

func (f *virtualFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		f.off = off
	case io.SeekCurrent:
		f.off += off
	case io.SeekEnd:
		f.off = f.size() + off
	}
	return f.off, nil
}

// heapPeak samples the bytes in live (and not yet swept) heap objects while
// f runs and returns the largest seen.
func heapPeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// check nav streams like the run: on a 40 MB file the heap never holds
// more than a quarter of it (the old Check kept every good row until the
// business date was known, the run's decoder never did). The collector runs
// often during the test, so the peak is close to what is live. The bound is
// a memory bound, not a time limit.
func TestCheckStreams(t *testing.T) {
	f := &virtualFile{rows: int(40e6 / vLineLen)}
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var rep struct {
		rows, quarantined int
		err               error
	}
	peak := heapPeak(func() {
		v := NewValidator(nil, DefaultThresholds)
		r, err := Check(context.Background(), f, fund.Origin{File: "virtual.txt"}, v)
		rep.rows, rep.quarantined, rep.err = r.Rows, r.Quarantined, err
	})
	if rep.err != nil {
		t.Fatal(rep.err)
	}
	if rep.rows != f.rows || rep.quarantined != 0 {
		t.Fatalf("%d rows, %d quarantined; the file has %d good rows", rep.rows, rep.quarantined, f.rows)
	}
	limit := uint64(f.size() / 4)
	t.Logf("%d rows, %.1f MB file, heap peak %.1f MB", f.rows, float64(f.size())/1e6, float64(peak)/1e6)
	if peak > limit {
		t.Fatalf("heap reached %.1f MB checking a %.1f MB file: it holds the file, not streams it", float64(peak)/1e6, float64(f.size())/1e6)
	}
}

// BenchmarkCheck reports what checking a 20 MB file allocates, in all and
// per row.
func BenchmarkCheck(b *testing.B) {
	f := &virtualFile{rows: int(20e6 / vLineLen)}
	b.ReportAllocs()
	b.SetBytes(f.size())
	for i := 0; i < b.N; i++ {
		f.off = 0
		if _, err := Check(context.Background(), f, fund.Origin{File: "virtual.txt"}, NewValidator(nil, DefaultThresholds)); err != nil {
			b.Fatal(err)
		}
	}
}
