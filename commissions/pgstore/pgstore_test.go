package pgstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/recon"
)

func day(d int) fund.Date { return fund.NewDate(2026, 4, d) }

const brokerage = commissions.BrokerageHeader + `
S1,regular,2026-01-01,1.00,,,,,
`

// setup: F1 (through ARN-1, split 60/40 with SUB-A) buys S1 on 1-Apr and
// redeems half on 6-Apr; F2 (through ARN-2, whose registration ends 1-Apr)
// buys on 2-Apr. S1's NAVs: 10 on 1-Apr, 10.5 on 2-Apr, none on Good Friday
// 3-Apr and the weekend (carried), 11 on 6-Apr.
func setup(t *testing.T) (pgstore.Store, *commissions.Service) {
	t.Helper()
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	st := pgstore.Store{Pool: pool}
	_, err := ledgerfix.Load(ctx, pool, ledgerfix.Spec{
		Investors: []ledgerfix.Investor{{ID: "I1", Folios: []string{"F1", "F2"}}},
		Schemes: []ledgerfix.Scheme{{Code: "S1", Name: "S1 Fund - Regular Plan", AMC: "Test AMC",
			NAVs: map[fund.Date]string{day(1): "10.0000", day(2): "10.5000", day(6): "11.0000"}}},
		Txs: []ledgerfix.Tx{
			{Folio: "F1", Scheme: "S1", Kind: "purchase", Date: day(1), Amount: "10000.00"},
			{Folio: "F2", Scheme: "S1", Kind: "purchase", Date: day(2), Amount: "5250.00"},
			{Folio: "F1", Scheme: "S1", Kind: "redemption", Date: day(6), Units: "499.950"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := commissions.ParseBrokerage("b.csv", strings.NewReader(brokerage))
	if err != nil || len(f.Rejected) != 0 {
		t.Fatal(err, f.Rejected)
	}
	if _, err := st.PutBrokerage(ctx, f); err != nil {
		t.Fatal(err)
	}
	parties := []commission.Party{
		{ID: "ARN-1", Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1), GSTRegistered: true},
		{ID: "ARN-2", Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1), ValidTo: day(1)},
		{ID: "SUB-A", Kind: commission.SubBroker, ValidFrom: fund.NewDate(2020, 1, 1)},
	}
	tree := commission.Tree{Root: "ARN-1", From: fund.NewDate(2026, 1, 1), Shares: []commission.Share{
		{Parent: "ARN-1", Payee: "ARN-1", Pct: decimal.New(60, 0)}, {Parent: "ARN-1", Payee: "SUB-A", Pct: decimal.New(40, 0)}}}
	if err := st.PutHierarchy(ctx, parties, []commission.Tree{tree}); err != nil {
		t.Fatal(err)
	}
	for folio, arn := range map[string]string{"F1": "ARN-1", "F2": "ARN-2"} {
		if err := st.SetFolioDistributor(ctx, folio, arn, ""); err != nil {
			t.Fatal(err)
		}
	}
	return st, &commissions.Service{Store: st, Log: testkit.Logger(t)}
}

func TestAccrueDaysPostsAndIsIdempotent(t *testing.T) {
	ctx := testkit.Ctx(t)
	st, svc := setup(t)
	for d := 1; d <= 6; d++ {
		if _, err := svc.AccrueDay(ctx, day(d)); err != nil {
			t.Fatal(err)
		}
	}
	// Units: F1 buys 10,000.00 less stamp duty 0.50 (10,000 × 5/100,005 =
	// 0.49998) = 9,999.50 at 10 = 999.950; F2 5,250.00 less 0.26 = 5,249.74
	// at 10.5 = 499.975 (truncated). F1 redeems 499.950 on 6-Apr: 500.000.
	// Bases (AUM × 1 %): ARN-1 1-Apr 9,999.50; 2..5-Apr 999.95 × 10.5 =
	// 10,499.475 (carried over Good Friday and the weekend); 6-Apr 500 × 11 =
	// 5,500. held:ARN-2 (not registered after 1-Apr): 2..5-Apr 499.975 ×
	// 10.5 = 5,249.7375; 6-Apr 499.975 × 11 = 5,499.725.
	// ARN-1 running totals / 36,500, rounded, and the day's posting:
	//   9,999.50 → 0.27 (0.27); 20,498.975 → 0.56 (0.29); 30,998.45 → 0.85
	//   (0.29); 41,497.925 → 1.14 (0.29); 51,997.40 → 1.42 (0.28);
	//   57,497.40 → 1.58 (0.16). held:ARN-2: 5,249.7375 → 0.14; 10,499.475 →
	//   0.29 (0.15); 15,749.2125 → 0.43 (0.14); 20,998.95 → 0.58 (0.15);
	//   26,498.675 → 0.73 (0.15).
	want := map[string][]string{
		"ARN-1":      {"0.27", "0.29", "0.29", "0.29", "0.28", "0.16"},
		"held:ARN-2": {"", "0.14", "0.15", "0.14", "0.15", "0.15"},
	}
	for bucket, amts := range want {
		for i, w := range amts {
			var got decimal.Decimal
			err := st.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM commission_journal WHERE bucket = $1 AND day = $2`,
				bucket, day(i+1).Time()).Scan(&got)
			if err != nil {
				t.Fatal(err)
			}
			if w == "" {
				w = "0"
			}
			if !got.Equal(decimal.RequireFromString(w)) {
				t.Errorf("%s on %s: posted %s; want %s", bucket, day(i+1), got, w)
			}
		}
	}
	var basis decimal.Decimal
	var rows int
	if err := st.Pool.QueryRow(ctx, `SELECT sum(basis), count(*) FROM trail_accruals`).Scan(&basis, &rows); err != nil {
		t.Fatal(err)
	}
	// 57,497.40 + 26,498.675 = 83,996.075; 6 rows of F1 + 5 of F2.
	if !basis.Equal(decimal.RequireFromString("83996.075")) || rows != 11 {
		t.Errorf("trail rows %d basis %s; want 11 and 83996.075", rows, basis)
	}
	var navDate fund.Date
	var navT = day(0).Time()
	if err := st.Pool.QueryRow(ctx, `SELECT nav_date FROM trail_accruals WHERE day = $1 AND folio_no = 'F1'`, day(3).Time()).Scan(&navT); err != nil {
		t.Fatal(err)
	}
	if navDate = fund.DateOf(navT); navDate != day(2) {
		t.Errorf("Good Friday's NAV from %s; want carried from 2026-04-02", navDate)
	}
	checkBalanced(t, st)

	// A rerun of a day changes nothing.
	before := snapshot(t, st)
	res, err := svc.AccrueDay(ctx, day(3))
	if err != nil || !res.AlreadyDone {
		t.Fatalf("rerun: %+v %v; want already done", res, err)
	}
	if after := snapshot(t, st); after != before {
		t.Errorf("rerun changed the store: %s → %s", before, after)
	}
	// A day after a gap is refused: the month's running totals need 7-Apr.
	if _, err := svc.AccrueDay(ctx, day(8)); !errors.Is(err, commissions.ErrDayOrder) {
		t.Errorf("8-Apr before 7-Apr: %v; want ErrDayOrder", err)
	}
}

func TestRefusedTreeKeepsTheHierarchy(t *testing.T) {
	ctx := testkit.Ctx(t)
	st, _ := setup(t)
	bad := commission.Tree{Root: "ARN-1", From: day(10), Shares: []commission.Share{
		{Parent: "ARN-1", Payee: "ARN-1", Pct: decimal.New(60, 0)}, {Parent: "ARN-1", Payee: "SUB-A", Pct: decimal.RequireFromString("39.99")}}}
	if err := st.PutHierarchy(ctx, nil, []commission.Tree{bad}); !errors.Is(err, commission.ErrShares) {
		t.Fatalf("99.99 %% tree: %v; want ErrShares", err)
	}
	h, err := st.Hierarchy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	split, err := h.Split("ARN-1", day(11))
	if err != nil || len(split) != 2 || !split[0].Pct.Equal(decimal.New(60, 0)) {
		t.Errorf("after the refused load: %v %v; want the 60/40 tree still", split, err)
	}
}

func TestBadBrokerageRowKeepsTheStructure(t *testing.T) {
	ctx := testkit.Ctx(t)
	st, _ := setup(t)
	// A new S1 structure from 1-Apr with a bad slab row: quarantined whole,
	// the 1.00 % structure from 1-Jan stays in force.
	f, _ := commissions.ParseBrokerage("b2.csv", strings.NewReader(commissions.BrokerageHeader+`
S1,regular,2026-04-01,0.50,0,,,,
S1,regular,2026-04-01,abc,1000000,,,,
`))
	if n, err := st.PutBrokerage(ctx, f); err != nil || n != 0 {
		t.Fatalf("loaded %d, %v", n, err)
	}
	tb, err := st.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := tb.TrailPct("S1", commission.Regular, day(2), decimal.Zero); !r.Equal(decimal.New(1, 0)) {
		t.Errorf("rate on 2-Apr %s; want 1 (the previous structure)", r)
	}
	var lines []int
	rows, err := st.Pool.Query(ctx, `SELECT source_line FROM quarantine WHERE pipeline = $1 ORDER BY source_line`, commissions.BrokeragePipeline)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l int
		_ = rows.Scan(&l)
		lines = append(lines, l)
	}
	if len(lines) != 2 || lines[0] != 2 || lines[1] != 3 {
		t.Errorf("quarantined lines %v; want [2 3]", lines)
	}
}

func checkBalanced(t *testing.T, st pgstore.Store) {
	t.Helper()
	var sum decimal.Decimal
	var receivable decimal.Decimal
	if err := st.Pool.QueryRow(testkit.Ctx(t), `SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE account = $1), 0) FROM commission_postings`,
		pgstore.AccountReceivable).Scan(&sum, &receivable); err != nil {
		t.Fatal(err)
	}
	// 1.58 + 0.73 receivable; credits the same.
	if !sum.IsZero() || !receivable.Equal(decimal.RequireFromString("2.31")) {
		t.Errorf("postings sum %s, receivable %s; want 0 and 2.31", sum, receivable)
	}
}

func snapshot(t *testing.T, st pgstore.Store) string {
	t.Helper()
	var s string
	if err := st.Pool.QueryRow(testkit.Ctx(t), `SELECT (SELECT count(*) FROM trail_accruals) || '/' || (SELECT count(*) FROM commission_journal)
		|| '/' || (SELECT coalesce(sum(amount), 0) FROM commission_postings WHERE amount > 0) || '/' || (SELECT count(*) FROM commission_days)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// April paid out on 7-May: each bucket's month rounded once and split; the
// accrued accounts are emptied exactly (payout = the accruals posted).
func TestPayMonth(t *testing.T) {
	ctx := testkit.Ctx(t)
	st, svc := setup(t)
	if _, err := commissions.PayMonth(ctx, st, day(1), fund.NewDate(2026, 5, 7)); !errors.Is(err, commissions.ErrMonthOpen) {
		t.Fatalf("April not accrued: %v; want ErrMonthOpen", err)
	}
	for d := 1; d <= 30; d++ {
		if _, err := svc.AccrueDay(ctx, day(d)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := commissions.PayMonth(ctx, st, day(15), fund.NewDate(2026, 5, 7))
	if err != nil {
		t.Fatal(err)
	}
	// ARN-1: 9,999.50 + 4 × 10,499.475 + 25 × 5,500 = 189,497.40 / 36,500 =
	// 5.1917… → 5.19; 60 % = 113,698.44 / 365 = 311.50 paise, 40 % =
	// 75,798.96 / 365 = 207.67 paise: floors 3.11 + 2.07 = 5.18, the paisa
	// left to SUB-A (.668 > .502): ARN-1 3.11, SUB-A 2.08.
	// held:ARN-2: 4 × 5,249.7375 + 25 × 5,499.725 = 158,492.075 / 36,500 =
	// 4.3422… → 4.34, held.
	want := map[string]string{"ARN-1/ARN-1": "3.11", "ARN-1/SUB-A": "2.08", "held:ARN-2/held:ARN-2": "4.34"}
	if len(p.Lines) != len(want) {
		t.Errorf("%d lines; want %d", len(p.Lines), len(want))
	}
	for _, l := range p.Lines {
		if w := want[l.Bucket+"/"+l.Payee]; w != l.Amount.String() {
			t.Errorf("%s/%s: %s; want %s", l.Bucket, l.Payee, l.Amount, w)
		}
	}
	// ARN-1 (GST registered, inter-state): IGST 18 % of 3.11 = 0.5598 →
	// 0.56; TDS 2 % (from 1-Oct-2024) = 0.0622 → 0.06; net 3.61. SUB-A: no
	// GST; TDS 0.0416 → 0.04; net 2.04.
	got := map[string]string{}
	for _, s := range p.Statements {
		got[s.Payee] = s.Gross.String() + " " + s.GST.String() + " " + s.TDS.String() + " " + s.Net.String()
	}
	if got["ARN-1"] != "3.11 0.56 0.06 3.61" || got["SUB-A"] != "2.08 0.00 0.04 2.04" || len(got) != 2 {
		t.Errorf("statements %v", got)
	}
	// Every accrued account is emptied by the payout, to the paisa.
	rows, err := st.Pool.Query(ctx, `SELECT account, sum(amount) FROM commission_postings WHERE account LIKE '%:accrued' GROUP BY account`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var acct string
		var bal decimal.Decimal
		_ = rows.Scan(&acct, &bal)
		n++
		if !bal.IsZero() {
			t.Errorf("%s: balance %s after the payout; want 0", acct, bal)
		}
	}
	if n != 2 {
		t.Errorf("%d accrued accounts; want 2", n)
	}
	var sum decimal.Decimal
	if err := st.Pool.QueryRow(ctx, `SELECT sum(amount) FROM commission_postings`).Scan(&sum); err != nil || !sum.IsZero() {
		t.Errorf("postings sum %s %v; want 0", sum, err)
	}
	// Our side of April's brokerage statement: F1's average AUM 189,497.40 /
	// 30 = 6,316.58, at 1 %, 5.19 (F2's days are held: no line); an AMC line
	// at 0.90 % is a rate break.
	ours, err := st.BrokerageLines(ctx, day(1))
	if err != nil || len(ours) != 1 || ours[0].Folio != "F1" || ours[0].AvgAUM.StringFixed(2) != "6316.58" || ours[0].Brokerage.String() != "5.19" {
		t.Fatalf("brokerage lines %+v %v", ours, err)
	}
	amc := ours[0]
	amc.TrailPct = decimal.RequireFromString("0.90")
	if br := recon.ReconcileBrokerage(ours, []recon.BrokerageLine{amc}); len(br) != 1 || br[0].Type != recon.BreakRate {
		t.Errorf("breaks %+v; want one rate_mismatch", br)
	}
	// What the API reads: ARN-1's sub-tree and SUB-A's statement.
	if sub, err := st.Subtree(ctx, "ARN-1"); err != nil || strings.Join(sub, ",") != "ARN-1,SUB-A" {
		t.Errorf("sub-tree of ARN-1: %v %v; want ARN-1,SUB-A", sub, err)
	}
	sa, lines, ok, err := st.PayoutOf(ctx, "SUB-A", day(1))
	if err != nil || !ok || sa.Net.String() != "2.04" || sa.TDS.String() != "0.04" || len(lines) != 1 || lines[0].Amount.String() != "2.08" {
		t.Errorf("SUB-A's April: %+v %+v %v %v; want net 2.04, TDS 0.04, one line of 2.08", sa, lines, ok, err)
	}
	if _, _, ok, err := st.PayoutOf(ctx, "SUB-A", fund.NewDate(2026, 3, 1)); ok || err != nil {
		t.Errorf("SUB-A's March: %v %v; want none", ok, err)
	}
	// May, explained against April for ARN-1 (F1/S1: 500 units at 11 all
	// May, 31 × 5,500 = 170,500 → 4.67; April 189,497.40 → 5.19, over
	// 17,499.75 unit-days): days 189,497.40 × 31/30 − 189,497.40 = 6,316.58
	// → +0.17; units to 500 at April's average NAV (189,497.40 / 17,499.75):
	// −27,971.03 → −0.77; NAV to 11: +2,657.05 → +0.07; rate unchanged. The
	// rounded parts sum to −0.53 against 4.67 − 5.19 = −0.52: rounding +0.01.
	for d := 1; d <= 31; d++ {
		if _, err := svc.AccrueDay(ctx, fund.NewDate(2026, 5, d)); err != nil {
			t.Fatal(err)
		}
	}
	e, err := commissions.ExplainMonth(ctx, st, "ARN-1", fund.NewDate(2026, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, c := range e.Components {
		parts = append(parts, c.Cause+"="+c.Amount.String())
	}
	if got := strings.Join(parts, " "); got != "days_in_month=0.17 units=-0.77 nav_moves=0.07 rounding=0.01" || e.Difference.String() != "-0.52" {
		t.Errorf("explain May: %s, difference %s; want days 0.17, units -0.77, NAV 0.07, rounding 0.01 and -0.52", got, e.Difference)
	}
	before := snapshot(t, st)
	again, err := commissions.PayMonth(ctx, st, day(1), fund.NewDate(2026, 5, 7))
	if err != nil || !again.AlreadyDone || snapshot(t, st) != before {
		t.Errorf("rerun: done %v, %v; want done and nothing changed", again.AlreadyDone, err)
	}
}
