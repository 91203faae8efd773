// Package schedule turns a systematic plan's terms (a SIP, STP or SWP) into
// its instalments: which nominal dates the plan has, on which business day
// each falls due, which ones merge, and what a yearly step-up makes of the
// amount. The instalment run, registration and `fundflow check schedule` all
// call it, so that everyone computes the same dates.
//
// The rules (issue 13, "The rules, so that everyone computes the same
// dates"), stated once here:
//
//   - Monthly on day D: the nominal date is D of each month from the start
//     month on; the first is the first such date on or after Start. When D is
//     past the month's length, it is that month's last calendar day
//     (ClampToMonthEnd).
//   - Quarterly: the same, every third month, stepping three months from the
//     first nominal date's month.
//   - Weekly: the weekday on or after Start, then every 7 days.
//   - Daily: every calendar day from Start. A day that is not a business day
//     is dropped, not moved; it is still a nominal date (it has a Seq and
//     Count counts it) but it has no instalment.
//   - For every frequency except daily, the due date is the first business
//     day on or after the nominal date. Saturdays, Sundays and the
//     calendar's holidays are not business days (fund.Calendar).
//   - Nominal dates that fall due on the same business day are one
//     instalment: the earliest keeps its Seq and Nominal, the later ones are
//     listed in Merged.
//   - Count counts nominal dates, before any merging or dropping. End is
//     inclusive and compared with the nominal date. Neither: the plan is
//     perpetual (only Window serves it).
//   - A Change (a new day of month or weekday, from a date on) leaves the
//     nominal dates before its From alone; from From on, the first nominal
//     date is the first date on or after From that matches the new rule, and
//     Seq numbering continues. A quarterly plan keeps its months (every third
//     month from its first nominal date); a change moves the day within them.
//
// The package is pure: no I/O, no clock; the calendar is passed in.
package schedule
