package clickhouse_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

func TestAccessLogWritesEveryRequest(t *testing.T) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	a := &clickhouse.AccessLog{Conn: conn, Every: time.Hour, MaxBatch: 2}
	a.Start(10)
	at := time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)
	for i, r := range []clickhouse.APIRequest{
		{At: at, Subject: "asha", Role: "investor", Method: "GET", Route: "/v1/folios/{folio}/portfolio", Path: "/v1/folios/F-1/portfolio", Folio: "F-1", Status: 200, Duration: 1500 * time.Microsecond},
		{At: at, Subject: "ben", Role: "investor", Method: "GET", Route: "/v1/folios/{folio}/portfolio", Path: "/v1/folios/F-1/portfolio", Folio: "F-1", Status: 404},
		{At: at, Subject: "auditor", Role: "compliance", Method: "GET", Route: "/v1/exports/{kind}", Path: "/v1/exports/fatca-crs", Status: 200, PIIInClear: true},
	} {
		r.At = r.At.Add(time.Duration(i) * time.Second)
		a.Record(r)
	}
	a.Close() // two rows went as a full batch, the third at Close
	var n, clear, notFound uint64
	if err := conn.QueryRow(ctx, `SELECT count(), sum(pii_clear), countIf(status = 404 AND subject = 'ben' AND folio = 'F-1') FROM api_requests`).Scan(&n, &clear, &notFound); err != nil {
		t.Fatal(err)
	}
	if n != 3 || clear != 1 || notFound != 1 || a.Dropped() != 0 {
		t.Fatalf("rows %d, pii_clear %d, ben's 404 %d, dropped %d", n, clear, notFound, a.Dropped())
	}
	// A full buffer drops instead of blocking.
	b := &clickhouse.AccessLog{Conn: conn, Every: time.Hour, MaxBatch: 1000}
	b.Start(1)
	b.Close()
	for range 3 {
		b.Record(clickhouse.APIRequest{At: at})
	}
	if b.Dropped() < 2 {
		t.Fatalf("dropped %d of 3 into a stopped log with a buffer of 1", b.Dropped())
	}
}
