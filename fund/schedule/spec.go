package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Frequency is how often a plan's nominal dates come.
type Frequency string

// The frequencies a plan can have (the values stored in plans.frequency).
const (
	Daily     Frequency = "daily"
	Weekly    Frequency = "weekly"
	Monthly   Frequency = "monthly"
	Quarterly Frequency = "quarterly"
)

// ParseFrequency reads daily, weekly, monthly or quarterly (exactly, lower
// case: the stored form).
func ParseFrequency(s string) (Frequency, error) {
	switch f := Frequency(s); f {
	case Daily, Weekly, Monthly, Quarterly:
		return f, nil
	}
	return "", invalid(ReasonFrequency, "frequency %q: want daily, weekly, monthly or quarterly", s)
}

var weekdays = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday reads mon … sun (lower case, three letters).
func ParseWeekday(s string) (time.Weekday, error) {
	for i, w := range weekdays {
		if s == w {
			return time.Weekday(i), nil
		}
	}
	return 0, invalid(ReasonWeekday, "weekday %q: want mon, tue, wed, thu, fri, sat or sun", s)
}

// WeekdayName is ParseWeekday's inverse (time.Sunday → "sun").
func WeekdayName(w time.Weekday) string {
	if w < 0 || int(w) >= len(weekdays) {
		return fmt.Sprintf("weekday(%d)", int(w))
	}
	return weekdays[w]
}

// ParseDay reads a day of month, 1 to 31, in plain decimal digits.
func ParseDay(s string) (int, error) {
	d, err := strconv.Atoi(s)
	if err != nil || d < 1 || d > 31 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, invalid(ReasonDay, "day %q: want a day of month, 1 to 31", s)
	}
	return d, nil
}

// Spec is a plan's schedule terms.
type Spec struct {
	Frequency Frequency
	// Day is the day of month, 1–31, for monthly and quarterly plans (0:
	// Start's day). It must be 0 for daily and weekly plans.
	Day int
	// Weekday is the day of the week of a weekly plan; other frequencies
	// ignore it.
	Weekday time.Weekday
	// Start is the first date a nominal date may fall on.
	Start fund.Date
	// End, when not zero, is the last date a nominal date may fall on
	// (inclusive).
	End fund.Date
	// Count, when not zero, is the number of nominal dates (before merging
	// and dropping). At most one of End and Count; neither: perpetual.
	Count int
	// Changes are modifications of the day, in increasing From order.
	Changes []Change
}

// Change modifies a plan's day from a date on (a plan_versions row that
// changes day_of_month or weekday). Nominal dates before From follow the
// rule in force before; from From on, the first nominal date is the first
// date on or after From matching the new rule.
type Change struct {
	From fund.Date
	// Day is the new day of month (monthly, quarterly; 0: From's day).
	Day int
	// Weekday is the new weekday (weekly).
	Weekday time.Weekday
}

// Bounded reports whether the plan ends (End or Count set).
func (s Spec) Bounded() bool { return !s.End.IsZero() || s.Count > 0 }

// Reason names why a Spec (or a string for one) is not valid: a stable
// code that registration can answer with.
type Reason string

// The reasons Validate and the Parse functions give.
const (
	ReasonFrequency      Reason = "bad_frequency"    // not daily/weekly/monthly/quarterly
	ReasonDay            Reason = "bad_day"          // not 1–31, or a day on a daily/weekly plan
	ReasonWeekday        Reason = "bad_weekday"      // not mon … sun
	ReasonNoStart        Reason = "no_start"         // Start is zero
	ReasonDate           Reason = "bad_date"         // a year before 1900 or after 9999
	ReasonEndBeforeStart Reason = "end_before_start" // End earlier than Start
	ReasonEndAndCount    Reason = "end_and_count"    // both End and Count
	ReasonCount          Reason = "bad_count"        // a negative Count
	ReasonChange         Reason = "bad_change"       // a Change out of order, not after Start, on a daily plan, or with a bad day
	ReasonStepUp         Reason = "bad_step_up"      // both kinds, or not positive, or a % above 100
	ReasonUnbounded      Reason = "unbounded"        // All on a perpetual plan
)

// InvalidError is a Spec, string or StepUp that breaks a rule, with the
// reason's code. errors.Is(err, ErrInvalid) holds for every one.
type InvalidError struct {
	Reason Reason
	Msg    string
}

func (e *InvalidError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) match any InvalidError, and
// errors.Is(err, &InvalidError{Reason: r}) match one with reason r.
func (e *InvalidError) Is(target error) bool {
	t, ok := target.(*InvalidError)
	return ok && (t.Reason == "" || t.Reason == e.Reason)
}

// ErrInvalid matches every InvalidError (errors.Is).
var ErrInvalid error = &InvalidError{Msg: "invalid schedule"}

// ReasonOf returns the reason of an InvalidError in err's chain, or "".
func ReasonOf(err error) Reason {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return ""
}

func invalid(r Reason, format string, args ...any) error {
	return &InvalidError{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the spec; the error is an *InvalidError naming the first
// rule broken.
func (s Spec) Validate() error {
	if _, err := ParseFrequency(string(s.Frequency)); err != nil {
		return err
	}
	if s.Start.IsZero() {
		return invalid(ReasonNoStart, "no start date")
	}
	if y := s.Start.Year; y < minYear || y > maxYear {
		return invalid(ReasonDate, "start %s: want a year from %d to %d", s.Start, minYear, maxYear)
	}
	if y := s.End.Year; !s.End.IsZero() && (y < minYear || y > maxYear) {
		return invalid(ReasonDate, "end %s: want a year from %d to %d", s.End, minYear, maxYear)
	}
	if !s.End.IsZero() && s.End.Before(s.Start) {
		return invalid(ReasonEndBeforeStart, "end %s is before start %s", s.End, s.Start)
	}
	if s.Count < 0 || s.Count > MaxCount {
		return invalid(ReasonCount, "count %d: want a number of instalments from 1 to %d", s.Count, MaxCount)
	}
	if !s.End.IsZero() && s.Count > 0 {
		return invalid(ReasonEndAndCount, "both an end date and a count: give one")
	}
	if err := s.checkDay(s.Day, s.Weekday, ReasonDay, ReasonWeekday); err != nil {
		return err
	}
	prev := s.Start
	for i, c := range s.Changes {
		if s.Frequency == Daily {
			return invalid(ReasonChange, "change %d: a daily plan has no day to change", i+1)
		}
		if c.From.Year > maxYear {
			return invalid(ReasonChange, "change %d: from %s: want a year up to %d", i+1, c.From, maxYear)
		}
		if !c.From.After(prev) {
			return invalid(ReasonChange, "change %d: from %s is not after %s", i+1, c.From, prev)
		}
		if err := s.checkDay(c.Day, c.Weekday, ReasonChange, ReasonChange); err != nil {
			return invalid(ReasonChange, "change %d: %v", i+1, err)
		}
		prev = c.From
	}
	return nil
}

func (s Spec) checkDay(day int, wd time.Weekday, dayReason, wdReason Reason) error {
	switch s.Frequency {
	case Monthly, Quarterly:
		if day < 0 || day > 31 {
			return invalid(dayReason, "day %d: want a day of month, 1 to 31", day)
		}
	default:
		if day != 0 {
			return invalid(dayReason, "day %d: a %s plan has no day of month", day, s.Frequency)
		}
	}
	if s.Frequency == Weekly && (wd < time.Sunday || wd > time.Saturday) {
		return invalid(wdReason, "weekday %d: want 0 (Sunday) to 6 (Saturday)", int(wd))
	}
	return nil
}
