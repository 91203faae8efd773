package rta

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// parseAll parses a whole file, failing the test on a read error.
func parseAll(t *testing.T, text string) (*Parser, []Row) {
	t.Helper()
	p, err := NewParser(strings.NewReader(text))
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	var rows []Row
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return p, rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, r)
	}
}

func d(y int, m time.Month, day int) fund.Date { return fund.Date{Year: y, Month: m, Day: day} }
func dec(s string) decimal.Decimal             { return decimal.RequireFromString(s) }

// wantRow is what one line must give: a reason, or these field values.
type wantRow struct {
	line    int
	reason  string
	detail  string // a substring the detail must contain
	folio   string
	product string
	units   string // Units.String(): value at its scale
	asOf    fund.Date
	nav     string
	value   string
	// transactions
	txnNo, userRef, code string
	kind                 fund.TxKind
	trade, navDate, post fund.Date
	amount, duty         string
	isin, name, pan      string
}

func checkRows(t *testing.T, l *Layout, rows []Row, want []wantRow) {
	t.Helper()
	if len(rows) != len(want) {
		for _, r := range rows {
			t.Logf("line %d: %q reason %q %s", r.Line, r.Raw, r.Reason, r.Detail)
		}
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line {
			t.Errorf("row %d: line %d, want %d", i, r.Line, w.line)
		}
		if r.Reason != w.reason || !strings.Contains(r.Detail, w.detail) {
			t.Errorf("line %d: reason %q detail %q; want %q containing %q", r.Line, r.Reason, r.Detail, w.reason, w.detail)
			continue
		}
		if w.reason != "" {
			if r.Detail == "" {
				t.Errorf("line %d: rejected without a detail", r.Line)
			}
			if r.Holding != (fund.RTAHolding{}) || r.Txn.Folio != "" {
				t.Errorf("line %d: a rejected row carries a record", r.Line)
			}
			continue
		}
		if l.Kind == Holdings {
			h := r.Holding
			if h.RTA != l.RTA || h.Folio != w.folio || h.Product != w.product || h.Units.String() != w.units || h.AsOf != w.asOf ||
				!h.NAV.Equal(dec(or0(w.nav))) || !h.Value.Equal(dec(or0(w.value))) || h.ISIN != w.isin || h.SchemeName != w.name || h.PAN != w.pan {
				t.Errorf("line %d: %+v\nwant %+v", r.Line, h, w)
			}
			continue
		}
		x := r.Txn
		if x.RTA != l.RTA || x.Folio != w.folio || x.Product != w.product || x.Units.String() != w.units || x.TxnNo != w.txnNo ||
			x.UserRef != w.userRef || x.TypeCode != w.code || x.Kind != w.kind || x.TradeDate != w.trade || x.NAVDate != w.navDate ||
			x.PostDate != w.post || x.Amount.String() != w.amount || x.StampDuty.String() != w.duty || !x.NAV.Equal(dec(or0(w.nav))) ||
			x.ISIN != w.isin {
			t.Errorf("line %d: %+v\nwant %+v", r.Line, x, w)
		}
	}
}

func or0(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func TestWBR22(t *testing.T) {
	const header = "BROK_DLR_C,PRODUCT,ASSET_DATE,FOLIO,INV_NAME,SCHEME_NAM,CLOSING_AS,CITY,AE_CODE,TAX_STATUS,UNITS,NAV,INV_IIN,FOLIO_OLD, SCHEME_FOL\r\n"
	text := header +
		"ARN-1234,B92Z,21-Aug-2026,1234567/89,RAVI KUMAR,ABSL Liquid Fund - Growth,120055.06,PUNE,411001,Individual,300.123,400.0200,,,\r\n" +
		"ARN-1234,B92Z,21-AUG-2026,1234568,\"SHARMA, ANITA\",\"ABSL \"\"Frontline\"\" Equity\",0,MUMBAI,400001,Individual,0,,,,\r\n" +
		"\r\n" + // blank lines are skipped
		"ARN-1234,H01G,21/08/2026,22,X,Y,,,,,12.5,10.,,,\r\n" +
		"ARN-1234,H01G,2026-08-21,23,X,Y,,,,,12.5,10,,,\r\n" +
		"ARN-1234,,21-Aug-2026,24,X,Y,,,,,12.5,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,25,X,Y,,,,,-1.000,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,26,X,Y,,,,,1e3,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,27,X,Y,,,,,1.0000000001,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,28,X,Y\r\n" +
		"ARN-1234,H01G,21-Aug-2026,29,X,Y,,,,,1,10,,,,,\r\n" + // extra empty fields: fine
		"ARN-1234,H01G,21-Aug-2026,30,X,Y,,,,,1,10,,,,x\r\n" + // extra non-empty field: not fine
		"ARN-1234,H01G,21-Aug-2026,31,X\"Y,Y,,,,,1,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,32,X,Y,,,,,1,-10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,33,X,Y,,,,,,10,,,\r\n" +
		"ARN-1234,H01G,21-Aug-2026,34,X,Y,abc,,,,1,10,,,"
	p, rows := parseAll(t, text)
	if p.Layout() != CAMSWBR22 || p.Delimiter() != ',' {
		t.Fatalf("layout %v delimiter %q", p.Layout(), p.Delimiter())
	}
	checkRows(t, CAMSWBR22, rows, []wantRow{
		{line: 2, folio: "1234567/89", product: "B92Z", units: "300.123", asOf: d(2026, 8, 21), nav: "400.02", value: "120055.06", name: "ABSL Liquid Fund - Growth"},
		{line: 3, folio: "1234568", product: "B92Z", units: "0.000", asOf: d(2026, 8, 21), name: `ABSL "Frontline" Equity`},
		{line: 5, folio: "22", product: "H01G", units: "12.500", asOf: d(2026, 8, 21), nav: "10", name: "Y"},
		{line: 6, reason: ReasonBadDate, detail: `"2026-08-21"`},
		{line: 7, reason: ReasonMissingField, detail: "PRODUCT"},
		{line: 8, reason: ReasonBadUnits, detail: "negative"},
		{line: 9, reason: ReasonBadUnits, detail: `"1e3"`},
		{line: 10, reason: ReasonBadUnits, detail: "decimals"},
		{line: 11, reason: ReasonBadFieldCount, detail: "6 fields, the header has 15"},
		{line: 12, folio: "29", product: "H01G", units: "1.000", asOf: d(2026, 8, 21), nav: "10", name: "Y"},
		{line: 13, reason: ReasonBadFieldCount},
		{line: 14, reason: ReasonBadQuoting},
		{line: 15, reason: ReasonBadNAV, detail: "negative"},
		{line: 16, reason: ReasonMissingField, detail: "UNITS"},
		{line: 17, reason: ReasonBadAmount, detail: "CLOSING_AS"},
	})
}

func TestMFSD203(t *testing.T) {
	// Pipe-delimited, columns in another order than documented, FUNDDESC twice
	// (as the layout document lists it), a column we do not know.
	const header = "ACNO|PRCODE|FUND|FUNDDESC|BALUNITS|PLDG|TRDATE|LNAV|VALINV|PAN|SCHEMEISIN|FUNDDESC|NEWCOL|TODATE|CRDATE\n"
	text := header +
		"9104567890|CPGP|C|Axis Bluechip Fund - Growth|1520.4470|0.000||52.1900|79351.13|ABCDE1234F|INF846K01DP8|dup|zz|21/08/2026|22/08/2026\n" +
		"9104567891|CPGP|C|Axis Bluechip Fund - Growth|7.0001|0.000||52.19||ABCDE1234G|INF846K01DP8|dup|zz||22/08/2026\n" + // TODATE empty: CRDATE (when the file was made) is no balance date
		"9104567899|CPGP|C|Axis Bluechip Fund - Growth|7.0001|0.000||52.19||ABCDE1234G|INF846K01DP8|dup|zz|22-aug-2026|\n" +
		"9104567892|CPGP|C|x|7|0||52.19||P|I|dup|zz|31/02/2026|\n" +
		"|CPGP|C|x|7|0||52.19||P|I|dup|zz|21/08/2026|\n" +
		"9104567893|CPGP|C|\"a|b\"|7|0||52.19||P|I|dup|zz|21/08/2026|\n"
	p, rows := parseAll(t, text)
	if p.Layout() != KFinMFSD203 || p.Delimiter() != '|' {
		t.Fatalf("layout %v delimiter %q", p.Layout(), p.Delimiter())
	}
	checkRows(t, KFinMFSD203, rows, []wantRow{
		{line: 2, folio: "9104567890", product: "CPGP", units: "1520.4470", asOf: d(2026, 8, 21), nav: "52.19", value: "79351.13",
			isin: "INF846K01DP8", name: "Axis Bluechip Fund - Growth", pan: "ABCDE1234F"},
		{line: 3, reason: ReasonMissingField, detail: "TODATE"},
		{line: 4, folio: "9104567899", product: "CPGP", units: "7.0001", asOf: d(2026, 8, 22), nav: "52.19",
			isin: "INF846K01DP8", name: "Axis Bluechip Fund - Growth", pan: "ABCDE1234G"},
		{line: 5, reason: ReasonBadDate, detail: "31/02/2026"},
		{line: 6, reason: ReasonMissingField, detail: "ACNO"},
		{line: 7, folio: "9104567893", product: "CPGP", units: "7.000", asOf: d(2026, 8, 21), nav: "52.19", isin: "I", name: "a|b", pan: "P"},
	})
}

func TestWBR2(t *testing.T) {
	const header = "AMC_CODE,FOLIO_NO,PRODCODE,SCHEME,INV_NAME,TRXNTYPE,TRXNNO,TRXNMODE,TRXNSTAT,USRTRXNO,TRADDATE,POSTDATE,PURPRICE,UNITS,AMOUNT,BROKCODE,REP_DATE,STAMP_DUTY\n"
	text := header +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3001,N,CNF,ORD-1,21-Aug-2026,22-Aug-2026,400.0200,12.496,4999.75,ARN-1,22-Aug-2026,0.25\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,R,3002,N,CNF,ORD-2,21-Aug-2026,,400.0200,-10.000,-4000.20,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,SO,3003,N,CNF,,20/08/2026,,400,5,2000.10,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,si,3004,N,CNF,ORD-4,20-Aug-2026,,400,5,2000.10,ARN-1,,0.10\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,DR,3005,N,CNF,,20-Aug-2026,,400,0.5,200.00,ARN-1,,0.01\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,TI,3006,N,CNF,,20-Aug-2026,,400,5,2000,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,,N,CNF,,20-Aug-2026,,400,5,2000,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3008,N,CNF,,20-Aug-2026,,400,5,2000.001,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3009,N,CNF,,20-Aug-2026,,400,5,,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3010,N,CNF,,,,400,5,2000,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3011,N,CNF,,20-Aug-2026,32-Aug-2026,400,5,2000,ARN-1,,\n" +
		"B,1234567/89,B92Z,ABSL Liquid,RAVI,P,3012,N,CNF,,20-Aug-2026,,400,5,2000,ARN-1,,x\n"
	p, rows := parseAll(t, text)
	if p.Layout() != CAMSWBR2 {
		t.Fatalf("layout %v", p.Layout())
	}
	aug20, aug21, aug22 := d(2026, 8, 20), d(2026, 8, 21), d(2026, 8, 22)
	checkRows(t, CAMSWBR2, rows, []wantRow{
		{line: 2, folio: "1234567/89", product: "B92Z", units: "12.496", txnNo: "3001", userRef: "ORD-1", code: "P", kind: fund.Purchase,
			trade: aug21, navDate: aug21, post: aug22, amount: "4999.75", duty: "0.25", nav: "400.02"},
		{line: 3, folio: "1234567/89", product: "B92Z", units: "-10.000", txnNo: "3002", userRef: "ORD-2", code: "R", kind: fund.Redemption,
			trade: aug21, navDate: aug21, amount: "4000.20", duty: "0.00", nav: "400.02"},
		{line: 4, folio: "1234567/89", product: "B92Z", units: "-5.000", txnNo: "3003", code: "SO", kind: fund.SwitchOut,
			trade: aug20, navDate: aug20, amount: "2000.10", duty: "0.00", nav: "400"},
		{line: 5, folio: "1234567/89", product: "B92Z", units: "5.000", txnNo: "3004", userRef: "ORD-4", code: "si", kind: fund.SwitchIn,
			trade: aug20, navDate: aug20, amount: "2000.10", duty: "0.10", nav: "400"},
		{line: 6, folio: "1234567/89", product: "B92Z", units: "0.500", txnNo: "3005", code: "DR", kind: fund.IDCWReinvest,
			trade: aug20, navDate: aug20, amount: "200.00", duty: "0.01", nav: "400"},
		{line: 7, reason: ReasonUnknownTxnType, detail: `"TI"`},
		{line: 8, reason: ReasonMissingField, detail: "TRXNNO"},
		{line: 9, reason: ReasonBadAmount, detail: "2 decimals"},
		{line: 10, reason: ReasonMissingField, detail: "AMOUNT"},
		{line: 11, reason: ReasonMissingField, detail: "TRADDATE"},
		{line: 12, reason: ReasonBadDate, detail: "POSTDATE"},
		{line: 13, reason: ReasonBadAmount, detail: "STAMP_DUTY"},
	})
}

func TestMFSD201(t *testing.T) {
	const header = "FMCODE|TD_FUND|TD_SCHEME|TD_PLAN|TD_ACNO|TD_PURRED|TD_TRNO|TRNSTAT|TD_TRDT|TD_PRDT|TD_UNITS|TD_AMT|CRDATE|UNQNO|TD_TRTYPE|NAVDATE|SCHEMEISIN|TD_NAV|STAMPDUTY\n"
	text := header +
		"CPGP|C|CP|GP|9104567890|P|77001|CNF|20/08/2026|21/08/2026|95.8050|4999.75|22/08/2026|ORD-9|SIN|21/08/2026|INF846K01DP8|52.1850|0.25\n" +
		"CPGP|C|CP|GP|9104567890|R|77002|CNF|21/08/2026||10.0000|521.85|22/08/2026|ORD-10|RED||INF846K01DP8|52.1850|\n" +
		"CPGP|C|CP|GP|9104567890|R|77003|CNF|21/08/2026||10|521.85|22/08/2026||LTOF|21-Aug-2026|INF846K01DP8|52.1850|\n" +
		"CPGP|C|CP|GP|9104567890|P|77004|CNF|21/08/2026||10|521.85|22/08/2026||TRFI|21/08/2026|INF846K01DP8|52.1850|\n" +
		"CPGP|C|CP|GP|9104567890|P|77005|CNF|21/08/2026||10|521.85|22/08/2026||NEW|21/08/2026|INF846K01DP8|abc|\n" +
		"CPGP|C|CP|GP|9104567890|P|77006|CNF|21/08/2026||10|521.85|22/08/2026||NEW|21/08/2026|INF846K01DP8\n"
	p, rows := parseAll(t, text)
	if p.Layout() != KFinMFSD201 {
		t.Fatalf("layout %v", p.Layout())
	}
	checkRows(t, KFinMFSD201, rows, []wantRow{
		{line: 2, folio: "9104567890", product: "CPGP", units: "95.8050", txnNo: "77001", userRef: "ORD-9", code: "SIN", kind: fund.SIP,
			trade: d(2026, 8, 20), navDate: d(2026, 8, 21), post: d(2026, 8, 21), amount: "4999.75", duty: "0.25", nav: "52.185", isin: "INF846K01DP8"},
		{line: 3, folio: "9104567890", product: "CPGP", units: "-10.0000", txnNo: "77002", userRef: "ORD-10", code: "RED", kind: fund.Redemption,
			trade: d(2026, 8, 21), navDate: d(2026, 8, 21), amount: "521.85", duty: "0.00", nav: "52.185", isin: "INF846K01DP8"},
		{line: 4, folio: "9104567890", product: "CPGP", units: "-10.000", txnNo: "77003", code: "LTOF", kind: fund.SwitchOut,
			trade: d(2026, 8, 21), navDate: d(2026, 8, 21), amount: "521.85", duty: "0.00", nav: "52.185", isin: "INF846K01DP8"},
		{line: 5, reason: ReasonUnknownTxnType, detail: `"TRFI"`},
		{line: 6, reason: ReasonBadNAV, detail: "TD_NAV"},
		{line: 7, reason: ReasonBadFieldCount},
	})
}

func TestHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		layout     *Layout
		problem    string // substring of the HeaderError; "" = accepted
	}{
		{"empty", "", nil, "empty"},
		{"blank lines", "\n \r\n\n", nil, "empty"},
		{"html", "<html><head><title>404 Not Found</title></head></html>", nil, "HTML"},
		{"unknown", "Scheme Code;Scheme Name;Net Asset Value;Date\n", nil, "no known layout"},
		{"lacks a required column", "FOLIO_NO,PRODCODE,TRXNTYPE,TRXNNO,UNITS,TRADDATE\n", nil, "AMOUNT"},
		{"bad quote in header", "\"FOLIO,PRODUCT,ASSET_DATE,UNITS\n", nil, "quote"},
		{"bom, quotes, lower case, spaces", "\ufeff\"folio\" , \"Product\",asset_date , units\n1,A,21-Aug-2026,1\n", CAMSWBR22, ""},
		{"blank lines before the header", "\n\nACNO|PRCODE|BALUNITS|TODATE\n", KFinMFSD203, ""},
		{"trailing delimiter", "TD_ACNO|TD_TRNO|TD_UNITS|TD_AMT|TD_TRTYPE|TD_TRDT|FMCODE|\n", KFinMFSD201, ""},
		{"pipe inside quotes is no delimiter", "\"A|B\",FOLIO,PRODUCT,ASSET_DATE,UNITS\n", CAMSWBR22, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewParser(strings.NewReader(tc.text))
			if tc.problem != "" {
				var he *HeaderError
				if !errors.As(err, &he) || !errors.Is(err, ErrNotRTAFile) || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err %v, want a HeaderError about %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Layout() != tc.layout {
				t.Fatalf("layout %v, want %v", p.Layout(), tc.layout)
			}
		})
	}
}

func TestTrailingDelimiterRows(t *testing.T) {
	// Some systems end every line, the header too, with the delimiter.
	_, rows := parseAll(t, "TD_ACNO|TD_TRNO|TD_UNITS|TD_AMT|TD_TRTYPE|TD_TRDT|FMCODE|\n1|2|3|4|NEW|21/08/2026|CPGP|\n")
	checkRows(t, KFinMFSD201, rows, []wantRow{{line: 2, folio: "1", product: "CPGP", units: "3.000", txnNo: "2", code: "NEW",
		kind: fund.Purchase, trade: d(2026, 8, 21), navDate: d(2026, 8, 21), amount: "4.00", duty: "0.00"}})
}

func TestLineEndings(t *testing.T) {
	// LF, CRLF, CR CR LF, and no newline at the end: the same rows.
	base := []string{"ACNO|PRCODE|BALUNITS|TODATE", "1|A|1.5|21/08/2026", "2|B|2|21/08/2026"}
	for _, nl := range []string{"\n", "\r\n", "\r\r\n"} {
		text := strings.Join(base, nl)
		_, rows := parseAll(t, text)
		if len(rows) != 2 || rows[0].Holding.Folio != "1" || rows[1].Holding.Units.String() != "2.000" || string(rows[1].Raw) != base[2] {
			t.Errorf("%q: %+v", nl, rows)
		}
	}
}

func TestLongLine(t *testing.T) {
	p, err := NewParser(strings.NewReader("ACNO|PRCODE|BALUNITS|TODATE\n" + strings.Repeat("x", MaxLineBytes+10) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); !errors.Is(err, errLineTooLong) {
		t.Fatalf("err %v, want a line-too-long error", err)
	}
	if _, err := p.Next(); err == nil {
		t.Fatal("Next after a failure must fail again")
	}
}
