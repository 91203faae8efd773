// Package analytics is the analysts' side of ClickHouse: it keeps the
// transaction facts equal to the Postgres ledger (a per-day comparison of
// counts and sums, and a resync that rebuilds facts from the ledger), and
// refreshes the models built on them.
//
// The ledger is the source of truth; the facts are a copy. Two interfaces
// name what each side is asked: Ledger (analytics/pgstore) and Facts
// (analytics/chstore).
package analytics

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// DayKey is the grain of the comparison: a NAV date, a scheme and a kind of
// ledger transaction (purchase, redemption, switch_out, switch_in,
// switch_payout).
type DayKey struct {
	Date   fund.Date `json:"date"`
	Scheme string    `json:"scheme_code"`
	Kind   string    `json:"kind"`
}

// DayTotal is what the two sides must agree on for a key.
type DayTotal struct {
	Count  int64           `json:"count"`
	Amount decimal.Decimal `json:"amount"`
	Units  decimal.Decimal `json:"units"`
}

func (t DayTotal) equal(o DayTotal) bool {
	return t.Count == o.Count && t.Amount.Equal(o.Amount) && t.Units.Equal(o.Units)
}

// Days are the totals of one side over a range.
type Days map[DayKey]DayTotal

// Diff is a key whose totals differ (a side without the key has zeros).
type Diff struct {
	DayKey
	Ledger DayTotal `json:"ledger"`
	Facts  DayTotal `json:"facts"`
}

// Compare lists the keys whose totals differ, by date, scheme and kind.
func Compare(ledger, facts Days) []Diff {
	var out []Diff
	for k, l := range ledger {
		if f := facts[k]; !l.equal(f) {
			out = append(out, Diff{DayKey: k, Ledger: l, Facts: f})
		}
	}
	for k, f := range facts {
		if _, ok := ledger[k]; !ok && !f.equal(DayTotal{}) {
			out = append(out, Diff{DayKey: k, Facts: f})
		}
	}
	slices.SortFunc(out, func(a, b Diff) int {
		return cmp.Or(a.Date.Time().Compare(b.Date.Time()), cmp.Compare(a.Scheme, b.Scheme), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// FactKey identifies one fact row: the transaction within its scheme and
// NAV date (the fact table's sorting key, so a row under another scheme or
// date is a different row).
type FactKey struct {
	TxID   int64
	Scheme string
	Date   fund.Date
}

// Ledger is what the check and the resync read from Postgres.
type Ledger interface {
	// LedgerDays totals ledger_transactions by NAV date, scheme and kind.
	LedgerDays(ctx context.Context, from, to fund.Date) (Days, error)
	// LedgerFacts are the ledger's transactions with NAV dates in [from,
	// to], as the outbox announces them.
	LedgerFacts(ctx context.Context, from, to fund.Date) ([]fund.TransactionCompleted, error)
}

// Facts is what the check and the resync read and write in ClickHouse.
type Facts interface {
	FactDays(ctx context.Context, from, to fund.Date) (Days, error)
	FactKeys(ctx context.Context, from, to fund.Date) ([]FactKey, error)
	// WriteFacts inserts rows; the same transaction again replaces its row.
	WriteFacts(ctx context.Context, txs []fund.TransactionCompleted) error
	// DeleteFacts removes rows and returns when they are gone.
	DeleteFacts(ctx context.Context, keys []FactKey) error
}

// ResyncStats counts what a resync did.
type ResyncStats struct {
	From    fund.Date `json:"from"`
	To      fund.Date `json:"to"`
	Written int       `json:"written"` // ledger transactions (re)written as facts
	Deleted int       `json:"deleted"` // fact rows with no ledger transaction, removed
}

// Resync makes the facts of NAV dates [from, to] the ledger's: every ledger
// transaction is written again (a row already there is replaced by an equal
// one) and every fact row the ledger does not have is deleted. Running it
// twice leaves the same facts.
func Resync(ctx context.Context, l Ledger, f Facts, from, to fund.Date) (ResyncStats, error) {
	st := ResyncStats{From: from, To: to}
	if to.Before(from) {
		return st, fmt.Errorf("analytics: resync %s to %s: the range is empty", from, to)
	}
	txs, err := l.LedgerFacts(ctx, from, to)
	if err != nil {
		return st, err
	}
	keep := make(map[FactKey]bool, len(txs))
	for _, t := range txs {
		d, err := fund.ParseISODate(t.NAVDate)
		if err != nil {
			return st, fmt.Errorf("analytics: transaction %d: %w", t.TxID, err)
		}
		keep[FactKey{t.TxID, t.SchemeCode, d}] = true
	}
	const chunk = 50000 // bounded blocks: a year of a large ledger is millions of rows
	for i := 0; i < len(txs); i += chunk {
		if err := f.WriteFacts(ctx, txs[i:min(i+chunk, len(txs))]); err != nil {
			return st, err
		}
	}
	st.Written = len(txs)
	have, err := f.FactKeys(ctx, from, to)
	if err != nil {
		return st, err
	}
	var extra []FactKey
	for _, k := range have {
		if !keep[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		if err := f.DeleteFacts(ctx, extra); err != nil {
			return st, err
		}
	}
	st.Deleted = len(extra)
	return st, nil
}

// CheckReport is one comparison of the ledger with the facts, and the
// repair when one was asked for.
type CheckReport struct {
	From     fund.Date     `json:"from"`
	To       fund.Date     `json:"to"`
	Keys     int           `json:"keys"` // (date, scheme, kind) keys in the ledger
	Diffs    []Diff        `json:"diffs"`
	Repaired []ResyncStats `json:"repaired,omitempty"` // one resync per day that differed
	After    []Diff        `json:"after,omitempty"`    // the differences left after the repair (none expected)
}

// Check compares the ledger with the facts for NAV dates [from, to]; with
// repair, every day that differs is resynced and compared again.
func Check(ctx context.Context, l Ledger, f Facts, from, to fund.Date, repair bool) (CheckReport, error) {
	rep := CheckReport{From: from, To: to, Diffs: []Diff{}}
	diffs, keys, err := compareRange(ctx, l, f, from, to)
	if err != nil {
		return rep, err
	}
	rep.Diffs, rep.Keys = diffs, keys
	if !repair || len(diffs) == 0 {
		return rep, nil
	}
	var days []fund.Date
	for _, d := range diffs {
		if len(days) == 0 || days[len(days)-1] != d.Date {
			days = append(days, d.Date)
		}
	}
	for _, d := range days {
		st, err := Resync(ctx, l, f, d, d)
		if err != nil {
			return rep, fmt.Errorf("analytics: repair %s: %w", d, err)
		}
		rep.Repaired = append(rep.Repaired, st)
	}
	after, _, err := compareRange(ctx, l, f, from, to)
	if err != nil {
		return rep, err
	}
	rep.After = after
	return rep, nil
}

func compareRange(ctx context.Context, l Ledger, f Facts, from, to fund.Date) ([]Diff, int, error) {
	ld, err := l.LedgerDays(ctx, from, to)
	if err != nil {
		return nil, 0, err
	}
	fd, err := f.FactDays(ctx, from, to)
	if err != nil {
		return nil, 0, err
	}
	d := Compare(ld, fd)
	if d == nil {
		d = []Diff{}
	}
	return d, len(ld), nil
}
