package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/fund"
)

// LatestDates is what nav_history holds of each scheme's newest NAV date:
// read once when a run starts, moved forward by NAVHistory.Write as
// ClickHouse acknowledges rows. A scheme's newest date is a row
// nav_history holds, so it proves that (scheme, date) is there; it is what
// lets nav-ingest skip a NAV published again unchanged without starving a
// nav_history that is being rebuilt (empty, it holds nothing).
type LatestDates struct {
	mu     sync.RWMutex
	latest map[string]fund.Date
	// newest is the newest date of all: a row dated after it is nobody's
	// newest, which answers Holds for most rows of a backfill (each day
	// after every stored one) without hashing the scheme code.
	newest fund.Date
}

// LoadLatestDates reads every scheme's newest date in nav_history (one
// scan of two columns).
func LoadLatestDates(ctx context.Context, conn driver.Conn) (*LatestDates, error) {
	rows, err := conn.Query(ctx, `SELECT scheme_code, max(nav_date) FROM nav_history GROUP BY scheme_code`)
	if err != nil {
		return nil, classify(fmt.Errorf("clickhouse: latest NAV dates: %w", err))
	}
	defer rows.Close()
	l := &LatestDates{latest: map[string]fund.Date{}}
	for rows.Next() {
		var code string
		var d time.Time
		if err := rows.Scan(&code, &d); err != nil {
			return nil, fmt.Errorf("clickhouse: latest NAV dates: %w", err)
		}
		l.latest[code] = fund.DateOf(d)
		l.newest = later(l.newest, fund.DateOf(d))
	}
	return l, classify(rows.Err())
}

// Holds reports whether nav_history holds rec's (scheme, date) as the
// scheme's newest. The NAV itself is Postgres' to compare: both stores get
// the same rows.
func (l *LatestDates) Holds(rec fund.NAVRecord) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if rec.Date.Compare(l.newest) > 0 {
		return false
	}
	d, ok := l.latest[rec.SchemeCode]
	return ok && d == rec.Date
}

// saw moves the schemes of rows ClickHouse acknowledged forward.
func (l *LatestDates) saw(rows []fund.NAVLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range rows {
		if d, ok := l.latest[n.SchemeCode]; !ok || n.Date.After(d) {
			l.latest[n.SchemeCode] = n.Date
			l.newest = later(l.newest, n.Date)
		}
	}
}

// schemeDate is a scheme's newest date ClickHouse acknowledged.
type schemeDate struct {
	code string
	date fund.Date
}

// sawDates moves schemes forward to the dates given (each scheme once).
func (l *LatestDates) sawDates(dates []schemeDate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sd := range dates {
		code, d := sd.code, sd.date
		if cur, ok := l.latest[code]; !ok || d.After(cur) {
			l.latest[code] = d
			l.newest = later(l.newest, d)
		}
	}
}

func later(a, b fund.Date) fund.Date {
	if b.After(a) {
		return b
	}
	return a
}
