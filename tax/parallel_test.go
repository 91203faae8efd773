package tax

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// eachKeyed calls fn once per item; items of one key in their order; the
// first error is returned and stops the rest of its worker's queue.
func TestEachKeyed(t *testing.T) {
	for _, workers := range []int{0, 1, 4, 16} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			type item struct {
				key string
				seq int
			}
			var items []item
			for i := range 300 {
				items = append(items, item{fmt.Sprint("k", i%7), i})
			}
			var mu sync.Mutex
			seen := map[string][]int{}
			err := eachKeyed(context.Background(), workers, items, func(it item) string { return it.key }, func(_ context.Context, it item) error {
				mu.Lock()
				seen[it.key] = append(seen[it.key], it.seq)
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for k, seqs := range seen {
				n += len(seqs)
				for i := 1; i < len(seqs); i++ {
					if seqs[i] <= seqs[i-1] {
						t.Fatalf("key %s out of order: %v", k, seqs)
					}
				}
			}
			if n != 300 {
				t.Fatalf("%d calls, want 300", n)
			}
		})
	}
	boom := errors.New("boom")
	err := eachKeyed(context.Background(), 4, []int{1, 2, 3, 4, 5, 6, 7, 8}, func(i int) string { return fmt.Sprint(i) }, func(_ context.Context, i int) error {
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
}
