package plans

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
)

// GenerateStore is what the instalment run keeps in Postgres.
type GenerateStore interface {
	// NextGenerateBatch returns the id of the limit-th plan to generate
	// (live: active or paused, and not generated_all) after after, in id
	// order, or the last one when fewer are left; "" when none is.
	NextGenerateBatch(ctx context.Context, after string, limit int) (last string, err error)
	// GenerateBatch runs the batch of plans to generate with ids in (after,
	// last] in one transaction, all or nothing. It moves to through the
	// watermark (generated_through) of each whose watermark is before
	// through, locking it (a concurrent run skips a plan whose watermark
	// moved under it); reads those plans as they were, with their
	// versions and pauses; hands them to plan; and writes what plan
	// returns. No plan to move: plan is not called.
	GenerateBatch(ctx context.Context, after, last string, through fund.Date, plan func([]GenPlan) (GenWrite, error)) error
	// RaiseAlert opens an alert of kind and subject, or updates the
	// detail of the open one.
	RaiseAlert(ctx context.Context, kind, subject, detail string) error
	// ResolveAlerts closes the open alerts of kind.
	ResolveAlerts(ctx context.Context, kind string) error
}

// AlertCalendar is the alert the instalment run raises while the holiday
// calendar ends before its horizon (subject: the year not covered). It is
// resolved by the first run whose horizon the calendar covers.
const AlertCalendar = "instalments_calendar"

// GenPlan is a live plan as the instalment run reads it.
type GenPlan struct {
	ID, Kind, InvestorID, FolioNo, SchemeCode, ToSchemeCode string
	Frequency                                               string
	Start                                                   fund.Date
	End                                                     fund.Date // zero: none
	Count                                                   int       // instalments; 0: none
	StepUpAmount, StepUpPct                                 decimal.Decimal
	Status                                                  string
	GeneratedThrough                                        fund.Date // before this batch; zero: nothing generated yet
	Versions                                                []GenVersion
	Pauses                                                  []GenPause
}

// GenVersion is one plan_versions row.
type GenVersion struct {
	Version       int
	EffectiveFrom fund.Date
	Amount        decimal.Decimal // before any step-up
	DayOfMonth    int             // 0: none
	Weekday       int             // -1: none; 0 Sunday … 6 Saturday
}

// GenPause is one plan_pauses row: seqs From..To are skipped.
type GenPause struct{ From, To int }

// GenWrite is what one batch writes.
type GenWrite struct {
	Instalments []GenInstalment
	Events      []GenEvent
	Done        []string  // plans whose last instalment now exists: generated_all
	Held        []GenHeld // plans that could not be scheduled: watermark back
	// MayConflict: some row may already exist (a watermark that is not a
	// business day of today's calendar), so rows go in with ON CONFLICT DO
	// NOTHING and only the rows written get their events. Otherwise every
	// row should be new (see GenerateWith) and they are copied straight in;
	// should one exist after all (a change of day made effective behind
	// the watermark renumbers the plan), the store falls back to the
	// checked path.
	MayConflict bool

	arena []byte // the events' payloads
}

// GenHeld is a plan held back: its watermark goes back to Through (zero:
// NULL) and Err is why.
type GenHeld struct {
	PlanID  string
	Through fund.Date
	Err     error
}

// GenInstalment is one new plan_instalments row.
type GenInstalment struct {
	PlanID                string
	Due, Nominal, Merged  fund.Date // Merged zero: none
	Seq                   int
	Amount                decimal.Decimal
	Status, Reason        string    // due; skipped (paused)
	Notified, PresentFrom time.Time // due only
}

// GenEvent is one outbox row, for the instalment (PlanID, Due).
type GenEvent struct {
	PlanID              string
	Due                 fund.Date
	EventID, Topic, Key string
	Payload             []byte
}

// GenerateOptions tune a run.
type GenerateOptions struct {
	Batch   int // plans per transaction (default 10,000)
	Workers int // batches written at once, each on its own connection (default 2)
}

// GenerateResult counts what a run wrote.
type GenerateResult struct {
	Plans       int // plans whose watermark moved
	Instalments int // rows computed (written unless they existed)
	Due         int // of which due, each with its <kind>.instalment.due event
	Skipped     int // of which skipped (paused)
	Done        int // plans whose last instalment now exists
	Held        int // plans that could not be scheduled (logged; the next run tries again)
	Batches     int
	Through     fund.Date // the watermark: nominal dates generated reach here
	// Uncovered is the first day up to the horizon that the holiday
	// calendar does not cover (zero: it covers the horizon). Instalments
	// from it on wait: Through stops at the calendar's last business day.
	Uncovered fund.Date
	// Waiting counts the nominal dates after Through, up to the horizon,
	// of the plans this run moved: instalments that wait for the calendar.
	Waiting int

	firstWaiting string // one waiting instalment, for the alert
}

func (r *GenerateResult) add(b GenerateResult) {
	r.Plans += b.Plans
	r.Instalments += b.Instalments
	r.Due += b.Due
	r.Skipped += b.Skipped
	r.Done += b.Done
	r.Held += b.Held
	r.Batches += b.Batches
	if r.Waiting == 0 && b.Waiting > 0 {
		r.firstWaiting = b.firstWaiting
	}
	r.Waiting += b.Waiting
}

// Generate is the first step of the daily instalment run: it writes the
// instalments of every live plan that fall due at most Config.HorizonDays
// after today (IST) and are not written yet, each due one with its
// pre-debit notification. See GenerateWith.
func (s *Service) Generate(ctx context.Context) (GenerateResult, error) {
	return s.GenerateWith(ctx, GenerateOptions{})
}

// GenerateWith is Generate with options.
//
// The run is idempotent and catches up. A plan's watermark
// (generated_through) says every instalment with a nominal date up to it
// exists. through is the last business day on or before the horizon: an
// instalment falls due on or before the horizon exactly when its nominal
// date is on or before through. A batch writes its plans' instalments with
// nominal dates in (watermark, through] and moves their watermarks to
// through, in one transaction, so a crash leaves all or nothing of a batch
// and the next run starts where the commits left. Because a watermark is a
// business day, two nominal dates that share a due date are never on both
// sides of it: a row of the next run is never one already written, which
// lets the rows be copied in without a conflict check (a holiday added to
// the calendar after the fact breaks that; such a batch takes the checked
// path).
//
// Step-up: the version's amount is the base (plan_versions.amount, "before
// any step-up"), stepped up once per whole year from the plan's start date
// (not the version's effective date: a change of day keeps the plan's
// step-up years; a new amount is a new base, stepped up by the plan's
// years).
func (s *Service) GenerateWith(ctx context.Context, o GenerateOptions) (GenerateResult, error) {
	if o.Batch <= 0 {
		o.Batch = 10000
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	cfg := s.Config.Defaults()
	now := s.now()
	today := fund.DateOf(now.In(fund.IST()))
	// Never instalments due on unknown days, and never the whole run failed
	// for them: when the holiday files end before the horizon (the
	// exchange publishes next year's list late), the run generates through
	// the last business day they cover and reports the instalments after
	// it (AlertCalendar). Their plans' watermarks stay there, so the first
	// run after a file covering them is added generates them.
	horizon := today.AddDays(cfg.HorizonDays)
	end, uncovered := horizon.AddDays(1), fund.Date{}
	for d := today; !d.After(horizon); d = d.AddDays(1) {
		if !s.Calendar.Covers(d) {
			end, uncovered = d, d
			break
		}
	}
	through, err := s.Calendar.PrevBusinessDay(end)
	res := GenerateResult{Through: through, Uncovered: uncovered}
	if err != nil {
		// Not even the days before the gap are covered: nothing can be
		// generated, and the steps after this one still run.
		res.Through = fund.Date{}
		return res, s.calendarAlert(ctx, res, horizon)
	}

	type span struct{ after, last string }
	spans := make(chan span)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(spans)
		after := ""
		for {
			last, err := s.Store.NextGenerateBatch(gctx, after, o.Batch)
			if err != nil {
				return fmt.Errorf("generate instalments: next batch after plan %q: %w", after, err)
			}
			if last == "" {
				return nil
			}
			select {
			case spans <- span{after, last}:
			case <-gctx.Done():
				return gctx.Err()
			}
			after = last
		}
	})
	var mu sync.Mutex
	for range o.Workers {
		g.Go(func() error {
			for sp := range spans {
				var b GenerateResult
				err := s.Store.GenerateBatch(gctx, sp.after, sp.last, through, func(ps []GenPlan) (GenWrite, error) {
					b = GenerateResult{Batches: 1}
					return s.planBatch(ps, through, horizon, uncovered, now, cfg, &b)
				})
				if err != nil {
					return fmt.Errorf("generate instalments of plans (%q, %q]: %w", sp.after, sp.last, err)
				}
				mu.Lock()
				res.add(b)
				mu.Unlock()
			}
			return nil
		})
	}
	err = g.Wait()
	if err == nil {
		err = ctx.Err() // cancelled after the last batch was handed out
	}
	if err == nil {
		err = s.calendarAlert(ctx, res, horizon)
	}
	return res, err
}

// calendarAlert raises AlertCalendar while the calendar ends before the
// horizon and resolves it once it does not.
func (s *Service) calendarAlert(ctx context.Context, res GenerateResult, horizon fund.Date) error {
	if res.Uncovered.IsZero() {
		if err := s.Store.ResolveAlerts(ctx, AlertCalendar); err != nil {
			return fmt.Errorf("instalment run: resolve alert %s: %w", AlertCalendar, err)
		}
		return nil
	}
	detail := fmt.Sprintf("%s: instalments with nominal dates from %s to %s wait until a holiday file covers %d",
		CalendarGapReason(res.Uncovered), res.Uncovered, horizon, res.Uncovered.Year)
	if !res.Through.IsZero() {
		detail += fmt.Sprintf("; generated through %s", res.Through)
	}
	if res.Waiting > 0 {
		detail += fmt.Sprintf("; %d found this run (first: %s)", res.Waiting, res.firstWaiting)
	}
	s.log().Warn("instalment run: "+detail, "uncovered", res.Uncovered.String(), "waiting", res.Waiting)
	if err := s.Store.RaiseAlert(ctx, AlertCalendar, fmt.Sprint(res.Uncovered.Year), detail); err != nil {
		return fmt.Errorf("instalment run: raise alert %s: %w", AlertCalendar, err)
	}
	return nil
}

// CalendarGapReason is why an instalment on d waits.
func CalendarGapReason(d fund.Date) string {
	return "holiday calendar does not cover " + d.String()
}

// planBatch computes a batch's rows, events and end marks. A plan whose
// terms cannot be scheduled is held back (its watermark stays) and
// reported; it does not stop the batch.
// When the calendar does not cover uncovered (not zero), the plan's
// nominal dates after through, up to the horizon, are counted and logged as
// waiting for it.
func (s *Service) planBatch(ps []GenPlan, through, horizon, uncovered fund.Date, now time.Time, cfg Config, res *GenerateResult) (GenWrite, error) {
	// Most plans have at most one instalment in a day's window.
	w := GenWrite{
		Instalments: make([]GenInstalment, 0, len(ps)),
		Events:      make([]GenEvent, 0, len(ps)),
		arena:       make([]byte, 0, len(ps)*eventSizeHint),
	}
	g := genClock{notified: now.UTC(), at: now.UTC().Format(time.RFC3339), minPresent: now.UTC().Add(cfg.PreDebitNotice), ist: fund.IST()}
	for i := range ps {
		p := &ps[i]
		n, k := len(w.Instalments), len(w.Events)
		var done bool
		var err error
		if !p.GeneratedThrough.IsZero() {
			var ok bool
			if ok, err = s.Calendar.IsBusinessDay(p.GeneratedThrough); err == nil && !ok {
				w.MayConflict = true // the calendar changed under the watermark
			}
		}
		if err == nil {
			done, err = s.planOne(p, through, g, &w)
		}
		if err != nil {
			w.Instalments, w.Events = w.Instalments[:n], w.Events[:k]
			w.Held = append(w.Held, GenHeld{PlanID: p.ID, Through: p.GeneratedThrough, Err: err})
			slog.Warn("instalment run: plan held back", "plan", p.ID, "err", err)
			res.Held++
			continue
		}
		res.Plans++
		if !uncovered.IsZero() {
			s.waiting(p, through, horizon, uncovered, res)
		}
		for _, in := range w.Instalments[n:] {
			res.Instalments++
			if in.Status == "skipped" {
				res.Skipped++
			} else {
				res.Due++
			}
		}
		if done {
			w.Done = append(w.Done, p.ID)
			res.Done++
		}
	}
	return w, nil
}

// waiting counts and logs p's nominal dates in (through, horizon]: due on
// days the calendar does not cover yet.
func (s *Service) waiting(p *GenPlan, through, horizon, uncovered fund.Date, res *GenerateResult) {
	spec, _, err := planSpec(p)
	if err != nil {
		return // planOne scheduled it, so this cannot fail
	}
	ns, err := schedule.Nominals(spec, through, horizon)
	if err != nil || len(ns) == 0 {
		return
	}
	if res.Waiting == 0 {
		res.firstWaiting = fmt.Sprintf("plan %s seq %d on %s", p.ID, ns[0].Seq, ns[0].Date)
	}
	res.Waiting += len(ns)
	s.log().Warn("instalment run: instalments wait for the holiday calendar", "plan", p.ID, "instalments", len(ns),
		"first_seq", ns[0].Seq, "first_nominal", ns[0].Date.String(), "reason", CalendarGapReason(uncovered))
}

// eventSizeHint is about a due event's JSON size.
const eventSizeHint = 512

// genClock is a run's notification times.
type genClock struct {
	notified, minPresent time.Time
	at                   string
	ist                  *time.Location
}

// planOne appends p's instalments and events to w and reports whether its
// last instalment now exists.
func (s *Service) planOne(p *GenPlan, through fund.Date, g genClock, w *GenWrite) (bool, error) {
	spec, step, err := planSpec(p)
	if err != nil {
		return false, err
	}
	ins, err := schedule.Window(spec, s.Calendar, p.GeneratedThrough, through)
	if err != nil {
		return false, err
	}
	for _, sl := range ins {
		v := versionOn(p.Versions, sl.Nominal)
		amount, err := stepUp(step, v.Amount, p.Start, sl.Nominal)
		if err != nil {
			return false, fmt.Errorf("seq %d: %w", sl.Seq, err)
		}
		if amount.GreaterThan(fund.MaxAmount) {
			return false, fmt.Errorf("seq %d: amount %s is more than an amount column holds", sl.Seq, amount)
		}
		in := GenInstalment{PlanID: p.ID, Due: sl.Due, Nominal: sl.Nominal, Seq: sl.Seq, Amount: amount, Status: "due"}
		if len(sl.Merged) > 0 {
			in.Merged = sl.LastNominal()
		}
		if paused(p.Pauses, sl.Seq) {
			in.Status, in.Reason = "skipped", "paused"
			w.Instalments = append(w.Instalments, in)
			continue
		}
		// RBI e-mandate rule: notified at least PreDebitNotice before the
		// debit, and never presented before its due day.
		in.Notified, in.PresentFrom = g.notified, g.minPresent
		if dayStart := time.Date(sl.Due.Year, sl.Due.Month, sl.Due.Day, 0, 0, 0, 0, g.ist); dayStart.After(g.minPresent) {
			in.PresentFrom = dayStart.UTC()
		}
		w.Instalments = append(w.Instalments, in)
		w.Events = append(w.Events, dueEvent(p, &in, g.at, w))
	}
	if !spec.Bounded() {
		return false, nil
	}
	last, ok, err := schedule.Last(spec)
	if err != nil {
		return false, err
	}
	return !ok || !last.Date.After(through), nil
}

// planSpec is p's schedule: its first version's day, and a Change for
// every later version that moves the day.
func planSpec(p *GenPlan) (schedule.Spec, schedule.StepUp, error) {
	if len(p.Versions) == 0 {
		return schedule.Spec{}, schedule.StepUp{}, fmt.Errorf("no plan_versions row")
	}
	vs := p.Versions
	if !slices.IsSortedFunc(vs, byVersion) {
		slices.SortFunc(vs, byVersion)
	}
	// A NULL day or weekday keeps the one before; a weekly plan's first
	// version without one takes the start's weekday.
	day, wd := vs[0].DayOfMonth, p.Start.Weekday()
	if vs[0].Weekday >= 0 {
		wd = time.Weekday(vs[0].Weekday)
	}
	spec := schedule.Spec{
		Frequency: schedule.Frequency(p.Frequency), Start: p.Start, End: p.End, Count: p.Count,
		Day: day, Weekday: wd,
	}
	for _, v := range vs[1:] {
		vd, vwd := day, wd
		if v.DayOfMonth > 0 {
			vd = v.DayOfMonth
		}
		if v.Weekday >= 0 {
			vwd = time.Weekday(v.Weekday)
		}
		if vd == day && vwd == wd {
			continue // an amount change
		}
		n := len(spec.Changes)
		switch {
		case !v.EffectiveFrom.After(p.Start): // before the first nominal date: the plan's day from the start
			spec.Day, spec.Weekday = vd, vwd
		case n > 0 && v.EffectiveFrom == spec.Changes[n-1].From: // the later version of the same day wins
			spec.Changes[n-1].Day, spec.Changes[n-1].Weekday = vd, vwd
		default: // a change from its date (one out of order: schedule.Validate refuses it)
			spec.Changes = append(spec.Changes, schedule.Change{From: v.EffectiveFrom, Day: vd, Weekday: vwd})
		}
		day, wd = vd, vwd
	}
	var step schedule.StepUp
	if p.StepUpAmount.Sign() > 0 {
		a, err := fund.AmountFromDecimal(p.StepUpAmount, fund.RoundHalfUp)
		if err != nil {
			return schedule.Spec{}, schedule.StepUp{}, fmt.Errorf("step-up amount: %w", err)
		}
		step.Amount = &a
	}
	step.Pct = p.StepUpPct
	return spec, step, nil
}

func byVersion(a, b GenVersion) int { return a.Version - b.Version }

// stepUp is the instalment amount of nominal date d: base stepped up per
// whole year since the plan's start.
func stepUp(step schedule.StepUp, base decimal.Decimal, start, d fund.Date) (decimal.Decimal, error) {
	if step.IsZero() {
		return base, nil
	}
	b, err := fund.AmountFromDecimal(base, fund.RoundHalfUp)
	if err != nil {
		return decimal.Decimal{}, err
	}
	a, err := step.AmountAt(b, start, d)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return a.Decimal(), nil
}

// dueEvent is the pre-debit notification of in; its payload is appended
// to w.arena (one allocation per batch, not per event).
func dueEvent(p *GenPlan, in *GenInstalment, at string, w *GenWrite) GenEvent {
	topic, key, ev := NewInstalmentEvent(StepDue, InstalmentFacts{
		PlanID: p.ID, Kind: p.Kind, InvestorID: p.InvestorID, FolioNo: p.FolioNo,
		SchemeCode: p.SchemeCode, ToSchemeCode: p.ToSchemeCode, Seq: in.Seq,
		NominalDate: in.Nominal, DueDate: in.Due, Amount: in.Amount, Status: in.Status,
	}, time.Time{})
	ev.At = at
	n := len(w.arena)
	w.arena = ev.AppendJSON(w.arena)
	return GenEvent{PlanID: p.ID, Due: in.Due, EventID: ev.EventID, Topic: topic, Key: key, Payload: w.arena[n:len(w.arena):len(w.arena)]}
}

// versionOn returns the version in force on nominal date d: the last (by
// version) whose effective_from is on or before d; the first version is in
// force from the plan's start whatever its effective_from says. vs is
// sorted by version (planSpec).
func versionOn(vs []GenVersion, d fund.Date) GenVersion {
	best := vs[0]
	for _, v := range vs[1:] {
		if !v.EffectiveFrom.After(d) {
			best = v
		}
	}
	return best
}

// paused reports whether seq is inside one of the plan's pauses.
func paused(ps []GenPause, seq int) bool {
	for _, p := range ps {
		if seq >= p.From && seq <= p.To {
			return true
		}
	}
	return false
}
