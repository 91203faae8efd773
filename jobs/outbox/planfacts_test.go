package outbox_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/outbox"
)

// planEvent is one plan event as the plans service writes it to the outbox.
type planEvent struct {
	step, plan string
	seq        int
	due        string
	status     string
	reason     string
	at         string
}

// testPlans are the test's plans: kind, investor, folio, schemes, amount.
var testPlans = map[string]struct {
	kind, investor, folio, scheme, to, amount string
}{
	"pl_1": {"sip", "I-1", "F-1", "S1", "", "5000.00"},
	"pl_2": {"sip", "I-2", "F-2", "S1", "", "1000.00"},
	"pl_3": {"sip", "I-3", "F-3", "S2", "", "2500.50"},
	"pl_4": {"stp", "I-1", "F-1", "S1", "S2", "3000.00"},
}

// The instalments' steps. Worked out by hand, the latest state of each
// (plan, due date) is:
//
//	pl_1 (HDFC Bank)  2026-12-01 allotted   2027-01-04 failed insufficient_funds
//	pl_2 (ICICI Bank) 2026-12-01 failed mandate_paused (in the same second as presented)
//	                  2027-01-04 paid
//	pl_3 (HDFC Bank)  2026-12-01 allotted   2027-01-04 due
//	pl_4 (STP)        2026-12-01 allotted
var planEvents = []planEvent{
	{"due", "pl_1", 1, "2026-12-01", "due", "", "2026-11-29T03:00:00Z"},
	{"presented", "pl_1", 1, "2026-12-01", "presented", "", "2026-12-01T03:30:00Z"},
	{"paid", "pl_1", 1, "2026-12-01", "paid", "", "2026-12-01T05:00:00Z"},
	{"allotted", "pl_1", 1, "2026-12-01", "allotted", "", "2026-12-02T12:00:00Z"},
	{"due", "pl_1", 2, "2027-01-04", "due", "", "2027-01-02T03:00:00Z"},
	{"presented", "pl_1", 2, "2027-01-04", "presented", "", "2027-01-04T03:30:00Z"},
	{"failed", "pl_1", 2, "2027-01-04", "failed", "insufficient_funds", "2027-01-04T06:00:00Z"},
	{"due", "pl_2", 1, "2026-12-01", "due", "", "2026-11-29T03:00:00Z"},
	{"presented", "pl_2", 1, "2026-12-01", "presented", "", "2026-12-01T04:30:00Z"},
	{"failed", "pl_2", 1, "2026-12-01", "failed", "mandate_paused", "2026-12-01T04:30:00Z"},
	{"due", "pl_2", 2, "2027-01-04", "due", "", "2027-01-02T03:00:00Z"},
	{"presented", "pl_2", 2, "2027-01-04", "presented", "", "2027-01-04T03:30:00Z"},
	{"paid", "pl_2", 2, "2027-01-04", "paid", "", "2027-01-04T07:00:00Z"},
	{"due", "pl_3", 1, "2026-12-01", "due", "", "2026-11-29T03:00:00Z"},
	{"presented", "pl_3", 1, "2026-12-01", "presented", "", "2026-12-01T03:30:00Z"},
	{"paid", "pl_3", 1, "2026-12-01", "paid", "", "2026-12-01T05:00:00Z"},
	{"allotted", "pl_3", 1, "2026-12-01", "allotted", "", "2026-12-02T12:00:00Z"},
	{"due", "pl_3", 2, "2027-01-04", "due", "", "2027-01-02T03:00:00Z"},
	{"due", "pl_4", 1, "2026-12-01", "due", "", "2026-11-29T03:00:00Z"},
	{"presented", "pl_4", 1, "2026-12-01", "presented", "", "2026-12-01T03:30:00Z"},
	{"allotted", "pl_4", 1, "2026-12-01", "allotted", "", "2026-12-02T12:00:00Z"},
}

func planFixture(t *testing.T, owner *pgxpool.Pool) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for _, q := range []string{
		`INSERT INTO investors (id, name) VALUES ('I-1', 'A'), ('I-2', 'B'), ('I-3', 'C')`,
		`INSERT INTO folios (folio_no, investor_id) VALUES ('F-1', 'I-1'), ('F-2', 'I-2'), ('F-3', 'I-3')`,
		`INSERT INTO mandates (id, gateway, investor_id, status, bank_name) VALUES
			('token_1', 'razorpay', 'I-1', 'confirmed', 'HDFC Bank'), ('token_2', 'razorpay', 'I-2', 'confirmed', 'ICICI Bank'),
			('token_3', 'razorpay', 'I-3', 'confirmed', 'HDFC Bank')`,
		`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code, mandate_id, frequency, start_date, status) VALUES
			('pl_1', 'c1', '', 'sip', 'I-1', 'F-1', 'S1', NULL, 'token_1', 'monthly', '2026-12-01', 'active'),
			('pl_2', 'c2', '', 'sip', 'I-2', 'F-2', 'S1', NULL, 'token_2', 'monthly', '2026-12-01', 'active'),
			('pl_3', 'c3', '', 'sip', 'I-3', 'F-3', 'S2', NULL, 'token_3', 'monthly', '2026-12-01', 'active'),
			('pl_4', 'c4', '', 'stp', 'I-1', 'F-1', 'S1', 'S2', NULL, 'monthly', '2026-12-01', 'active')`,
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// Written newest first, so the relay meets later states before earlier
	// ones; plus a plan's own cancellation (no instalment), another topic
	// the facts do not take, and one event that breaks the contract.
	for i := len(planEvents) - 1; i >= 0; i-- {
		e := planEvents[i]
		p := testPlans[e.plan]
		topic := p.kind + ".instalment." + e.step
		id := topic + ":" + e.plan + ":" + e.due
		body, _ := json.Marshal(map[string]any{"event_id": id, "plan_id": e.plan, "kind": p.kind, "investor_id": p.investor,
			"folio_no": p.folio, "scheme_code": p.scheme, "to_scheme_code": p.to, "seq": e.seq, "nominal_date": e.due,
			"due_date": e.due, "amount": p.amount, "status": e.status, "reason": e.reason, "detail": "", "gateway_order_id": "",
			"gateway_payment_id": "", "order_id": "", "at": e.at})
		insertEvent(t, owner, id, topic, p.folio, string(body))
	}
	insertEvent(t, owner, "sip.cancelled:pl_9", "sip.cancelled", "F-9", `{"event_id": "sip.cancelled:pl_9", "plan_id": "pl_9", "kind": "sip", "reason": "by_investor", "at": "2027-01-05T00:00:00Z"}`)
	insertEvent(t, owner, "orders.status:x", "orders.status", "F-1", `{}`)
	insertEvent(t, owner, "sip.instalment.paid:pl_bad", "sip.instalment.paid", "F-1",
		`{"event_id": "sip.instalment.paid:pl_bad", "plan_id": "pl_bad", "kind": "sip", "seq": 1, "nominal_date": "2026-12-01", "due_date": "2026-12-01", "amount": "12.345", "status": "paid", "at": "2026-12-01T05:00:00Z"}`)
}

func insertEvent(t *testing.T, pool *pgxpool.Pool, id, topic, key, payload string) {
	t.Helper()
	if _, err := pool.Exec(testkit.Ctx(t), `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`, id, topic, key, payload); err != nil {
		t.Fatal(err)
	}
}

// readmeQueries returns the SQL examples of the README's section on the
// plans' facts, in order: the test runs what analysts are shown.
func readmeQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testkit.Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "### Systematic plans for analysts")
	if !ok {
		t.Fatal("README has no section on the plans' facts")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var qs []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(sec, -1) {
		qs = append(qs, m[1])
	}
	return qs
}

// rowsOf runs q and returns each row as its values formatted with %v,
// joined by " | " (decimals as written, dates as YYYY-MM-DD).
func rowsOf(t *testing.T, ch driver.Conn, q string) []string {
	t.Helper()
	rows, err := ch.Query(testkit.Ctx(t), q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, len(rows.ColumnTypes()))
		for i, c := range rows.ColumnTypes() {
			switch c.DatabaseTypeName() {
			case "Date":
				vals[i] = new(time.Time)
			case "String":
				vals[i] = new(string)
			case "UInt64":
				vals[i] = new(uint64)
			case "Float64":
				vals[i] = new(float64)
			default:
				if strings.HasPrefix(c.DatabaseTypeName(), "Decimal") {
					vals[i] = new(decimal.Decimal)
				} else {
					t.Fatalf("column %s of type %s", c.Name(), c.DatabaseTypeName())
				}
			}
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		var cells []string
		for _, v := range vals {
			switch v := v.(type) {
			case *time.Time:
				cells = append(cells, v.Format("2006-01-02"))
			case *decimal.Decimal:
				cells = append(cells, v.StringFixed(2))
			case *string:
				cells = append(cells, *v)
			case *uint64:
				cells = append(cells, fmt.Sprint(*v))
			case *float64:
				cells = append(cells, fmt.Sprint(*v))
			}
		}
		out = append(out, strings.Join(cells, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPlanFactsAnalystQueries: the facts relay copies the plans' events
// (newest first, in batches of 4) into plan_instalments, quarantines the
// one that breaks the contract, and the README's analyst queries give the
// numbers worked out by hand; relaying everything again (a relay that
// crashed after ClickHouse took the rows, before the outbox was marked)
// gives the same rows after FINAL.
func TestPlanFactsAnalystQueries(t *testing.T) {
	owner, _, app, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	planFixture(t, owner)
	qs := readmeQueries(t)
	if len(qs) != 3 {
		t.Fatalf("%d SQL examples in the README's section, want 3", len(qs))
	}
	want := [][]string{
		// The SIP book, December 2026: S1 has pl_1 (5000.00) and pl_2
		// (1000.00, failed but due), S2 has pl_3 (2500.50); pl_4 is an STP.
		{"S1 | 2 | 6000.00", "S2 | 1 | 2500.50"},
		// Settled debits by day and bank (pl_3's January one is only due).
		{"2026-12-01 | HDFC Bank | 2 | 0 | 1", "2026-12-01 | ICICI Bank | 0 | 1 | 0",
			"2027-01-04 | HDFC Bank | 0 | 1 | 0", "2027-01-04 | ICICI Bank | 1 | 0 | 1"},
		// Failures by bank and reason.
		{"HDFC Bank | insufficient_funds | 1", "ICICI Bank | mandate_paused | 1"},
	}
	latest := []string{
		"pl_1 | 2026-12-01 | allotted | HDFC Bank", "pl_1 | 2027-01-04 | failed | HDFC Bank",
		"pl_2 | 2026-12-01 | failed | ICICI Bank", "pl_2 | 2027-01-04 | paid | ICICI Bank",
		"pl_3 | 2026-12-01 | allotted | HDFC Bank", "pl_3 | 2027-01-04 | due | HDFC Bank",
		"pl_4 | 2026-12-01 | allotted | ",
	}
	job := outbox.Job{Pool: app, CH: ch, Facts: true, Batch: 4, Log: testkit.Logger(t)}
	for pass := 1; pass <= 2; pass++ {
		if pass == 2 {
			if _, err := owner.Exec(ctx, `UPDATE outbox SET facts_at = NULL`); err != nil {
				t.Fatal(err)
			}
		}
		st, err := job.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// 21 steps, a cancellation, the bad event; orders.status is not read.
		if st.In != int64(len(planEvents))+2 {
			t.Fatalf("pass %d: relayed %+v", pass, st)
		}
		for i, q := range qs {
			if got := rowsOf(t, ch, q); !slices.Equal(got, want[i]) {
				t.Errorf("pass %d, query %d:\n got %q\nwant %q\n%s", pass, i+1, got, want[i], q)
			}
		}
		got := rowsOf(t, ch, `SELECT plan_id, due_date, status, bank FROM plan_instalments FINAL ORDER BY plan_id, due_date`)
		if !slices.Equal(got, latest) {
			t.Errorf("pass %d: rows\n got %q\nwant %q", pass, got, latest)
		}
	}
	var reason, detail string
	if err := owner.QueryRow(ctx, `SELECT reason, detail FROM quarantine WHERE pipeline = 'outbox-facts'`).Scan(&reason, &detail); err != nil {
		t.Fatal(err)
	}
	if reason != "bad_plan_event" || !strings.Contains(detail, "12.345") {
		t.Fatalf("quarantined %s: %s", reason, detail)
	}
	var pending int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE facts_at IS NULL AND topic <> 'orders.status'`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("%d plan events left unmarked (%v)", pending, err)
	}
}
