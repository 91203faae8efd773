package managed

import (
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
)

// ErrPerfChangeNotCrystallised refuses a change of the performance % or
// hurdle while a gain at the old terms is not crystallised.
var ErrPerfChangeNotCrystallised = errors.New("the performance terms change before the gain at the old terms is crystallised")

// DatedPerfTerms are an account's performance terms from a date.
type DatedPerfTerms struct {
	From fund.Date
	PerfTerms
}

// PerfChange is what the rule for a change of performance terms reads of
// an account (a pool or a wallet): its terms by date, the new ones, and
// two lookups done only when the terms do change.
type PerfChange struct {
	Terms []DatedPerfTerms // by date
	Next  DatedPerfTerms
	// Valued reads the account's latest valuation (a pool's NAV) dated
	// day or before (ok false: none).
	Valued func(day fund.Date) (valued fund.Date, ok bool, err error)
	// Crystallised reads its high-water mark's date (found false: never
	// crystallised).
	Crystallised func() (asOf fund.Date, found bool, err error)
}

// PerfChangeRefusal says why a change is refused, for the caller's error
// (it names its account and the bill to run).
type PerfChangeRefusal struct {
	Old, Next    DatedPerfTerms
	Through      fund.Date // the day to crystallise through: the day before Next.From
	Crystallised fund.Date // zero: never
}

func (r *PerfChangeRefusal) String() string {
	crystallised := "never"
	if !r.Crystallised.IsZero() {
		crystallised = "through " + r.Crystallised.String()
	}
	return fmt.Sprintf("performance fee of %s%% (hurdle %s%%) is crystallised %s; terms of %s%% (hurdle %s%%) from %s need it crystallised through %s first",
		r.Old.Percent, r.Old.HurdlePercent, crystallised, r.Next.Percent, r.Next.HurdlePercent, r.Next.From, r.Through)
}

// CheckPerfChange is the one rule for pools and wallets (reviews r35 M3,
// r36 M2): terms from a date that change the performance % or the hurdle
// in effect the day before (a performance fee of more than 0 %) are
// refused (a non-nil refusal) unless the account was crystallised through
// that day, or has no valuation under those terms yet. The performance fee
// is worked out once, at the crystallisation, over the gain since the
// mark, at the terms then: a change mid-year applied the new rate to the
// whole year's gain (10 % to 30 % on 1 Mar charged 3,000.00 instead of
// 1,000.00 on a 10,000.00 gain; 20 % to 0 % charged nothing). Refusing is
// the simple rule that cannot bill a day at the wrong rate: crystallise
// through the day before, then change the terms from the day after.
func CheckPerfChange(c PerfChange) (*PerfChangeRefusal, error) {
	day := c.Next.From.AddDays(-1)
	var prev *DatedPerfTerms
	var since fund.Date // first day of the unbroken run of performance terms through day
	for i, t := range c.Terms {
		if t.From.After(day) {
			break
		}
		prev = &c.Terms[i]
		switch {
		case t.Percent.Sign() <= 0:
			since = fund.Date{}
		case since.IsZero():
			since = t.From
		}
	}
	if prev == nil || prev.Percent.Sign() <= 0 ||
		(prev.Percent.Equal(c.Next.Percent) && prev.HurdlePercent.Equal(c.Next.HurdlePercent)) {
		return nil, nil // no performance fee before, or the same one
	}
	if v, ok, err := c.Valued(day); err != nil {
		return nil, err
	} else if !ok || v.Before(since) {
		return nil, nil // no valuation under the old terms: no gain at them
	}
	asOf, found, err := c.Crystallised()
	if err != nil {
		return nil, err
	}
	if found && asOf == day {
		return nil, nil
	}
	r := &PerfChangeRefusal{Old: *prev, Next: c.Next, Through: day}
	if found {
		r.Crystallised = asOf
	}
	return r, nil
}
