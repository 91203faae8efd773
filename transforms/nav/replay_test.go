package nav

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// decodeAll runs Decode over a file and returns every item.
func decodeAll(t *testing.T, r io.Reader, name string) []Item {
	t.Helper()
	next, err := Decode(r, fund.Origin{File: name, SHA256: "sha"})
	if err != nil {
		t.Fatal(err)
	}
	var out []Item
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
}

// Every row of every real NAV file, read again from its raw bytes and the
// context stored with it, is the row the file gave: the same record, the
// same verdict, the same position.
func TestRereadGivesTheSameRow(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(testkit.Fixture(t, "amfi/navall/NAVAll_2019-06-21.txt")), "NAVAll_20*.txt"))
	if len(files) < 7 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		items := decodeAll(t, f, filepath.Base(path))
		f.Close()
		bad := 0
		for i, it := range items {
			if it.Row.Reason == "" && i%97 != 0 {
				continue // every rejected row, and a sample of good ones
			}
			bad++
			again, err := Reread(it.Row.Raw, it.ReplayContext(), it.From)
			if err != nil {
				t.Fatalf("%s line %d: %v", path, it.From.Line, err)
			}
			if again.From != it.From || again.Business != it.Business || again.Header != it.Header ||
				again.Row.Line != it.Row.Line || again.Row.Reason != it.Row.Reason || !bytes.Equal(again.Row.Raw, it.Row.Raw) ||
				!sameRecord(again.Row.Record, it.Row.Record) {
				t.Fatalf("%s line %d:\n got %+v\nwant %+v", filepath.Base(path), it.From.Line, again, it)
			}
		}
		if bad == 0 {
			t.Fatalf("%s: nothing checked", path)
		}
	}
}

func sameRecord(a, b fund.NAVRecord) bool {
	return a.SchemeCode == b.SchemeCode && a.SchemeName == b.SchemeName && a.ISINGrowth == b.ISINGrowth &&
		a.ISINReinvest == b.ISINReinvest && a.Plan == b.Plan && a.Option == b.Option && a.Category == b.Category &&
		a.SchemeType == b.SchemeType && a.AMC == b.AMC && a.NAV.Equal(b.NAV) && a.Date == b.Date &&
		a.Repurchase.Valid == b.Repurchase.Valid && a.Repurchase.Decimal.Equal(b.Repurchase.Decimal) &&
		a.Sale.Valid == b.Sale.Valid && a.Sale.Decimal.Equal(b.Sale.Decimal)
}

func TestRereadNeedsContext(t *testing.T) {
	for _, c := range []string{"", "{}", "not json"} {
		if _, err := Reread([]byte("1;a;b;c;10;01-Jan-2026"), []byte(c), fund.Origin{File: "f", Line: 3}); err == nil {
			t.Errorf("context %q accepted", c)
		}
	}
	ctx := []byte(`{"header":"Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date"}`)
	if _, err := Reread([]byte("Some AMC line"), ctx, fund.Origin{File: "f", Line: 3}); err == nil {
		t.Error("a line without fields accepted as a row")
	}
}

// A history report spanning many days is decoded from disk in two passes
// and its business date is its latest day: none of its rows is "future".
func TestDecodeHistoryReportSpanningDays(t *testing.T) {
	var b strings.Builder
	b.WriteString("Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date\r\n")
	days := 0
	for d := fund.NewDate(2026, 6, 1); d.Before(fund.NewDate(2026, 8, 1)); d = d.AddDays(1) {
		b.WriteString("Open Ended Schemes(Equity Scheme - Large Cap Fund)\r\n\r\nExample Mutual Fund\r\n")
		b.WriteString("100001;Example Fund - Growth;INF000A01011;;10.5000;;;" + d.DMY() + "\r\n")
		b.WriteString("100002;Example Fund - IDCW;INF000A01029;;N.A.;;;" + d.DMY() + "\r\n\r\n")
		days++
	}
	path := filepath.Join(t.TempDir(), "history.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	items := decodeAll(t, f, "history.txt")
	if len(items) != 2*days {
		t.Fatalf("%d items, want %d", len(items), 2*days)
	}
	v := NewValidator(nil, DefaultThresholds)
	good := 0
	for _, it := range items {
		if it.Business != fund.NewDate(2026, 7, 31) {
			t.Fatalf("business date %s", it.Business)
		}
		if _, err := v.Stage(t.Context(), it); err == nil {
			good++
		} else if !strings.Contains(err.Error(), "nav_not_available") {
			t.Fatalf("line %d: %v", it.From.Line, err)
		}
	}
	if good != days {
		t.Fatalf("%d good rows, want %d", good, days)
	}
}
