package commissions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// Position is a folio's holding of a scheme at the end of a day through a
// distributor, with the NAV that values it (the scheme's latest on or before
// the day: carried over holidays). HasNAV is false when the scheme has no NAV
// yet: it cannot be valued and is counted, not accrued.
type Position struct {
	Holding commission.Holding
	AMC     string
	NAV     fund.NAV
	NAVDate fund.Date
	HasNAV  bool
}

// Row is one trail_accruals row: a day's accrual and the bucket it posts to.
type Row struct {
	commission.DayAccrual
	AMC        string
	Bucket     string
	HeldReason string
}

// MonthSoFar is a bucket's month before the day: its exact accruals and what
// its days posted.
type MonthSoFar struct {
	Basis  decimal.Decimal
	Posted fund.Amount
}

// Entry is a journal entry of one day and bucket: the exact accruals and the
// amount posted (receivable debit, the bucket's accrued credit).
type Entry struct {
	Bucket string
	Basis  decimal.Decimal
	Amount fund.Amount
}

// ErrDayOrder is returned for a day whose previous day of the month is not
// accrued yet: the month's running totals would skip it.
var ErrDayOrder = errors.New("the previous day of the month is not accrued")

// Store is what the service needs from storage (commissions/pgstore).
type Store interface {
	Table(ctx context.Context) (*commission.Table, error)
	Hierarchy(ctx context.Context) (*commission.Hierarchy, error)
	// Positions returns the day's positions of folios with a distributor.
	Positions(ctx context.Context, day fund.Date) ([]Position, error)
	// CommitDay writes the day in one transaction: unless the day is
	// already accrued (done true, nothing written), it checks the previous
	// day is (ErrDayOrder), reads the buckets' month so far, asks post for
	// the entries, and writes rows, entries, their postings, the day's
	// checkpoint and an audit row.
	CommitDay(ctx context.Context, day fund.Date, rows []Row, post func(map[string]MonthSoFar) ([]Entry, error)) (done bool, err error)
}

// Service accrues and pays commissions.
type Service struct {
	Store Store
	Log   *slog.Logger
}

// DayResult says what a day's accrual did.
type DayResult struct {
	Day           fund.Date
	AlreadyDone   bool
	Rows          int
	NoNAV         int // positions without a NAV on or before the day
	Held          int // rows whose ARN was not registered that day
	Basis         decimal.Decimal
	Posted        fund.Amount
	BucketsPosted int
}

// AccrueDay accrues one day's trail for every distributor, folio and scheme
// and posts it, or does nothing if the day is already accrued.
func (s *Service) AccrueDay(ctx context.Context, day fund.Date) (DayResult, error) {
	res := DayResult{Day: day}
	tb, err := s.Store.Table(ctx)
	if err != nil {
		return res, fmt.Errorf("accrue %s: brokerage table: %w", day, err)
	}
	h, err := s.Store.Hierarchy(ctx)
	if err != nil {
		return res, fmt.Errorf("accrue %s: hierarchy: %w", day, err)
	}
	pos, err := s.Store.Positions(ctx, day)
	if err != nil {
		return res, fmt.Errorf("accrue %s: positions: %w", day, err)
	}
	rows, noNAV, err := ComputeDay(tb, h, day, pos)
	if err != nil {
		return res, fmt.Errorf("accrue %s: %w", day, err)
	}
	res.NoNAV = noNAV
	dayByBucket := map[string]decimal.Decimal{}
	for _, r := range rows {
		dayByBucket[r.Bucket] = dayByBucket[r.Bucket].Add(r.Accrual.Basis())
		res.Basis = res.Basis.Add(r.Accrual.Basis())
		if r.HeldReason != "" {
			res.Held++
		}
	}
	res.Rows = len(rows)
	var entries []Entry
	done, err := s.Store.CommitDay(ctx, day, rows, func(before map[string]MonthSoFar) ([]Entry, error) {
		entries = DayEntries(dayByBucket, before)
		return entries, nil
	})
	if err != nil {
		return res, fmt.Errorf("accrue %s: %w", day, err)
	}
	res.AlreadyDone = done
	for _, e := range entries {
		res.Posted = res.Posted.Add(e.Amount)
		if !e.Amount.IsZero() {
			res.BucketsPosted++
		}
	}
	if s.Log != nil {
		s.Log.Info("trail accrued", "day", day, "rows", res.Rows, "already_done", done, "no_nav", res.NoNAV,
			"held", res.Held, "posted", res.Posted.String())
	}
	return res, nil
}

// ComputeDay applies the rules to a day's positions: the same code for the
// job and for a dry run. It returns the rows (sorted by ARN, folio, scheme)
// and how many positions had no NAV.
func ComputeDay(tb *commission.Table, h *commission.Hierarchy, day fund.Date, pos []Position) ([]Row, int, error) {
	rows := make([]Row, 0, len(pos))
	noNAV := 0
	type bucketOf struct {
		bucket, reason string
	}
	buckets := map[string]bucketOf{} // one hierarchy lookup per ARN
	for _, p := range pos {
		if !p.HasNAV {
			noNAV++
			continue
		}
		aum := commission.AUM(p.Holding.Units, p.NAV)
		rate := tb.TrailPct(p.Holding.Scheme, p.Holding.Plan, day, aum)
		b, ok := buckets[p.Holding.ARN]
		if !ok {
			bucket, _, reason, err := commission.Bucket(h, p.Holding.ARN, day)
			if err != nil {
				return nil, 0, err
			}
			b = bucketOf{bucket, reason}
			buckets[p.Holding.ARN] = b
		}
		rows = append(rows, Row{DayAccrual: commission.DayAccrual{Day: day, Holding: p.Holding, NAV: p.NAV, NAVDate: p.NAVDate,
			AUM: aum, TrailPct: rate, Accrual: commission.DailyTrail(aum, rate)}, AMC: p.AMC, Bucket: b.bucket, HeldReason: b.reason})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].Holding, rows[j].Holding
		if a.ARN != b.ARN {
			return a.ARN < b.ARN
		}
		if a.Folio != b.Folio {
			return a.Folio < b.Folio
		}
		return a.Scheme < b.Scheme
	})
	return rows, noNAV, nil
}

// DayEntries returns the day's journal entries: per bucket with accruals,
// DayPosting over the bucket's month so far. Every bucket with rows gets an
// entry, with its exact accruals, even when its posting rounds to zero (the
// entry then has no postings; its basis still counts in the month's total).
func DayEntries(day map[string]decimal.Decimal, before map[string]MonthSoFar) []Entry {
	var out []Entry
	for b, basis := range day {
		m := before[b]
		amt := commission.DayPosting(commission.AccrualFromBasis(m.Basis), m.Posted, commission.AccrualFromBasis(basis))
		out = append(out, Entry{Bucket: b, Basis: basis, Amount: amt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out
}
