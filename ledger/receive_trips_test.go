package ledger_test

import (
	"context"
	"fmt"
	"testing"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
)

// A group commit's round trips to Postgres do not grow with its size when
// its events are on different payments and orders: what can be asked for
// the whole batch (the orders the payments pay for, their legs, moving the
// payments forward) is asked once. Counted by a pgx tracer over two batches
// of captured payments, 10 and 40, each paying for a purchase on its own
// folio whose NAV is there (so each is allotted). Before the batch reads it
// was 5 round trips per event.
func TestReceiveManyRoundTripsPerEvent(t *testing.T) {
	m := newEnv(t)
	trips := &roundTrips{}
	cfg, err := pgxpool.ParseConfig(m.app)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = trips
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error { pgxdecimal.Register(c.TypeMap()); return nil }
	traced, err := pgxpool.NewWithConfig(m.ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer traced.Close()
	svc := &ledger.Service{Store: pgstore.New(traced), Calendar: m.svc.Calendar, Audit: true}
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.nav("E1", "2026-08-20", "20.0000")
	at := ist("2026-08-20T10:00:00+05:30")
	batch := func(tag string, n int) int64 {
		var evs []ledger.InboxEvent
		for i := range n {
			id := fmt.Sprintf("%s-%d", tag, i)
			m.purchase(id, "F"+id, "E1", "100.00", "2026-08-20T09:00:00+05:30")
			evs = append(evs, event(t, "e"+id, rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: 10000, At: at}.Body()))
		}
		trips.n.Store(0)
		rcs, err := svc.ReceiveMany(m.ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, rc := range rcs {
			if len(rc.Allotted) != 1 {
				t.Fatalf("%s event %d: %+v, want its order allotted", tag, i, rc)
			}
		}
		return trips.n.Load()
	}
	small, large := batch("A", 10), batch("B", 40)
	t.Logf("round trips: %d for 10 events, %d for 40", small, large)
	if large != small {
		t.Errorf("%d round trips for 10 events but %d for 40: %.2f per extra event, want none", small, large, float64(large-small)/30)
	}
}
