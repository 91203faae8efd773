package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
)

// dateFlag is a YYYY-MM-DD flag; a bad date is a usage error naming the flag.
type dateFlag struct{ fund.Date }

func (d *dateFlag) UnmarshalText(b []byte) (err error) {
	d.Date, err = fund.ParseISODate(string(b))
	return err
}

// timeFlag is an RFC 3339 time flag, with its offset.
type timeFlag struct{ time.Time }

func (t *timeFlag) UnmarshalText(b []byte) (err error) {
	if t.Time, err = time.Parse(time.RFC3339, string(b)); err != nil {
		return fmt.Errorf("%q: want RFC 3339 with an offset, e.g. 2026-08-21T14:59:00+05:30", b)
	}
	return nil
}

// calendar is the business-day calendar of holiday files (one DD-Mon-YYYY
// date a line); a file that cannot be read is bad input.
func calendar(files []string) (*fund.Calendar, error) {
	cal, err := holidays.Calendar(files...)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cal, nil
}

// printJSON writes a command's result as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// closest is the one of known nearest to got by edit distance, when it is
// near enough to be a slip (at most a third of its letters off), else "".
func closest(got string, known []string) string {
	best, bestD := "", len(got)/3+1
	for _, k := range known {
		if d := editDistance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is Levenshtein's distance over bytes.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
