package pgstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The backtest sees each order with the holdings of its moment (as-of
// replay of the ledger), not today's. INV-A buys, changes bank, redeems
// 600 units, then buys again:
//
//	P1: 10,000.00 at NAV 10.0000, stamp duty 0.005% = 0.50, 9,999.50 / 10 = 999.950 units
//	R1 placed: holdings 999.950 × 10 = 9,999.50; R1 = 600 × 10 = 6,000.00, 60.0% ≥ 50%: ato-redemption
//	P2: 20,000.00 at 10.0000, duty 1.00, 1,999.900 units; today 2,999.850 units = 29,998.50
//	and 6,000.00 / 29,998.50 = 20.0%: with today's holdings the takeover is missed.
func TestHistoryEnrichesAsOfTheEvent(t *testing.T) {
	svc, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	db.NAV("E1", "2026-08-03", "10.0000")
	db.NAV("E1", "2026-08-06", "10.0000")
	db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ('E1', '2026-08-06', 10, 'test', 'test', 1)`)
	buy := func(id, amount string, paise int64, day string) {
		t.Helper()
		fraudtest.Place(t, svc, fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-A","folio":"FA","scheme_code":"E1","amount":%q,"placed_at":"%sT10:00:00+05:30","payment_ref":"order_%s"}`, id, amount, day, id))
		fraudtest.Capture(t, svc, id, paise, moneytest.IST(day+"T10:05:00+05:30"))
		if st := db.Str(`SELECT status FROM orders WHERE id = $1`, id); st != "allotted" {
			t.Fatalf("%s %s, want allotted", id, st)
		}
	}
	buy("P1", "10000.00", 1000000, "2026-08-03")
	// the bank change, as the investors service writes it (an hour ago)
	changed := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	db.Exec(`INSERT INTO outbox (event_id, topic, key, payload) VALUES ('investors.changed:INV-A:2', 'investors.changed', 'INV-A', $1)`,
		fmt.Sprintf(`{"event_id":"investors.changed:INV-A:2","investor_id":"INV-A","change_seq":2,"fields":["bank_account"],"fingerprints":{"bank_account":"fpX"},"channel":"api","effective_from":%q,"at":%q}`, changed, changed))
	fraudtest.Place(t, svc, `{"order_id":"R1","type":"redemption","investor_id":"INV-A","folio":"FA","scheme_code":"E1","units":"600","placed_at":"2026-08-05T10:00:00+05:30"}`)
	buy("P2", "20000.00", 2000000, "2026-08-06")

	st := &pgstore.Store{Pool: app}
	from, to := time.Now().Add(-24*time.Hour), time.Now().Add(time.Hour)
	bt := fraud.NewBacktest(fraud.Shipped(), from, to)
	var r1 fraud.Event
	if _, err := st.History(ctx, from, to, func(ev fraud.Event) error {
		if ev.OrderID == "R1" && ev.OrderKind == "redemption" {
			r1 = ev
		}
		bt.Add(ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r1.Amount.String() != "6000.00" || r1.Holdings.String() != "9999.50" || r1.InvestorID != "INV-A" {
		t.Errorf("R1 as of its placement: value %s holdings %s investor %s; want 6000.00, 9999.50, INV-A", r1.Amount, r1.Holdings, r1.InvestorID)
	}
	if got, want := bt.AlertIDs(), []string{"ato-redemption:orders.status:R1:pending_nav"}; !slices.Equal(got, want) {
		t.Errorf("backtest alerts %v, want %v", got, want)
	}
	// today's holdings (what the backtest used before): 29,998.50
	if h := db.Str(`SELECT round(sum(h.units * 10), 2)::text FROM holdings h WHERE folio_no = 'FA'`); h != "29998.50" {
		t.Errorf("today's holdings %s, want 29998.50", h)
	}
}
