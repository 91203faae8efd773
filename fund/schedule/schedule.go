package schedule

import (
	"github.com/fundflow/fundflow/fund"
)

// Instalment is one debit (or order) of a plan: the nominal dates that fall
// due on one business day.
type Instalment struct {
	// Seq numbers the plan's nominal dates from 1 (merged and dropped ones
	// included, so a merged instalment's successor skips a number).
	Seq int
	// Nominal is the earliest nominal date of the instalment.
	Nominal fund.Date
	// Due is the business day it is debited: the first business day on or
	// after Nominal (daily: Nominal itself).
	Due fund.Date
	// Merged are the later nominal dates that fall due on the same day
	// (Seq+1, Seq+2, …), in order; nil for most.
	Merged []fund.Date
}

// LastNominal is the latest nominal date the instalment covers: what the
// instalment run keeps as its watermark (Window's afterNominal).
func (i Instalment) LastNominal() fund.Date {
	if len(i.Merged) > 0 {
		return i.Merged[len(i.Merged)-1]
	}
	return i.Nominal
}

// Nominal is one nominal date with its number.
type Nominal struct {
	Seq  int
	Date fund.Date
}

// Schedule is a stretch of a plan: its instalments and, for a daily plan,
// the nominal dates dropped because they are not business days.
type Schedule struct {
	Instalments []Instalment
	Dropped     []Nominal
}

// All returns every instalment of a bounded plan (End or Count); a
// perpetual plan is an error with reason ReasonUnbounded (use Window).
func All(spec Spec, cal *fund.Calendar) ([]Instalment, error) {
	s, err := Explain(spec, cal)
	return s.Instalments, err
}

// Explain is All with the dropped daily dates: what `fundflow check
// schedule` prints.
func Explain(spec Spec, cal *fund.Calendar) (Schedule, error) {
	p, err := newPlan(spec)
	if err != nil {
		return Schedule{}, err
	}
	if p.total < 0 {
		return Schedule{}, invalid(ReasonUnbounded, "a perpetual plan (no end, no count) has no last instalment")
	}
	if p.total == 0 {
		return Schedule{}, nil
	}
	s := p.window(cal, fund.Date{}, p.due(cal, p.nominal(p.total)))
	return s, p.err
}

// Window returns the instalments whose (earliest) nominal date is after
// afterNominal (zero: from the start) and whose due date is on or before
// dueThrough, with their plan-wide Seq. Its cost is the window's length,
// not the plan's history: the instalment run calls it each day with
// afterNominal = the LastNominal of the last instalment it stored (a
// nominal date merged into an instalment at or before afterNominal is not
// returned again), so consecutive windows, concatenated, are All.
func Window(spec Spec, cal *fund.Calendar, afterNominal, dueThrough fund.Date) ([]Instalment, error) {
	s, err := WindowExplain(spec, cal, afterNominal, dueThrough)
	return s.Instalments, err
}

// WindowExplain is Window with the dropped daily dates (nominal dates after
// afterNominal, on or before dueThrough, that are not business days).
func WindowExplain(spec Spec, cal *fund.Calendar, afterNominal, dueThrough fund.Date) (Schedule, error) {
	p, err := newPlan(spec)
	if err != nil {
		return Schedule{}, err
	}
	s := p.window(cal, afterNominal, dueThrough)
	return s, p.err
}

// Nominals returns the plan's nominal dates after afterNominal and on or
// before through, with their plan-wide Seq. Nominal dates are the plan's
// terms alone: no calendar is asked, so they can be listed for days no
// holiday file covers yet (a daily plan's include the days that will turn
// out not to be business days).
func Nominals(spec Spec, afterNominal, through fund.Date) ([]Nominal, error) {
	p, err := newPlan(spec)
	if err != nil {
		return nil, err
	}
	var out []Nominal
	for n := p.upTo(afterNominal) + 1; p.has(n); n++ {
		d := p.nominal(n)
		if after(d, through) {
			break
		}
		out = append(out, Nominal{Seq: n, Date: d})
	}
	return out, nil
}

// First returns the plan's first instalment (false: it has none, e.g. a
// daily plan whose dates are all holidays, or an End before the first
// nominal date): what registration checks the minimum gap against.
func First(spec Spec, cal *fund.Calendar) (Instalment, bool, error) {
	p, err := newPlan(spec)
	if err != nil {
		return Instalment{}, false, err
	}
	for n := 1; p.has(n); n++ {
		d := p.nominal(n)
		if spec.Frequency == Daily && !p.isBusinessDay(cal, d) {
			if p.err != nil {
				return Instalment{}, false, p.err
			}
			continue
		}
		s := p.window(cal, addDays(d, -1), p.due(cal, d))
		if p.err != nil {
			return Instalment{}, false, p.err
		}
		return s.Instalments[0], true, nil
	}
	return Instalment{}, false, nil
}

// Last returns the plan's last nominal date (false: a perpetual plan, or
// one with no nominal date at all): the plan is completed once the
// instalment covering it is done.
func Last(spec Spec) (Nominal, bool, error) {
	p, err := newPlan(spec)
	if err != nil || p.total <= 0 {
		return Nominal{}, false, err
	}
	return Nominal{Seq: p.total, Date: p.nominal(p.total)}, true, nil
}

// due is the due date of nominal date d under the plan's frequency (daily:
// d itself; the caller drops it when it is not a business day).
func (p *plan) due(cal *fund.Calendar, d fund.Date) fund.Date {
	if p.spec.Frequency == Daily {
		return d
	}
	return p.businessDayOnOrAfter(cal, d)
}

func (p *plan) window(cal *fund.Calendar, afterNominal, dueThrough fund.Date) Schedule {
	var out Schedule
	n := p.upTo(afterNominal) + 1
	if n > 1 && p.spec.Frequency != Daily {
		// nominal dates due with nominal n-1 were merged into an instalment
		// at or before afterNominal: already someone else's
		// A later nominal date can share that due date only if it is on or
		// before it: past it, the calendar need not be asked (it may not
		// cover the next nominal date yet).
		prev := p.due(cal, p.nominal(n-1))
		for p.has(n) && !after(p.nominal(n), prev) && p.due(cal, p.nominal(n)) == prev {
			n++
		}
	}
	for ; p.has(n); n++ {
		d := p.nominal(n)
		if after(d, dueThrough) {
			break // due on or after its nominal date: past the window, and the calendar need not know that day
		}
		due := p.due(cal, d)
		if after(due, dueThrough) {
			break
		}
		if p.err != nil {
			break // a day outside the calendar: the caller gets p.err
		}
		if p.spec.Frequency == Daily && !p.isBusinessDay(cal, d) {
			out.Dropped = append(out.Dropped, Nominal{Seq: n, Date: d})
			continue
		}
		if k := len(out.Instalments) - 1; k >= 0 && out.Instalments[k].Due == due {
			out.Instalments[k].Merged = append(out.Instalments[k].Merged, d)
			continue
		}
		out.Instalments = append(out.Instalments, Instalment{Seq: n, Nominal: d, Due: due})
	}
	return out
}
