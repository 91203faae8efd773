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

// ARNBucket is where a day's accrual through an ARN posts: the ARN's bucket,
// or "held:<ARN>" with the reason when the ARN is not registered that day
// (commission.Bucket).
type ARNBucket struct {
	ARN, Bucket, Reason string
}

// DayCounts is what the store wrote for a day: its rows, the positions it
// could not value (no NAV on or before the day), the rows held, and the exact
// accruals per bucket.
type DayCounts struct {
	Rows     int
	NoNAV    int
	Held     int
	ByBucket map[string]decimal.Decimal
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
	// CommitDay accrues the day in one transaction, set-based: unless the
	// day is already accrued (done true, nothing written), it checks the
	// previous day is (ErrDayOrder), asks bucketOf for each distributor of
	// record, writes one row per position at the end of the day (units ×
	// the NAV on or before the day × the band of bands its AUM falls in;
	// direct plans and schemes without a band at 0) in one statement, reads
	// the buckets' month so far, asks post for the entries, and writes them,
	// their postings, the day's checkpoint and an audit row.
	CommitDay(ctx context.Context, day fund.Date, bands []commission.Band, bucketOf func(arn string) (ARNBucket, error),
		post func(day map[string]decimal.Decimal, before map[string]MonthSoFar) ([]Entry, error)) (counts DayCounts, done bool, err error)
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
// and posts it, or does nothing if the day is already accrued. The rules
// (the bands in force, each ARN's bucket, each day's posting) are
// fund/commission's; the store applies them to the day's positions in SQL,
// with no round trip per holding.
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
	var entries []Entry
	counts, done, err := s.Store.CommitDay(ctx, day, tb.BandsOn(day), func(arn string) (ARNBucket, error) {
		return BucketOf(h, arn, day)
	}, func(byBucket map[string]decimal.Decimal, before map[string]MonthSoFar) ([]Entry, error) {
		entries = DayEntries(byBucket, before)
		return entries, nil
	})
	if err != nil {
		return res, fmt.Errorf("accrue %s: %w", day, err)
	}
	res.AlreadyDone = done
	res.Rows, res.NoNAV, res.Held = counts.Rows, counts.NoNAV, counts.Held
	for _, b := range counts.ByBucket {
		res.Basis = res.Basis.Add(b)
	}
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

// BucketOf returns the bucket a day's accrual through arn posts to
// (commission.Bucket without the split).
func BucketOf(h *commission.Hierarchy, arn string, day fund.Date) (ARNBucket, error) {
	bucket, _, reason, err := commission.Bucket(h, arn, day)
	return ARNBucket{ARN: arn, Bucket: bucket, Reason: reason}, err
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
