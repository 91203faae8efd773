package readmodel_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/xirr"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/readmodel"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func sample(t *testing.T) (*readmodel.Store, *pgxpool.Pool, ledgerfix.Written) {
	t.Helper()
	pool, _ := testkit.PG(t)
	sealer, err := pii.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ledgerfix.Load(testkit.Ctx(t), pool, ledgerfix.Sample(sealer))
	if err != nil {
		t.Fatal(err)
	}
	return &readmodel.Store{PG: pool}, pool, w
}

// floatXIRR solves Σ p/(1+r)^(days/365) = 0 by bisection in float64: an
// independent route to the rate (the code under test uses big.Float Newton).
func floatXIRR(flows []xirr.CashFlow) float64 {
	d0 := flows[0].Date
	f := func(r float64) float64 {
		s := 0.0
		for _, c := range flows {
			a, _ := c.Amount.Float64()
			s += a / math.Pow(1+r, float64(c.Date.DaysSince(d0))/365)
		}
		return s
	}
	lo, hi := -0.99, 10.0
	for range 200 {
		mid := (lo + hi) / 2
		if (f(lo) < 0) == (f(mid) < 0) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func flow(d fund.Date, a string) xirr.CashFlow { return xirr.CashFlow{Date: d, Amount: dec(a)} }

type wantHolding struct {
	scheme, units, invested, nav, value, gain string
	navDate                                   fund.Date
	flows                                     []xirr.CashFlow // for the XIRR, valuation last
}

func TestPortfolioReplaysTheLedger(t *testing.T) {
	s, _, _ := sample(t)
	ctx := testkit.Ctx(t)
	D := ledgerfix.D
	asOf := func(d fund.Date) *fund.Date { return &d }
	cases := []struct {
		name     string
		folio    string
		asOf     *fund.Date
		holdings []wantHolding
		invested string
		value    string
		overall  []xirr.CashFlow // nil: "not enough cash flows"
	}{
		{
			name: "now", folio: "F-1",
			holdings: []wantHolding{
				// 499.950 left of lot 1 (cost 10000.00 × 499.950/999.950 = 4999.7499… → 4999.75) + lot 3 (5000.00).
				{"100001", "899.930", "9999.75", "15", "13498.95", "3499.20", D(12, 31),
					[]xirr.CashFlow{flow(D(1, 10), "-10000"), flow(D(3, 11), "-5000"), flow(D(6, 10), "5500"), flow(D(12, 31), "13498.95")}},
				{"100002", "39.998", "2000.00", "55", "2199.89", "199.89", D(12, 31),
					[]xirr.CashFlow{flow(D(2, 1), "-2000"), flow(D(12, 31), "2199.89")}},
			},
			invested: "11999.75", value: "15698.84",
			overall: []xirr.CashFlow{flow(D(1, 10), "-10000"), flow(D(2, 1), "-2000"), flow(D(3, 11), "-5000"), flow(D(6, 10), "5500"),
				flow(D(12, 31), "15698.84")},
		},
		{
			name: "as of 31 March: before the redemption, NAVs of 11 March and 1 February", folio: "F-1", asOf: asOf(D(3, 31)),
			holdings: []wantHolding{
				// 1399.930 × 12.5 = 17499.125 → 17499.13 (half up)
				{"100001", "1399.930", "15000.00", "12.5", "17499.13", "2499.13", D(3, 11),
					[]xirr.CashFlow{flow(D(1, 10), "-10000"), flow(D(3, 11), "-5000"), flow(D(3, 11), "17499.13")}},
				{"100002", "39.998", "2000.00", "50", "1999.90", "-0.10", D(2, 1), nil},
			},
			invested: "17000.00", value: "19499.03",
			overall: []xirr.CashFlow{flow(D(1, 10), "-10000"), flow(D(2, 1), "-2000"), flow(D(3, 11), "-5000"),
				flow(D(3, 11), "17499.13"), flow(D(2, 1), "1999.90")},
		},
		{
			name: "as of 31 January: one purchase", folio: "F-1", asOf: asOf(D(1, 31)),
			holdings: []wantHolding{{"100001", "999.950", "10000.00", "10", "9999.50", "-0.50", D(1, 10), nil}},
			invested: "10000.00", value: "9999.50",
		},
		{name: "before any transaction", folio: "F-1", asOf: asOf(D(1, 9)), invested: "0", value: "0"},
		{name: "a folio with nothing", folio: "F-2", invested: "0", value: "0"},
		{
			name: "bought on the latest NAV date", folio: "G-1",
			holdings: []wantHolding{{"100002", "18.180", "1000.00", "55", "999.90", "-0.10", D(12, 31), nil}},
			invested: "1000.00", value: "999.90",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Portfolio(ctx, c.folio, c.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Holdings) != len(c.holdings) {
				t.Fatalf("%d holdings, want %d: %+v", len(p.Holdings), len(c.holdings), p.Holdings)
			}
			for i, w := range c.holdings {
				h := p.Holdings[i]
				if h.Scheme != w.scheme || h.Units != w.units || !h.Invested.Equal(dec(w.invested)) || !h.NAV.Equal(dec(w.nav)) ||
					!h.Value.Equal(dec(w.value)) || !h.Gain.Equal(dec(w.gain)) || *h.NAVDate != w.navDate {
					t.Errorf("holding %s: units %s invested %s nav %s (%s) value %s gain %s; want %+v",
						h.Scheme, h.Units, h.Invested, h.NAV, h.NAVDate, h.Value, h.Gain, w)
				}
				if want := dec(w.invested).DivRound(dec(w.units), 4); !h.AvgCost.Equal(want) {
					t.Errorf("average cost %s, want %s", h.AvgCost, want)
				}
				checkXIRR(t, "holding "+h.Scheme, h.XIRR, h.XIRRNote, w.flows)
			}
			if !p.Invested.Equal(dec(c.invested)) || !p.Value.Equal(dec(c.value)) || !p.Gain.Equal(dec(c.value).Sub(dec(c.invested))) {
				t.Errorf("totals invested %s value %s gain %s, want %s %s", p.Invested, p.Value, p.Gain, c.invested, c.value)
			}
			checkXIRR(t, "overall", p.XIRR, p.XIRRNote, c.overall)
		})
	}
}

func checkXIRR(t *testing.T, what string, got *decimal.Decimal, note string, flows []xirr.CashFlow) {
	t.Helper()
	if flows == nil {
		if got != nil || note != readmodel.NoteNotEnoughCashFlows {
			t.Errorf("%s: xirr %v %q, want %q", what, got, note, readmodel.NoteNotEnoughCashFlows)
		}
		return
	}
	if got == nil {
		t.Errorf("%s: no xirr (%s)", what, note)
		return
	}
	g, _ := got.Float64()
	if want := floatXIRR(flows); math.Abs(g-want) > 2e-6 {
		t.Errorf("%s: xirr %s, independently %.6f", what, got, want)
	}
}

// Units replayed to now equal the folio's balance in the double-entry
// postings, and the holdings table.
func TestPositionsMatchPostingsAndHoldings(t *testing.T) {
	s, pool, _ := sample(t)
	ctx := testkit.Ctx(t)
	for _, folio := range []string{"F-1", "G-1"} {
		l, err := s.LoadFolio(ctx, folio)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range l.PositionsAt(nil) {
			var posted, held decimal.Decimal
			if err := pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE account = $1 AND asset = $2`,
				fund.AccountFolio(folio), fund.AssetUnits(p.Scheme)).Scan(&posted); err != nil {
				t.Fatal(err)
			}
			if err := pool.QueryRow(ctx, `SELECT units FROM holdings WHERE folio_no = $1 AND scheme_code = $2`, folio, p.Scheme).Scan(&held); err != nil {
				t.Fatal(err)
			}
			if !p.Units.Equal(posted) || !p.Units.Equal(held) {
				t.Errorf("%s %s: replayed %s, postings %s, holdings %s", folio, p.Scheme, p.Units, posted, held)
			}
		}
	}
	if _, err := s.LoadFolio(ctx, "NOPE"); err == nil {
		t.Fatal("unknown folio loaded")
	}
}

func TestTransactionsPageAndLineage(t *testing.T) {
	s, pool, w := sample(t)
	ctx := testkit.Ctx(t)
	var seen []int64
	before := int64(0)
	for {
		page, err := s.Transactions(ctx, "F-1", before, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range page {
			seen = append(seen, tx.ID)
		}
		if len(page) < 3 {
			break
		}
		before = page[len(page)-1].ID
	}
	want := []int64{w.TxIDs[3], w.TxIDs[2], w.TxIDs[1], w.TxIDs[0]}
	if len(seen) != len(want) {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("pages gave %v, want %v", seen, want)
		}
	}
	// The money path's audit rows of this order and payment, and a decoy:
	// an order whose id happens to be the transaction's number.
	for _, a := range [][3]string{{"order", w.OrderIDs[2], "allotted"}, {"payment", "pay_" + w.OrderIDs[2], "captured"},
		{"order", fmt.Sprint(w.TxIDs[2]), "created"}} {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return postgres.AppendAudit(ctx, tx, a[0], a[1], a[2], nil) }); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Lineage(ctx, w.TxIDs[2]) // purchase of 100001 on 11 March
	if err != nil {
		t.Fatal(err)
	}
	if l.Order.ID != w.OrderIDs[2] || l.Payment == nil || l.Payment.WebhookEventID != w.EventIDs[2] || l.NAV == nil ||
		l.NAV.SHA256 != w.NAVSource["100001"] || l.NAV.Line != 3 || l.NAV.Date != ledgerfix.D(3, 11) || !l.NAV.NAV.Equal(dec("12.5")) {
		t.Fatalf("lineage %+v payment %+v nav %+v", l.Order, l.Payment, l.NAV)
	}
	if len(l.Postings) != 5 || len(l.Audit) != 3 || l.Audit[0].Entity != "ledger_tx" || l.Audit[1].Action != "allotted" || l.Audit[2].Action != "captured" {
		t.Fatalf("postings %+v audit %+v", l.Postings, l.Audit)
	}
	r, err := s.Lineage(ctx, w.TxIDs[3]) // the redemption: no payment
	if err != nil || r.Payment != nil || r.NAV == nil || r.NAV.Date != ledgerfix.D(6, 10) {
		t.Fatalf("redemption lineage %+v %v", r, err)
	}
	if _, err := s.Lineage(ctx, 999999); err == nil {
		t.Fatal("lineage of a missing transaction")
	}
}

func TestNAVHistoryFromClickHouse(t *testing.T) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	b, err := conn.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []string{"10.1", "10.2", "10.3"} {
		d := time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)
		if err := b.Append("100001", d, dec(n), "A", "C", "sha", uint32(i+2), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// A reload of 2 January with a correction: the newest load wins.
	if err := b.Append("100001", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), dec("10.25"), "A", "C", "sha2", uint32(9), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	s := &readmodel.Store{CH: conn}
	got, exists, err := s.NAVHistory(ctx, "100001", fund.NewDate(2024, 1, 2), fund.NewDate(2024, 1, 31))
	if err != nil || !exists || len(got) != 2 || !got[0].NAV.Equal(dec("10.25")) || !got[1].NAV.Equal(dec("10.3")) {
		t.Fatalf("%+v %v %v", got, exists, err)
	}
	if got, exists, err := s.NAVHistory(ctx, "100001", fund.NewDate(2025, 1, 1), fund.NewDate(2025, 1, 31)); err != nil || !exists || len(got) != 0 {
		t.Fatalf("empty range: %+v %v %v", got, exists, err)
	}
	if _, exists, err := s.NAVHistory(ctx, "999999", fund.NewDate(2024, 1, 1), fund.NewDate(2024, 1, 31)); err != nil || exists {
		t.Fatalf("unknown scheme: %v %v", exists, err)
	}
}

// An IDCW reinvested is no cash flow of the investor's (it never left the
// fund); an IDCW paid out is money out, net of TDS; a purchase is money in.
func TestCashFlowOfIDCW(t *testing.T) {
	for _, c := range []struct {
		kind, want string
	}{
		{"idcw_reinvest", "0"},
		{"idcw_payout", "90"},
		{"purchase", "-100"},
		{"redemption", "90"},
	} {
		tx := readmodel.LedgerTx{Kind: c.kind, Amount: dec("100"), Net: dec("90")}
		if got := tx.CashFlow(); !got.Equal(dec(c.want)) {
			t.Errorf("%s: cash flow %s, want %s", c.kind, got, c.want)
		}
	}
}
