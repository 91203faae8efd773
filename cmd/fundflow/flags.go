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
