package pgstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Results come back in index order whatever order the workers finish in,
// and no more than 2 × workers are taken ahead of put.
func TestInOrder(t *testing.T) {
	const n, workers = 200, 3
	var taken, put atomic.Int64
	var maxAhead int64
	var got []int
	err := inOrder(context.Background(), n, workers, func(_ context.Context, i int) (int, error) {
		taken.Add(1)
		time.Sleep(time.Duration((n-i)%7) * 100 * time.Microsecond) // later items often finish first
		return i, nil
	}, func(v int) error {
		maxAhead = max(maxAhead, taken.Load()-put.Load())
		put.Add(1)
		got = append(got, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("result %d is item %d", i, v)
		}
	}
	if maxAhead > 2*workers {
		t.Errorf("%d items taken ahead of put, want at most %d", maxAhead, 2*workers)
	}
}

// The first error stops the run: no item after it is put, and it is returned.
func TestInOrderStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var last int
	err := inOrder(context.Background(), 100, 2, func(_ context.Context, i int) (int, error) {
		if i == 10 {
			return 0, boom
		}
		return i, nil
	}, func(v int) error { last = v; return nil })
	if !errors.Is(err, boom) || last != 9 {
		t.Errorf("err %v, last put %d; want boom after 9", err, last)
	}
	stop := errors.New("stop")
	err = inOrder(context.Background(), 100, 2, func(_ context.Context, i int) (int, error) { return i, nil },
		func(v int) error {
			if v == 5 {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) {
		t.Errorf("put's error: %v", err)
	}
}
