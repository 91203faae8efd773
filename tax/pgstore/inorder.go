package pgstore

import (
	"context"
	"sync"
)

// inOrder computes items 0..n-1 with get on up to workers goroutines and
// hands each result to put in index order, on the caller's goroutine (put
// needs no locking and sees what a sequential run would). At most
// 2 × workers results are held: a worker waits for put to catch up rather
// than run ahead. The first error (of get or put) stops the run and is
// returned.
func inOrder[T any](ctx context.Context, n, workers int, get func(context.Context, int) (T, error), put func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // no worker outlives the call
	type result struct {
		v   T
		err error
	}
	slots := make([]chan result, n) // one per item, buffered: a worker never blocks on its send
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers) // a token per result taken and not yet put
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := get(ctx, i)
				slots[i] <- result{v, err}
			}
		}()
	}
	wg.Add(1)
	go func() { // hands out items in order, as tokens allow
		defer wg.Done()
		defer close(next)
		for i := range n {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range n {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if err := put(r.v); err != nil {
			return err
		}
		<-ahead
	}
	return nil
}
