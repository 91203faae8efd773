package fund

import (
	"testing"
	"time"
)

// The mandate machine of sql/postgres/015_mandates.sql, case by case:
// created → confirmed ⇄ paused → cancelled; created → rejected; forward by
// the gateway's time; rejected and cancelled final.
func TestMandateStep(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	before, same, after := t0.Add(-time.Second), t0, t0.Add(time.Hour)
	const (
		cr = MandateCreated
		co = MandateConfirmed
		pa = MandatePaused
		rj = MandateRejected
		ca = MandateCancelled
	)
	cases := []struct {
		cur  MandateStatus
		next MandateStatus
		at   time.Time
		want string
	}{
		// A new mandate takes whatever the gateway says first.
		{"", co, after, ""}, {"", rj, after, ""}, {"", ca, after, ""}, {"", pa, after, ""}, {"", cr, after, ""},
		// Forward, later.
		{cr, co, after, ""}, {cr, rj, after, ""}, {cr, pa, after, ""}, {cr, ca, after, ""},
		{co, pa, after, ""}, {pa, co, after, ""}, {co, ca, after, ""}, {pa, ca, after, ""},
		{co, co, after, ""}, // a newer confirmed refreshes the limit and dates
		// Not in the machine.
		{co, rj, after, MandateNotAStep}, {pa, rj, after, MandateNotAStep}, {co, cr, after, MandateNotAStep},
		// Final states never move, even by a newer event.
		{rj, co, after, MandateFinal}, {ca, co, after, MandateFinal}, {ca, pa, after, MandateFinal}, {rj, ca, after, MandateFinal},
		{ca, ca, after, MandateFinal},
		// Older events change nothing, whatever they say.
		{pa, co, before, MandateStale}, {co, pa, before, MandateStale}, {co, ca, before, MandateStale}, {cr, co, before, MandateStale},
		// The same second: only a final state wins.
		{co, pa, same, MandateSameTime}, {pa, co, same, MandateSameTime}, {co, ca, same, ""}, {cr, rj, same, ""},
		{co, co, same, ""},
		// Not a state.
		{co, "expired", after, MandateBadStatus},
	}
	for _, c := range cases {
		curAt := t0
		if c.cur == "" {
			curAt = time.Time{}
		}
		if got := MandateStep(c.cur, curAt, c.next, c.at); got != c.want {
			t.Errorf("%q (at %s) → %q at %s: %q, want %q", c.cur, curAt.Format(time.TimeOnly), c.next, c.at.Format(time.TimeOnly), got, c.want)
		}
	}
	// A mandate whose state came without a time (created by a payment that
	// named its token) takes the first token event.
	if got := MandateStep(cr, time.Time{}, co, before); got != "" {
		t.Errorf("created without a time → confirmed: %q", got)
	}
}

func TestMandateEventCheck(t *testing.T) {
	max := AmountFromPaise(0)
	neg := AmountFromPaise(-100)
	for _, m := range []MandateEvent{
		{TokenID: "token_1", Status: "asleep"},
		{TokenID: "token_1", Status: MandateConfirmed, MaxAmount: &max},
		{TokenID: "token_1", Status: MandateConfirmed, MaxAmount: &neg},
		{TokenID: "token_\x00", Status: MandateConfirmed},
		{TokenID: "token_1", Status: MandateConfirmed, AccountNumber: "\xff"},
	} {
		if m.Check() == nil {
			t.Errorf("%+v accepted", m)
		}
	}
	ok := AmountFromPaise(100)
	if e := (MandateEvent{TokenID: "token_1", Status: MandateConfirmed, MaxAmount: &ok}).Check(); e != nil {
		t.Error(e)
	}
}
