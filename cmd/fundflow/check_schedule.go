package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
)

// scheduleCmd is `fundflow check schedule`: a plan's instalment dates from
// fund/schedule, the code the instalment run uses.
type scheduleCmd struct {
	Frequency string   `required:"" enum:"daily,weekly,monthly,quarterly" help:"How often: daily, weekly, monthly or quarterly."`
	Day       string   `help:"Monthly and quarterly: the day of month, 1-31 (default: the start's day)." placeholder:"D"`
	Weekday   string   `help:"Weekly: mon, tue, wed, thu, fri, sat or sun (default: the start's weekday)." placeholder:"W"`
	Start     dateFlag `required:"" help:"The plan's start date: the first nominal date is on or after it." placeholder:"YYYY-MM-DD"`
	Count     int      `help:"The number of nominal dates (before merging; a daily plan's dropped days count)." placeholder:"N"`
	End       dateFlag `help:"The last date a nominal date may fall on (inclusive)." placeholder:"YYYY-MM-DD"`
	Holidays  []string `sep:"none" help:"A holiday file, one DD-Mon-YYYY date a line (repeatable)." placeholder:"FILE"`
}

func (scheduleCmd) Help() string {
	return `When will my SIP be debited? Give the plan's frequency, day and start, and either --count or --end; the answer is one JSON object with each instalment's nominal date (the date the plan names) and due date (the business day it is debited), from the same code as the daily instalment run:

  {"instalments": [{"seq": 1, "nominal": "2025-03-31", "due": "2025-04-01", "notes": ["2025-03-31 is a holiday"]}, ...]}

The rules: monthly on day D, the first D on or after --start, then every month (quarterly: every third month), and a D past the month's end is the month's last day (the 31st in April is the 30th); weekly, the weekday on or after --start, every 7 days; daily, every calendar day, and a weekend or holiday is dropped, not moved (listed under "dropped"). A nominal date that is not a business day is debited on the next business day. Two nominal dates due on the same day are one debit: the later ones are listed under "merged" (and seq skips them). --count counts nominal dates before merging; --end is compared with the nominal date. Saturdays, Sundays and the --holidays files' dates are not business days; without a file only weekends are skipped.

Exit 0 with the JSON, 2 with a one-line message naming the flag that is wrong.`
}

type scheduleJSON struct {
	Instalments []instalmentJSON `json:"instalments"`
	Dropped     []droppedJSON    `json:"dropped,omitempty"`
}

type instalmentJSON struct {
	Seq     int         `json:"seq"`
	Nominal fund.Date   `json:"nominal"`
	Due     fund.Date   `json:"due"`
	Merged  []fund.Date `json:"merged,omitempty"`
	Notes   []string    `json:"notes,omitempty"`
}

type droppedJSON struct {
	Seq     int       `json:"seq"`
	Nominal fund.Date `json:"nominal"`
	Why     string    `json:"why"`
}

func (c scheduleCmd) Run(a *app) error {
	spec, err := c.spec()
	if err != nil {
		return err
	}
	cal, err := calendar(c.Holidays)
	if err != nil {
		return err
	}
	s, err := schedule.Explain(spec, cal)
	if err != nil {
		return flagError(err)
	}
	out := scheduleJSON{Instalments: make([]instalmentJSON, 0, len(s.Instalments))}
	day := spec.Day
	if day == 0 {
		day = spec.Start.Day
	}
	for _, in := range s.Instalments {
		j := instalmentJSON{Seq: in.Seq, Nominal: in.Nominal, Due: in.Due, Merged: in.Merged}
		if (spec.Frequency == schedule.Monthly || spec.Frequency == schedule.Quarterly) && in.Nominal.Day < day {
			j.Notes = append(j.Notes, fmt.Sprintf("no day %d in %s: the month's last day", day, in.Nominal.Time().Format("January 2006")))
		}
		if in.Due != in.Nominal {
			j.Notes = append(j.Notes, in.Nominal.String()+" is "+notBusiness(cal, in.Nominal))
		}
		for _, m := range in.Merged {
			j.Notes = append(j.Notes, fmt.Sprintf("%s also falls due on %s: one debit", m, in.Due))
		}
		out.Instalments = append(out.Instalments, j)
	}
	for _, d := range s.Dropped {
		out.Dropped = append(out.Dropped, droppedJSON{Seq: d.Seq, Nominal: d.Date, Why: notBusiness(cal, d.Date)})
	}
	return printJSON(a.stdout, out)
}

// spec turns the flags into a schedule.Spec; what is wrong is a usage error
// naming the flag.
func (c scheduleCmd) spec() (schedule.Spec, error) {
	f, err := schedule.ParseFrequency(c.Frequency)
	if err != nil {
		return schedule.Spec{}, usageErr("--frequency: %v", err)
	}
	s := schedule.Spec{Frequency: f, Start: c.Start.Date, End: c.End.Date, Count: c.Count, Weekday: c.Start.Date.Weekday()}
	monthly := f == schedule.Monthly || f == schedule.Quarterly
	switch {
	case c.Day != "" && !monthly:
		return s, usageErr("--day is for monthly and quarterly plans, not %s ones", f)
	case c.Weekday != "" && f != schedule.Weekly:
		return s, usageErr("--weekday is for weekly plans, not %s ones", f)
	case c.Count != 0 && !c.End.IsZero():
		return s, usageErr("--count and --end: give one")
	case c.Count == 0 && c.End.IsZero():
		return s, usageErr("--count N or --end YYYY-MM-DD: give one (a perpetual plan has no last instalment to print)")
	case c.Count < 0:
		return s, usageErr("--count %d: want 1 or more", c.Count)
	}
	if c.Day != "" {
		if s.Day, err = schedule.ParseDay(c.Day); err != nil {
			return s, usageErr("--day: %v", err)
		}
	}
	if c.Weekday != "" {
		if s.Weekday, err = schedule.ParseWeekday(c.Weekday); err != nil {
			return s, usageErr("--weekday: %v", err)
		}
	}
	if err := s.Validate(); err != nil {
		return s, flagError(err)
	}
	return s, nil
}

// flagError is a schedule.InvalidError as a usage error naming its flag.
func flagError(err error) error {
	flag := map[schedule.Reason]string{
		schedule.ReasonFrequency: "--frequency", schedule.ReasonDay: "--day", schedule.ReasonWeekday: "--weekday",
		schedule.ReasonNoStart: "--start", schedule.ReasonEndBeforeStart: "--end", schedule.ReasonEndAndCount: "--count/--end",
		schedule.ReasonCount: "--count", schedule.ReasonDate: "--start/--end", schedule.ReasonUnbounded: "--count/--end",
	}[schedule.ReasonOf(err)]
	if flag == "" {
		if errors.Is(err, schedule.ErrInvalid) {
			return &exitError{code: 2, err: err}
		}
		return err
	}
	return usageErr("%s: %v", flag, err)
}

// notBusiness says why d is not a business day.
func notBusiness(cal *fund.Calendar, d fund.Date) string {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return "a " + wd.String()
	}
	if cal.IsHoliday(d) {
		return "a holiday"
	}
	return "a business day"
}
