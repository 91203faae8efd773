package plans

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
	"github.com/fundflow/fundflow/ledger"
)

// ChangeStore is what the changes (pause, resume, modify, cancel) and the
// reads of a plan need.
type ChangeStore interface {
	// ChangePlan runs fn in one transaction, the plan's row locked FOR
	// UPDATE (the instalment run locks it too, so a change and a run never
	// interleave), p read under the lock. No plan: an *Error NotFound.
	ChangePlan(ctx context.Context, id string, fn func(tx PlanTx, p Plan) error) error
	// GetPlan returns a plan with its versions and pauses (found false: none).
	GetPlan(ctx context.Context, id string) (p Plan, found bool, err error)
	// PlansByFolio returns the folio's plans, newest first.
	PlansByFolio(ctx context.Context, folio string) ([]Plan, error)
	// PlanInstalments returns the plan's instalments by seq.
	PlanInstalments(ctx context.Context, id string) ([]Instalment, error)
}

// PlanTx is a change's transaction over one locked plan.
type PlanTx interface {
	// Unpresented returns the generated instalments that were never
	// presented and can still be (status due), by seq.
	Unpresented(ctx context.Context) ([]Instalment, error)
	// LastSeq is the highest seq generated (0: none).
	LastSeq(ctx context.Context) (int, error)
	SetStatus(ctx context.Context, st Status, reason string) error
	AddPause(ctx context.Context, p Pause) error
	// EndPause moves the pause starting at fromSeq to end at toSeq.
	EndPause(ctx context.Context, fromSeq, toSeq int) error
	// MarkDue moves the instalments numbered seqs that are still due to
	// status (skipped, dropped) with reason; it returns how many moved.
	MarkDue(ctx context.Context, seqs []int, status, reason string) (int, error)
	AddVersion(ctx context.Context, v Version) error
	// Reprice sets the amount of a due instalment.
	Reprice(ctx context.Context, seq int, amount fund.Amount) error
	// Events writes outbox rows in the change's transaction.
	Events(ctx context.Context, evs ...ledger.Event) error
	// Audit appends the change's audit_log row (entity plan), last.
	Audit(ctx context.Context, action string, payload any) error
}

// Why instalments were skipped or dropped (plan_instalments.reason) and
// why a plan was cancelled (plans.status_reason).
const (
	ReasonPaused     = "paused"
	ReasonByInvestor = "by_investor"
)

// Get returns a plan.
func (s *Service) Get(ctx context.Context, id string) (Plan, error) {
	p, found, err := s.Store.GetPlan(ctx, id)
	if err != nil {
		return Plan{}, fmt.Errorf("plan %s: %w", id, err)
	}
	if !found {
		return Plan{}, notFound(id)
	}
	return p, nil
}

// ListByFolio returns a folio's plans, newest first.
func (s *Service) ListByFolio(ctx context.Context, folio string) ([]Plan, error) {
	ps, err := s.Store.PlansByFolio(ctx, folio)
	if err != nil {
		return nil, fmt.Errorf("plans of folio %s: %w", folio, err)
	}
	return ps, nil
}

// Instalments returns a plan's instalment history by seq.
func (s *Service) Instalments(ctx context.Context, id string) ([]Instalment, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	is, err := s.Store.PlanInstalments(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("instalments of plan %s: %w", id, err)
	}
	return is, nil
}

func notFound(id string) *Error { return refuse(NotFound, CodePlanNotFound, "no plan %q", id) }

// change runs fn on the locked plan after refusing a plan that is
// cancelled or completed, then returns the plan as changed.
func (s *Service) change(ctx context.Context, id, what string, fn func(tx PlanTx, p Plan) error) (Plan, error) {
	err := s.Store.ChangePlan(ctx, id, func(tx PlanTx, p Plan) error {
		if p.Status.Final() {
			return refuse(Conflict, CodePlanCancelled, "plan %s is %s: it cannot be %s", id, p.Status, what)
		}
		return fn(tx, p)
	})
	if err != nil {
		return Plan{}, wrapUnlessRefused(err, "%s plan %s", what, id)
	}
	return s.Get(ctx, id)
}

func wrapUnlessRefused(err error, format string, args ...any) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// position is where a plan stands: the first instalment not yet presented
// (next) and the pause, if one is running (its range reaches next).
type position struct {
	next, last int
	running    *Pause
}

func positionOf(ctx context.Context, tx PlanTx, p Plan) (position, error) {
	var pos position
	last, err := tx.LastSeq(ctx)
	if err != nil {
		return pos, err
	}
	due, err := tx.Unpresented(ctx)
	if err != nil {
		return pos, err
	}
	pos.last, pos.next = last, last+1
	if len(due) > 0 {
		pos.next = due[0].Seq
	}
	if n := len(p.Pauses); n > 0 && p.Pauses[n-1].ToSeq >= pos.next {
		pos.running = &p.Pauses[n-1]
	}
	return pos, nil
}

// Pause skips the next k instalments not yet presented: a plan_pauses row
// over their seqs, the ones already generated move from due to skipped,
// and the instalment run generates the others skipped. k is 1 to
// Config.MaxPause (pause_too_long); a plan already in a pause answers
// plan_paused (resume it first).
func (s *Service) Pause(ctx context.Context, id string, k int) (Plan, error) {
	cfg := s.Config.Defaults()
	if k < 1 {
		return Plan{}, refuse(Refused, CodeBadInstalments, "instalments %d: pause at least 1", k)
	}
	if k > cfg.MaxPause {
		return Plan{}, refuse(Refused, CodePauseTooLong, "a pause skips at most %d instalments, not %d", cfg.MaxPause, k)
	}
	return s.change(ctx, id, "paused", func(tx PlanTx, p Plan) error {
		pos, err := positionOf(ctx, tx, p)
		if err != nil {
			return err
		}
		if pos.running != nil {
			return refuse(Conflict, CodePlanPaused, "plan %s is paused over instalments %d to %d: resume it first", id, pos.running.FromSeq, pos.running.ToSeq)
		}
		pause := Pause{FromSeq: pos.next, ToSeq: pos.next + k - 1}
		if err := tx.AddPause(ctx, pause); err != nil {
			return err
		}
		seqs := make([]int, 0, k)
		for q := pause.FromSeq; q <= pause.ToSeq; q++ {
			seqs = append(seqs, q)
		}
		skipped, err := tx.MarkDue(ctx, seqs, InstSkipped, ReasonPaused)
		if err != nil {
			return err
		}
		if err := tx.SetStatus(ctx, Paused, ""); err != nil {
			return err
		}
		return tx.Audit(ctx, "paused", map[string]any{"from_seq": pause.FromSeq, "to_seq": pause.ToSeq, "instalments": k, "skipped_now": skipped})
	})
}

// Resume ends a running pause: its range ends at the last instalment
// already generated in it. Those stay skipped: an instalment's status only
// moves forward, and the investor was told they would not be debited; the
// instalments after them are generated due as usual.
func (s *Service) Resume(ctx context.Context, id string) (Plan, error) {
	return s.change(ctx, id, "resumed", func(tx PlanTx, p Plan) error {
		pos, err := positionOf(ctx, tx, p)
		if err != nil {
			return err
		}
		if pos.running == nil {
			if p.Status != Paused {
				return refuse(Conflict, CodePlanNotPaused, "plan %s is not paused", id)
			}
			// The pause ran its course; only the status is behind.
			if err := tx.SetStatus(ctx, Active, ""); err != nil {
				return err
			}
			return tx.Audit(ctx, "resumed", map[string]any{"pause_ended": true})
		}
		from, to := pos.running.FromSeq, pos.running.ToSeq
		newTo := max(from-1, min(to, pos.last))
		if err := tx.EndPause(ctx, from, newTo); err != nil {
			return err
		}
		if err := tx.SetStatus(ctx, Active, ""); err != nil {
			return err
		}
		return tx.Audit(ctx, "resumed", map[string]any{"from_seq": from, "to_seq_was": to, "to_seq": newTo})
	})
}

// ModifyRequest changes a plan's amount and/or day (POST
// /v1/plans/{id}/modify).
type ModifyRequest struct {
	Amount     *fund.Amount `json:"amount,omitempty"`
	DayOfMonth *int         `json:"day_of_month,omitempty"`
	Weekday    *Weekday     `json:"weekday,omitempty"`
}

// MaxModifyBytes bounds a modification's JSON.
const MaxModifyBytes = 4 << 10

// DecodeModifyRequest parses a modification strictly (see
// DecodeRegisterRequest).
func DecodeModifyRequest(b []byte) (ModifyRequest, error) {
	var m ModifyRequest
	if len(b) > MaxModifyBytes {
		return m, refuse(Malformed, CodeBadJSON, "a modification is at most %d bytes, got %d", MaxModifyBytes, len(b))
	}
	if err := DecodeJSON(b, &m); err != nil {
		return ModifyRequest{}, err
	}
	return m, nil
}

// Modify changes the amount and/or the day from the first nominal date on
// or after today (IST) + Config.ModifyNoticeDays, counted on the schedule in
// force before the change: a new plan_versions row effective from that date.
// Instalments already generated from that date on and not yet presented
// take the new amount. A new day applies from that date too: the next
// nominal date is the first on or after it that falls on the new day
// (fund/schedule's Change). The amount is checked against the scheme's
// terms and the mandate's limit as at registration.
func (s *Service) Modify(ctx context.Context, id string, m ModifyRequest) (Plan, error) {
	if m.Amount == nil && m.DayOfMonth == nil && m.Weekday == nil {
		return Plan{}, refuse(Refused, CodeNothingToModify, "give amount, day_of_month or weekday")
	}
	if m.Amount != nil && m.Amount.Sign() <= 0 {
		return Plan{}, refuse(Refused, CodeBadAmount, "amount %s must be positive", m.Amount)
	}
	if m.Amount != nil {
		if e := fund.CheckAmount("amount", m.Amount.Decimal()); e != nil {
			return Plan{}, refuse(Refused, e.Reason, "%s", e.Detail)
		}
	}
	if m.DayOfMonth != nil && (*m.DayOfMonth < 1 || *m.DayOfMonth > 31) {
		return Plan{}, refuse(Refused, CodeBadDay, "day_of_month %d: want 1 to 31", *m.DayOfMonth)
	}
	// The terms the new version must meet, read before the lock (they are
	// reference data; the plan's own state is read under it).
	cur, err := s.Get(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	req := cur.asRequest()
	if m.Amount != nil {
		req.Amount = m.Amount
	}
	if m.DayOfMonth != nil {
		req.DayOfMonth = m.DayOfMonth
	}
	if m.Weekday != nil {
		req.Weekday = m.Weekday
	}
	if err := req.validateDay(); err != nil {
		return Plan{}, err
	}
	facts, err := s.Store.RegistrationFacts(ctx, req)
	if err != nil {
		return Plan{}, fmt.Errorf("modify plan %s: %w", id, err)
	}
	if err := checkModification(req, m, facts); err != nil {
		return Plan{}, err
	}
	notice := fund.DateOf(s.now().In(fund.IST())).AddDays(s.Config.Defaults().ModifyNoticeDays)
	return s.change(ctx, id, "modified", func(tx PlanTx, p Plan) error {
		eff, ok, err := s.firstNominalOnOrAfter(p, notice)
		if err != nil {
			return err
		}
		if !ok {
			return refuse(Refused, CodeNoInstalmentLeft, "plan %s has no instalment on or after %s (today + the %d-day notice)", id, notice, s.Config.Defaults().ModifyNoticeDays)
		}
		prev := p.Current()
		if eff.Before(prev.EffectiveFrom) {
			// a pending modification (made under a longer notice) starts
			// later: this one replaces it from its date, so versions stay in
			// date order
			eff = prev.EffectiveFrom
		}
		v := Version{Version: prev.Version + 1, EffectiveFrom: eff, Amount: prev.Amount, DayOfMonth: prev.DayOfMonth, Weekday: prev.Weekday}
		if m.Amount != nil {
			v.Amount = *m.Amount
		}
		if m.DayOfMonth != nil {
			v.DayOfMonth = m.DayOfMonth
		}
		if m.Weekday != nil {
			v.Weekday = m.Weekday
		}
		due, err := tx.Unpresented(ctx)
		if err != nil {
			return err
		}
		var affected []Instalment
		for _, in := range due {
			if !in.Nominal.Before(eff) {
				affected = append(affected, in)
			}
		}
		dayMoved := m.DayOfMonth != nil || m.Weekday != nil
		if dayMoved && len(affected) > 0 {
			return refuse(Conflict, CodeAlreadyGenerated, "instalment %d (%s) on or after %s is already generated: the day can change only from a later one",
				affected[0].Seq, affected[0].Nominal, eff)
		}
		if err := tx.AddVersion(ctx, v); err != nil {
			return err
		}
		p.Versions = append(p.Versions, v)
		for _, in := range affected {
			amt, err := p.AmountAt(in.Nominal)
			if err != nil {
				return err
			}
			if err := tx.Reprice(ctx, in.Seq, amt); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, "modified", map[string]any{"version": v.Version, "effective_from": v.EffectiveFrom, "amount": v.Amount,
			"day_of_month": v.DayOfMonth, "weekday": v.Weekday, "notice_from": notice, "repriced": len(affected)})
	})
}

// checkModification applies the scheme's terms and the mandate's limit to
// the plan as modified.
func checkModification(req RegisterRequest, m ModifyRequest, f RegistrationFacts) error {
	t := f.Terms
	if t == nil {
		return refuse(Refused, CodeNotOffered, "scheme %s no longer offers a %s %s", req.SchemeCode, req.Frequency, req.Kind)
	}
	if m.Amount != nil {
		if err := checkAmount(req, t); err != nil {
			return err
		}
		if req.Kind == SIP && f.Mandate != nil && f.Mandate.MaxAmount != nil && f.Mandate.MaxAmount.LessThan(req.Amount.Decimal()) {
			return refuse(Refused, CodeMandateLimit, "mandate %q allows at most %s a debit; the amount is %s", req.MandateID,
				f.Mandate.MaxAmount.StringFixed(fund.AmountScale), req.Amount)
		}
	}
	if m.DayOfMonth != nil {
		return checkDay(req, t)
	}
	return nil
}

// firstNominalOnOrAfter is the nominal date of p's first instalment on or
// after d (false: the plan ends before).
func (s *Service) firstNominalOnOrAfter(p Plan, d fund.Date) (fund.Date, bool, error) {
	// A quarterly plan's next nominal date is at most ~3 months away, and a
	// run of holidays cannot push a due date further than a few days; a year
	// and a half covers every frequency. The window grows from a month so
	// that the calendar is asked about the days it needs and no more: it
	// may not cover next year yet, and a nominal date needs no calendar.
	var err error
	for _, span := range []int{40, 100, 200, 550} {
		var ins []schedule.Instalment
		if ins, err = schedule.Window(p.Spec(), s.Calendar, d.AddDays(-1), d.AddDays(span)); err != nil {
			break
		}
		if len(ins) > 0 {
			return ins[0].Nominal, true, nil
		}
	}
	var oor *fund.OutOfRangeError
	if errors.As(err, &oor) && p.Spec().Frequency != schedule.Daily {
		// The due date is past the holiday files; the nominal date is the
		// plan's terms alone (a daily plan's would need the calendar).
		ns, nerr := schedule.Nominals(p.Spec(), d.AddDays(-1), d.AddDays(550))
		if nerr == nil && len(ns) > 0 {
			return ns[0].Date, true, nil
		}
	}
	if err != nil {
		return fund.Date{}, false, fmt.Errorf("schedule of plan %s: %w", p.ID, err)
	}
	return fund.Date{}, false, nil
}

// Cancel cancels a plan for its investor: plans.status cancelled (reason
// by_investor); its instalments not yet presented are dropped; one already
// presented still completes (the settlement run follows it to the end).
func (s *Service) Cancel(ctx context.Context, id string) (Plan, error) {
	return s.change(ctx, id, "cancelled", func(tx PlanTx, p Plan) error {
		due, err := tx.Unpresented(ctx)
		if err != nil {
			return err
		}
		seqs := make([]int, len(due))
		for i, in := range due {
			seqs[i] = in.Seq
		}
		dropped, err := tx.MarkDue(ctx, seqs, InstDropped, ReasonByInvestor)
		if err != nil {
			return err
		}
		if err := tx.SetStatus(ctx, Cancelled, ReasonByInvestor); err != nil {
			return err
		}
		// <kind>.cancelled, as a cancel by settlement sends it.
		ev := s.cancelledEvent(CancelledPlan{PlanID: p.ID, Kind: string(p.Kind), InvestorID: p.InvestorID, Folio: p.Folio,
			Reason: ReasonByInvestor, Dropped: dropped}, s.now())
		if err := tx.Events(ctx, ev); err != nil {
			return err
		}
		return tx.Audit(ctx, "cancelled", map[string]any{"reason": ReasonByInvestor, "dropped": dropped})
	})
}

// asRequest is the plan's registration terms now in force, for re-checking
// them after a modification.
func (p Plan) asRequest() RegisterRequest {
	v := p.Current()
	start := p.StartDate
	amt := v.Amount
	return RegisterRequest{ClientID: p.ClientID, Kind: p.Kind, InvestorID: p.InvestorID, Folio: p.Folio, SchemeCode: p.SchemeCode,
		ToSchemeCode: p.ToSchemeCode, MandateID: p.MandateID, Amount: &amt, Frequency: p.Frequency, DayOfMonth: v.DayOfMonth,
		Weekday: v.Weekday, StartDate: &start, EndDate: p.EndDate, Instalments: p.Instalments}
}
