package schedule

import (
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// CheckCivil compares the integer calendar with package time at d.
func CheckCivil(d fund.Date) error {
	t := d.Time()
	n := dayNum(d)
	want := int(t.Unix() / 86400)
	switch {
	case n != want:
		return fmt.Errorf("dayNum(%s) = %d, want %d", d, n, want)
	case fromDayNum(n) != d:
		return fmt.Errorf("fromDayNum(%d) = %s, want %s", n, fromDayNum(n), d)
	case weekdayOf(n) != t.Weekday():
		return fmt.Errorf("weekdayOf(%s) = %s, want %s", d, weekdayOf(n), t.Weekday())
	case daysIn(d.Year, d.Month) != time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day():
		return fmt.Errorf("daysIn(%d, %s) = %d", d.Year, d.Month, daysIn(d.Year, d.Month))
	}
	return nil
}
