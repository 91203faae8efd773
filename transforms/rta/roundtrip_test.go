package rta

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// randomHolding and randomTxn make records as a ledger would hold them, with
// awkward text (delimiters, quotes) in the free-text fields.
func randomHolding(r *rand.Rand, l *Layout) fund.RTAHolding {
	u, _ := fund.UnitsFromDecimal(decimal.New(r.Int64N(1e9), -int32(3+r.IntN(2))), int32(3+r.IntN(2)), fund.RoundDown)
	nav := decimal.New(1000+r.Int64N(1e7), -4)
	h := fund.RTAHolding{
		RTA: l.RTA, Folio: fmt.Sprint(r.Int64N(1e10)), Product: fmt.Sprintf("%c%03d%s", 'A'+r.IntN(26), r.IntN(1000), []string{"GP", "DG", "RG"}[r.IntN(3)]),
		SchemeName: awkward(r), AsOf: fund.NewDate(2020+r.IntN(7), 1, 1).AddDays(r.IntN(365)), Units: u, NAV: nav,
		Investor: awkward(r), Broker: "ARN-" + fmt.Sprint(r.IntN(99999)),
	}
	h.Value = u.Value(fund.MustNAV(nav.StringFixed(4))).Decimal()
	if l == KFinMFSD203 {
		h.ISIN = fmt.Sprintf("INF%09d", r.IntN(1e9))
		h.PAN = fmt.Sprintf("ABCDE%04dF", r.IntN(1e4))
	}
	return h
}

func randomTxn(r *rand.Rand, l *Layout) fund.RTATransaction {
	kinds := []fund.TxKind{fund.Purchase, fund.SIP, fund.SwitchIn, fund.IDCWReinvest, fund.Redemption, fund.SwitchOut}
	k := kinds[r.IntN(len(kinds))]
	u, _ := fund.UnitsFromDecimal(decimal.New(1+r.Int64N(1e8), -3), 3, fund.RoundDown)
	if !k.IssuesUnits() {
		u = u.Neg()
	}
	trade := fund.NewDate(2021+r.IntN(6), 1, 1).AddDays(r.IntN(365))
	t := fund.RTATransaction{
		RTA: l.RTA, Folio: fmt.Sprint(r.Int64N(1e10)), Product: "B92Z", TxnNo: fmt.Sprint(r.Int64N(1e12)),
		UserRef: fmt.Sprintf("ord-%x", r.Uint64()), Kind: k, TradeDate: trade, NAVDate: trade, PostDate: trade.AddDays(1),
		NAV: decimal.New(1000+r.Int64N(1e7), -4), Units: u, Amount: fund.AmountFromPaise(1 + r.Int64N(1e9)),
		Status: "CNF", Reported: trade.AddDays(2), SchemeName: awkward(r), Investor: awkward(r),
	}
	if k.IssuesUnits() {
		t.StampDuty = fund.AmountFromPaise(r.Int64N(1000))
	}
	if k == fund.SIP && l == CAMSWBR2 {
		t.SIPRegNo = fmt.Sprintf("pl_%x", r.Uint64()) // only CAMS has a column for it
	}
	if l == KFinMFSD201 {
		t.NAVDate = trade.AddDays(r.IntN(2))
		t.ISIN = fmt.Sprintf("INF%09d", r.IntN(1e9))
	}
	// The code as the layout writes it, sometimes in another letter case.
	t.TypeCode = l.TypeCode(k)
	if r.IntN(4) == 0 {
		t.TypeCode = strings.ToLower(t.TypeCode)
	}
	return t
}

func awkward(r *rand.Rand) string {
	parts := []string{"SHARMA", "A, B", `the "best" fund`, "x|y", "  padded  ", "Nifty 50 Index - Direct", "ÄÖ–’"}
	return strings.TrimSpace(parts[r.IntN(len(parts))])
}

// TestWriteParseRoundTrip: whatever Writer writes, the parser reads back
// field for field, in both delimiters and line endings, for every layout.
func TestWriteParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range Layouts {
		for _, delim := range []byte{',', '|'} {
			for _, crlf := range []bool{false, true} {
				var buf bytes.Buffer
				w, err := NewWriter(&buf, l, delim, crlf)
				if err != nil {
					t.Fatal(err)
				}
				var hs []fund.RTAHolding
				var ts []fund.RTATransaction
				for i := 0; i < 300; i++ {
					if l.Kind == Holdings {
						h := randomHolding(r, l)
						hs = append(hs, h)
						err = w.Holding(h)
					} else {
						x := randomTxn(r, l)
						ts = append(ts, x)
						err = w.Txn(x)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				if w.Lines() != 301 {
					t.Fatalf("Lines %d", w.Lines())
				}
				p, rows := parseAll(t, buf.String())
				if p.Layout() != l || p.Delimiter() != delim || len(rows) != 300 {
					t.Fatalf("%s %q: layout %v delimiter %q rows %d", l, delim, p.Layout(), p.Delimiter(), len(rows))
				}
				for i, row := range rows {
					if row.Reason != "" {
						t.Fatalf("%s line %d rejected: %s %s: %q", l, row.Line, row.Reason, row.Detail, row.Raw)
					}
					if l.Kind == Holdings {
						if !sameHolding(row.Holding, hs[i]) {
							t.Fatalf("%s line %d:\n got %+v\nwant %+v", l, row.Line, row.Holding, hs[i])
						}
					} else if !sameTxn(row.Txn, ts[i]) {
						t.Fatalf("%s line %d:\n got %+v\nwant %+v", l, row.Line, row.Txn, ts[i])
					}
				}
			}
		}
	}
}

func sameHolding(a, b fund.RTAHolding) bool {
	return a.RTA == b.RTA && a.Folio == b.Folio && a.Product == b.Product && a.ISIN == b.ISIN && a.SchemeName == b.SchemeName &&
		a.AsOf == b.AsOf && a.Units.Equal(b.Units) && a.Units.Scale() == b.Units.Scale() && a.NAV.Equal(b.NAV) &&
		a.Value.Equal(b.Value) && a.Investor == b.Investor && a.PAN == b.PAN && a.Broker == b.Broker
}

func sameTxn(a, b fund.RTATransaction) bool {
	return a.RTA == b.RTA && a.Folio == b.Folio && a.Product == b.Product && a.ISIN == b.ISIN && a.SchemeName == b.SchemeName &&
		a.Investor == b.Investor && a.TxnNo == b.TxnNo && a.UserRef == b.UserRef && a.TypeCode == b.TypeCode && a.Kind == b.Kind &&
		a.TradeDate == b.TradeDate && a.NAVDate == b.NAVDate && a.PostDate == b.PostDate && a.NAV.Equal(b.NAV) &&
		a.Units.Equal(b.Units) && a.Units.Scale() == b.Units.Scale() && a.Amount.Equal(b.Amount) &&
		a.StampDuty.Equal(b.StampDuty) && a.Status == b.Status && a.Reported == b.Reported && a.SIPRegNo == b.SIPRegNo
}

const smallFeed = "ACNO|PRCODE|BALUNITS|TODATE\n1|A|1.5|21/08/2026\n2|B|2|21/08/2026\n"

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zipped(t *testing.T, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	plain := []byte(smallFeed)
	for _, tc := range []struct {
		name    string
		data    []byte
		problem string
	}{
		{"plain", plain, ""},
		{"gzip", gz(t, plain), ""},
		{"zip", zipped(t, map[string][]byte{"MFSD203_20260821.txt": plain}), ""},
		{"zip with a folder entry and mac junk", zipped(t, map[string][]byte{"dir/": nil, "__MACOSX/._x": []byte("junk"), "dir/x.csv": plain}), ""},
		{"zip with two files", zipped(t, map[string][]byte{"a.txt": plain, "b.txt": plain}), "exactly one"},
		{"empty zip", zipped(t, nil), "exactly one"},
		{"truncated gzip header", gz(t, plain)[:5], "gzip"},
		{"truncated zip", zipped(t, map[string][]byte{"a.txt": plain})[:30], "zip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Both as a plain stream and as a file (random access, as the feed source hands it over).
			path := filepath.Join(t.TempDir(), "feed")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, in := range []io.Reader{bytes.NewReader(tc.data), io.MultiReader(bytes.NewReader(tc.data)), f} {
				text, closeText, err := Decompress(in)
				if tc.problem != "" {
					if err == nil {
						// A stream whose header decoded may still fail while reading.
						_, err = io.ReadAll(text)
					}
					if err == nil || !strings.Contains(err.Error(), tc.problem) {
						t.Fatalf("%T: err %v, want one about %q", in, err, tc.problem)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%T: %v", in, err)
				}
				got, err := io.ReadAll(text)
				closeText()
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("%T: %q %v", in, got, err)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	file := fund.Origin{File: "WBR22_20260821.csv.gz", SHA256: "abc"}
	next, err := Decode(bytes.NewReader(gz(t, []byte("FOLIO,PRODUCT,ASSET_DATE,UNITS\n1,A,21-Aug-2026,1\n\n1,A,x,1\n"))), file)
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	if len(items) != 2 || items[0].From.Line != 2 || items[1].From.Line != 4 || items[0].From.SHA256 != "abc" || items[0].Layout != CAMSWBR22 {
		t.Fatalf("items %+v", items)
	}
	rec, err := Stage(context.Background(), items[0])
	if err != nil || rec.IsTxn || rec.Layout != "cams-wbr22" || rec.Holding.Folio != "1" || rec.From.Line != 2 {
		t.Fatalf("Stage: %+v %v", rec, err)
	}
	var rej *pipelines.RejectError
	if _, err := Stage(context.Background(), items[1]); !errors.As(err, &rej) || rej.Reason != ReasonBadDate {
		t.Fatalf("Stage of a bad row: %v", err)
	}
	if pos, raw := items[1].Origin(); pos.Line != 4 || string(raw) != "1,A,x,1" {
		t.Fatalf("Origin %+v %q", pos, raw)
	}

	for name, body := range map[string]string{
		"html":      "<!DOCTYPE html><html><body>maintenance</body></html>",
		"no rows":   "FOLIO,PRODUCT,ASSET_DATE,UNITS\r\n\r\n",
		"empty":     "",
		"bad gzip":  "\x1f\x8b\x08garbage",
		"other csv": "a,b,c\n1,2,3\n",
	} {
		if _, err := Decode(strings.NewReader(body), file); !errors.Is(err, pipelines.ErrRejectFile) {
			t.Errorf("%s: err %v, want the file rejected", name, err)
		}
	}
}

// A SIP instalment is written with the code both RTAs use for one, SIN
// (KFintech's SINR is its rejection), and CAMS carries the registration in
// SIPTRXNNO; the file's 0 there means none. The line is checked by column,
// as a person reading the file would.
func TestSIPInstalmentColumns(t *testing.T) {
	for _, l := range []*Layout{CAMSWBR2, KFinMFSD201} {
		if got := l.TypeCode(fund.SIP); got != "SIN" {
			t.Errorf("%s writes %q for a SIP", l, got)
		}
	}
	day := fund.NewDate(2026, 8, 21)
	sip := fund.RTATransaction{RTA: fund.RTACAMS, Folio: "F-1", Product: "A1G", TxnNo: "100000007", UserRef: "ORD-7", Kind: fund.SIP,
		TradeDate: day, NAVDate: day, NAV: decimal.RequireFromString("10.0000"), Units: fund.MustUnits("499.975", 3),
		Amount: fund.MustAmount("5000.00"), StampDuty: fund.MustAmount("0.25"), Status: "CNF", SIPRegNo: "pl_x"}
	plain := sip
	plain.Kind, plain.SIPRegNo, plain.TxnNo = fund.Purchase, "", "100000008"
	var buf bytes.Buffer
	w, err := NewWriter(&buf, CAMSWBR2, ',', false)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []fund.RTATransaction{sip, plain} {
		if err := w.Txn(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	header := strings.Split(lines[0], ",")
	col := func(line int, name string) string {
		for i, h := range header {
			if h == name {
				return strings.Split(lines[line], ",")[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	for _, c := range []struct {
		line      int
		col, want string
	}{
		{1, "TRXNTYPE", "SIN"}, {1, "SIPTRXNNO", "pl_x"}, {1, "TRXN_NATUR", "Systematic Investment Purchase"},
		{2, "TRXNTYPE", "P"}, {2, "SIPTRXNNO", ""}, {2, "TRXN_NATUR", "Purchase"},
	} {
		if got := col(c.line, c.col); got != c.want {
			t.Errorf("line %d %s = %q, want %q", c.line, c.col, got, c.want)
		}
	}
	// CAMS's own 0 for "no SIP" reads as none.
	zero := strings.Replace(buf.String(), ",pl_x,", ",0,", 1)
	_, rows := parseAll(t, zero)
	if rows[0].Txn.Kind != fund.SIP || rows[0].Txn.SIPRegNo != "" {
		t.Fatalf("SIPTRXNNO 0 read as %+v", rows[0].Txn)
	}
}
