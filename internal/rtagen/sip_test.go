package rtagen_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
)

var sipAsOf = ledgerfix.D(12, 31)

// sipLedger is a ledger with SIP instalments beside plain purchases:
//
//	F-1 100001 (CAMS A1G)    purchase 2024-01-10 10000.00          ORD-F-1-1
//	F-1 100001               SIP pl_a #1 2024-02-12 5000.00         ORD-F-1-2
//	F-1 100001               SIP pl_a #2 2024-03-11 5000.00         ORD-F-1-3
//	F-1 100002 (KFin B2GP)   SIP pl_b #1 2024-02-01 2000.00         ORD-F-1-4
//	G-1 100002               purchase 2024-12-31 1000.00            ORD-G-1-5
//
// So the CAMS transaction file has 3 rows, 2 of them SIN with SIPTRXNNO
// pl_a; the KFintech one 2 rows, 1 of them SIN (MFSD201 has no column for
// the registration).
func sipLedger(t *testing.T) (*pgxpool.Pool, ledgerfix.Written) {
	t.Helper()
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	d := ledgerfix.D
	w, err := ledgerfix.Load(ctx, pool, ledgerfix.Spec{
		Investors: []ledgerfix.Investor{{ID: "INV-1", Name: "A", Folios: []string{"F-1"}}, {ID: "INV-2", Name: "B", Folios: []string{"G-1"}}},
		Schemes: []ledgerfix.Scheme{
			{Code: "100001", Name: "Alpha Flexi Cap", AMC: "Alpha MF", Category: "Equity Scheme - Flexi Cap Fund",
				NAVs: map[fund.Date]string{d(1, 10): "10.0000", d(2, 12): "11.0000", d(3, 11): "12.5000", d(12, 31): "13.0000"}},
			{Code: "100002", Name: "Beta Liquid", AMC: "Beta MF", Category: "Debt Scheme - Liquid Fund",
				NAVs: map[fund.Date]string{d(2, 1): "50.0000", d(12, 31): "55.0000"}},
		},
		Txs: []ledgerfix.Tx{
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: d(1, 10), Amount: "10000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: d(2, 12), Amount: "5000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: d(3, 11), Amount: "5000.00"},
			{Folio: "F-1", Scheme: "100002", Kind: "purchase", Date: d(2, 1), Amount: "2000.00"},
			{Folio: "G-1", Scheme: "100002", Kind: "purchase", Date: d(12, 31), Amount: "1000.00"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO rta_schemes (rta, product_code, scheme_code) VALUES
		('CAMS', 'A1G', '100001'), ('KFINTECH', 'B2GP', '100002')`); err != nil {
		t.Fatal(err)
	}
	if err := ledgerfix.MarkSIP(ctx, pool,
		ledgerfix.SIPInstalment{PlanID: "pl_a", Bank: "HDFC Bank", OrderID: w.OrderIDs[1], Seq: 1, Due: d(2, 12)},
		ledgerfix.SIPInstalment{PlanID: "pl_a", Bank: "HDFC Bank", OrderID: w.OrderIDs[2], Seq: 2, Due: d(3, 11)},
		ledgerfix.SIPInstalment{PlanID: "pl_b", Bank: "ICICI Bank", OrderID: w.OrderIDs[3], Seq: 1, Due: d(2, 1)},
	); err != nil {
		t.Fatal(err)
	}
	return pool, w
}

// feedFile is a generated transaction feed read back as cells, to look at
// and change by column name as a person would.
type feedFile struct {
	path   string
	delim  string
	eol    string
	header []string
	rows   [][]string
}

func readFeed(t *testing.T, files []string, prefix string) *feedFile {
	t.Helper()
	for _, p := range files {
		if !strings.HasPrefix(filepath.Base(p), prefix) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := &feedFile{path: p, delim: ",", eol: "\n"}
		if strings.HasSuffix(p, ".txt") {
			f.delim = "|"
		}
		s := string(b)
		if strings.Contains(s, "\r\n") {
			f.eol = "\r\n"
		}
		lines := strings.Split(strings.TrimSuffix(s, f.eol), f.eol)
		f.header = strings.Split(lines[0], f.delim)
		for _, l := range lines[1:] {
			f.rows = append(f.rows, strings.Split(l, f.delim))
		}
		return f
	}
	t.Fatalf("no %s file in %v", prefix, files)
	return nil
}

func (f *feedFile) col(name string) int {
	i := slices.Index(f.header, name)
	if i < 0 {
		panic("no column " + name)
	}
	return i
}

// row returns the row whose column col is v.
func (f *feedFile) row(t *testing.T, col, v string) []string {
	t.Helper()
	for _, r := range f.rows {
		if r[f.col(col)] == v {
			return r
		}
	}
	t.Fatalf("%s: no row with %s = %s", f.path, col, v)
	return nil
}

func (f *feedFile) write(t *testing.T) {
	t.Helper()
	var b strings.Builder
	b.WriteString(strings.Join(f.header, f.delim) + f.eol)
	for _, r := range f.rows {
		b.WriteString(strings.Join(r, f.delim) + f.eol)
	}
	if err := os.WriteFile(f.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func generate(t *testing.T, pool *pgxpool.Pool) rtagen.Result {
	t.Helper()
	res, err := rtagen.Generate(testkit.Ctx(t), pool, rtagen.Options{AsOf: sipAsOf, Out: t.TempDir(), Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func reconcile(t *testing.T, pool *pgxpool.Pool, files []string) recon.Result {
	t.Helper()
	load(t, pool, files)
	r, err := pgstore.New(pool).Reconcile(testkit.Ctx(t), recon.Options{Date: sipAsOf})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSIPInstalmentsInRTAFeeds: our SIP instalments go into the RTAs'
// transaction files with the SIP code and (CAMS) the plan as SIP
// registration; read back and reconciled they give no break, also when the
// RTA sends an instalment without our reference (matched by folio, scheme,
// NAV date and units).
func TestSIPInstalmentsInRTAFeeds(t *testing.T) {
	pool, w := sipLedger(t)
	res := generate(t, pool)
	if res.SIP[fund.RTACAMS] != 2 || res.SIP[fund.RTAKFintech] != 1 || res.Transactions[fund.RTACAMS] != 3 || res.Transactions[fund.RTAKFintech] != 2 {
		t.Fatalf("result %+v", res)
	}
	cams := readFeed(t, res.Files, "CAMS_WBR2_")
	kfin := readFeed(t, res.Files, "KFIN_MFSD201_")
	count := func(f *feedFile, col, v string) int {
		n := 0
		for _, r := range f.rows {
			if r[f.col(col)] == v {
				n++
			}
		}
		return n
	}
	if n := count(cams, "TRXNTYPE", "SIN"); n != 2 || len(cams.rows) != 3 {
		t.Fatalf("CAMS: %d SIN rows of %d", n, len(cams.rows))
	}
	if n := count(kfin, "TD_TRTYPE", "SIN"); n != 1 || len(kfin.rows) != 2 {
		t.Fatalf("KFintech: %d SIN rows of %d", n, len(kfin.rows))
	}
	for i, want := range map[int]string{0: "", 1: "pl_a", 2: "pl_a"} {
		r := cams.row(t, "USRTRXNO", w.OrderIDs[i])
		if r[cams.col("SIPTRXNNO")] != want {
			t.Errorf("%s: SIPTRXNNO %q, want %q", w.OrderIDs[i], r[cams.col("SIPTRXNNO")], want)
		}
	}
	if r := kfin.row(t, "UNQNO", w.OrderIDs[3]); r[kfin.col("TD_TRTYPE")] != "SIN" {
		t.Errorf("KFintech %s: %v", w.OrderIDs[3], r)
	}
	// The RTA keyed instalment #1 itself: no reference of ours.
	cams.row(t, "USRTRXNO", w.OrderIDs[1])[cams.col("USRTRXNO")] = ""
	cams.write(t)
	r := reconcile(t, pool, res.Files)
	if got := found(t, pool); len(got) != 0 || r.Breaks != 0 || r.KindMismatches != 0 {
		t.Fatalf("%d breaks, %d kind notes: %v", len(got), r.KindMismatches, got)
	}
	if r.RTATransactions != 5 || r.LedgerTransactions != 5 {
		t.Fatalf("compared %d RTA and %d ledger transactions, want 5 and 5", r.RTATransactions, r.LedgerTransactions)
	}
}

// TestMissingSIPInstalmentAtRTA: an instalment the RTA does not report is a
// missing_at_rta break that says it is our SIP.
func TestMissingSIPInstalmentAtRTA(t *testing.T) {
	pool, w := sipLedger(t)
	res := generate(t, pool)
	cams := readFeed(t, res.Files, "CAMS_WBR2_")
	keep := cams.rows[:0]
	for _, r := range cams.rows {
		if r[cams.col("USRTRXNO")] != w.OrderIDs[2] {
			keep = append(keep, r)
		}
	}
	cams.rows = keep
	cams.write(t)
	reconcile(t, pool, res.Files)
	got := found(t, pool)
	want := rtagen.Expected{Scope: "transaction", Type: string(fund.MissingAtRTA), RTA: fund.RTACAMS, Folio: "F-1", Subject: w.OrderIDs[2]}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("breaks %v, want only %v", got, want)
	}
	var detail string
	if err := pool.QueryRow(testkit.Ctx(t), `SELECT detail FROM recon_breaks`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(detail, "our sip "+w.OrderIDs[2]) {
		t.Fatalf("detail %q", detail)
	}
}

// TestSIPAgainstPlainPurchase: the RTA books our plain purchase as a SIP and
// our SIP instalment as a plain purchase (one matched by reference, one by
// content): both are matches with a kind note, not breaks.
func TestSIPAgainstPlainPurchase(t *testing.T) {
	pool, w := sipLedger(t)
	res := generate(t, pool)
	cams := readFeed(t, res.Files, "CAMS_WBR2_")
	plain := cams.row(t, "USRTRXNO", w.OrderIDs[0])
	plain[cams.col("TRXNTYPE")] = "SIN"
	sip := cams.row(t, "USRTRXNO", w.OrderIDs[2])
	sip[cams.col("TRXNTYPE")], sip[cams.col("SIPTRXNNO")], sip[cams.col("USRTRXNO")] = "P", "", ""
	cams.write(t)
	r := reconcile(t, pool, res.Files)
	if got := found(t, pool); len(got) != 0 || r.Breaks != 0 {
		t.Fatalf("breaks %v", got)
	}
	want := []recon.KindNote{
		{RTA: fund.RTACAMS, Folio: "F-1", SchemeCode: "100001", OrderID: w.OrderIDs[0], RTATxnNo: plain[cams.col("TRXNNO")], RTAKind: "sip", LedgerKind: "purchase"},
		{RTA: fund.RTACAMS, Folio: "F-1", SchemeCode: "100001", OrderID: w.OrderIDs[2], RTATxnNo: sip[cams.col("TRXNNO")], RTAKind: "purchase", LedgerKind: "sip"},
	}
	if r.KindMismatches != 2 || !slices.Equal(r.KindNotes, want) {
		t.Fatalf("%d kind notes %+v, want %+v", r.KindMismatches, r.KindNotes, want)
	}
}
