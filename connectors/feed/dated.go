package feed

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Dated narrows a Store to the files dated within [From, To] and lists
// them in date order: a listed file's ModTime is replaced by its date, so a
// Source (which loads in ModTime order) loads the oldest day first, however
// the files were copied in. It is meant for backfills of a folder of
// history; a Store that files keep arriving in wants real ModTimes.
//
// A file's date comes from its name: YYYY-MM-DD, YYYYMMDD or DD-Mon-YYYY
// (NAVAll_2026-08-18.txt, NAVAll_20260818.txt, NAV_18-Aug-2026.txt); a name
// with two dates is a range (NAVHistory_2023-01-02_2026-08-18.txt), kept
// when it overlaps [From, To] and ordered by its first day. A name without
// a date is dated by DateOf (for example from the file's content); with no
// DateOf, or when DateOf finds nothing, the file is left out.
type Dated struct {
	Store
	From, To fund.Date // zero: unbounded
	// DateOf dates a file whose name has no date: the first and last day
	// it holds. A zero lo leaves the file out.
	DateOf func(ctx context.Context, name string) (lo, hi fund.Date, err error)

	cache map[FileInfo]span // DateOf's answers, by name, size and mtime
}

type span struct{ lo, hi fund.Date }

// List returns the files in range, each with ModTime set to its first day.
func (d *Dated) List(ctx context.Context) ([]FileInfo, error) {
	all, err := d.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, f := range all {
		if strings.HasSuffix(f.Name, ".done") || strings.HasPrefix(f.Name, ".") {
			continue
		}
		lo, hi, ok := NameDates(f.Name)
		sp := span{lo, hi}
		if !ok {
			if sp, err = d.dateOf(ctx, f); err != nil {
				return nil, err
			}
			if sp.lo.IsZero() {
				continue
			}
		}
		if (!d.From.IsZero() && sp.hi.Before(d.From)) || (!d.To.IsZero() && sp.lo.After(d.To)) {
			continue
		}
		f.ModTime = sp.lo.Time()
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.Before(out[j].ModTime)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (d *Dated) dateOf(ctx context.Context, f FileInfo) (span, error) {
	if d.DateOf == nil {
		return span{}, nil
	}
	if sp, ok := d.cache[f]; ok {
		return sp, nil
	}
	lo, hi, err := d.DateOf(ctx, f.Name)
	if err != nil {
		return span{}, err
	}
	if hi.Before(lo) {
		hi = lo
	}
	if d.cache == nil {
		d.cache = map[FileInfo]span{}
	}
	d.cache[f] = span{lo, hi}
	return span{lo, hi}, nil
}

var nameDateRe = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})|(\d{4})(\d{2})(\d{2})|(\d{2})-([A-Za-z]{3})-(\d{4})`)

// NameDates finds the dates in a file name: one date, or the first and last
// of a range. ok is false when the name has no valid date.
func NameDates(name string) (lo, hi fund.Date, ok bool) {
	var ds []fund.Date
	for _, m := range nameDateRe.FindAllStringSubmatch(name, -1) {
		var t time.Time
		var err error
		switch {
		case m[1] != "":
			t, err = time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3])
		case m[4] != "":
			t, err = time.Parse("20060102", m[4]+m[5]+m[6])
		default:
			var d fund.Date
			if d, err = fund.ParseDMY(m[7] + "-" + m[8] + "-" + m[9]); err == nil {
				t = d.Time()
			}
		}
		if err == nil {
			ds = append(ds, fund.DateOf(t))
		}
	}
	if len(ds) == 0 {
		return fund.Date{}, fund.Date{}, false
	}
	lo, hi = ds[0], ds[len(ds)-1]
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	return lo, hi, true
}
