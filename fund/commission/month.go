package commission

import (
	"errors"
	"sort"
	"strings"

	"github.com/fundflow/fundflow/fund"
)

// Line is a payee's trail over a period from one bucket: a root ARN's
// accruals (Bucket = the ARN), or those held because the ARN was not in
// force (Bucket "held:<ARN>"). Exact is summed without rounding; Amount is
// the payee's part of the bucket's total rounded once (Allocate). A payee
// "held:<id>" is held, with Reason.
type Line struct {
	Bucket string      `json:"bucket"`
	Payee  string      `json:"payee"`
	Exact  Accrual     `json:"exact"` // shown to 10 decimals
	Amount fund.Amount `json:"amount"`
	Reason string      `json:"reason,omitempty"`
}

// Bucket returns the account a day's accrual through arn posts to: the ARN
// itself, or "held:<ARN>" with the reason when the ARN is not in force that
// day (its commission is held, never paid to another ARN), and the split of
// the bucket down the hierarchy in force that day.
func Bucket(h *Hierarchy, arn string, day fund.Date) (bucket string, split []PayeeShare, reason string, err error) {
	split, err = h.Split(arn, day)
	if errors.Is(err, ErrNoValidARN) {
		return HeldPrefix + arn, []PayeeShare{{HeldPrefix + arn, hundred}}, err.Error(), nil
	}
	return arn, split, "", err
}

// DayPosting is what a day posts to the ledger for a bucket so that a month's
// postings add up to the month's accruals rounded once: the running total
// through the day rounded half-up, minus what the month's earlier days posted
// (cumBefore: their exact accruals; postedBefore: their postings).
func DayPosting(cumBefore Accrual, postedBefore fund.Amount, day Accrual) fund.Amount {
	return cumBefore.Add(day).Amount().Sub(postedBefore)
}

// BucketDay is a day's exact accruals through one ARN as posted: to the ARN's
// bucket, or to "held:<ARN>".
type BucketDay struct {
	Day     fund.Date
	ARN     string
	Bucket  string
	Accrual Accrual
}

// PayoutLines turns a period's daily accruals into payout lines: each day's
// accrual goes to its bucket (Bucket) and BucketLines splits and rounds.
func PayoutLines(days []DayAccrual, h *Hierarchy) ([]Line, error) {
	bds := make([]BucketDay, 0, len(days))
	for _, d := range days {
		bucket, _, _, err := Bucket(h, d.Holding.ARN, d.Day)
		if err != nil {
			return nil, err
		}
		bds = append(bds, BucketDay{Day: d.Day, ARN: d.Holding.ARN, Bucket: bucket, Accrual: d.Accrual})
	}
	return BucketLines(bds, h)
}

// BucketLines splits each day's accruals of a bucket by the hierarchy in
// force that day (a held bucket is all held), sums them exactly per (bucket,
// payee), and rounds each bucket's total once, allocated across its payees
// (LargestRemainder). So a bucket's lines add up to its accruals rounded
// once, which is also what its days posted (DayPosting). An ARN that is not
// registered on a day of a bucket that is not held (its registration was
// changed after the accrual) is held within the bucket. Lines are sorted by
// bucket and payee.
func BucketLines(days []BucketDay, h *Hierarchy) ([]Line, error) {
	type key struct{ bucket, payee string }
	sums := map[key]*Line{}
	for _, d := range days {
		if d.Accrual.IsZero() {
			continue
		}
		var split []PayeeShare
		reason := ""
		if strings.HasPrefix(d.Bucket, HeldPrefix) {
			split, reason = []PayeeShare{{d.Bucket, hundred}}, "ARN "+d.ARN+" not registered on "+d.Day.String()
		} else {
			var err error
			split, err = h.Split(d.ARN, d.Day)
			if errors.Is(err, ErrNoValidARN) {
				split, reason = []PayeeShare{{HeldPrefix + d.ARN, hundred}}, err.Error()
			} else if err != nil {
				return nil, err
			}
		}
		for _, s := range split {
			k := key{d.Bucket, s.Payee}
			l := sums[k]
			if l == nil {
				l = &Line{Bucket: d.Bucket, Payee: s.Payee}
				sums[k] = l
			}
			l.Exact = l.Exact.Add(d.Accrual.Share(s.Pct))
			if held, ok := strings.CutPrefix(s.Payee, HeldPrefix); ok && l.Reason == "" {
				l.Reason = reason
				if l.Reason == "" {
					l.Reason = "registration of " + held + " not in force on " + d.Day.String()
				}
			}
		}
	}
	lines := make([]Line, 0, len(sums))
	for _, l := range sums {
		lines = append(lines, *l)
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].Bucket != lines[j].Bucket {
			return lines[i].Bucket < lines[j].Bucket
		}
		return lines[i].Payee < lines[j].Payee
	})
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && lines[j].Bucket == lines[i].Bucket {
			j++
		}
		parts := make([]Part, 0, j-i)
		for _, l := range lines[i:j] {
			parts = append(parts, Part{l.Payee, l.Exact})
		}
		_, amts, err := Allocate(parts)
		if err != nil {
			return nil, err
		}
		for k := range amts {
			lines[i+k].Amount = amts[k]
		}
		i = j
	}
	return lines, nil
}

// EventBucketDay is a day's event amounts of one kind through one ARN, as
// posted to its bucket.
type EventBucketDay struct {
	Day    fund.Date
	ARN    string
	Bucket string
	Kind   EventKind
	Amount fund.Amount
	// SplitDay is the day whose hierarchy splits the amount: a clawback's
	// upfront's day, so what is taken back comes from the payees the upfront
	// was paid to, in the same shares (zero: Day).
	SplitDay fund.Date
}

// EventPayLine is a payee's part of a bucket's month of one kind of event
// amount (a clawback line is what is taken back).
type EventPayLine struct {
	Bucket string      `json:"bucket"`
	Payee  string      `json:"payee"`
	Kind   EventKind   `json:"kind"`
	Amount fund.Amount `json:"amount"`
}

// EventLines splits a month's event amounts down the hierarchy in force on
// each one's SplitDay (a clawback: its upfront's day), else its day (a held
// bucket is all held), exactly, and allocates each
// (bucket, kind) total across its payees by largest remainder: the amounts
// are already paise, so the lines add up to them exactly. Sorted by bucket,
// kind and payee.
func EventLines(days []EventBucketDay, h *Hierarchy) ([]EventPayLine, error) {
	type gk struct {
		bucket string
		kind   EventKind
	}
	exact := map[gk]map[string]Accrual{}
	for _, d := range days {
		if d.Amount.IsZero() {
			continue
		}
		split := []PayeeShare{{d.Bucket, hundred}}
		if !strings.HasPrefix(d.Bucket, HeldPrefix) {
			on := d.Day
			if !d.SplitDay.IsZero() {
				on = d.SplitDay
			}
			s, err := h.Split(d.ARN, on)
			if errors.Is(err, ErrNoValidARN) {
				s = []PayeeShare{{HeldPrefix + d.ARN, hundred}}
			} else if err != nil {
				return nil, err
			}
			split = s
		}
		k := gk{d.Bucket, d.Kind}
		if exact[k] == nil {
			exact[k] = map[string]Accrual{}
		}
		basis := AccrualFromBasis(d.Amount.Decimal().Mul(basisDivisor)) // rupees as an Accrual: exact
		for _, s := range split {
			exact[k][s.Payee] = exact[k][s.Payee].Add(basis.Share(s.Pct))
		}
	}
	keys := make([]gk, 0, len(exact))
	for k := range exact {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].bucket != keys[j].bucket {
			return keys[i].bucket < keys[j].bucket
		}
		return keys[i].kind < keys[j].kind
	})
	var out []EventPayLine
	for _, k := range keys {
		payees := make([]string, 0, len(exact[k]))
		for p := range exact[k] {
			payees = append(payees, p)
		}
		sort.Strings(payees)
		parts := make([]Part, len(payees))
		for i, p := range payees {
			parts[i] = Part{p, exact[k][p]}
		}
		_, amts, err := Allocate(parts)
		if err != nil {
			return nil, err
		}
		for i, p := range payees {
			out = append(out, EventPayLine{Bucket: k.bucket, Payee: p, Kind: k.kind, Amount: amts[i]})
		}
	}
	return out, nil
}
