package plans_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
)

// genDB is a fresh database with one investor, folio and mandate, and the
// instalment run on it (as the application's role).
type genDB struct {
	t     *testing.T
	ctx   context.Context
	owner *pgxpool.Pool
	app   *pgxpool.Pool
	cal   *fund.Calendar
}

func newGenDB(t *testing.T, holidays ...string) *genDB {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	g := &genDB{t: t, ctx: testkit.Ctx(t), owner: owner, app: app}
	var hs []fund.Date
	for _, h := range holidays {
		hs = append(hs, day(h))
	}
	g.cal = fund.NewCalendar(hs...)
	g.exec(`INSERT INTO investors (id) VALUES ('inv_1')`)
	g.exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F1', 'inv_1')`)
	g.exec(`INSERT INTO mandates (id, gateway, investor_id, status, max_amount) VALUES ('token_1', 'razorpay', 'inv_1', 'confirmed', 100000)`)
	return g
}

func day(s string) fund.Date {
	d, err := fund.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (g *genDB) exec(sql string, args ...any) {
	g.t.Helper()
	if _, err := g.owner.Exec(g.ctx, sql, args...); err != nil {
		g.t.Fatalf("%s: %v", sql, err)
	}
}

// planSpec is a plan row with its first version.
type planSpec struct {
	id, kind, freq, start string
	end                   string // "" none
	count                 int    // 0 none
	amount                string
	day, weekday          int // 0 / -1: none
	stepPct, stepAmt      string
}

func (g *genDB) plan(p planSpec) {
	g.t.Helper()
	var end, count, day, wd, pct, amt, mandate, to any
	if p.end != "" {
		end = p.end
	}
	if p.count > 0 {
		count = p.count
	}
	if p.day > 0 {
		day = p.day
	}
	if p.weekday >= 0 && p.freq == "weekly" {
		wd = p.weekday
	}
	if p.stepPct != "" {
		pct = p.stepPct
	}
	if p.stepAmt != "" {
		amt = p.stepAmt
	}
	switch p.kind {
	case "sip":
		mandate = "token_1"
	case "stp":
		to = "120503"
	}
	g.exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code, mandate_id,
			frequency, start_date, end_date, instalments, step_up_pct, step_up_amount, status)
		VALUES ($1, $1, 'x', $2, 'inv_1', 'F1', '119551', $3, $4, $5, $6, $7, $8, $9, $10, 'active')`,
		p.id, p.kind, to, mandate, p.freq, p.start, end, count, pct, amt)
	g.exec(`INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month, weekday) VALUES ($1, 1, $2, $3, $4, $5)`,
		p.id, p.start, p.amount, day, wd)
}

// service is the run as of instant now (IST, "2006-01-02 15:04").
func (g *genDB) service(now string) *plans.Service {
	t, err := time.ParseInLocation("2006-01-02 15:04", now, fund.IST())
	if err != nil {
		g.t.Fatal(err)
	}
	return &plans.Service{Store: pgstore.Store{Pool: g.app}, Calendar: g.cal, Now: func() time.Time { return t }}
}

func (g *genDB) run(now string) plans.GenerateResult {
	g.t.Helper()
	res, err := g.service(now).Generate(g.ctx)
	if err != nil {
		g.t.Fatalf("generate at %s: %v", now, err)
	}
	return res
}

// rows lists the instalments as "plan seq nominal>due[+merged] amount status[:reason]".
func (g *genDB) rows() []string {
	g.t.Helper()
	rs, err := g.owner.Query(g.ctx, `SELECT plan_id, seq, nominal_date, due_date, merged_nominal, amount::text, status, reason
		FROM plan_instalments ORDER BY plan_id, seq`)
	if err != nil {
		g.t.Fatal(err)
	}
	var out []string
	for rs.Next() {
		var id, amount, status, reason string
		var seq int
		var nominal, due time.Time
		var merged *time.Time
		if err := rs.Scan(&id, &seq, &nominal, &due, &merged, &amount, &status, &reason); err != nil {
			g.t.Fatal(err)
		}
		s := fmt.Sprintf("%s %d %s>%s", id, seq, nominal.Format("2006-01-02"), due.Format("2006-01-02"))
		if merged != nil {
			s += "+" + merged.Format("2006-01-02")
		}
		s += " " + amount + " " + status
		if reason != "" {
			s += ":" + reason
		}
		out = append(out, s)
	}
	if err := rs.Err(); err != nil {
		g.t.Fatal(err)
	}
	return out
}

// events lists the outbox's event ids, sorted.
func (g *genDB) events() []string {
	g.t.Helper()
	rs, err := g.owner.Query(g.ctx, `SELECT event_id FROM outbox ORDER BY event_id`)
	if err != nil {
		g.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		g.t.Fatal(err)
	}
	return ids
}

func (g *genDB) scalar(sql string, args ...any) string {
	g.t.Helper()
	var s string
	if err := g.owner.QueryRow(g.ctx, sql, args...).Scan(&s); err != nil {
		g.t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// The calendar of these tests: weekends, and Wednesday 18 Feb 2026 a
// holiday.
const testHoliday = "2026-02-18"

// catchUpPlans: a monthly SIP on the 31st and a weekly one on Wednesdays.
func catchUpPlans(g *genDB) {
	g.plan(planSpec{id: "pl_m31", kind: "sip", freq: "monthly", start: "2026-01-15", amount: "1000", day: 31, weekday: -1})
	g.plan(planSpec{id: "pl_wed", kind: "sip", freq: "weekly", start: "2026-01-20", amount: "500", weekday: 3})
}

// Listed by hand: runs up to 28 Feb 2026 with a 3-day horizon generate the
// due dates up to Tuesday 3 Mar. 31 Jan is a Saturday (due Mon 2 Feb); 28
// Feb is a Saturday (due Mon 2 Mar); Wednesday 18 Feb is a holiday (due
// Thu 19 Feb); 4 Mar is past the horizon.
var catchUpWant = []string{
	"pl_m31 1 2026-01-31>2026-02-02 1000.00 due",
	"pl_m31 2 2026-02-28>2026-03-02 1000.00 due",
	"pl_wed 1 2026-01-21>2026-01-21 500.00 due",
	"pl_wed 2 2026-01-28>2026-01-28 500.00 due",
	"pl_wed 3 2026-02-04>2026-02-04 500.00 due",
	"pl_wed 4 2026-02-11>2026-02-11 500.00 due",
	"pl_wed 5 2026-02-18>2026-02-19 500.00 due",
	"pl_wed 6 2026-02-25>2026-02-25 500.00 due",
}

func TestGenerateDayByDayEqualsCatchUp(t *testing.T) {
	daily := newGenDB(t, testHoliday)
	catchUpPlans(daily)
	first := day("2026-01-20")
	for i := range 40 {
		d := first.AddDays(i)
		daily.run(d.String() + " 06:00")
		daily.run(d.String() + " 18:00") // a second run the same day adds nothing
	}
	sameList(t, "day by day", daily.rows(), catchUpWant)

	once := newGenDB(t, testHoliday)
	catchUpPlans(once)
	res := once.run("2026-02-28 06:00")
	sameList(t, "catch-up", once.rows(), catchUpWant)
	if res.Due != len(catchUpWant) || res.Through != day("2026-03-03") {
		t.Fatalf("catch-up result %+v", res)
	}
	sameList(t, "events", once.events(), daily.events())
	if n := len(daily.events()); n != len(catchUpWant) {
		t.Fatalf("%d events, want one per due instalment (%d)", n, len(catchUpWant))
	}
	if got := daily.scalar(`SELECT string_agg(generated_through::text, ',' ORDER BY id) FROM plans`); got != "2026-03-03,2026-03-03" {
		t.Fatalf("watermarks %s", got)
	}
}

func TestGenerateTwiceChangesNothing(t *testing.T) {
	g := newGenDB(t, testHoliday)
	catchUpPlans(g)
	g.run("2026-02-28 06:00")
	rows, events := g.rows(), g.events()
	stamp := g.scalar(`SELECT max(notified_at)::text FROM plan_instalments`)
	res := g.run("2026-02-28 09:00")
	if res.Plans != 0 || res.Instalments != 0 {
		t.Fatalf("second run %+v, want nothing", res)
	}
	sameList(t, "rows", g.rows(), rows)
	sameList(t, "events", g.events(), events)
	if s := g.scalar(`SELECT max(notified_at)::text FROM plan_instalments`); s != stamp {
		t.Fatalf("notified_at moved: %s then %s", stamp, s)
	}
}

func TestGeneratePausedSeqsAreSkippedWithoutEvents(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_p", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "2000", day: 5, weekday: -1})
	g.exec(`INSERT INTO plan_pauses (plan_id, from_seq, to_seq) VALUES ('pl_p', 2, 3)`)
	g.exec(`UPDATE plans SET status = 'paused' WHERE id = 'pl_p'`)
	g.run("2026-05-04 06:00") // horizon Thu 7 May
	// 5 Apr 2026 is a Sunday: due Mon 6 Apr.
	sameList(t, "rows", g.rows(), []string{
		"pl_p 1 2026-01-05>2026-01-05 2000.00 due",
		"pl_p 2 2026-02-05>2026-02-05 2000.00 skipped:paused",
		"pl_p 3 2026-03-05>2026-03-05 2000.00 skipped:paused",
		"pl_p 4 2026-04-05>2026-04-06 2000.00 due",
		"pl_p 5 2026-05-05>2026-05-05 2000.00 due",
	})
	sameList(t, "events", g.events(), []string{
		"sip.instalment.due:pl_p:2026-01-05",
		"sip.instalment.due:pl_p:2026-04-06",
		"sip.instalment.due:pl_p:2026-05-05",
	})
	if n := g.scalar(`SELECT count(*)::text FROM plan_instalments WHERE status = 'skipped' AND (notified_at IS NOT NULL OR present_after IS NOT NULL)`); n != "0" {
		t.Fatalf("%s skipped rows carry a notification", n)
	}
}

func TestGenerateStepUpAcrossTheYear(t *testing.T) {
	g := newGenDB(t)
	// 7.5 % a year on 1999.00, from the plan's start 10 Nov 2024:
	// 1999 × 1.075 = 2148.925 → 2148.93; × 1.075² = 2310.094375 → 2310.09.
	g.plan(planSpec{id: "pl_pct", kind: "sip", freq: "monthly", start: "2024-11-10", amount: "1999", day: 10, weekday: -1, stepPct: "7.5"})
	// 250.00 a year on 1000.00.
	g.plan(planSpec{id: "pl_amt", kind: "sip", freq: "monthly", start: "2024-11-10", amount: "1000", day: 10, weekday: -1, stepAmt: "250"})
	g.exec(`UPDATE plans SET generated_through = '2025-09-30'`) // generated up to here before
	g.run("2025-11-08 06:00")                                   // horizon Tue 11 Nov
	g.run("2026-11-09 06:00")                                   // horizon Thu 12 Nov 2026
	var got []string
	for _, r := range g.rows() {
		if seq := strings.Fields(r)[1]; seq == "12" || seq == "13" || seq == "24" || seq == "25" {
			got = append(got, r)
		}
	}
	// 10 Oct 2026 is a Saturday (due Mon 12 Oct).
	sameList(t, "year boundaries", got, []string{
		"pl_amt 12 2025-10-10>2025-10-10 1000.00 due",
		"pl_amt 13 2025-11-10>2025-11-10 1250.00 due",
		"pl_amt 24 2026-10-10>2026-10-12 1250.00 due",
		"pl_amt 25 2026-11-10>2026-11-10 1500.00 due",
		"pl_pct 12 2025-10-10>2025-10-10 1999.00 due",
		"pl_pct 13 2025-11-10>2025-11-10 2148.93 due",
		"pl_pct 24 2026-10-10>2026-10-12 2148.93 due",
		"pl_pct 25 2026-11-10>2026-11-10 2310.09 due",
	})
}

func TestGenerateRespectsEndAndCount(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_cnt", kind: "sip", freq: "monthly", start: "2026-01-01", count: 3, amount: "1000", day: 15, weekday: -1})
	g.plan(planSpec{id: "pl_end", kind: "swp", freq: "weekly", start: "2026-01-01", end: "2026-01-22", amount: "700", weekday: 4})
	g.plan(planSpec{id: "pl_on", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "1000", day: 15, weekday: -1})
	// Horizon Thu 22 Jan: pl_end's last nominal date, so it is done.
	if res := g.run("2026-01-19 06:00"); res.Done != 1 {
		t.Fatalf("first run %+v, want pl_end done", res)
	}
	g.run("2026-06-01 06:00")
	sameList(t, "rows", g.rows(), []string{
		"pl_cnt 1 2026-01-15>2026-01-15 1000.00 due",
		"pl_cnt 2 2026-02-15>2026-02-16 1000.00 due",
		"pl_cnt 3 2026-03-15>2026-03-16 1000.00 due",
		"pl_end 1 2026-01-01>2026-01-01 700.00 due",
		"pl_end 2 2026-01-08>2026-01-08 700.00 due",
		"pl_end 3 2026-01-15>2026-01-15 700.00 due",
		"pl_end 4 2026-01-22>2026-01-22 700.00 due",
		"pl_on 1 2026-01-15>2026-01-15 1000.00 due",
		"pl_on 2 2026-02-15>2026-02-16 1000.00 due",
		"pl_on 3 2026-03-15>2026-03-16 1000.00 due",
		"pl_on 4 2026-04-15>2026-04-15 1000.00 due",
		"pl_on 5 2026-05-15>2026-05-15 1000.00 due",
	})
	if got := g.scalar(`SELECT string_agg(id || ':' || generated_all, ',' ORDER BY id) FROM plans`); got != "pl_cnt:true,pl_end:true,pl_on:false" {
		t.Fatalf("generated_all: %s", got)
	}
	if got := g.scalar(`SELECT string_agg(status, ',' ORDER BY id) FROM plans`); got != "active,active,active" {
		t.Fatalf("statuses %s: completed is settlement's to set", got)
	}
	// A finished plan is not read again.
	if res := g.run("2026-07-01 06:00"); res.Plans != 1 {
		t.Fatalf("run after the ends read %d plans, want 1 (pl_on)", res.Plans)
	}
	if got := g.scalar(`SELECT string_agg(topic, ',' ORDER BY topic) FROM (SELECT DISTINCT topic FROM outbox) t`); got != "sip.instalment.due,swp.instalment.due" {
		t.Fatalf("topics %s", got)
	}
}

func TestGenerateModificationFromItsDate(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_mod", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "1000", day: 5, weekday: -1})
	g.run("2026-02-02 06:00") // Jan 5, Feb 5
	// v2 from 1 Mar: 2500.00 on the 20th.
	g.exec(`INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month) VALUES ('pl_mod', 2, '2026-03-01', 2500, 20)`)
	g.run("2026-04-20 06:00")
	// 20 Mar 2026 is a Friday; 20 Apr a Monday.
	sameList(t, "rows", g.rows(), []string{
		"pl_mod 1 2026-01-05>2026-01-05 1000.00 due",
		"pl_mod 2 2026-02-05>2026-02-05 1000.00 due",
		"pl_mod 3 2026-03-20>2026-03-20 2500.00 due",
		"pl_mod 4 2026-04-20>2026-04-20 2500.00 due",
	})
}

func TestGenerateNotifiesADayBeforeEveryDebit(t *testing.T) {
	g := newGenDB(t, testHoliday)
	catchUpPlans(g)
	g.plan(planSpec{id: "pl_stp", kind: "stp", freq: "monthly", start: "2026-01-01", amount: "3000", day: 2, weekday: -1})
	g.run("2026-02-28 23:30") // late evening: tomorrow's debits must still wait 24 h
	if n := g.scalar(`SELECT count(*)::text FROM plan_instalments WHERE status = 'due' AND
			(notified_at IS NULL OR present_after < notified_at + interval '24 hours'
			 OR present_after < (due_date::timestamp AT TIME ZONE 'Asia/Kolkata'))`); n != "0" {
		t.Fatalf("%s due rows may be presented within 24 h of their notice or before their day", n)
	}
	// Mon 2 Mar is due 26.5 h after the notice: presented from its start.
	if got := g.scalar(`SELECT (present_after AT TIME ZONE 'Asia/Kolkata')::text FROM plan_instalments WHERE plan_id = 'pl_stp' AND due_date = '2026-03-02'`); got != "2026-03-02 00:00:00" {
		t.Fatalf("present_after of 2 Mar: %s IST", got)
	}
	var payload []byte
	if err := g.owner.QueryRow(g.ctx, `SELECT payload FROM outbox WHERE event_id = 'stp.instalment.due:pl_stp:2026-03-02'`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"event_id": "stp.instalment.due:pl_stp:2026-03-02", "plan_id": "pl_stp", "kind": "stp",
		"investor_id": "inv_1", "folio_no": "F1", "scheme_code": "119551", "to_scheme_code": "120503", "seq": 3.0,
		"nominal_date": "2026-03-02", "due_date": "2026-03-02", "amount": "3000.00", "status": "due", "reason": "",
		"detail": "", "gateway_order_id": "", "gateway_payment_id": "", "order_id": "", "at": "2026-02-28T18:00:00Z"}
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Fatalf("payload\n got %v\nwant %v", ev, want)
	}
	if k := g.scalar(`SELECT key FROM outbox WHERE event_id = 'stp.instalment.due:pl_stp:2026-03-02'`); k != "F1" {
		t.Fatalf("key %s, want the folio", k)
	}
}

// A plan whose terms cannot be scheduled is held back, logged, and tried
// again next run; the others are generated.
func TestGenerateHoldsBackAPoisonPlan(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_bad", kind: "sip", freq: "weekly", start: "2026-01-01", amount: "1000", weekday: 4})
	g.exec(`UPDATE plan_versions SET day_of_month = 9 WHERE plan_id = 'pl_bad'`) // a day of month on a weekly plan
	g.plan(planSpec{id: "pl_ok", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "1000", day: 5, weekday: -1})
	res := g.run("2026-01-05 06:00")
	if res.Held != 1 || res.Due != 1 {
		t.Fatalf("result %+v, want pl_bad held and pl_ok's instalment due", res)
	}
	sameList(t, "rows", g.rows(), []string{"pl_ok 1 2026-01-05>2026-01-05 1000.00 due"})
	if wm := g.scalar(`SELECT coalesce(generated_through::text, 'null') FROM plans WHERE id = 'pl_bad'`); wm != "null" {
		t.Fatalf("held plan's watermark moved to %s", wm)
	}
}

// crashingStore is the real store with a crash injected: after commits
// batches it cancels the run's context (the process dies between
// batches); failIn, when set, fails the batch in the middle (after its rows
// are computed, before they are written: the transaction rolls back).
type crashingStore struct {
	pgstore.Store
	commits int
	cancel  context.CancelFunc
	failIn  bool
	n       int
}

var errCrash = errors.New("crash")

func (s *crashingStore) GenerateBatch(ctx context.Context, after, last string, through fund.Date, plan func([]plans.GenPlan) (plans.GenWrite, error)) error {
	err := s.Store.GenerateBatch(ctx, after, last, through, func(ps []plans.GenPlan) (plans.GenWrite, error) {
		w, err := plan(ps)
		if s.failIn && s.n == s.commits {
			return w, errCrash
		}
		return w, err
	})
	if err == nil {
		s.n++
		if s.n == s.commits && !s.failIn {
			s.cancel()
		}
	}
	return err
}

func TestGenerateKilledMidRunCatchesUpExactly(t *testing.T) {
	for _, failIn := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail_inside_batch=%v", failIn), func(t *testing.T) {
			g := newGenDB(t)
			for i := range 40 {
				g.plan(planSpec{id: fmt.Sprintf("pl_%02d", i), kind: "sip", freq: "monthly", start: "2026-01-01", amount: "1000", day: 1 + i%28, weekday: -1})
			}
			ctx, cancel := context.WithCancel(g.ctx)
			defer cancel()
			svc := g.service("2026-03-02 06:00")
			svc.Store = &crashingStore{Store: pgstore.Store{Pool: g.app}, commits: 2, cancel: cancel, failIn: failIn}
			_, err := svc.GenerateWith(ctx, plans.GenerateOptions{Batch: 7, Workers: 1})
			if err == nil {
				t.Fatal("the crashed run reported no error")
			}
			// Two batches of 7 plans committed, with all their rows.
			if got := g.scalar(`SELECT count(DISTINCT plan_id)::text || '/' || count(*)::text FROM plan_instalments`); !strings.HasPrefix(got, "14/") {
				t.Fatalf("after the crash: %s plans/rows, want the 14 plans of 2 batches", got)
			}
			if got := g.scalar(`SELECT count(*)::text FROM plans WHERE generated_through IS NOT NULL`); got != "14" {
				t.Fatalf("%s watermarks moved, want 14", got)
			}
			g.run("2026-03-02 06:00")
			got := g.rows()
			// Plan i is on day 1+i%28: Jan, Feb and (days up to the horizon,
			// Thu 5 Mar) Mar; 1 Mar 2026 is a Sunday, Feb 1 too.
			var want []string
			for i := range 40 {
				d := 1 + i%28
				for _, m := range []time.Month{1, 2, 3} {
					nominal := fund.NewDate(2026, m, d)
					due, err := g.cal.BusinessDayOnOrAfter(nominal)
					if err != nil {
						t.Fatal(err)
					}
					if due.After(day("2026-03-05")) {
						continue
					}
					want = append(want, fmt.Sprintf("pl_%02d %d %s>%s 1000.00 due", i, int(m), nominal, due))
				}
			}
			sameList(t, "rows after the re-run", got, want)
			if n := len(g.events()); n != len(want) {
				t.Fatalf("%d events for %d due rows", n, len(want))
			}
		})
	}
}

// Two runs at once (two processes): each plan's rows are written once, by
// whichever run moved its watermark first; neither fails.
func TestGenerateConcurrentRunsWriteOnce(t *testing.T) {
	g := newGenDB(t)
	for i := range 60 {
		g.plan(planSpec{id: fmt.Sprintf("pl_%02d", i), kind: "sip", freq: "weekly", start: "2026-01-01", amount: "1000", weekday: 1 + i%5})
	}
	errs := make(chan error, 2)
	results := make(chan plans.GenerateResult, 2)
	for range 2 {
		go func() {
			res, err := g.service("2026-03-02 06:00").GenerateWith(g.ctx, plans.GenerateOptions{Batch: 5, Workers: 2})
			errs <- err
			results <- res
		}()
	}
	due := 0
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		due += (<-results).Due
	}
	// Weekly from Thu 1 Jan 2026 to the horizon Thu 5 Mar: Mondays 5 Jan …
	// 2 Mar (9), Tuesdays 6 Jan … 3 Mar (9), Wednesdays 7 Jan … 4 Mar (9),
	// Thursdays 1 Jan … 5 Mar (10), Fridays 2 Jan … 27 Feb (9); 12 plans each.
	want := 12 * (9 + 9 + 9 + 10 + 9)
	if got := g.scalar(`SELECT count(*)::text FROM plan_instalments`); got != fmt.Sprint(want) || due != want {
		t.Fatalf("%s rows, %d reported due, want %d", got, due, want)
	}
	if got := g.scalar(`SELECT count(*)::text FROM outbox`); got != fmt.Sprint(want) {
		t.Fatalf("%s events, want %d", got, want)
	}
}

// A modification effective before the plan's start is its day from the
// start (not a change schedule.Validate would refuse).
func TestGenerateModificationBeforeTheStart(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_early", kind: "sip", freq: "monthly", start: "2026-02-01", amount: "1000", day: 5, weekday: -1})
	g.exec(`INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month) VALUES ('pl_early', 2, '2026-01-20', 1500, 25)`)
	if res := g.run("2026-03-23 06:00"); res.Held != 0 {
		t.Fatalf("result %+v", res)
	}
	// 25 Feb 2026 is a Wednesday, 25 Mar a Wednesday.
	sameList(t, "rows", g.rows(), []string{
		"pl_early 1 2026-02-25>2026-02-25 1500.00 due",
		"pl_early 2 2026-03-25>2026-03-25 1500.00 due",
	})
}

// A change of day made effective behind the watermark renumbers the plan:
// its next row collides with one already written. The batch does not fail:
// it falls back to the checked path, keeps the row there and writes the
// others.
func TestGenerateCollisionFallsBackToTheCheckedPath(t *testing.T) {
	g := newGenDB(t)
	g.plan(planSpec{id: "pl_mod", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "1000", day: 5, weekday: -1})
	g.plan(planSpec{id: "pl_ok", kind: "sip", freq: "monthly", start: "2026-01-01", amount: "800", day: 27, weekday: -1})
	g.run("2026-02-05 06:00") // horizon Sun 8 Feb: through Fri 6 Feb
	// From 1 Feb the 28th: only 5 Jan is before it, so 28 Feb is seq 2, the
	// seq of 5 Feb already written.
	g.exec(`INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month) VALUES ('pl_mod', 2, '2026-02-01', 1000, 28)`)
	// Horizon Mon 2 Mar: 28 Feb (Sat, due 2 Mar) and pl_ok's 27 Feb are due.
	if res := g.run("2026-02-27 06:00"); res.Due != 2 {
		t.Fatalf("result %+v, want the two rows computed", res)
	}
	sameList(t, "rows", g.rows(), []string{
		"pl_mod 1 2026-01-05>2026-01-05 1000.00 due",
		"pl_mod 2 2026-02-05>2026-02-05 1000.00 due",
		"pl_ok 1 2026-01-27>2026-01-27 800.00 due",
		"pl_ok 2 2026-02-27>2026-02-27 800.00 due",
	})
	if n := len(g.events()); n != 4 {
		t.Fatalf("%d events, want one per row written (4)", n)
	}
}

// The holiday files end before the horizon (29-Dec-2026 + 3 days reaches
// 1-Jan-2027; the files cover 2026 only): the run generates what is due
// through the last business day they cover, reports the instalment that
// waits (an alert with the reason) instead of failing, and generates it on
// the first run after a file for 2027 is added. Dates by hand: 1-Nov-2026
// is a Sunday (due Mon 2-Nov); 31-Dec-2026 is a Thursday; 1-Jan-2027 a
// Friday; the weekly plan's next Wednesday, 6-Jan-2027, is past both
// horizons.
func TestGeneratePastTheCalendarsEndWaitsAndCatchesUp(t *testing.T) {
	g := newGenDB(t)
	g.cal = fund.HolidayCalendar(day("2026-12-25"))
	g.plan(planSpec{id: "pl_m1", kind: "sip", freq: "monthly", start: "2026-10-01", amount: "1000", day: 1, weekday: -1})
	g.plan(planSpec{id: "pl_wed", kind: "sip", freq: "weekly", start: "2026-12-01", amount: "500", weekday: 3})

	res := g.run("2026-12-29 06:00")
	if res.Through != day("2026-12-31") || res.Uncovered != day("2027-01-01") || res.Waiting != 1 || res.Held != 0 || res.Due != 8 {
		t.Fatalf("result %+v, want through 31-Dec-2026, 2027-01-01 uncovered, 1 waiting, 8 due", res)
	}
	in2026 := []string{
		"pl_m1 1 2026-10-01>2026-10-01 1000.00 due",
		"pl_m1 2 2026-11-01>2026-11-02 1000.00 due",
		"pl_m1 3 2026-12-01>2026-12-01 1000.00 due",
		"pl_wed 1 2026-12-02>2026-12-02 500.00 due",
		"pl_wed 2 2026-12-09>2026-12-09 500.00 due",
		"pl_wed 3 2026-12-16>2026-12-16 500.00 due",
		"pl_wed 4 2026-12-23>2026-12-23 500.00 due",
		"pl_wed 5 2026-12-30>2026-12-30 500.00 due",
	}
	sameList(t, "rows while 2027 is not covered", g.rows(), in2026)
	alert := `SELECT coalesce(string_agg(subject || ': ' || detail, ' | '), '') FROM alerts WHERE kind = 'instalments_calendar' AND resolved_at IS NULL`
	if a := g.scalar(alert); !strings.HasPrefix(a, "2027: holiday calendar does not cover 2027-01-01") || !strings.Contains(a, "plan pl_m1 seq 4 on 2027-01-01") {
		t.Fatalf("open alert %q, want one for 2027 with the reason and the waiting instalment", a)
	}

	// The next day, still no 2027 file: nothing new, no failure, the alert stays.
	if res := g.run("2026-12-30 06:00"); res.Instalments != 0 || res.Uncovered != day("2027-01-01") {
		t.Fatalf("second run %+v", res)
	}
	if a := g.scalar(alert); !strings.HasPrefix(a, "2027: holiday calendar does not cover 2027-01-01") {
		t.Fatalf("alert %q after the second run", a)
	}

	// The 2027 file arrives: the waiting instalment is generated and the
	// alert resolved.
	g.cal = fund.HolidayCalendar(day("2026-12-25"), day("2027-01-26"))
	res = g.run("2026-12-30 09:00")
	if res.Due != 1 || !res.Uncovered.IsZero() || res.Through != day("2027-01-01") {
		t.Fatalf("run after the 2027 file %+v, want the one waiting instalment", res)
	}
	sameList(t, "rows with 2027 covered", g.rows(), append(in2026[:3:3], append([]string{"pl_m1 4 2027-01-01>2027-01-01 1000.00 due"}, in2026[3:]...)...))
	if a := g.scalar(alert); a != "" {
		t.Fatalf("alert still open: %q", a)
	}
}
