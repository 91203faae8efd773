package main

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// gen sips replays two months through the real plans service, ledger and
// webhook intake. Expected counts by hand from the 2026 calendar (no
// weekday holiday between 1 July and 18 August): the SIP on the 5th is
// debited 6 Jul (the 5th is a Sunday) and 5 Aug; the one on the 20th on
// 20 Jul (20 Aug is generated within the 3-day horizon, not yet due); the
// weekly Wednesday SIP on 1, 8, 15, 22, 29 Jul and 5, 12 Aug (19 Aug
// generated, not due). Each allotted instalment is one SIP purchase with
// stamp duty, and the gateway debited each once.
func TestGenSIPsReplaysMonthsOfSIPs(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.scheme("E2", "Equity Scheme - Flexi Cap Fund")
	for d := fund.NewDate(2026, 6, 15); d.Before(fund.NewDate(2026, 8, 25)); d = d.AddDays(1) {
		m.nav("E1", d.String(), fmt.Sprintf("%d.%04d", 40+d.Day%3, 1000+d.Day*13))
		m.nav("E2", d.String(), fmt.Sprintf("%d.%04d", 70+d.Day%4, 2000+d.Day*17))
	}
	m.exec(`INSERT INTO scheme_plan_terms (scheme_code, kind, frequency, min_amount, multiple, min_first_gap_days)
		VALUES ('E1', 'sip', 'monthly', 500, 100, 7), ('E2', 'sip', 'monthly', 500, 100, 7), ('E2', 'sip', 'weekly', 500, 100, 7)`)
	var out bytes.Buffer
	a := &app{ctx: m.ctx, stdout: &out, stderr: io.Discard}
	cmd := genSIPsCmd{Schemes: []string{"E1", "E2"}, End: dateFlag{fund.NewDate(2026, 8, 18)}, Months: 2}
	if err := cmd.replay(m.ctx, a, m.d); err != nil {
		t.Fatal(err)
	}
	for client, dues := range map[string]string{
		"demo-sip-1": "2026-07-06 allotted,2026-08-05 allotted",
		"demo-sip-2": "2026-07-20 allotted,2026-08-20 due",
		"demo-sip-3": "2026-07-01 allotted,2026-07-08 allotted,2026-07-15 allotted,2026-07-22 allotted,2026-07-29 allotted,2026-08-05 allotted,2026-08-12 allotted,2026-08-19 due",
	} {
		got := m.str(`SELECT string_agg(i.due_date || ' ' || i.status, ',' ORDER BY i.due_date) FROM plan_instalments i JOIN plans p ON p.id = i.plan_id WHERE p.client_id = $1`, client)
		if got != dues {
			t.Errorf("%s: %s\nwant %s", client, got, dues)
		}
	}
	// 10 allotted instalments: 10 SIP purchases in the ledger, each with
	// stamp duty (0.005 % of the amount, so never zero here), and 10 debits.
	if n := m.str(`SELECT count(*) || '/' || count(*) FILTER (WHERE stamp_duty > 0) FROM ledger_transactions t
		JOIN plan_instalments i ON i.order_id = t.order_id`); n != "10/10" {
		t.Errorf("SIP purchases allotted / with stamp duty: %s, want 10/10", n)
	}
	if n := m.str(`SELECT count(*) FROM payments WHERE status = 'captured'`); n != "10" {
		t.Errorf("%s captured debits, want 10", n)
	}
}
