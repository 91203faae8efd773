package tax

import (
	"context"
	"hash/fnv"
	"sync"
)

// DefaultWorkers is how many folios a run credits or merges at once. Each
// folio is its own Postgres transaction, mostly waiting on round trips, so
// a few at a time fill the gaps; the audit chain's head (taken last in
// each transaction) still orders the commits.
const DefaultWorkers = 4

// eachKeyed calls fn for every item on up to n workers. Items with the
// same key go to the same worker, in their order in items (an investor's
// folios are credited one after another, in holder order, so which folio
// crosses the TDS threshold does not depend on timing). The first error
// stops the run (items not started are not called) and is returned.
func eachKeyed[T any](ctx context.Context, n int, items []T, key func(T) string, fn func(context.Context, T) error) error {
	if n < 1 {
		n = 1
	}
	if n == 1 || len(items) < 2 {
		for _, it := range items {
			if err := fn(ctx, it); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queues := make([][]T, n)
	for _, it := range items {
		h := fnv.New32a()
		h.Write([]byte(key(it)))
		w := int(h.Sum32() % uint32(n))
		queues[w] = append(queues[w], it)
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, q := range queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, it := range q {
				if ctx.Err() != nil {
					return
				}
				if err := fn(ctx, it); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
