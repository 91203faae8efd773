// Package holidays loads the business-day calendar from holiday files (one
// DD-Mon-YYYY date a line, the exchange/RTA lists): the file side of
// fund.ParseHolidays, which stays free of I/O. Every command and job that
// takes holiday files (config or --holidays flags) loads them here.
package holidays

import (
	"fmt"
	"os"

	"github.com/fundflow/fundflow/fund"
)

// Read reads one holiday file; an error names the file.
func Read(path string) ([]fund.Date, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ds, err := fund.ParseHolidays(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ds, nil
}

// Calendar builds the business-day calendar from holiday files. It covers
// the years the files hold holidays in; a date in another year is an error
// (fund.OutOfRangeError). No files at all: weekends only, unbounded.
func Calendar(paths ...string) (*fund.Calendar, error) {
	if len(paths) == 0 {
		return fund.NewCalendar(), nil
	}
	var all []fund.Date
	for _, p := range paths {
		ds, err := Read(p)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	return fund.HolidayCalendar(all...), nil
}
