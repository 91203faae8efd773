package plans_test

import (
	"context"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/schedule"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
)

// instalment writes a plan_instalments row as the instalment run would.
func instalment(t *testing.T, e *env, planID string, seq int, nominal, due, status string) {
	t.Helper()
	if _, err := e.owner.Exec(context.Background(), `INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, amount, status)
		VALUES ($1, $2, $3, $4, 1000, $5)`, planID, due, seq, nominal, status); err != nil {
		t.Fatal(err)
	}
}

func statusOf(t *testing.T, e *env, planID string, seq int) (status, reason, amount string) {
	t.Helper()
	if err := e.owner.QueryRow(context.Background(), `SELECT status, reason, amount::text FROM plan_instalments WHERE plan_id = $1 AND seq = $2`,
		planID, seq).Scan(&status, &reason, &amount); err != nil {
		t.Fatal(err)
	}
	return status, reason, amount
}

func mustRegister(t *testing.T, e *env, body string) plans.Plan {
	t.Helper()
	p, _, err := register(t, e, body)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Pause K ≤ Config.MaxPause (6 by default); K+1 is refused; a second pause
// while one runs is refused; resume ends the pause at the last instalment
// already generated in it, which stays skipped.
func TestPauseAndResumeBoundaries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Ctx(t)
	p := mustRegister(t, e, sipBody)
	if _, err := e.svc.Pause(ctx, p.ID, 7); codeOf(err) != plans.CodePauseTooLong {
		t.Fatalf("pause 7: %v", err)
	}
	if _, err := e.svc.Pause(ctx, p.ID, 0); codeOf(err) != plans.CodeBadInstalments {
		t.Fatalf("pause 0: %v", err)
	}
	// Nothing generated yet: the pause covers nominal dates 1..6.
	q, err := e.svc.Pause(ctx, p.ID, 6)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != plans.Paused || len(q.Pauses) != 1 || q.Pauses[0] != (plans.Pause{FromSeq: 1, ToSeq: 6}) {
		t.Fatalf("paused: %+v %+v", q.Status, q.Pauses)
	}
	if _, err := e.svc.Pause(ctx, p.ID, 1); codeOf(err) != plans.CodePlanPaused {
		t.Fatalf("pause while paused: %v", err)
	}
	// Resumed before anything was skipped: the range becomes 1..0.
	q, err = e.svc.Resume(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != plans.Active || q.Pauses[0] != (plans.Pause{FromSeq: 1, ToSeq: 0}) {
		t.Fatalf("resumed: %+v %+v", q.Status, q.Pauses)
	}
	if _, err := e.svc.Resume(ctx, p.ID); codeOf(err) != plans.CodePlanNotPaused {
		t.Fatalf("resume an active plan: %v", err)
	}

	// The run has presented instalment 1 and generated 2 (due).
	instalment(t, e, p.ID, 1, "2027-01-10", "2027-01-11", plans.InstPresented)
	instalment(t, e, p.ID, 2, "2027-02-10", "2027-02-10", plans.InstDue)
	q, err = e.svc.Pause(ctx, p.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Pauses[len(q.Pauses)-1]; got != (plans.Pause{FromSeq: 2, ToSeq: 4}) {
		t.Fatalf("second pause: %+v", got)
	}
	if st, reason, _ := statusOf(t, e, p.ID, 2); st != plans.InstSkipped || reason != plans.ReasonPaused {
		t.Fatalf("instalment 2: %s %s", st, reason)
	}
	if st, _, _ := statusOf(t, e, p.ID, 1); st != plans.InstPresented {
		t.Fatalf("instalment 1: %s", st)
	}
	// The run generates 3 inside the pause (skipped); then the investor
	// resumes: the pause ends at 3, and 2 and 3 stay skipped.
	instalment(t, e, p.ID, 3, "2027-03-10", "2027-03-10", plans.InstSkipped)
	q, err = e.svc.Resume(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Pauses[len(q.Pauses)-1]; got != (plans.Pause{FromSeq: 2, ToSeq: 3}) || q.Status != plans.Active {
		t.Fatalf("resumed: %s %+v", q.Status, got)
	}
	for _, seq := range []int{2, 3} {
		if st, _, _ := statusOf(t, e, p.ID, seq); st != plans.InstSkipped {
			t.Fatalf("instalment %d after resume: %s", seq, st)
		}
	}
	// A pause that ran its course: the next is 4, the pause ended at 3, so
	// a new one may start.
	if q, err = e.svc.Pause(ctx, p.ID, 6); err != nil || q.Pauses[len(q.Pauses)-1] != (plans.Pause{FromSeq: 4, ToSeq: 9}) {
		t.Fatalf("third pause: %v %+v", err, q.Pauses)
	}
	want := []string{"registered", "paused", "resumed", "paused", "resumed", "paused"}
	assertAudit(t, e, p.ID, want)
}

func assertAudit(t *testing.T, e *env, planID string, want []string) {
	t.Helper()
	rows, err := e.owner.Query(context.Background(), `SELECT action FROM audit_log WHERE entity = 'plan' AND entity_id = $1 ORDER BY seq`, planID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != len(want) {
		t.Fatalf("audit actions %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("audit actions %v, want %v", got, want)
		}
	}
}

// A modification made on day X applies from the first nominal date on or
// after X + 7 days (the default notice). The plan is monthly on the 10th
// from 10 Jan 2027 (dates listed by hand):
//   - made Sun 3 Jan 2027: X+7 = 10 Jan → effective 10 Jan 2027;
//   - made Tue 5 Jan 2027: X+7 = 12 Jan → effective 10 Feb 2027.
func TestModifyAfterTheNoticePeriod(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Ctx(t)
	p := mustRegister(t, e, sipBody)
	// Instalment 1 (10 Jan, a Sunday: due Monday 11 Jan) is generated, due.
	instalment(t, e, p.ID, 1, "2027-01-10", "2027-01-11", plans.InstDue)

	e.now = time.Date(2027, 1, 3, 12, 0, 0, 0, time.UTC)
	amt := fund.MustAmount("2000")
	q, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{Amount: &amt})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Current(); v.Version != 2 || v.EffectiveFrom != fund.NewDate(2027, 1, 10) || v.Amount.String() != "2000.00" {
		t.Fatalf("version 2: %+v", v)
	}
	if _, _, a := statusOf(t, e, p.ID, 1); a != "2000.00" {
		t.Fatalf("instalment 1 not repriced: %s", a)
	}

	// 18:40 UTC on 4 Jan is 00:10 IST on 5 Jan: the notice counts from 5 Jan.
	e.now = time.Date(2027, 1, 4, 18, 40, 0, 0, time.UTC)
	amt3 := fund.MustAmount("3000")
	q, err = e.svc.Modify(ctx, p.ID, plans.ModifyRequest{Amount: &amt3})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Current(); v.Version != 3 || v.EffectiveFrom != fund.NewDate(2027, 2, 10) {
		t.Fatalf("version 3: %+v", v)
	}
	if _, _, a := statusOf(t, e, p.ID, 1); a != "2000.00" {
		t.Fatalf("instalment 1 (before 10 Feb) repriced: %s", a)
	}
	// The amount in force: 2000 on 10 Jan, 3000 from 10 Feb.
	for d, want := range map[fund.Date]string{fund.NewDate(2027, 1, 10): "2000.00", fund.NewDate(2027, 2, 10): "3000.00", fund.NewDate(2027, 6, 10): "3000.00"} {
		if a, err := q.AmountAt(d); err != nil || a.String() != want {
			t.Errorf("amount at %s: %s %v, want %s", d, a, err, want)
		}
	}

	// A new day on 5 Jan: from 10 Feb the plan is on the 20th, so its next
	// nominal dates are 20 Feb, 20 Mar (the 10th of January stays).
	day := 20
	q, err = e.svc.Modify(ctx, p.ID, plans.ModifyRequest{DayOfMonth: &day})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Current(); v.Version != 4 || v.EffectiveFrom != fund.NewDate(2027, 2, 10) || *v.DayOfMonth != 20 || v.Amount.String() != "3000.00" {
		t.Fatalf("version 4: %+v", v)
	}
	ins, err := scheduleOf(q, fund.NewDate(2027, 3, 31))
	if err != nil {
		t.Fatal(err)
	}
	wantDates := []fund.Date{fund.NewDate(2027, 1, 10), fund.NewDate(2027, 2, 20), fund.NewDate(2027, 3, 20)}
	if len(ins) != len(wantDates) {
		t.Fatalf("nominal dates %v, want %v", ins, wantDates)
	}
	for i := range ins {
		if ins[i] != wantDates[i] {
			t.Fatalf("nominal dates %v, want %v", ins, wantDates)
		}
	}

	// Refused: a day the scheme does not allow, a weekday on a monthly
	// plan, an amount below the minimum, nothing at all.
	bad := 11
	wd := plans.Weekday(time.Monday)
	low := fund.MustAmount("100")
	for name, c := range map[string]struct {
		m    plans.ModifyRequest
		code string
	}{
		"day not allowed":  {plans.ModifyRequest{DayOfMonth: &bad}, plans.CodeDayNotAllowed},
		"weekday":          {plans.ModifyRequest{Weekday: &wd}, plans.CodeBadField},
		"below minimum":    {plans.ModifyRequest{Amount: &low}, plans.CodeBelowMinimum},
		"nothing":          {plans.ModifyRequest{}, plans.CodeNothingToModify},
		"unknown plan":     {plans.ModifyRequest{Amount: &amt}, plans.CodePlanNotFound},
		"over the mandate": {plans.ModifyRequest{Amount: ptr(fund.MustAmount("20000"))}, plans.CodeMandateLimit},
	} {
		id := p.ID
		if name == "unknown plan" {
			id = "pl_nope"
		}
		if _, err := e.svc.Modify(ctx, id, c.m); codeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	// A day change when an instalment on or after the effective date is
	// already generated: refused (its date would move).
	instalment(t, e, p.ID, 2, "2027-02-20", "2027-02-22", plans.InstDue)
	e.now = time.Date(2027, 2, 10, 6, 0, 0, 0, time.UTC) // X+7 = 17 Feb → effective 20 Feb
	day25 := 25
	if _, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{DayOfMonth: &day25}); codeOf(err) != plans.CodeAlreadyGenerated {
		t.Fatalf("day change over a generated instalment: %v", err)
	}
	assertAudit(t, e, p.ID, []string{"registered", "modified", "modified", "modified"})
}

func ptr[T any](v T) *T { return &v }

// Cancel drops what was not presented, lets the presented one complete,
// and every later change answers plan_cancelled.
func TestCancelThenEveryChangeIsAConflict(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Ctx(t)
	p := mustRegister(t, e, sipBody)
	instalment(t, e, p.ID, 1, "2027-01-10", "2027-01-11", plans.InstPresented)
	instalment(t, e, p.ID, 2, "2027-02-10", "2027-02-10", plans.InstDue)
	q, err := e.svc.Cancel(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != plans.Cancelled || q.StatusReason != plans.ReasonByInvestor {
		t.Fatalf("cancelled: %s %s", q.Status, q.StatusReason)
	}
	if st, _, _ := statusOf(t, e, p.ID, 1); st != plans.InstPresented {
		t.Fatalf("presented instalment: %s", st)
	}
	if st, reason, _ := statusOf(t, e, p.ID, 2); st != plans.InstDropped || reason != plans.ReasonByInvestor {
		t.Fatalf("due instalment: %s %s", st, reason)
	}
	amt := fund.MustAmount("2000")
	for name, change := range map[string]func() error{
		"pause":  func() error { _, err := e.svc.Pause(ctx, p.ID, 1); return err },
		"resume": func() error { _, err := e.svc.Resume(ctx, p.ID); return err },
		"modify": func() error { _, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{Amount: &amt}); return err },
		"cancel": func() error { _, err := e.svc.Cancel(ctx, p.ID); return err },
	} {
		var pe *plans.Error
		err := change()
		if codeOf(err) != plans.CodePlanCancelled {
			t.Errorf("%s: %v", name, err)
		} else if pe = err.(*plans.Error); pe.Kind != plans.Conflict {
			t.Errorf("%s: kind %d", name, pe.Kind)
		}
	}
	assertAudit(t, e, p.ID, []string{"registered", "cancelled"})
	his, err := e.svc.Instalments(ctx, p.ID)
	if err != nil || len(his) != 2 || his[0].Seq != 1 || his[1].Status != plans.InstDropped || his[0].Due != fund.NewDate(2027, 1, 11) {
		t.Fatalf("history: %+v %v", his, err)
	}
	if _, err := e.svc.Instalments(ctx, "pl_nope"); codeOf(err) != plans.CodePlanNotFound {
		t.Fatalf("history of no plan: %v", err)
	}
}

// scheduleOf lists the plan's nominal dates due up to through (fund/schedule
// on the plan's Spec, with its versions' changes of day).
func scheduleOf(p plans.Plan, through fund.Date) ([]fund.Date, error) {
	ins, err := schedule.Window(p.Spec(), nil, fund.Date{}, through)
	out := make([]fund.Date, len(ins))
	for i, in := range ins {
		out[i] = in.Nominal
	}
	return out, err
}

// A modification made under a shorter notice than a pending one does not
// start before it: it replaces it from the pending one's date (versions
// stay in date order). Monthly on the 10th from 10 Jan 2027, on 4 Dec 2026:
// with 40 days' notice (13 Jan) the first nominal date is 10 Feb; with 7
// (11 Dec) it would be 10 Jan, but the pending change holds until 10 Feb.
func TestModifyNeverStartsBeforeAPendingOne(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Ctx(t)
	p := mustRegister(t, e, sipBody)
	e.svc.Config.ModifyNoticeDays = 40
	d20, d25 := 20, 25
	if q, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{DayOfMonth: &d20}); err != nil || q.Current().EffectiveFrom != fund.NewDate(2027, 2, 10) {
		t.Fatalf("40 days' notice: %v %+v", err, q.Current())
	}
	e.svc.Config.ModifyNoticeDays = 7
	q, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{DayOfMonth: &d25})
	if err != nil || q.Current().EffectiveFrom != fund.NewDate(2027, 2, 10) {
		t.Fatalf("7 days' notice: %v %+v", err, q.Current())
	}
	got, err := scheduleOf(q, fund.NewDate(2027, 3, 31))
	want := []fund.Date{fund.NewDate(2027, 1, 10), fund.NewDate(2027, 2, 25), fund.NewDate(2027, 3, 25)}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("nominal dates %v %v, want %v", got, err, want)
	}
}

// A modification made in December 2026 of a plan whose next nominal date is
// in 2027, with holiday files for 2026 only: the nominal date needs no
// calendar, so the modification applies from it (10 Jan 2027) rather than
// failing because 2027's due days are unknown (the old window asked the
// calendar 550 days ahead).
func TestModifyWhileTheCalendarEndsBeforeTheNextInstalment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := testkit.Ctx(t)
	p := mustRegister(t, e, sipBody) // first nominal date 10 Jan 2027
	e.svc.Calendar = fund.HolidayCalendar(fund.NewDate(2026, 12, 25))
	e.now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	amt := fund.MustAmount("2000")
	q, err := e.svc.Modify(ctx, p.ID, plans.ModifyRequest{Amount: &amt})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Current(); v.Version != 2 || v.EffectiveFrom != fund.NewDate(2027, 1, 10) {
		t.Fatalf("version 2: %+v, want from 10 Jan 2027", v)
	}
}
