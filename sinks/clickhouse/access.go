package clickhouse

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// APIRequest is one row of api_requests.
type APIRequest struct {
	At         time.Time
	Subject    string
	Role       string
	Method     string
	Route      string
	Path       string
	Folio      string
	Status     int
	Duration   time.Duration
	PIIInClear bool
}

// AccessLog writes API requests to api_requests in batches from a bounded
// buffer: Record never blocks a request; when the buffer is full the row is
// dropped and counted.
type AccessLog struct {
	Conn     driver.Conn
	Log      *slog.Logger
	Every    time.Duration // flush interval (default 1s)
	MaxBatch int           // rows per insert (default 5000)

	ch      chan APIRequest
	dropped atomic.Int64
	wg      sync.WaitGroup
	stop    context.CancelFunc
}

// Start begins flushing; Close flushes what is left and stops.
func (a *AccessLog) Start(buffer int) {
	if a.Every == 0 {
		a.Every = time.Second
	}
	if a.MaxBatch == 0 {
		a.MaxBatch = 5000
	}
	a.ch = make(chan APIRequest, buffer)
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.wg.Add(1)
	go a.loop(ctx)
}

// Record queues r, or drops it when the buffer is full.
func (a *AccessLog) Record(r APIRequest) {
	select {
	case a.ch <- r:
	default:
		a.dropped.Add(1)
	}
}

// Dropped is how many rows a full buffer dropped.
func (a *AccessLog) Dropped() int64 { return a.dropped.Load() }

// Close writes the queued rows and stops.
func (a *AccessLog) Close() {
	a.stop()
	a.wg.Wait()
}

func (a *AccessLog) loop(ctx context.Context) {
	defer a.wg.Done()
	t := time.NewTicker(a.Every)
	defer t.Stop()
	var batch []APIRequest
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.write(fctx, batch); err != nil && a.Log != nil {
			a.Log.Error("api access log: rows lost", "rows", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case r := <-a.ch:
			batch = append(batch, r)
			if len(batch) >= a.MaxBatch {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-a.ch:
					batch = append(batch, r)
				default:
					flush()
					return
				}
			}
		}
	}
}

func (a *AccessLog) write(ctx context.Context, rows []APIRequest) error {
	b, err := a.Conn.PrepareBatch(ctx, `INSERT INTO api_requests (at, subject, role, method, route, path, folio, status, duration_us, pii_clear)`)
	if err != nil {
		return classify(err)
	}
	for _, r := range rows {
		var pii uint8
		if r.PIIInClear {
			pii = 1
		}
		us := r.Duration.Microseconds()
		if us > 1<<32-1 {
			us = 1<<32 - 1
		}
		if err := b.Append(r.At.UTC().Truncate(time.Second), r.Subject, r.Role, r.Method, r.Route, r.Path, r.Folio,
			uint16(r.Status), uint32(us), pii); err != nil {
			return err
		}
	}
	return classify(b.Send())
}
