package plans_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
)

// The fixture's clock: Friday 4 December 2026, 10:00 IST.
var friday = time.Date(2026, 12, 4, 4, 30, 0, 0, time.UTC)

// fixtureSQL is what registrations are checked against: two investors
// with a folio each, two schemes, S1's plan terms and INV-1's mandates.
const fixtureSQL = `
INSERT INTO investors (id, name) VALUES ('INV-1', 'A'), ('INV-2', 'B');
INSERT INTO folios (folio_no, investor_id) VALUES ('F-1', 'INV-1'), ('G-1', 'INV-2');
INSERT INTO schemes (code, name, version, valid_from) VALUES ('S1', 'Alpha', 1, '2020-01-01'), ('S2', 'Beta', 1, '2020-01-01');
INSERT INTO scheme_plan_terms (scheme_code, kind, frequency, min_amount, multiple, allowed_days, min_first_gap_days, min_instalments) VALUES
	('S1', 'sip', 'monthly', 500, 100, '{1,5,10,15,20,25,28}', 7, 1),
	('S1', 'sip', 'weekly', 500, 100, NULL, 0, 1),
	('S1', 'stp', 'monthly', 1000, 1, NULL, 0, 1),
	('S1', 'swp', 'monthly', 1000, 1, NULL, 0, 6);
INSERT INTO mandates (id, gateway, investor_id, status, max_amount, starts_on, expires_on) VALUES
	('token_ok',       'razorpay', 'INV-1', 'confirmed', 10000, '2026-01-01', '2036-01-01'),
	('token_paused',   'razorpay', 'INV-1', 'paused',    10000, '2026-01-01', '2036-01-01'),
	('token_other',    'razorpay', 'INV-2', 'confirmed', 10000, '2026-01-01', '2036-01-01'),
	('token_small',    'razorpay', 'INV-1', 'confirmed',  1000, '2026-01-01', '2036-01-01'),
	('token_late',     'razorpay', 'INV-1', 'confirmed', 10000, '2027-06-01', '2036-01-01'),
	('token_expiring', 'razorpay', 'INV-1', 'confirmed', 10000, '2026-01-01', '2027-01-05');
INSERT INTO mandates (id, gateway, status) VALUES ('token_unlinked', 'razorpay', 'confirmed');
`

type env struct {
	owner *pgxpool.Pool
	svc   *plans.Service
	now   time.Time
}

// setup gives the test a database with the fixture and a plans service on
// the application role's pool, its clock at friday.
func setup(t *testing.T) *env {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	if _, err := owner.Exec(testkit.Ctx(t), fixtureSQL); err != nil {
		t.Fatal(err)
	}
	e := &env{owner: owner, now: friday}
	e.svc = &plans.Service{Store: pgstore.Store{Pool: app}, Now: func() time.Time { return e.now }}
	return e
}

// sipBody is a good monthly SIP on day 10 from 11 December 2026: its first
// nominal date is 10 January 2027 (the first 10th on or after the start).
const sipBody = `{"client_id":"c-1","kind":"sip","investor_id":"INV-1","folio":"F-1","scheme_code":"S1","mandate_id":"token_ok",
	"amount":"1000","frequency":"monthly","day_of_month":10,"start_date":"2026-12-11"}`

// with sets fields of sipBody: pairs of name and JSON value ("" deletes).
func with(pairs ...string) string {
	b := sipBody
	for i := 0; i+1 < len(pairs); i += 2 {
		b = set(b, pairs[i], pairs[i+1])
	}
	return b
}

// set replaces, adds or (value "") deletes a field of a flat JSON object.
func set(b, field, value string) string {
	i := strings.Index(b, `"`+field+`":`)
	if i < 0 {
		if value == "" {
			return b
		}
		return strings.TrimSuffix(b, "}") + `,"` + field + `":` + value + "}"
	}
	j := i + len(field) + 3
	end := j
	for depth := 0; end < len(b); end++ {
		c := b[end]
		if c == '"' {
			k := strings.IndexByte(b[end+1:], '"')
			end += k + 1
			continue
		}
		if (c == ',' || c == '}') && depth == 0 {
			break
		}
	}
	if value == "" {
		if b[end] == ',' {
			end++
		} else if b[i-1] == ',' {
			i--
		}
		return b[:i] + b[end:]
	}
	return b[:j] + value + b[end:]
}

func register(t *testing.T, e *env, body string) (plans.Plan, plans.Outcome, error) {
	t.Helper()
	req, err := plans.DecodeRegisterRequest([]byte(body))
	if err != nil {
		return plans.Plan{}, 0, err
	}
	return e.svc.Register(testkit.Ctx(t), req)
}

func codeOf(err error) string {
	var pe *plans.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func count(t *testing.T, e *env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every bad request gets its code, and none of them stores anything.
func TestRegisterRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cases := []struct {
		name, body, code string
		kind             plans.ErrKind
	}{
		{"amount as a number", with("amount", `1000`), plans.CodeBadJSON, plans.Malformed},
		{"unknown field", with("colour", `"red"`), plans.CodeBadJSON, plans.Malformed},
		{"trailing data", sipBody + `{}`, plans.CodeBadJSON, plans.Malformed},
		{"not UTF-8", with("folio", "\"F-\xff\""), plans.CodeBadEncoding, plans.Malformed},
		{"weekday as a number", with("frequency", `"weekly"`, "day_of_month", "", "weekday", `3`), plans.CodeBadJSON, plans.Malformed},
		{"day on a weekly plan", with("frequency", `"weekly"`, "weekday", `"wed"`), plans.CodeBadField, plans.Refused},
		{"weekly without weekday", with("frequency", `"weekly"`, "day_of_month", ""), plans.CodeMissingField, plans.Refused},
		{"bad client id", with("client_id", `"c 1"`), plans.CodeBadClientID, plans.Refused},
		{"bad kind", with("kind", `"lumpsum"`), plans.CodeBadKind, plans.Refused},
		{"bad frequency", with("frequency", `"yearly"`), plans.CodeBadFrequency, plans.Refused},
		{"no amount", with("amount", ""), plans.CodeMissingField, plans.Refused},
		{"zero amount", with("amount", `"0"`), plans.CodeBadAmount, plans.Refused},
		{"day 32", with("day_of_month", `32`), plans.CodeBadDay, plans.Refused},
		{"monthly without a day", with("day_of_month", ""), plans.CodeMissingField, plans.Refused},
		{"no start", with("start_date", ""), plans.CodeMissingField, plans.Refused},
		{"end and count", with("end_date", `"2027-12-31"`, "instalments", `12`), plans.CodeBadField, plans.Refused},
		{"no instalments", with("instalments", `0`), plans.CodeBadInstalments, plans.Refused},
		{"amount beyond numeric(18,2)", with("amount", `"12345678901234567.00"`), plans.CodeOutOfRange, plans.Refused},
		{"weekday not a day", with("frequency", `"weekly"`, "day_of_month", "", "weekday", `"someday"`), plans.CodeBadJSON, plans.Malformed},
		{"end before start", with("end_date", `"2026-12-01"`), plans.CodeEndBeforeStart, plans.Refused},
		{"two step-ups", with("step_up_amount", `"100"`, "step_up_pct", `"10"`), plans.CodeBadStepUp, plans.Refused},
		{"step-up over 100%", with("step_up_pct", `"100.5"`), plans.CodeBadStepUp, plans.Refused},
		{"sip without mandate", with("mandate_id", ""), plans.CodeMissingField, plans.Refused},
		{"swp with mandate", with("kind", `"swp"`), plans.CodeBadField, plans.Refused},
		{"stp without target", with("kind", `"stp"`, "mandate_id", ""), plans.CodeMissingField, plans.Refused},
		{"stp into itself", with("kind", `"stp"`, "mandate_id", "", "to_scheme_code", `"S1"`), plans.CodeBadField, plans.Refused},
		{"unknown folio", with("folio", `"NOPE"`), plans.CodeUnknownFolio, plans.Refused},
		{"another investor's folio", with("folio", `"G-1"`), plans.CodeFolioMismatch, plans.Refused},
		{"unknown scheme", with("scheme_code", `"NOPE"`), plans.CodeUnknownScheme, plans.Refused},
		{"not offered (quarterly)", with("frequency", `"quarterly"`), plans.CodeNotOffered, plans.Refused},
		{"not offered (S2)", with("scheme_code", `"S2"`), plans.CodeNotOffered, plans.Refused},
		{"below minimum", with("amount", `"400"`), plans.CodeBelowMinimum, plans.Refused},
		{"not a multiple", with("amount", `"550"`), plans.CodeNotMultiple, plans.Refused},
		{"day not allowed", with("day_of_month", `11`), plans.CodeDayNotAllowed, plans.Refused},
		// day 5 from 11 Dec: 5 Jan, 25 days ahead; from 5 Dec: 5 Dec, 1 day ahead (7 needed)
		{"first too soon", with("start_date", `"2026-12-05"`, "day_of_month", `5`), plans.CodeTooSoon, plans.Refused},
		{"start in the past", with("start_date", `"2026-11-01"`), plans.CodeTooSoon, plans.Refused},
		{"no instalment before the end", with("end_date", `"2027-01-09"`), plans.CodeTooFew, plans.Refused},
		{"unknown mandate", with("mandate_id", `"token_none"`), plans.CodeUnknownMandate, plans.Refused},
		{"mandate paused", with("mandate_id", `"token_paused"`), plans.CodeMandateNotActive, plans.Refused},
		{"another investor's mandate", with("mandate_id", `"token_other"`), plans.CodeMandateNotOwn, plans.Refused},
		{"mandate of no investor", with("mandate_id", `"token_unlinked"`), plans.CodeMandateNotOwn, plans.Refused},
		{"over the mandate's limit", with("mandate_id", `"token_small"`, "amount", `"1500"`), plans.CodeMandateLimit, plans.Refused},
		{"mandate starts after the first", with("mandate_id", `"token_late"`), plans.CodeMandateNotStarted, plans.Refused},
		{"mandate expires first", with("mandate_id", `"token_expiring"`), plans.CodeMandateExpires, plans.Refused},
	}
	for _, c := range cases {
		_, _, err := register(t, e, c.body)
		var pe *plans.Error
		if !errors.As(err, &pe) || pe.Code != c.code || pe.Kind != c.kind {
			t.Errorf("%s: got %v, want %s (kind %d)\n%s", c.name, err, c.code, c.kind, c.body)
		}
	}
	// An swp needs 6 instalments at S1: 3 is too few.
	swp := `{"client_id":"w-1","kind":"swp","investor_id":"INV-1","folio":"F-1","scheme_code":"S1","amount":"1000","frequency":"monthly",
		"day_of_month":10,"start_date":"2026-12-11","instalments":3}`
	if _, _, err := register(t, e, swp); codeOf(err) != plans.CodeTooFew {
		t.Errorf("swp of 3: %v", err)
	}
	if n := count(t, e, `SELECT (SELECT count(*) FROM plans) + (SELECT count(*) FROM plan_versions) + (SELECT count(*) FROM audit_log)`); n != 0 {
		t.Fatalf("bad input stored %d rows", n)
	}
}

// The same request again is the same plan; another under its client id
// is a conflict; one registration writes one plan, version 1 and one
// audit row.
func TestRegisterIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p, out, err := register(t, e, sipBody)
	if err != nil || out != plans.Created {
		t.Fatalf("register: %v %v", out, err)
	}
	if p.Status != plans.Active || !strings.HasPrefix(p.ID, "pl_") || len(p.Versions) != 1 {
		t.Fatalf("plan: %+v", p)
	}
	// The first nominal date, by hand: the first 10th on or after 11 Dec 2026.
	if v := p.Versions[0]; v.EffectiveFrom != fund.NewDate(2027, 1, 10) || v.Amount.String() != "1000.00" || v.DayOfMonth == nil || *v.DayOfMonth != 10 {
		t.Fatalf("version 1: %+v", v)
	}
	// The same request written otherwise: fields reordered, amount "1000.00".
	again := `{"start_date":"2026-12-11","day_of_month":10,"frequency":"monthly","amount":"1000.00","mandate_id":"token_ok",
		"scheme_code":"S1","folio":"F-1","investor_id":"INV-1","kind":"sip","client_id":"c-1"}`
	q, out, err := register(t, e, again)
	if err != nil || out != plans.Duplicate || q.ID != p.ID {
		t.Fatalf("again: %v %v %s", out, err, q.ID)
	}
	// The same client id with another amount.
	if _, _, err := register(t, e, with("amount", `"2000"`)); codeOf(err) != plans.CodeClientIDConflict {
		t.Fatalf("conflict: %v", err)
	}
	// Even after the scheme's terms change, the same request is the same plan.
	if _, err := e.owner.Exec(context.Background(), `UPDATE scheme_plan_terms SET min_amount = 5000`); err != nil {
		t.Fatal(err)
	}
	if q, out, err := register(t, e, sipBody); err != nil || out != plans.Duplicate || q.ID != p.ID {
		t.Fatalf("after terms changed: %v %v", out, err)
	}
	if n := count(t, e, `SELECT count(*) FROM plans`); n != 1 {
		t.Fatalf("%d plans", n)
	}
	if n := count(t, e, `SELECT count(*) FROM audit_log WHERE entity = 'plan' AND entity_id = $1 AND action = 'registered'`, p.ID); n != 1 {
		t.Fatalf("%d audit rows", n)
	}
}

// An stp and a weekly sip register with their own fields.
func TestRegisterKinds(t *testing.T) {
	t.Parallel()
	e := setup(t)
	stp := `{"client_id":"t-1","kind":"stp","investor_id":"INV-1","folio":"F-1","scheme_code":"S1","to_scheme_code":"S2","amount":"1500",
		"frequency":"monthly","day_of_month":31,"start_date":"2027-01-01","end_date":"2027-12-31","step_up_pct":"10"}`
	p, _, err := register(t, e, stp)
	if err != nil {
		t.Fatal(err)
	}
	if p.ToSchemeCode != "S2" || p.MandateID != "" || p.StepUpPct == nil || p.StepUpPct.String() != "10.0000" || p.EndDate == nil {
		t.Fatalf("stp: %+v", p)
	}
	if v := p.Versions[0]; v.EffectiveFrom != fund.NewDate(2027, 1, 31) {
		t.Fatalf("stp's first nominal date %s, want 2027-01-31", v.EffectiveFrom)
	}
	// Weekly on Wednesdays from Friday 4 Dec: Wednesday 9 Dec.
	weekly := `{"client_id":"w-2","kind":"sip","investor_id":"INV-1","folio":"F-1","scheme_code":"S1","mandate_id":"token_ok","amount":"500",
		"frequency":"weekly","weekday":"wed","start_date":"2026-12-04","instalments":52,"step_up_amount":"100"}`
	w, _, err := register(t, e, weekly)
	if err != nil {
		t.Fatal(err)
	}
	if v := w.Versions[0]; v.EffectiveFrom != fund.NewDate(2026, 12, 9) || v.Weekday == nil || *v.Weekday != plans.Weekday(time.Wednesday) {
		t.Fatalf("weekly: %+v", v)
	}
	ps, err := e.svc.ListByFolio(testkit.Ctx(t), "F-1")
	if err != nil || len(ps) != 2 {
		t.Fatalf("folio's plans: %d %v", len(ps), err)
	}
}
