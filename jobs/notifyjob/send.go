package notifyjob

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Sender is the sending side: it settles what a killed run left 'sending',
// sends what is due and copies the statuses reached to ClickHouse.
type Sender struct {
	Store pgstore.Store
	D     *notify.Deliverer
	CH    driver.Conn // nil: no notification_facts
	Batch int         // facts per pass; 0: DefaultBatch
}

// Summary is what sending passes did.
type Summary struct {
	Confirmed, Requeued, Interrupted int // rows found 'sending' at the start of a pass
	Planned                          int // events planned (notify run)
	Attempts, Facts                  int
}

// Pass settles, sends until nothing is due and copies the facts. The
// caller holds the sender's lock (Single): settling trusts that no other
// process is sending.
func (s Sender) Pass(ctx context.Context) (Summary, error) {
	var sum Summary
	var err error
	if sum.Confirmed, sum.Requeued, sum.Interrupted, err = s.D.Reconcile(ctx); err != nil {
		return sum, err
	}
	if sum.Attempts, err = s.D.Drain(ctx); err != nil {
		return sum, err
	}
	for s.CH != nil {
		batch := s.Batch
		if batch <= 0 {
			batch = DefaultBatch
		}
		n, err := s.Store.FactsPass(ctx, s.CH, batch)
		if err != nil {
			return sum, err
		}
		sum.Facts += n
		if n == 0 {
			break
		}
	}
	return sum, nil
}

// Single is Pass under the sender's single-runner lock (the one `notify
// run` takes): a pass while another process sends is skipped.
func (s Sender) Single(ctx context.Context, l supervise.Locker) (Summary, error) {
	var sum Summary
	err := supervise.Single(ctx, l, Name, func(ctx context.Context) (err error) {
		sum, err = s.Pass(ctx)
		return err
	})
	return sum, err
}

// Service is the whole pipeline as serve (and `notify run --follow`) runs
// it: the planner (on Kafka, else the outbox every Every), the sender every
// Every, and the receipt poll every ReceiptsEvery, each pass one run of its
// job in the job metrics (supervise.Every).
type Service struct {
	PG            *postgres.Store
	Planner       Planner
	Sender        Sender
	Receipts      *Receipts // nil: no poll (no SMS gateway)
	Every         time.Duration
	ReceiptsEvery time.Duration
	Metrics       *pipelines.Metrics
	Log           *slog.Logger
}

// Serve runs until ctx ends or a part fails (a Kafka consumer that cannot
// go on); a failed pass is logged and tried again at the next tick.
func (s Service) Serve(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	every := s.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	g, ctx := supervise.NewGroup(ctx, "notifications", log)
	defer g.Stop()
	if len(s.Planner.Brokers) > 0 {
		ps, err := s.Planner.Kafka()
		if err != nil {
			return err
		}
		for _, p := range ps {
			g.Go(p.Name, func() error {
				_, err := p.Run(ctx)
				return err
			})
		}
	} else {
		g.Go(PlanName, func() error {
			return supervise.Every(ctx, PlanName, every, s.Metrics, log, func(ctx context.Context) error {
				_, err := s.Planner.Outbox(false).Run(ctx)
				return err
			})
		})
	}
	g.Go(Name, func() error {
		return supervise.Every(ctx, Name, every, s.Metrics, log, func(ctx context.Context) error {
			sum, err := s.Sender.Single(ctx, s.PG)
			if sum.Attempts > 0 || sum.Confirmed+sum.Requeued+sum.Interrupted > 0 {
				log.Info("notifications sent", "attempts", sum.Attempts, "confirmed", sum.Confirmed, "requeued", sum.Requeued,
					"interrupted", sum.Interrupted, "facts", sum.Facts)
			}
			return err
		})
	})
	if r := s.Receipts; r != nil {
		re := s.ReceiptsEvery
		if re <= 0 {
			re = time.Minute
		}
		g.Go(DLRName, func() error {
			return supervise.Every(ctx, DLRName, re, s.Metrics, log, func(ctx context.Context) error {
				_, err := r.Pass(ctx)
				return err
			})
		})
	}
	return g.Wait()
}
